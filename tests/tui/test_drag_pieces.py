"""The drag step's incremental structures against a fresh build (issue 13): runs kept as per-slot
pieces, the attribute row patched over the changed slots, the label row kept when the changed slots
read the same to it, the not-mappable sum, diffs composed through the drag's base; and, through the
real app, random sequences of drags, releases, undos and redos leaving every bar as a rebuild draws it."""

from __future__ import annotations

import asyncio
from bisect import bisect_left, bisect_right
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmemtui.core import edit
from gmemtui.core.coverage import compute
from gmemtui.core.model import GmemFile, Layout, PrivateRange, Slot
from gmemtui.formats.loader import Loaded
from gmemtui.tui import attributes
from gmemtui.tui.attributes import attribute_cells, patch_attribute_cells
from gmemtui.tui.axis import RunIndex, linear, patch_cells, remember_span, slot_scale
from gmemtui.tui.bar_data import BarData
from gmemtui.tui.labels import label_cells, label_signature
from gmemtui.tui.live import changed_positions
from gmemtui.tui.piece_runs import PieceRuns
from gmemtui.tui.widgets.bar import Drag, dragged

K = 0x1000
MiB = 1 << 20


def _first(r):
    return r[0]


# -- PieceRuns ------------------------------------------------------------------------------------


@st.composite
def pieces(draw) -> list[list[tuple[int, int, int]]]:
    """Per-slot run lists, sorted and disjoint all together; some slots may have no runs."""
    out, at = [], draw(st.integers(0, 8))
    for _ in range(draw(st.integers(0, 12))):
        part = []
        for _ in range(draw(st.integers(0, 4))):
            at += draw(st.integers(0, 3))  # runs may touch
            size = draw(st.integers(1, 5))
            part.append((at, at + size, draw(st.integers(0, 3))))
            at += size
        out.append(part)
    return out


def plain_near(flat, a, b):
    i = max(bisect_right(flat, a, key=_first) - 1, 0)
    return list(flat[i:bisect_left(flat, b, key=_first)])


@settings(max_examples=400, deadline=None)
@given(pieces(), st.lists(st.tuples(st.integers(-2, 90), st.integers(0, 20)), max_size=8))
def test_near_is_the_slice_of_the_flat_runs(parts, queries) -> None:
    runs = PieceRuns(parts)
    flat = tuple(r for p in parts for r in p)
    assert tuple(runs) == flat == runs.flat() and len(runs) == len(flat)
    for a, w in queries:
        assert runs.near(a, a + w) == plain_near(flat, a, a + w)


@settings(max_examples=300, deadline=None)
@given(pieces(), st.data())
def test_a_replaced_piece_equals_a_fresh_build(parts, data) -> None:
    """Replace one slot's runs by others inside the same gap (what a drag step does), several times;
    each result answers as a PieceRuns built from scratch."""
    runs = PieceRuns([list(p) for p in parts])
    current = [list(p) for p in parts]
    for _ in range(data.draw(st.integers(1, 4))):
        if not current:
            break
        k = data.draw(st.integers(0, len(current) - 1))
        lo = max((r[1] for p in current[:k] for r in p), default=0)
        hi = min((r[0] for p in current[k + 1:] for r in p), default=lo + 40)
        if hi - lo < 1:
            continue
        a = data.draw(st.integers(lo, hi - 1))
        b = data.draw(st.integers(a + 1, hi))
        new = [(a, b, data.draw(st.integers(0, 3)))]
        current[k] = new
        nxt = runs.replaced({k: new})
        if nxt is None:  # an empty piece somewhere: built afresh
            assert any(not p for p in parts) or runs.empty
            nxt = PieceRuns([list(p) for p in current])
        else:
            assert runs.stale
        runs = nxt
        fresh = PieceRuns([list(p) for p in current])
        assert tuple(runs) == tuple(fresh)
        for q in range(-1, hi + 3, 3):
            assert runs.near(q, q + 5) == fresh.near(q, q + 5)


