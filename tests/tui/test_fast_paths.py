"""The drag step's shortcuts (bars and table repaint only what changed, columns patched, text panels
without layout) must show exactly what a full repaint shows; and keys on dialogs stay on dialogs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gmemtui.core.coverage import compute
from gmemtui.core.model import GmemFile, Layout, Slot
from gmemtui.formats.loader import Loaded
from gmemtui.tui.app import GmemApp
from gmemtui.tui.axis import RunIndex, linear, patch_cells, slot_scale
from gmemtui.tui.screens import ConfirmScreen, HelpScreen, SaveAsScreen
from tui.conftest import SIZE, zoom_to

MiB = 1 << 20


def screen_text(app: GmemApp) -> list[str]:
    """The screen as the compositor composes it from the widgets' caches (what the terminal shows)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def full_repaint(app: GmemApp, pilot) -> list[str]:
    """Drop every cache (the widgets' own and Textual's per-widget line cache), repaint everything."""
    for w in app.screen.walk_children(with_self=False):
        w.notify_style_update()
        w.refresh()
    await pilot.pause()
    return screen_text(app)


async def test_screen_during_and_after_a_drag_equals_a_full_repaint(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await zoom_to(pilot, app, 0x10000)
        bar = app.query_one("#gpa-0")
        await pilot.mouse_down(bar, offset=(16, 1))
        for x in (18, 21, 24):
            await pilot.hover(bar, offset=(x, 1))
        await pilot.pause()
        shown = screen_text(app)
        assert any("dragging slot 5 start: gpa 0x180000" in line for line in shown)  # the border line
        assert any("0x180000" in line and "19 @ 0x180000" in line for line in shown)  # the table row
        assert any(line.lstrip().startswith("explain 0x180000") for line in shown)
        assert shown == await full_repaint(app, pilot)
        await pilot.mouse_up(bar, offset=(32, 1))
        await pilot.pause()
        shown = screen_text(app)
        assert not any("dragging" in line for line in shown)
        assert any("0x200000" in line and "100%" in line for line in shown)
        assert shown == await full_repaint(app, pilot)


def many_slots(n: int) -> Loaded:
    slots = tuple(Slot(slot=i, gpa=i * 64 * MiB, size=32 * MiB - (0x1000 if i % 3 == 0 else 0),
                       ua=0x7F0000000000 + i * 64 * MiB, gmem=100, offset=i * 32 * MiB, name=f"ram{i}")
                  for i in range(n))
    files = (GmemFile(id=100, size=n * 32 * MiB, max_page=2 * MiB),)
    return Loaded(Layout(slots=slots, files=files, name=f"{n} slots"), f"{n}.yaml", "", "yaml")


async def test_table_keeps_the_selected_row_in_view_and_a_click_picks_the_row_under_it() -> None:
    app = GmemApp(many_slots(60), path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        assert app.selected == (0, 1) and table.scroll_offset.y == 0  # the largest slot, first
        await pilot.press("shift+tab", "shift+tab")  # slot 0, then round to the last: the table scrolls
        await pilot.pause()
        assert app.selected == (0, 59)
        top = table.scroll_offset.y
        assert top > 0 and top <= 59 < top + table.size.height - 1
        assert table.render_line(59 - top + 1).text.split()[:3] == ["0", "59", "ram59"]
        assert table.render_line(0).text.split()[:3] == ["as", "slot", "name"]  # the header stays
        await pilot.click(table, offset=(3, 1))  # the first row under the header
        await pilot.pause()
        assert app.selected == (0, top)
        assert screen_text(app) == await full_repaint(app, pilot)


async def test_drag_in_a_many_slot_layout_repaints_correctly() -> None:
    app = GmemApp(many_slots(60), path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one("#gpa-0")
        x = bar.axis.x_of(30 * 64 * MiB)
        await pilot.mouse_down(bar, offset=(x, 1))
        await pilot.hover(bar, offset=(x + 2, 1))
        await pilot.pause()
        moved = app.layout.slots[30]
        assert moved.gpa > 30 * 64 * MiB
        m = app.map_view  # its groups were patched, not rebuilt: they must equal a rebuild
        assert m.slots_of("as", 0) == sorted(app.layout.slots, key=lambda s: s.gpa)
        assert m.slots_of("file", 100) == sorted(app.layout.slots, key=lambda s: s.offset)
        assert m.group("as", 0) == app.coverage.slots
        names = app.layout.platform.names
        assert tuple(m.runs_of("as", 0)) == tuple((r.gpa, r.end, names.index(r.page))
                                                  for sc in app.coverage.slots for r in sc.runs)
        assert app.coverage == compute(app.layout)
        assert app.table.values("0:30")["gpa"] == f"{moved.gpa:#x}"
        assert screen_text(app) == await full_repaint(app, pilot)
        await pilot.mouse_up(bar, offset=(x + 2, 1))
        await pilot.pause()
        assert screen_text(app) == await full_repaint(app, pilot)


# -- tab / shift+tab on dialogs ---------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: ConfirmScreen("Quit?"), lambda: SaveAsScreen("a.yaml"), HelpScreen],
                         ids=["confirm", "save-as", "help"])
async def test_tab_on_a_dialog_leaves_the_selected_slot(seed, make) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab")
        before = app.selected
        app.push_screen(make())
        await pilot.pause()
        focused = app.focused
        await pilot.press("tab")
        await pilot.pause()
        assert app.selected == before
        if not isinstance(app.screen, HelpScreen):
            assert app.focused is not focused  # the key moved the focus inside the dialog instead
        await pilot.press("shift+tab", "shift+tab", "tab")
        await pilot.pause()
        assert app.selected == before
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == 1
        await pilot.press("tab")  # back on the main screen tab selects again
        assert app.selected != before


# -- patch_cells equals computing every column ------------------------------------------------------


@st.composite
def runs_and_edit(draw):
    """Sorted disjoint runs (start, end, page) in 4K units, and the same with one slot's runs redone."""
    n = draw(st.integers(1, 12))
    runs, slots = [], []
    at = 0
    for _ in range(n):
        at += draw(st.integers(0, 40))
        pieces = [draw(st.integers(1, 60)) for _ in range(draw(st.integers(1, 3)))]
        first = len(runs)
        for size in pieces:
            runs.append((at, at + size, draw(st.integers(0, 2))))
            at += size
        slots.append((first, len(runs)))
    first, last = slots[draw(st.integers(0, n - 1))]
    lo = runs[first - 1][1] if first else 0
    hi = runs[last][0] if last < len(runs) else at + 50
    a = draw(st.integers(lo, hi - 1))
    b = draw(st.integers(a + 1, hi))
    cut = draw(st.integers(a, b))
    new_mid = [(a, cut, draw(st.integers(0, 2))), (cut, b, draw(st.integers(0, 2)))]
    new = runs[:first] + [r for r in new_mid if r[1] > r[0]] + runs[last:]
    return tuple(runs), tuple(new), at + 50


@settings(deadline=None, max_examples=150)
@given(runs_and_edit(), st.integers(1, 16), st.integers(5, 60), st.booleans())
def test_patch_cells_equals_all_columns(case, bpc, width, piecewise) -> None:
    old, new, extent = case
    axis = None
    if piecewise:  # a slot-scale-like axis over the old runs' extent, with stretched pieces
        axis = slot_scale([(0, extent // 3), (extent // 3 + 1, extent)], width, min_w=2)
    if axis is None:
        axis = linear(0, bpc, width)
    cells = RunIndex.of(old).cells(axis)
    assert patch_cells(cells, axis, old, new) == RunIndex.of(new).cells(axis)


# -- the label row's rule, on random slots and axes ---------------------------------------------------


def check_label_row(axis, slots, sel, width) -> None:
    """On the label row's text: every run of digits is one slot's number at that slot's first column
    (so no two labels touch), and every slot wider than its label has its number there."""
    import re

    from gmemtui.tui.labels import is_wide, label_cells, slot_columns

    chars, selected = label_cells(axis, slots, sel, width)
    text = "".join(chars)
    firsts: dict[int, set[str]] = {}
    for s in slots:
        cols = slot_columns(axis, s, width)
        if cols is not None:
            firsts.setdefault(cols[0], set()).add(str(s.slot))
    for m in re.finditer(r"\d+", text):
        full = m.end() < width or m.group() in firsts.get(m.start(), set())
        assert any(n == m.group() or (not full and n.startswith(m.group()))
                   for n in firsts.get(m.start(), set())), (text, m.group(), m.start())
    for s in slots:
        cols = slot_columns(axis, s, width)
        if cols is not None and is_wide(cols, s):
            label = str(s.slot)
            assert text[cols[0]:cols[0] + len(label)] == label, (text, s.slot, cols)
    for ch, on in zip(chars, selected, strict=True):
        assert not on or ch == "─" or ch.isdigit()  # the selected slot: its number and its line only


@settings(deadline=None, max_examples=300)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(1, 40)), min_size=2, max_size=40),
       st.integers(0, 100), st.sampled_from([1, 4, 16, 64]), st.integers(4, 80), st.booleans(), st.data())
def test_labels_never_touch_and_every_wide_slot_has_one(pieces, start, bpc, width, scale, data) -> None:
    slots, g = [], 0
    for n, (gap, size) in enumerate(pieces):
        g += gap
        slots.append(Slot(slot=n * 7 % 113, gpa=g * 0x1000, size=size * 0x1000, ua=0))
        g += size
    axis = slot_scale([(s.gpa, s.end) for s in slots], width) if scale else None
    axis = axis or linear(start * 0x1000, bpc * 0x1000, width)
    sel = data.draw(st.integers(-1, len(slots) - 1), label="selected index")
    check_label_row(axis, slots, sel, width)
