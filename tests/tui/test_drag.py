"""Real mouse drags on the map (Pilot: mouse down, several moves, mouse up) and the undo of them."""

from __future__ import annotations

from gmemtui.core.edit import snap
from gmemtui.tui.app import GmemApp
from tui.conftest import SIZE, zoom_to

SLOT5 = (0, 5)
K64 = 0x10000


def slot(app: GmemApp, key: tuple[int, int]):
    return app.layout.slots[app.layout.slot_index(key)]


async def test_drag_slot5_start_to_2m_turns_it_all_2m(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await zoom_to(pilot, app, K64)  # 64K per cell from GPA 0: slot 5 starts at column 16
        bar = app.query_one("#gpa-0")
        assert bar.line(1).text[14:18] == "████"
        await pilot.mouse_down(bar, offset=(16, 1))
        for x in (18, 21, 24):
            await pilot.hover(bar, offset=(x, 1))
        await pilot.pause()
        # intermediate: start at 0x180000, offset and ua moved with it; the head is 4K, the rest 2M
        s = slot(app, SLOT5)
        assert (s.gpa, s.offset, s.ua) == (0x180000, 0x180000, 0x7F24AFD80000)
        row = app.table.values("0:5")
        assert (row["gpa"], row["gmem @ offset"]) == ("0x180000", "19 @ 0x180000")
        assert row["4K"] != "-" and row["2M"] != "100%"
        text = bar.line(1).text
        assert text[16:24] == " " * 8 and text[24:32] == "█" * 8 and text[32:40] == "▓" * 8
        assert not app.history.can_undo  # nothing committed before mouse-up
        status = app.query_one(".as-box").border_subtitle
        assert status == "dragging slot 5 start: gpa 0x180000, offset 0x180000 · snap 4K"
        for x in (28, 31, 32):
            await pilot.hover(bar, offset=(x, 1))
        await pilot.mouse_up(bar, offset=(32, 1))
        await pilot.pause()
        s = slot(app, SLOT5)
        assert (s.gpa, s.end, s.offset) == (0x200000, 0x80000000, 0x200000)
        assert app.coverage.slot(SLOT5).bytes == {"4K": 0, "2M": s.size, "1G": 0}
        row = app.table.values("0:5")
        assert (row["gpa"], row["4K"], row["2M"]) == ("0x200000", "-", "100%")
        text = bar.line(1).text
        assert text[16:32] == " " * 16 and set(text[32:]) == {"▓"}
        assert "0x200000" in str(app.explain.render()) and "2M ✓" in str(app.explain.render())
        assert len(app.history.past) == 1  # the whole drag is one undo step
        await pilot.press("u")
        assert app.layout is seed.layout
        await pilot.press("ctrl+y")
        assert slot(app, SLOT5).gpa == 0x200000


async def test_drag_with_a_modifier_snaps_to_2m(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await zoom_to(pilot, app, K64)
        bar = app.query_one("#gpa-0")
        await pilot.mouse_down(bar, offset=(16, 1))
        await pilot.hover(bar, offset=(19, 1))  # 0x130000: plain drag stays there
        await pilot.pause()
        assert slot(app, SLOT5).gpa == 0x130000
        await pilot.mouse_up(bar, offset=(20, 1), control=True)  # 0x140000, with ctrl: nearest 2M
        await pilot.pause()
        assert slot(app, SLOT5).gpa == 0x200000


async def test_drag_a_binding_along_its_file(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await zoom_to(pilot, app, K64)
        bar = app.query_one("#file-33")  # pc.rom's own file: 128K at offset 0, columns 0-1
        assert bar.line(1).text[:3] == "██ "
        before = slot(app, (0, 3))
        await pilot.mouse_down(bar, offset=(1, 1))
        for x in (3, 6, 9):
            await pilot.hover(bar, offset=(x, 1))
        await pilot.mouse_up(bar, offset=(9, 1))
        await pilot.pause()
        after = slot(app, (0, 3))
        assert after.offset == 0x80000
        assert (after.gpa, after.size, after.ua) == (before.gpa, before.size, before.ua)
        assert app.table.values("0:3")["gmem @ offset"] == "33 @ 0x80000"
        assert bar.line(1).text[:10] == " " * 8 + "██"


async def test_drags_are_blocked_by_neighbours(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await zoom_to(pilot, app, K64)
        gpa_bar = app.query_one("#gpa-0")
        # slot 5's start cannot move down into slot 4 ([0xe0000, 0x100000))
        await pilot.mouse_down(gpa_bar, offset=(16, 1))
        for x in (14, 12, 8):
            await pilot.hover(gpa_bar, offset=(x, 1))
        await pilot.mouse_up(gpa_bar, offset=(8, 1))
        await pilot.pause()
        assert app.layout == seed.layout and not app.history.can_undo
        # slot 0's binding in file 19 stops where slot 5's binding starts (0x100000)
        file_bar = app.query_one("#file-19")
        await pilot.mouse_down(file_bar, offset=(4, 1))
        for x in (10, 20, 40):
            await pilot.hover(file_bar, offset=(x, 1))
        await pilot.mouse_up(file_bar, offset=(40, 1))
        await pilot.pause()
        s0 = slot(app, (0, 0))
        assert s0.offset == 0x100000 - s0.size == 0x40000


async def test_keyboard_nudges_the_selected_slot(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.selected == SLOT5  # the largest slot is selected at start
        await pilot.press("n", "full_stop")  # step 2M, nudge the start up
        assert slot(app, SLOT5).gpa == 0x200000
        await pilot.press("e", "n", "comma")  # part: end, step 1G, nudge down
        assert slot(app, SLOT5).end == 0x40000000
        await pilot.press("shift+tab")
        assert app.selected == (0, 4)
        await pilot.press("u", "u")
        assert app.layout is seed.layout


async def test_drag_in_slot_scale_keeps_the_axis_until_mouse_up(seed) -> None:
    """In the slot scale the axis depends on the layout; during a drag it stays as it was at
    mouse-down, so the pointer keeps meaning the same address."""
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one("#gpa-0")
        assert app.map_view.mode == "scale"
        axis = bar.axis
        x0 = axis.x_of(0x100000)  # slot 5's first column
        await pilot.mouse_down(bar, offset=(x0, 1))
        await pilot.hover(bar, offset=(x0 + 3, 1))
        await pilot.pause()
        assert bar.axis is axis
        moved = slot(app, SLOT5).gpa
        assert moved == snap(0x100000 + axis.at(x0 + 3) - axis.at(x0), 0x1000) != 0x100000
        await pilot.mouse_up(bar, offset=(x0 + 3, 1), control=True)
        await pilot.pause()
        s = slot(app, SLOT5)
        assert s.gpa % (1 << 21) == 0 and s.offset == s.gpa  # snapped to 2M: the slot is all 2M
        assert app.coverage.slot(SLOT5).bytes["4K"] == 0
        assert bar.axis is not axis  # released: the scale follows the new layout


async def test_wheel_zooms_around_the_mouse(seed) -> None:
    from textual.events import MouseScrollDown, MouseScrollUp

    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await zoom_to(pilot, app, K64)
        bar = app.query_one("#gpa-0")
        under = bar.axis.at(40)
        await pilot._post_mouse_events([MouseScrollUp], bar, offset=(40, 1))
        assert app.map_view.bpc == K64 // 2 and bar.axis.at(40) == under
        await pilot._post_mouse_events([MouseScrollDown], bar, offset=(40, 1))
        assert app.map_view.bpc == K64 and bar.axis.at(40) == under
        await pilot._post_mouse_events([MouseScrollDown], bar, offset=(40, 1))
        assert app.map_view.bpc == K64 * 2 and app.map_view.start == 0  # the view never starts below 0


async def test_zoom_keys_close_in_on_the_edited_edge(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(9):
            await pilot.press("plus")
        m = app.map_view
        assert m.bpc == K64 and m.start <= 0x100000 < m.start + 116 * K64  # slot 5's start in view
