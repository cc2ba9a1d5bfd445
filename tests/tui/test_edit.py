"""gmemtui.core.edit and gmemtui.tui.history: pure drag / nudge / what-if operations and undo."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import layouts

from gmemtui.core import edit
from gmemtui.core.coverage import compute
from gmemtui.core.model import Layout
from gmemtui.core.validate import layout_errors
from gmemtui.formats.loader import default_layout_path, load
from gmemtui.tui.history import History

K4, M2, G1 = 1 << 12, 1 << 21, 1 << 30
SLOT5 = (0, 5)


def seed() -> Layout:
    return load(default_layout_path()).layout


def slot(layout: Layout, key: tuple[int, int]):
    return layout.slots[layout.slot_index(key)]


def test_start_edge_moves_ua_and_offset_with_it() -> None:
    new = edit.set_start(seed(), SLOT5, 0x200000)
    s = slot(new, SLOT5)
    assert (s.gpa, s.size, s.offset, s.ua) == (0x200000, 0x7FE00000, 0x200000, 0x7F24AFE00000)
    assert s.end == 0x80000000
    assert compute(new).slot(SLOT5).bytes == {"4K": 0, "2M": 0x7FE00000, "1G": 0}


def test_start_edge_stops_at_the_neighbour_and_keeps_a_page() -> None:
    layout = seed()
    assert edit.set_start(layout, SLOT5, 0x80000) is layout  # slot 4 ends at 0x100000
    s = slot(edit.set_start(layout, SLOT5, 0x90000000), SLOT5)
    assert (s.gpa, s.size) == (0x80000000 - K4, K4)


def test_start_edge_cannot_push_the_binding_over_another() -> None:
    # slot 0 binds file 19 at [0, 0xc0000): slot 5's binding may grow down to 0xc0000 only
    layout = seed()
    s4 = slot(layout, (0, 4))
    freed = edit.move_slot(layout, (0, 4), 0x200000 - s4.size)  # blocked by slot 5 anyway
    assert freed is layout
    layout = Layout(tuple(s for s in layout.slots if s.slot not in (3, 4)), layout.files)
    s = slot(edit.set_start(layout, SLOT5, 0x0), SLOT5)
    assert (s.gpa, s.offset) == (0xC0000, 0xC0000)


def test_end_edge_stays_inside_an_explicit_file() -> None:
    layout = seed()
    s = slot(edit.set_end(layout, SLOT5, 0x90000000), SLOT5)
    assert s.end == 0x80000000  # file 19 is 2 GiB and the binding already reaches its end
    s = slot(edit.set_end(layout, SLOT5, 0x40000123), SLOT5)
    assert s.end == 0x40000000  # truncated to the base page


def test_binding_moves_offset_only_and_is_blocked_by_the_next_binding() -> None:
    layout = seed()
    new = edit.move_binding(layout, (0, 0), 0x30000)
    assert slot(new, (0, 0)) == replace(slot(layout, (0, 0)), offset=0x30000)
    assert slot(edit.move_binding(layout, (0, 0), 0x100000), (0, 0)).offset == 0x40000
    # an implicit-size file grows with its binding
    assert slot(edit.move_binding(layout, (0, 3), 0x200000), (0, 3)).offset == 0x200000


def test_drag_snaps_to_the_next_ladder_size_with_a_modifier() -> None:
    layout = seed()
    assert slot(edit.drag(layout, SLOT5, "start", 0x123456), SLOT5).gpa == 0x223000  # nearest 4K
    assert slot(edit.drag(layout, SLOT5, "start", 0x123456, level=1), SLOT5).gpa == 0x200000
    assert slot(edit.drag(layout, SLOT5, "slot", 0, level=2), SLOT5).gpa == 0x100000  # 0 is taken


def test_nudge_goes_to_the_next_multiple() -> None:
    layout = seed()
    assert slot(edit.nudge(layout, SLOT5, "start", +1, 1), SLOT5).gpa == 0x200000
    assert slot(edit.nudge(layout, SLOT5, "start", +1, 0), SLOT5).gpa == 0x101000
    assert slot(edit.nudge(layout, SLOT5, "end", -1, 1), SLOT5).end == 0x80000000 - M2
    assert slot(edit.nudge(layout, SLOT5, "end", -1, 2), SLOT5).end == 0x40000000


def test_what_if_cycles() -> None:
    layout = seed()
    assert [edit.cycle_policy(layout).policy, edit.cycle_policy(edit.cycle_policy(layout)).policy] == [
        "whole-binding", "mainline"]
    assert edit.cycle_host_max_page(layout).host_max_page == G1
    assert edit.cycle_private_max_page(layout).private_max_page == K4
    assert {f.max_page for f in edit.cycle_gmem_max_page(layout).files} == {G1}
    whole = compute(edit.cycle_policy(layout)).slot(SLOT5)
    assert whole.bytes["4K"] == slot(layout, SLOT5).size


def test_history_restores_the_exact_layouts() -> None:
    a = seed()
    b = edit.set_start(a, SLOT5, 0x200000)
    c = edit.cycle_policy(b)
    h = History(a).push(b).push(c)
    assert h.undo().present is b and h.undo().undo().present is a
    assert h.undo().undo().redo().redo().present is c
    assert h.push(c) is h  # no-op edits add no step
    assert not h.undo().push(a).can_redo  # a new edit drops the redo branch


def _valid(layout: Layout) -> None:
    assert layout_errors(layout, "x") == []
    plat = layout.platform
    for s in layout.slots:
        assert s.size >= plat.base.bytes and s.gpa % plat.base.bytes == 0 and s.offset >= 0 and s.ua >= 0


@settings(max_examples=60, deadline=None)
@given(layouts(max_slots=5), st.data())
def test_any_edit_keeps_the_layout_valid(layout: Layout, data: st.DataObject) -> None:
    """Whatever is dragged by however much, the result loads: no overlaps, bindings in their files."""
    for _ in range(4):
        key = data.draw(st.sampled_from([s.key for s in layout.slots]))
        part = data.draw(st.sampled_from(edit.PARTS))
        if data.draw(st.booleans()):
            delta = data.draw(st.integers(-(1 << 33), 1 << 33))
            new = edit.drag(layout, key, part, delta, data.draw(st.integers(0, 2)))
        else:
            direction = data.draw(st.sampled_from([-1, 1]))
            new = edit.nudge(layout, key, part, direction, data.draw(st.integers(0, 2)))
        _valid(new)
        old, cur = slot(layout, key), slot(new, key)
        if part == "binding":
            assert (cur.gpa, cur.size, cur.ua) == (old.gpa, old.size, old.ua)
        elif part == "slot":
            assert (cur.size, cur.ua, cur.offset) == (old.size, old.ua, old.offset)
        elif part == "start":
            d = cur.gpa - old.gpa
            assert cur.end == old.end and cur.ua == old.ua + d
            assert cur.offset == (old.offset + d if old.gmem is not None else old.offset)
        else:
            assert (cur.gpa, cur.ua, cur.offset) == (old.gpa, old.ua, old.offset)
        others = [s for s in new.slots if s.key != key]
        assert others == [s for s in layout.slots if s.key != key]
        layout = new


@settings(max_examples=40, deadline=None)
@given(layouts(max_slots=5), st.data())
def test_live_coverage_equals_compute_through_edits(layout: Layout, data: st.DataObject) -> None:
    """The TUI's memoised recompute gives exactly ``coverage.compute`` after any edit or what-if."""
    from gmemtui.tui.live import LiveCoverage

    live = LiveCoverage()
    for _ in range(5):
        assert live.compute(layout) == compute(layout)
        key = data.draw(st.sampled_from([s.key for s in layout.slots]))
        op = data.draw(st.sampled_from(["drag", "policy", "gmem", "private"]))
        if op == "drag":
            part = data.draw(st.sampled_from(edit.PARTS))
            layout = edit.drag(layout, key, part, data.draw(st.integers(-(1 << 22), 1 << 22)))
        elif op == "policy":
            layout = edit.cycle_policy(layout)
        elif op == "gmem":
            layout = edit.cycle_gmem_max_page(layout)
        else:
            layout = edit.cycle_private_max_page(layout)
    assert live.compute(layout) == compute(layout)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(1, 40), st.integers(0, 2)), max_size=25),
       st.integers(0, 30), st.integers(0, 4), st.integers(1, 90), st.booleans())
def test_map_cells_match_a_per_cell_scan(pieces, start, zoom, width, scale) -> None:
    """Each column shows the smallest page of the runs it overlaps, mixed where sizes differ: the
    bisect sweep of ``RunIndex.cells`` against a scan of every run for every column."""
    from gmemtui.tui.axis import RunIndex, linear, slot_scale

    runs, g = [], 0
    for gap, size, page in pieces:
        g += gap * K4
        runs.append((g, g + size * K4, page))
        g += size * K4
    axis = slot_scale([(a, b) for a, b, _ in runs], width) if scale and runs else None
    axis = axis or linear(start * K4, K4 << zoom, width)
    for x, cell in enumerate(RunIndex.of(runs).cells(axis)):
        lo, hi = axis.cell(x)
        hi = max(hi, lo + 1)
        pages = {k for a, b, k in runs if a < hi and b > lo}
        assert cell == ((min(pages) if pages else None), len(pages) > 1)
    if axis.bpc == 0:
        assert axis.width <= width and axis.lo == runs[0][0] and axis.hi == runs[-1][1]
