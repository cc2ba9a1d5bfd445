"""``suggest`` on fixed layouts: the seed check of docs/suggest.md and one example per kind and limit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gmemtui.core.coverage import compute
from gmemtui.core.diff import compare
from gmemtui.core.model import GmemFile, Layout, Overrides, Slot
from gmemtui.core.suggest import page_map, suggest
from gmemtui.core.suggest_apply import apply, combine
from gmemtui.core.validate import layout_errors
from gmemtui.formats.loader import load

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "layouts" / "qemu-snp-seed.yaml")
K4, M2, G1 = 1 << 12, 1 << 21, 1 << 30


def seed(policy: str) -> Layout:
    return load(SEED, Overrides(policy=policy)).layout


def test_seed_whole_binding_split_of_slot_5_at_2m_into_two_parts() -> None:
    lay = seed("whole-binding")
    found = suggest(lay)
    mine = found.for_slot((0, 5))
    assert [s.kind for s in mine] == ["split"]
    (s,) = mine
    (e,) = s.edits
    assert e.what == "split" and e.key == (0, 5)
    assert [(p.gpa, p.size) for p in e.new] == [(0x100000, 0x100000), (0x200000, 0x7FE00000)]
    # each part keeps its frames' ua and file offset
    assert [(p.ua, p.offset) for p in e.new] == [(0x7F24AFD00000, 0x100000), (0x7F24AFE00000, 0x200000)]
    assert e.new[0].slot == 5 and e.new[1].slot not in {0, 3, 4, 5}
    assert s.gained == {"2M": 2046 << 20} and s.lost == {}
    assert s.line == "split slot 5 at 0x200000: +2046M at 2M"
    assert s.cost["slots_added"] == 1
    # the parts' coverage under whole-binding equals the unsplit slot's under per-range
    split = compute(apply(lay, s))
    parts = sorted((r for sc in split.slots if sc.slot.gpa >= 0x100000 for r in sc.runs), key=lambda r: r.gpa)
    unsplit = compute(seed("per-range")).slot((0, 5)).runs
    assert page_map(parts) == page_map(unsplit)
    # and gmemtui diff's computation agrees
    d = compare(lay, apply(lay, s))
    assert {k: v for k, v in d.gained.items() if v} == s.gained and not d.any_loss


def test_seed_whole_binding_has_no_offset_suggestion_for_slot_5() -> None:
    """An aligned offset cannot help while the binding's size 0x7ff00000 is not a multiple of 2M."""
    found = suggest(seed("whole-binding"))
    assert not [s for s in found.suggestions if s.kind == "offset"]
    assert all(s.kind == "split" for s in found.suggestions)


def test_seed_unfixable_slots_say_why() -> None:
    found = suggest(seed("whole-binding"))
    by_slot = {u.slot: u for u in found.unfixable}
    assert set(by_slot) == {0, 3, 4}
    assert all(u.reason == "slot-edge" for u in by_slot.values())
    assert "no whole aligned 2M block" in by_slot[3].why
    per_range = suggest(seed("per-range"))
    assert per_range.suggestions == ()
    five = {(u.page, u.reason): u for u in per_range.unfixable if u.slot == 5}
    assert set(five) == {("4K", "slot-edge"), ("2M", "slot-edge"), ("2M", "ua-misaligned")}
    assert five["2M", "ua-misaligned"].bytes == 1 << 30
    assert "folio-cap" in five["2M", "ua-misaligned"].why  # the 1G cut gains nothing


def test_mainline_policy_is_unfixable() -> None:
    found = suggest(seed("4k-only"))
    assert found.suggestions == ()
    five = next(u for u in found.unfixable if u.slot == 5)
    assert five.reason == "gmem-4k-only" and "merged kernel" in five.why


def _qemu10_memfd() -> Layout:
    """QEMU 10 with memory-backend-memfd: RAM mapped at a ua 4K- but not 2M-aligned (shared memory)."""
    return Layout(slots=(Slot(slot=1, gpa=0x100000000, size=4 * G1, ua=0x7F0000201000),),
                  host_max_page=M2)


def test_ua_suggestion_recovers_every_2m_page() -> None:
    lay = _qemu10_memfd()
    (s,) = suggest(lay).suggestions
    assert s.kind == "ua"
    (e,) = s.edits
    assert e.new == 0x7F0000200000  # the smallest move: 4K down, congruent with gpa mod 2M
    assert s.gained == {"2M": 4 * G1}
    assert "host mapping must move" in s.cost_text