@settings(max_examples=200, deadline=None)
@given(pieces(), st.data())
def test_patched_cells_over_pieces_equal_every_column(parts, data) -> None:
    parts = [p for p in parts if p]  # a slot always has runs
    flat = [r for p in parts for r in p]
    if not flat:
        return
    runs = PieceRuns([list(p) for p in parts])
    top = flat[-1][1] + 4
    axis = linear(0, data.draw(st.integers(1, 4)), data.draw(st.integers(1, 30)))
    cells = RunIndex.of(flat).cells(axis)
    k = data.draw(st.integers(0, len(parts) - 1))
    if not parts[k]:
        return
    lo = max((r[1] for p in parts[:k] for r in p), default=0)
    hi = min((r[0] for p in parts[k + 1:] for r in p), default=top)
    a = data.draw(st.integers(lo, hi - 1))
    new_piece = [(a, data.draw(st.integers(a + 1, hi)), data.draw(st.integers(0, 3)))]
    span = (min(parts[k][0][0], a), max(parts[k][-1][1], new_piece[0][1]))
    new = runs.replaced({k: new_piece})
    assert new is not None
    remember_span(runs, new, span)
    expected = RunIndex.of([r for j, p in enumerate(parts) for r in (new_piece if j == k else p)]).cells(axis)
    assert patch_cells(cells, axis, runs, new) == expected


# -- the GPA bar's label and attribute rows -------------------------------------------------------


