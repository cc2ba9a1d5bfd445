"""Unit tests of the closed-form engine: attributes, cut points, runs, totals, huge slots."""

from __future__ import annotations

import random
from dataclasses import fields, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import Reference
from strategies import FR, LADDER, SHIFT, big_layouts, layouts
from test_rules_property import check_invariants, engine_at, sample_frames

from gmemtui.core.coverage import Coverage, Run, SlotCoverage, compute, cut_points, slot_runs
from gmemtui.core.facts import Attributes, SlotFacts
from gmemtui.core.model import GmemFile, Layout, PrivateRange, Slot
from gmemtui.core.rules import frame_verdict, size_steps

K4, M2, G = LADDER
T = 1 << 40
CFG = settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])


def fr(b: int) -> int:
    return b >> SHIFT


# --- attributes ---------------------------------------------------------------------------------


def test_attributes_merge_overlapping_and_adjacent_ranges() -> None:
    lay = Layout(slots=(), private=(PrivateRange(3 * M2, M2), PrivateRange(0, M2), PrivateRange(M2, K4),
                                    PrivateRange(M2 // 2, M2), PrivateRange(5 * M2, 0)))
    a = Attributes.of(lay)
    # [0, 2M) ∪ [2M, 2M+4K) ∪ [1M, 3M) = [0, 3M), and [6M, 8M); the empty range adds nothing
    three = fr(3 * M2 // 2)
    assert a.bounds == (0, three, fr(3 * M2), fr(4 * M2))
    s = Slot(slot=0, gpa=0, size=G, ua=0)
    assert a.private_at(s, 0) and a.private_at(s, three - 1) and not a.private_at(s, three)
    assert a.private_at(s, fr(3 * M2)) and not a.private_at(s, fr(4 * M2))
    assert a.mixed(0, FR[1] * 2) and not a.mixed(0, FR[1]) and not a.mixed(fr(3 * M2), fr(4 * M2))
    assert a.edges_within(0, fr(G)) == (three, fr(3 * M2), fr(4 * M2))
    assert a.edges_within(fr(3 * M2), fr(4 * M2)) == ()


def test_default_attributes_follow_the_slot() -> None:
    a = Attributes.of(Layout(slots=()))
    assert a.bounds is None
    assert a.private_at(Slot(slot=0, gpa=0, size=K4, ua=0, gmem=1), 5)
    assert not a.private_at(Slot(slot=0, gpa=0, size=K4, ua=0), 5)
    assert not a.mixed(0, 10**9) and a.edges_within(0, 10**9) == ()


def test_explicit_list_applies_to_both_address_spaces() -> None:
    """A `private:` list is per gfn, whatever the slot or address space (docs/formats.md)."""
    lay = Layout(
        slots=(Slot(slot=0, gpa=0, size=4 * M2, ua=0, as_=0, gmem=1),
               Slot(slot=0, gpa=0, size=4 * M2, ua=0, as_=1)),
        files=(GmemFile(id=1),), private=(PrivateRange(M2, M2),),
    )
    cov = compute(lay)
    for key in ((0, 0), (1, 0)):
        runs = [(r.gpa, r.size, r.private) for r in cov.slot(key).runs]
        assert runs == [(0, M2, False), (M2, M2, True), (2 * M2, 2 * M2, False)]
    # AS 1's slot has no guest_memfd: its private frames stay 4K (no-guest-memfd)
    assert cov.slot((1, 0)).runs[1].reason == "no-guest-memfd" and cov.slot((1, 0)).runs[1].page == "4K"


def test_default_attributes_are_per_address_space() -> None:
    """Without `private:`, AS 1 frames at the GPA of an AS 0 guest_memfd slot stay shared."""
    lay = Layout(
        slots=(Slot(slot=0, gpa=0, size=4 * M2, ua=0, as_=0, gmem=1),
               Slot(slot=1, gpa=0, size=4 * M2, ua=0, as_=1)),
        files=(GmemFile(id=1),),
    )
    cov = compute(lay)
    assert [(r.private, r.page) for r in cov.slot((0, 0)).runs] == [(True, "2M")]
    assert [(r.private, r.page, r.reason) for r in cov.slot((1, 1)).runs] == [(False, "2M", "slot-edge")]


def test_attribute_edges_outside_the_slot_change_nothing_inside() -> None:
    """The list's edge at 0 is outside the slot; only the edge at 4M+4K splits it."""
    lay = Layout(slots=(Slot(slot=0, gpa=M2, size=2 * M2, ua=M2, gmem=1),), files=(GmemFile(id=1),),
                 private=(PrivateRange(0, 2 * M2 + K4),))
    runs = [(r.gpa, r.size, r.page, r.private, r.reason) for r in compute(lay).slot((0, 0)).runs]
    assert runs == [
        (M2, M2, "2M", True, "slot-edge"),
        (2 * M2, K4, "4K", True, "mixed-attributes"),
        (2 * M2 + K4, M2 - K4, "4K", False, "mixed-attributes"),
    ]


def test_slot_edge_comes_before_mixed_attributes() -> None:
    """A private range that ends one frame past the slot: the slot's last 2M block sticks out first."""
    lay = Layout(slots=(Slot(slot=0, gpa=0, size=2 * M2 - K4, ua=0, gmem=1),), files=(GmemFile(id=1),),
                 private=(PrivateRange(M2 + K4, M2),))
    runs = [(r.gpa, r.size, r.page, r.private, r.reason) for r in compute(lay).slot((0, 0)).runs]
    assert runs == [
        (0, M2, "2M", False, "slot-edge"),
        (M2, K4, "4K", False, "slot-edge"),
        (M2 + K4, M2 - 2 * K4, "4K", True, "slot-edge"),
    ]


# --- cut points and runs ------------------------------------------------------------------------


def test_cut_points_of_an_unaligned_slot() -> None:
    s = Slot(slot=0, gpa=G - K4, size=G + 2 * M2, ua=G - K4)
    facts = SlotFacts.of(Layout(slots=(s,)), s)
    B, E = fr(s.gpa), fr(s.end)
    assert cut_points(facts) == [B, fr(G), fr(2 * G), E - E % FR[1]]


def test_cut_points_around_an_attribute_edge() -> None:
    s = Slot(slot=0, gpa=0, size=4 * G, ua=0, gmem=1)
    lay = Layout(slots=(s,), files=(GmemFile(id=1, max_page=G),), private=(PrivateRange(0, G + M2 + K4),))
    x = fr(G + M2 + K4)
    cuts = cut_points(SlotFacts.of(lay, s))
    assert {x, fr(G + M2), fr(G + 2 * M2), fr(G), fr(2 * G)} <= set(cuts)
    assert cuts == sorted(set(cuts)) and cuts[0] == 0


def full_cut_runs(facts: SlotFacts) -> list[tuple]:
    """Runs the slow way: every cut point, the literal frame_verdict, adjacent pieces merged."""
    cuts = cut_points(facts) + [facts.E]
    out: list[list] = []
    for c, end in zip(cuts, cuts[1:], strict=False):
        p = facts.attrs.private_at(facts.slot, c)
        k, reason = frame_verdict(facts, c, p)
        v = (facts.page_names[k], p, reason)
        if out and tuple(out[-1][2:]) == v:
            out[-1][1] = end
        else:
            out.append([c, end, *v])
    sh = facts.base_shift
    return [(a << sh, (b - a) << sh, *v) for a, b, *v in out]


@CFG
@given(st.one_of(layouts(), big_layouts()))
def test_slot_runs_equal_the_literal_rule_walk(layout: Layout) -> None:
    """The fast path (slot-level rules once, live cuts only) equals every cut + frame_verdict."""
    make = SlotFacts.maker(layout)
    cov = compute(layout)
    for sc in cov.slots:
        facts = make(sc.slot)
        got = [(r.gpa, r.size, r.page, r.private, r.reason) for r in sc.runs]
        assert got == full_cut_runs(facts)
        assert slot_runs(SlotFacts.of(layout, sc.slot)) == sc.runs  # the TUI's per-slot path


@CFG
@given(st.one_of(layouts(), big_layouts()), st.data())
def test_size_steps_agree_with_frame_verdict(layout: Layout, data: st.DataObject) -> None:
    s = data.draw(st.sampled_from(layout.slots))
    facts = SlotFacts.of(layout, s)
    g = data.draw(st.integers(facts.B, facts.E - 1))
    p = facts.attrs.private_at(s, g)
    steps = size_steps(facts, p)
    assert [st_.frames for st_ in steps] == list(facts.page_frames[1:])
    assert engine_at(compute(layout), s.key, g)[::2] == (facts.page_names[frame_verdict(facts, g)[0]],
                                                        frame_verdict(facts, g)[1])


# --- the Coverage value -------------------------------------------------------------------------


def test_coverage_value() -> None:
    a = Slot(slot=7, gpa=4 * G, size=G, ua=0, as_=0)
    b = Slot(slot=2, gpa=0, size=M2 + K4, ua=K4, as_=0)
    c = Slot(slot=1, gpa=0, size=K4, ua=0, as_=1)
    lay = Layout(slots=(a, b, c), host_max_page=G)
    cov = compute(lay)
    assert isinstance(cov, Coverage) and cov.layout is lay
    assert [sc.slot for sc in cov.slots] == [b, a, c]  # by (as, gpa)
    assert all(isinstance(sc, SlotCoverage) and all(isinstance(r, Run) for r in sc.runs) for sc in cov.slots)
    assert cov.size == a.size + b.size + c.size
    assert cov.total == {"4K": M2 + 2 * K4, "2M": 0, "1G": G}
    assert cov.slot((0, 2)).bytes == {"4K": M2 + K4, "2M": 0, "1G": 0}
    assert [(r.gpa, r.size, r.reason) for r in cov.slot((0, 2)).runs] == [
        (0, M2, "ua-misaligned"), (M2, K4, "slot-edge")]  # rule 2 before rule 3 for the last frame
    with pytest.raises(KeyError):
        cov.slot((1, 7))
    check_invariants(lay, cov)


def test_empty_layout() -> None:
    cov = compute(Layout(slots=()))
    assert cov.slots == () and cov.total == {"4K": 0, "2M": 0, "1G": 0} and cov.size == 0


# --- huge slots: closed form ------------------------------------------------------------------------


def huge(ram: int, ranges: int = 12) -> Layout:
    """One slot of ``ram`` bytes at 1 MiB (QEMU's split), private except ``ranges`` unaligned holes."""
    s = Slot(slot=5, gpa=0x100000, size=ram - 0x100000, ua=0x7F24AFD00000, gmem=19, offset=0x100000)
    private, cur = [], s.gpa
    for i in range(1, ranges + 1):
        hole = s.gpa + (s.size // (ranges + 1)) * i // K4 * K4 + 3 * K4
        private.append(PrivateRange(cur, hole - cur))
        cur = hole + M2 + 5 * K4
    private.append(PrivateRange(cur, s.end - cur))
    return Layout(slots=(s,), files=(GmemFile(id=19, max_page=G),), private=tuple(private))


@pytest.mark.parametrize("ram", [64 << 20, T, 64 * T, 1 << 51])
def test_huge_slot_is_closed_form_and_matches_reference(ram: int) -> None:
    """A 64 TiB (or 2 PiB) slot computes instantly with a bounded number of runs, equal to the reference."""
    lay = huge(ram)
    cov = compute(lay)
    check_invariants(lay, cov)
    runs = cov.slot((0, 5)).runs
    assert len(runs) <= 2 + 12 * 5  # bounded by the ranges, not by the bytes
    ref = Reference(lay)
    for key, frames in sample_frames(lay, cov, random.Random(ram)).items():
        for g in sorted(frames):
            assert engine_at(cov, key, g) == ref.verdict(key[0], key[1], g), hex(g << SHIFT)


def test_same_shape_same_runs_at_every_size() -> None:
    """1 TiB and 64 TiB of the same shape give the same runs, scaled."""
    a, b = compute(huge(T)).slot((0, 5)).runs, compute(huge(64 * T)).slot((0, 5)).runs
    assert [(r.page, r.private, r.reason) for r in a] == [(r.page, r.private, r.reason) for r in b]


def test_log_dirty_huge_slot_is_one_run() -> None:
    lay = replace(huge(64 * T), slots=(replace(huge(64 * T).slots[0], flags=1),))
    runs = compute(lay).slot((0, 5)).runs
    assert {(r.page, r.reason) for r in runs} == {("4K", "log-dirty")}
    assert len(runs) == 2 * 12 + 1  # only the attribute changes split it


def test_slot_facts_maker_builds_the_same_value_as_the_constructor() -> None:
    """SlotFacts.maker fills the frozen dataclass through __dict__; it must hold every field."""
    lay = Layout(slots=(Slot(slot=3, gpa=M2, size=G, ua=5 * M2, gmem=1, offset=K4, flags=1),),
                 files=(GmemFile(id=1, max_page=G, mmap=True),), policy="whole-binding")
    facts = SlotFacts.maker(lay)(lay.slots[0])
    names = {f.name for f in fields(SlotFacts)}
    assert set(vars(facts)) == names
    assert replace(facts) == facts  # replace() goes through __init__ with the same field values
    assert (facts.B, facts.P, facts.U, facts.O) == (fr(M2), fr(G), fr(5 * M2), 1)
    assert facts.gmem and facts.gmem_only and facts.folio_max == FR[2] and facts.policy == "whole-binding"
