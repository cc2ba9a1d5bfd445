"""The layout's lookups by bisection (``Layout.neighbours``, ``Layout.positions``) against scans of
every slot, the way the edits and the explain panel used to find them."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from gmemtui.core import edit
from gmemtui.core.model import Layout, Slot
from tests.strategies import layouts

TOP = 1 << 52


def scan_room(layout: Layout, slot: Slot) -> tuple[int, int]:
    lo, hi = 0, TOP
    for s in layout.slots:
        if s.as_ != slot.as_ or s.key == slot.key:
            continue
        if s.gpa < slot.gpa:
            lo = max(lo, s.end)
        else:
            hi = min(hi, s.gpa)
    return lo, hi


def scan_binding_room(layout: Layout, slot: Slot, top: int) -> tuple[int, int]:
    lo, hi = 0, top
    for s in layout.slots:
        if s.gmem != slot.gmem or s.key == slot.key:
            continue
        if s.offset < slot.offset:
            lo = max(lo, s.offset + s.size)
        else:
            hi = min(hi, s.offset)
    return lo, hi


@settings(max_examples=200, deadline=None)
@given(layouts(max_slots=8), st.data())
def test_rooms_and_slot_at_match_a_scan(layout: Layout, data: st.DataObject) -> None:
    for i, s in enumerate(layout.slots):
        assert layout.slot_index(s.key) == i
        assert layout.neighbours.gpa_room(s, TOP) == scan_room(layout, s)
        if s.gmem is not None:
            assert layout.neighbours.offset_room(s, 1 << 64) == scan_binding_room(layout, s, 1 << 64)
    as_ = data.draw(st.sampled_from([0, 1]))
    gpa = data.draw(st.integers(0, max((s.end for s in layout.slots), default=0) + (1 << 22)))
    want = next((s for s in layout.slots if s.as_ == as_ and s.gpa <= gpa < s.end), None)
    assert layout.neighbours.slot_at(as_, gpa) == want


@settings(max_examples=100, deadline=None)
@given(layouts(max_slots=6), st.data())
def test_with_slot_keeps_positions_only_when_keys_stay(layout: Layout, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(layout.slots) - 1))
    _ = layout.positions  # built, so with_slot may pass it on
    moved = layout.with_slot(i, gpa=layout.slots[i].gpa)
    assert moved.positions == {s.key: j for j, s in enumerate(moved.slots)}
    free = max(s.slot for s in layout.slots) + 1
    renamed = layout.with_slot(i, slot=free)
    assert renamed.positions == {s.key: j for j, s in enumerate(renamed.slots)}
    assert replace(layout, name="x").positions == layout.positions


@settings(max_examples=60, deadline=None)
@given(layouts(max_slots=6), st.data())
def test_drag_room_matches_scan_after_edits(layout: Layout, data: st.DataObject) -> None:
    """The index of each new layout is its own: rooms after a few drags still match a scan."""
    for _ in range(3):
        s = data.draw(st.sampled_from(layout.slots))
        layout = edit.drag(layout, s.key, data.draw(st.sampled_from(edit.PARTS)),
                           data.draw(st.integers(-(1 << 22), 1 << 22)))
        for t in layout.slots:
            assert edit.slot_room(layout, t) == scan_room(layout, t)[:1] + (
                min(scan_room(layout, t)[1], 1 << layout.platform.gpa_bits),)


@settings(max_examples=200, deadline=None)
@given(layouts(max_slots=8), st.data())
def test_coverage_at_matches_a_scan(layout: Layout, data: st.DataObject) -> None:
    from gmemtui.core.coverage import compute

    cov = compute(layout)
    as_ = data.draw(st.sampled_from([0, 1]))
    top = max((s.end for s in layout.slots), default=0) + (1 << 22)
    for gpa in [data.draw(st.integers(0, top)) for _ in range(5)] + [s.gpa for s in layout.slots] + \
            [s.end - 1 for s in layout.slots] + [s.end for s in layout.slots]:
        want = next((s for s in layout.slots if s.as_ == as_ and s.gpa <= gpa < s.end), None)
        got = cov.at(as_, gpa)
        assert (got.slot if got is not None else None) == want