@st.composite
def one_space(draw) -> tuple[list[Slot], int, int]:
    """Sorted disjoint slots of one address space, and (position, new gpa, new end) of a drag of one
    inside its gap."""
    slots, at = [], 0
    for i in range(draw(st.integers(1, 14))):
        at += draw(st.integers(0, 6)) * K
        size = draw(st.integers(1, 8)) * K
        gmem = draw(st.sampled_from([None, 1]))
        slots.append(Slot(slot=draw(st.sampled_from([i, i + 10, i + 100])), gpa=at, size=size,
                          ua=0x7F0000000000 + at, gmem=gmem, offset=at if gmem else 0))
        at += size
    k = draw(st.integers(0, len(slots) - 1))
    lo = slots[k - 1].end if k else 0
    hi = slots[k + 1].gpa if k + 1 < len(slots) else slots[k].end + 8 * K
    g = draw(st.integers(lo // K, hi // K - 1)) * K
    e = draw(st.integers(g // K + 1, hi // K)) * K
    return slots, k, replace(slots[k], gpa=g, size=e - g)


def axes(slots: list[Slot], data) -> object:
    width = data.draw(st.integers(4, 60))
    if data.draw(st.booleans()):
        scaled = slot_scale([(s.gpa, s.end) for s in slots], width)
        if scaled is not None:
            return scaled, width
    start = data.draw(st.integers(0, 4)) * K
    return linear(start, data.draw(st.sampled_from([K // 2, K, 2 * K, 8 * K])), width), width


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_space(), st.data())
def test_patched_attribute_cells_equal_every_column(space, data) -> None:
    slots, k, moved = space
    axis, _ = axes(slots, data)
    private = data.draw(st.sampled_from([None, (), (1, 3), (0, 5, 9, 40), (2, 4, 6, 8, 10, 12)]))
    new = [*slots[:k], moved, *slots[k + 1:]]
    bounds = axis.bounds()
    before = attribute_cells(bounds, slots, private, 12)
    assert patch_attribute_cells(before, bounds, slots, new, [k], private, 12) == \
        attribute_cells(bounds, new, private, 12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_space(), st.data())
def test_equal_label_signatures_give_equal_label_rows(space, data) -> None:
    slots, k, moved = space
    axis, width = axes(slots, data)
    new = [*slots[:k], moved, *slots[k + 1:]]
    sel = data.draw(st.integers(-1, len(slots) - 1))
    if label_signature(axis, slots[k], width) == label_signature(axis, moved, width):
        assert label_cells(axis, new, sel, width) == label_cells(axis, slots, sel, width)


# -- diffs told by the drag -----------------------------------------------------------------------


def test_an_edit_replaces_only_the_slot_it_changes_and_the_diff_composes() -> None:
    """``dragged`` tells the live model that an edit changed one position; two steps from one base
    then diff through it, and the answer is what comparing the slots gives."""
    base = many(40).layout
    key = base.slots[17].key
    d = Drag(key, "start", base, 0, linear(0, MiB, 100))
    for part in ("start", "end", "slot", "binding"):
        for delta in (-3 * K, 0, 5 * K, 1 << 30):
            new = edit.drag(base, key, part, delta)
            assert changed_positions(new.slots, base.slots, 100) in ([], [17])
    one, two = dragged(d, 4 * K), dragged(d, 9 * K)
    got = changed_positions(two.slots, one.slots)
    assert got == [17] == changed_positions(list(two.slots), list(one.slots), 100)
    three = dragged(d, 9 * K)  # the same place: an equal slot, but another object
    assert three.slots[17] == two.slots[17] and changed_positions(three.slots, two.slots) == [17]
    back = dragged(d, 0)  # no move at all: the base's own slots
    assert back.slots is base.slots and changed_positions(back.slots, three.slots) == [17]
    assert changed_positions(back.slots, base.slots) == []


# -- the app: random drags, releases, undos, redos ------------------------------------------------


def many(n: int, private: bool = False) -> Loaded:
    """n slots on two files, some 4K off so every reason shows; with ``private``, explicit ranges."""
    slots = tuple(Slot(slot=i, gpa=i * 64 * MiB + (K if i % 5 == 0 else 0),
                       size=32 * MiB - (K if i % 3 == 0 else 0) - (K if i % 5 == 0 else 0),
                       ua=0x7F0000000000 + i * 64 * MiB + (K if i % 4 == 0 else 0),
                       gmem=None if i % 7 == 6 else 100 + i % 2,
                       offset=0 if i % 7 == 6 else (i // 2) * 64 * MiB, name=f"r{i}")
                  for i in range(n))
    files = (GmemFile(id=100, size=n * 64 * MiB, max_page=2 * MiB),
             GmemFile(id=101, size=n * 64 * MiB, max_page=2 * MiB))
    ranges = tuple(PrivateRange(s.gpa + 2 * MiB, 8 * MiB) for s in slots[::3]) if private else None
    return Loaded(Layout(slots=slots, files=files, private=ranges, name=f"{n} slots"), "m.yaml", "", "yaml")


def bar_rows(app) -> dict[str, list]:
    return {bar.id: [list(bar.line(r)) for r in bar.rows] for bar in app.map_view.bars()}


def rebuilt_rows(app) -> dict[str, list]:
    """Every bar drawn from scratch: the map's groups, runs and memos dropped, each bar's caches too."""
    m = app.map_view
    m._bar_data = BarData(m.coverage, m.current.platform.names)
    attributes._last.clear()
    m.version += 1
    for bar in m.bars():
        bar._whole = bar._key = bar._cells_for = None
        bar._strips, bar._inputs = {}, {}
        if hasattr(bar, "_rows_from"):
            bar._rows_from = None
    return bar_rows(app)


async def drive(loaded: Loaded, steps: list[tuple[str, int, str, int]]) -> None:
    from gmemtui.tui.app import GmemApp
    from gmemtui.tui.widgets.bar import LayoutEdited

    app = GmemApp(loaded, path_opened=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for what, index, part, delta in steps:
            if what in ("undo", "redo"):
                getattr(app, f"action_{what}")()
            else:
                layout = app.layout
                key = layout.slots[index % len(layout.slots)].key
                bar = app.query_one("#gpa-0")
                d = Drag(key, part, layout, 0, bar.axis)
                bar.drag = d
                for k in range(1, 4):
                    new = dragged(d, k * delta)
                    app.on_layout_edited(LayoutEdited(new, False, (0, new.slots[0].gpa), "dragging"))
                    await pilot.pause()
                bar.drag = None
                bar._key = None
                if what == "drop":
                    app.on_layout_edited(LayoutEdited(new, True, None))
            await pilot.pause()
            shown = bar_rows(app)
            assert app.summary._shown[2] == app.coverage.unmappable
            assert app.coverage == compute(app.layout)
            m = app.map_view
            cov = app.coverage.slots
            for a in {sc.slot.as_ for sc in cov}:
                assert m.group("as", a) == tuple(sc for sc in cov if sc.slot.as_ == a)
                assert m.slots_of("as", a) == [sc.slot for sc in cov if sc.slot.as_ == a]
            for f in (100, 101):
                bound = sorted((sc for sc in cov if sc.slot.gmem == f), key=lambda sc: sc.slot.offset)
                assert m.group("file", f) == tuple(bound)
                assert list(m.slots_of("file", f)) == [sc.slot for sc in bound]
            data = m._bar_data
            for kind, ident in data._runs:
                assert tuple(m.runs_of(kind, ident)) == tuple(
                    r for sc in m.group(kind, ident) for r in data.converted(sc)[1 if kind == "as" else 2])
            assert shown == rebuilt_rows(app)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans(), st.lists(st.tuples(st.sampled_from(["drop", "drop", "hold", "undo", "redo"]),
                                         st.integers(0, 39), st.sampled_from(edit.PARTS),
                                         st.sampled_from([-2 * MiB, -K, K, 3 * K, 2 * MiB])),
                               min_size=1, max_size=5))
def test_random_drags_undos_and_redos_leave_what_a_rebuild_draws(private, steps) -> None:
    asyncio.run(drive(many(40, private), steps))


# -- the frame: the tight compositor writes what Textual's would ------------------------------------


async def test_each_drag_frame_writes_the_bytes_textuals_compositor_writes(seed) -> None:
    """Drag steps through the app's handler; for each frame the dirty regions are rendered by the
    tight compositor and, from the same widget caches, by Textual's own: the same terminal bytes."""
    from textual._compositor import Compositor

    from gmemtui.tui.app import GmemApp
    from gmemtui.tui.compositor import TightCompositor
    from gmemtui.tui.widgets.bar import LayoutEdited

    for loaded, key in ((seed, (0, 5)), (many(40, private=True), (0, 20))):
        app = GmemApp(loaded, path_opened=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            screen = app.screen
            comp = screen._compositor
            assert isinstance(comp, TightCompositor)
            bar = app.query_one("#gpa-0")
            base = app.layout
            d = Drag(key, "start", base, 0, bar.axis)
            bar.drag = d
            frames = 0
            for delta in (K, 2 * K, 3 * K, 2 * MiB, -K, 0):
                new = dragged(d, delta)
                s = new.slots[new.slot_index(key)]
                app.on_layout_edited(LayoutEdited(new, False, (s.as_, s.gpa), f"dragging {delta:#x}"))
                if screen._layout_required or any(w._layout_required for w in screen.walk_children()):
                    await pilot.pause()  # a layout: Textual repaints everything, nothing to compare
                    continue
                dirty = {w for w in screen.walk_children(with_self=False) if w._repaint_required}
                for w in dirty:
                    w._repaint_required = False
                comp.update_widgets(dirty)
                regions = set(comp._dirty_regions)
                tight = comp.render_partial_update()
                comp._dirty_regions.update(regions)
                plain = Compositor.render_partial_update(comp)  # Textual's: every widget in the box
                assert (tight is None) == (plain is None)
                if tight is not None:
                    frames += 1
                    assert tight.render_segments(app.console) == plain.render_segments(app.console)
            bar.drag = None
            assert frames >= 3


async def test_a_text_panel_after_a_style_update_repaints_without_a_layout(seed) -> None:
    """A style update (a selection, the theme) re-renders the panel's lines at the width they were laid
    out at; the next text of as many lines (a drag's first step) is a repaint, not a screen layout."""
    from rich.text import Text

    from gmemtui.tui.app import GmemApp

    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        summary = app.summary
        before = summary.render_line(0).text
        assert before.lstrip().startswith("total")
        summary.notify_style_update()
        summary.set_text(Text(summary.text.plain.replace("total", "TOTAL")))
        assert not summary._layout_required
        await pilot.pause()
        assert summary.render_line(0).text == before.replace("total", "TOTAL")