def test_ua_moves_to_the_smallest_congruence_that_reaches_the_best() -> None:
    """With 1G host pages the best needs ua ≡ gpa mod 1G; with 2M THP mod 2M is enough."""
    lay = replace(_qemu10_memfd(), host_max_page=G1)
    (s,) = suggest(lay).suggestions
    assert s.edits[0].new == 0x7F0000000000 and s.gained == {"1G": 4 * G1}  # 2M + 4K down
    assert s.changes["congruent_mod"] == "1G"


def _two_bindings(policy: str = "per-range", size: int | None = None) -> Layout:
    a = Slot(slot=0, gpa=0x40000000, size=8 * M2, ua=0x40000000, gmem=7, offset=0x1000)
    b = Slot(slot=1, gpa=0x80000000, size=4 * M2, ua=0x80000000, gmem=7, offset=0x1000 + 8 * M2)
    return Layout(slots=(a, b), files=(GmemFile(id=7, size=size, max_page=M2),), policy=policy)


def test_offset_moves_by_the_smallest_amount_that_fits() -> None:
    lay = _two_bindings()
    found = suggest(lay)
    s = next(s for s in found.suggestions if s.key == (0, 0))
    assert s.kind == "offset"
    moves = {e.key: (e.old, e.new) for e in s.edits if e.field == "offset"}
    assert moves == {(0, 0): (0x1000, 0)}  # down by 4K: gpa 0x40000000 ≡ 0 mod 2M; slot 1 stays
    assert s.cost["file_grows"] == 0 and s.gained == {"2M": 8 * M2}
    # slot 1 cannot move down by 4K (slot 0's binding ends there): it moves up by 2M - 4K
    b = next(s for s in found.suggestions if s.key == (0, 1))
    moves = {e.key: (e.old, e.new) for e in b.edits if e.field == "offset"}
    assert moves == {(0, 1): (0x1000 + 8 * M2, 9 * M2)}
    assert b.cost["file_grows"] == M2 - K4  # the file's size is its furthest binding's end
    c = combine(lay, found)
    assert len(c.chosen) == 2 and c.diff.gained == {"4K": 0, "2M": 12 * M2, "1G": 0}


def test_offset_push_when_the_only_move_is_up() -> None:
    a = Slot(slot=0, gpa=0x40000000, size=8 * M2, ua=0x40000000, gmem=7, offset=M2 - 0x1000)
    b = Slot(slot=1, gpa=0x80000000, size=4 * M2, ua=0x80000000, gmem=7, offset=M2 - 0x1000 + 8 * M2)
    lay = Layout(slots=(a, b), files=(GmemFile(id=7, size=M2 - 0x1000 + 12 * M2, max_page=M2),))
    s = next(s for s in suggest(lay).suggestions if s.key == (0, 0))
    moves = {e.key: (e.old, e.new) for e in s.edits if e.field == "offset"}
    assert moves[(0, 0)] == (M2 - 0x1000, M2)  # up by 4K
    old_b, new_b = moves[(0, 1)]
    assert (new_b - old_b) % G1 == 0 and new_b >= M2 + 8 * M2  # pushed by a whole 1G: keeps its congruence
    grown = next(e for e in s.edits if e.what == "file")
    assert grown.new == new_b + 4 * M2 and s.cost["file_grows"] == grown.new - grown.old
    new = apply(lay, s)
    assert layout_errors(new, "x") == []
    d = compare(lay, new)
    assert not d.any_loss and {k: v for k, v in d.gained.items() if v} == s.gained


def test_setting_suggestions_name_their_cost() -> None:
    lay = _two_bindings()
    lay = replace(lay, slots=tuple(replace(s, offset=s.offset - 0x1000) for s in lay.slots),
                  files=(GmemFile(id=7, max_page=K4),))
    (s,) = suggest(lay).suggestions
    assert s.kind == "setting" and s.edits[0].new == M2  # the smallest folio that reaches the best
    assert set(s.slots) == {(0, 0), (0, 1)} and s.gained == {"2M": 12 * M2}
    assert "guest_memfd 7" in s.cost_text
    shared = Layout(slots=(Slot(slot=0, gpa=0, size=2 * G1, ua=0),), host_max_page=K4)
    (h,) = suggest(shared).suggestions
    assert h.kind == "setting" and h.changes["setting"] == "host_max_page" and h.edits[0].new == G1
    assert h.gained == {"1G": 2 * G1} and "hugetlbfs" in h.cost_text
    # ua congruent with gpa only mod 2M: 1G host pages would gain no more than THP's 2M
    (h,) = suggest(replace(shared, slots=(replace(shared.slots[0], ua=M2),))).suggestions
    assert h.edits[0].new == M2 and h.gained == {"2M": 2 * G1} and "THP" in h.cost_text


