"""``suggest`` on random layouts, checked against the brute-force reference of tests/reference.py.

For every suggestion: apply it, recompute every frame with the reference, and check that the claimed
gain is exact (bytes per page size, as ``gmemtui diff`` counts them), nothing is lost, the layout is
valid (no overlap, slot ids in range) and the guest-visible map is unchanged. Minimality by brute
force on small layouts: no split with fewer parts, and no smaller offset or ua move, reaches the same
coverage. ``--all``: the combined layout's gain is the reference's diff of the two layouts.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reference import reference_runs
from strategies import FR, LADDER, SHIFT, big_layouts, layouts

from gmemtui.core.coverage import compute
from gmemtui.core.diff import compare
from gmemtui.core.model import GmemFile, Layout, Slot
from gmemtui.core.suggest import Suggestion, page_map, suggest
from gmemtui.core.suggest_apply import apply, combine
from gmemtui.core.validate import layout_errors

NAMES = ("4K", "2M", "1G")
BASE, TOP = LADDER[0], LADDER[-1]


def cfg(examples: int) -> settings:
    return settings(deadline=None, max_examples=examples,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def frame_pages(layout: Layout) -> dict[tuple[int, int], str]:
    """(as, gfn) -> page, from the reference (slots of one address space never overlap)."""
    out = {}
    for (as_, _), runs in reference_runs(layout).items():
        for gpa, size, page, _, _ in runs:
            for g in range(gpa >> SHIFT, (gpa + size) >> SHIFT):
                out[(as_, g)] = page
    return out


def reference_gain(old: Layout, new: Layout) -> tuple[dict[str, int], dict[str, int]]:
    """(gained, lost) bytes per page size, frame by frame: diff's definition, read literally."""
    a, b = frame_pages(old), frame_pages(new)
    assert a.keys() == b.keys(), "the guest-visible frames changed"
    gained = dict.fromkeys(NAMES, 0)
    lost = dict.fromkeys(NAMES, 0)
    for k, p in a.items():
        q = b[k]
        if NAMES.index(q) > NAMES.index(p):
            gained[q] += BASE
        elif NAMES.index(q) < NAMES.index(p):
            lost[p] += BASE
    return gained, lost


def guest_map(layout: Layout) -> dict[int, list[tuple]]:
    """What the guest sees per address space: GPA ranges with their flags and whether guest_memfd
    backs them, adjacent equal ranges merged (a split leaves this unchanged)."""
    out: dict[int, list[list]] = {}
    for s in sorted(layout.slots, key=lambda s: (s.as_, s.gpa)):
        lst = out.setdefault(s.as_, [])
        what = (s.flags, s.gmem is not None)
        if lst and lst[-1][1] == s.gpa and lst[-1][2] == what:
            lst[-1][1] = s.end
        else:
            lst.append([s.gpa, s.end, what])
    return {a: [tuple(x) for x in v] for a, v in out.items()}


def nonzero(d: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in d.items() if v}


def check_suggestion(layout: Layout, s: Suggestion, reference: bool) -> Layout:
    new = apply(layout, s)
    assert layout_errors(new, "new") == [], s.title
    assert guest_map(new) == guest_map(layout), s.title
    assert layout.private == new.private
    if reference:
        gained, lost = reference_gain(layout, new)
    else:
        d = compare(layout, new)
        assert not d.only_old and not d.only_new
        gained, lost = d.gained, d.lost
    assert nonzero(gained) == s.gained, s.title
    assert nonzero(lost) == {} == s.lost, s.title
    assert s.gained
    return new


@cfg(250)
@given(layouts())
def test_every_suggestion_exact_against_the_reference(layout: Layout) -> None:
    found = suggest(layout)
    for s in found.suggestions:
        event(f"kind {s.kind}")
        check_suggestion(layout, s, reference=True)
    helped = {k for s in found.suggestions for k in s.slots}
    for u in found.unfixable:
        event(f"unfixable {u.reason}")
        assert (u.as_, u.slot) not in helped and u.why
    assert [s.score for s in found.suggestions] == sorted((s.score for s in found.suggestions), reverse=True)


@cfg(60)
@given(big_layouts())
def test_big_layouts_gain_equals_diff(layout: Layout) -> None:
    for s in suggest(layout).suggestions:
        event(f"kind {s.kind}")
        check_suggestion(layout, s, reference=False)