def test_a_split_needs_free_slot_ids() -> None:
    lay = seed("whole-binding")
    filler = tuple(Slot(slot=i, gpa=(1 << 40) + i * K4, size=K4, ua=0) for i in range(6, 32764))
    full = replace(lay, slots=lay.slots + filler + (Slot(slot=1, gpa=1 << 39, size=K4, ua=0),
                                                   Slot(slot=2, gpa=(1 << 39) + K4, size=K4, ua=0)))
    found = suggest(full, keys=[(0, 5)])
    assert found.suggestions == ()
    u = next(u for u in found.unfixable if u.reason == "whole-binding")
    assert u.slot == 5 and "slot ids" in u.why and "0 left" in u.why


def test_all_combines_and_reassigns_split_ids() -> None:
    lay = seed("whole-binding")
    # the same layout again 4G higher, with other slot ids, on files of its own
    twin = tuple(replace(s, slot=s.slot + 10, gpa=s.gpa + (4 << 30), gmem=s.gmem + 100) for s in lay.slots)
    files = lay.files + tuple(replace(f, id=f.id + 100) for f in lay.files)
    both = replace(lay, slots=lay.slots + twin, files=files)
    assert layout_errors(both, "x") == []
    found = suggest(both)
    assert [s.kind for s in found.suggestions] == ["split", "split"]
    assert [s.edits[0].new[1].slot for s in found.suggestions] == [1, 1]  # each alone takes the smallest id
    c = combine(both, found)
    assert sorted(c.chosen[i].edits[0].new[1].slot for i in range(2)) == [1, 2]
    assert len(c.chosen) == 2 and layout_errors(c.layout, "x") == []
    assert c.diff.gained["2M"] == 2 * (2046 << 20) and not c.diff.any_loss


def test_keys_restrict_to_one_slot() -> None:
    lay = seed("whole-binding")
    assert suggest(lay, keys=[(0, 3)]).suggestions == ()
    assert [s.key for s in suggest(lay, keys=[(0, 5)]).suggestions] == [(0, 5)]


def test_real_qemu_10_memfd_recording_gets_a_ua_move() -> None:
    """QEMU 10 with memory-backend-memfd maps RAM 4K past a 2M boundary: every 2M page below 4G lost."""
    lay = load(str(ROOT / "layouts" / "qemu-10.0" / "q35-memfd.trace")).layout
    (s,) = suggest(lay).suggestions
    assert s.kind == "ua" and s.gained == {"2M": 1022 << 20}
    (e,) = s.edits
    slot = lay.slots[lay.slot_index(e.key)]
    assert abs(e.new - e.old) == K4 and (e.new - slot.gpa) % M2 == 0


def test_memfd_ua_under_whole_binding_needs_the_split_and_the_ua_move_together() -> None:
    """The seed with QEMU 10's memfd ua (4K past a 2M boundary): under whole-binding neither a split
    nor a ua move helps alone; one suggestion makes both."""
    lay = seed("whole-binding")
    i = lay.slot_index((0, 5))
    lay = lay.with_slot(i, ua=lay.slots[i].ua + K4)
    found = suggest(lay)
    (s,) = found.for_slot((0, 5))
    assert s.kind == "split"
    assert s.title == "split slot 5 at 0x200000 and move its ua 0x7f24afd01000 -> 0x7f24afd00000"
    assert s.gained == {"2M": 2046 << 20} and "host mapping must move" in s.cost_text
    (e,) = s.edits
    assert [p.ua for p in e.new] == [0x7F24AFD00000, 0x7F24AFE00000]
    new = apply(lay, s)
    assert layout_errors(new, "x") == []
    d = compare(lay, new)
    assert {k: v for k, v in d.gained.items() if v} == s.gained and not d.any_loss


def test_all_keeps_the_ua_move_of_a_split() -> None:
    lay = seed("whole-binding")
    i = lay.slot_index((0, 5))
    lay = lay.with_slot(i, ua=lay.slots[i].ua + K4)
    c = combine(lay, suggest(lay))
    (s,) = c.chosen
    assert s.edits[0].new[0].ua == 0x7F24AFD00000 and c.diff.gained["2M"] == 2046 << 20