@cfg(120)
@given(layouts())
def test_all_gain_equals_the_reference_diff_of_the_combined_layout(layout: Layout) -> None:
    found = suggest(layout)
    c = combine(layout, found)
    assert layout_errors(c.layout, "new") == []
    assert guest_map(c.layout) == guest_map(layout)
    gained, lost = reference_gain(layout, c.layout)
    assert gained == c.diff.gained and lost == c.diff.lost
    assert not any(lost.values())
    if found.suggestions:
        event(f"combined {len(c.chosen)} of {len(found.suggestions)}")
        assert c.chosen and sum(gained.values()) >= max(sum(s.gained.values()) for s in found.suggestions)


# --- minimality, by brute force --------------------------------------------------------------------


def slot_pages(layout: Layout, key: tuple[int, int]) -> list[tuple]:
    """The page map of the GPA range slot ``key`` covers in ``layout`` (whatever slots cover it now)."""
    cov = compute(layout)
    runs = [r for sc in cov.slots if sc.slot.as_ == key[0] for r in sc.runs]
    return page_map(sorted(runs, key=lambda r: r.gpa))


def _split_with(layout: Layout, slot: Slot, cuts: tuple[int, ...]) -> Layout:
    bounds = [slot.gpa, *cuts, slot.end]
    used = {s.slot for s in layout.slots if s.as_ == slot.as_}
    free = (i for i in itertools.count() if i not in used)
    parts = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        d = a - slot.gpa
        sid = slot.slot if i == 0 else next(free)
        parts.append(replace(slot, slot=sid, gpa=a, size=b - a, ua=slot.ua + d,
                             offset=slot.offset + d if slot.gmem is not None else slot.offset))
    others = tuple(s for s in layout.slots if s.key != slot.key)
    return replace(layout, slots=others + tuple(parts))


@cfg(200)
@given(st.one_of(layouts(max_slots=3), st.deferred(lambda: fixable_layouts(("split", "ua")))))
def test_no_split_with_fewer_parts_reaches_the_same_coverage(layout: Layout) -> None:
    for s in suggest(layout).suggestions:
        if s.kind != "split":
            continue
        (e,) = s.edits
        slot = replace(e.old, ua=e.new[0].ua)  # a split may come with a ua move (then both are compared)
        cuts = len(e.new) - 1
        want = slot_pages(apply(layout, s), slot.key)
        inside = [x for x in range(slot.gpa - slot.gpa % LADDER[1] + LADDER[1], slot.end, LADDER[1])]
        event(f"split into {cuts + 1}, {len(inside)} aligned positions"
              + (", with a ua move" if slot.ua != e.old.ua else ""))
        assert cuts <= 2 * (len(LADDER) - 1)
        if len(inside) > 12:
            continue
        for k in range(cuts):
            for fewer in itertools.combinations(inside, k):
                assert slot_pages(_split_with(layout, slot, fewer), slot.key) != want, (fewer, s.title)


def _moves_below(layout: Layout, s: Suggestion, field: str, limit: int):
    """Every move of ``field`` smaller than the suggested one (in base pages), as layouts."""
    (e,) = [e for e in s.edits if e.field == field and e.key == s.key]
    d = e.new - e.old
    if abs(d) > limit:
        return
    i = layout.slot_index(s.key)
    slot = layout.slots[i]
    for m in range(-abs(d) + BASE, abs(d), BASE):
        value = e.old + m
        if value < 0 or m == 0:
            continue
        if field == "offset":  # a move is possible when no binding below reaches into it
            below = [t for t in layout.slots
                     if t.gmem == slot.gmem and t.key != slot.key and t.offset < value]
            if any(t.offset + t.size > value for t in below):
                continue
        yield m, layout.with_slot(i, **{field: value})


@cfg(150)
@given(st.one_of(layouts(max_slots=3, max_frames=1500),
                 st.deferred(lambda: fixable_layouts(("offset", "ua")))))
def test_no_smaller_offset_or_ua_move_reaches_the_same_coverage(layout: Layout) -> None:
    for s in suggest(layout).suggestions:
        if s.kind not in ("offset", "ua"):
            continue
        want = slot_pages(apply(layout, s), s.key)
        checked = 0
        for m, moved in _moves_below(layout, s, s.kind, 4 * LADDER[1]):
            checked += 1
            assert slot_pages(moved, s.key) != want, (m, s.title)
        event(f"{s.kind}: {checked} smaller moves checked")


# --- every kind, on purpose -----------------------------------------------------------------------


@st.composite
def fixable_layouts(draw: st.DrawFn, mistakes: tuple[str, ...] = ("split", "offset", "ua", "folio", "host")
                    ) -> Layout:
    """One guest_memfd slot with a mistake each kind fixes: an unaligned start under whole-binding,
    an offset or ua off by a few pages, a file or host cap below the ladder's top."""
    mid = FR[1]
    start = draw(st.sampled_from([FR[-1], FR[-1] + 256, FR[-1] - 3 * mid // 2])) << SHIFT
    size = draw(st.integers(2, 5)) * LADDER[1] + draw(st.sampled_from([0, BASE * 7, LADDER[1] // 2]))
    mistake = draw(st.sampled_from(mistakes))
    ua = (1 << 40) + start
    offset = start % TOP
    if mistake == "offset":
        offset += draw(st.integers(1, 600)) * BASE
    if mistake == "ua":
        ua += draw(st.integers(1, 600)) * BASE
    shared = mistake == "host"
    slot = Slot(slot=draw(st.integers(0, 40)), gpa=start, size=size, ua=ua,
                gmem=None if shared else 1, offset=0 if shared else offset)
    other = Slot(slot=41, gpa=start + size + LADDER[1], size=LADDER[1] * 3, ua=(1 << 41),
                 gmem=None if shared else 1, offset=offset + size + draw(st.sampled_from([0, BASE, TOP])))
    files = () if shared else (GmemFile(id=1, max_page=LADDER[1] if mistake == "folio" else
                                        draw(st.sampled_from(LADDER[1:]))),)
    policy = "whole-binding" if mistake == "split" else draw(st.sampled_from(["per-range", "whole-binding"]))
    return Layout(slots=(slot, other), files=files, policy=policy,
                  host_max_page=BASE if mistake == "host" else LADDER[1], private_max_page=TOP)


@cfg(150)
@given(fixable_layouts())
def test_each_kind_is_found_and_exact(layout: Layout) -> None:
    found = suggest(layout)
    for s in found.suggestions:
        event(f"kind {s.kind}")
        check_suggestion(layout, s, reference=True)
    c = combine(layout, found)
    gained, lost = reference_gain(layout, c.layout)
    assert gained == c.diff.gained and not any(lost.values())


@st.composite
def packed_layouts(draw: st.DrawFn) -> Layout:
    """Bindings packed into one file with small gaps and drifting offsets: offset moves that collide
    with their neighbours and push them (by whole largest pages), or are refused."""
    n = draw(st.integers(2, 4))
    slots, off, gpa = [], draw(st.integers(0, 600)) * BASE, TOP
    for i in range(n):
        size = draw(st.integers(1, 3)) * LADDER[1] + draw(st.sampled_from([0, BASE, 5 * BASE]))
        slots.append(Slot(slot=i, gpa=gpa, size=size, ua=(1 << 40) + gpa, gmem=3, offset=off))
        gpa += size + draw(st.sampled_from([0, LADDER[1], TOP]))
        off += size + draw(st.integers(0, 4)) * BASE
    size = draw(st.sampled_from([None, off, off + TOP]))
    return Layout(slots=tuple(slots), files=(GmemFile(id=3, size=size, max_page=LADDER[1]),),
                  policy=draw(st.sampled_from(["per-range", "whole-binding"])))


@cfg(150)
@given(packed_layouts())
def test_offset_moves_in_a_packed_file(layout: Layout) -> None:
    found = suggest(layout)
    for s in found.suggestions:
        pushed = sum(1 for e in s.edits if e.field == "offset") - 1
        event(f"{s.kind}, {pushed} pushed")
        check_suggestion(layout, s, reference=True)
        if s.kind == "offset":
            growth = max(0, apply(layout, s).file_size(3) - layout.file_size(3))
            assert s.cost["file_grows"] == growth
            for e in s.edits[1:]:
                if e.what == "slot":
                    assert (e.new - e.old) % TOP == 0 and e.new > e.old  # pushed up by whole 1G pages
    c = combine(layout, found)
    gained, lost = reference_gain(layout, c.layout)
    assert gained == c.diff.gained and not any(lost.values())
