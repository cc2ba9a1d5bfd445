"""The screen's smaller promises (docs/tui.md): explain over a hole, the palette's policies, a bounded
view with a fit key, refusals that say so, arrow keys in the table, "Save and quit", the title."""

from __future__ import annotations

import shutil

from textual.command import CommandPalette

from gmemtui.formats.loader import default_layout_path, load
from gmemtui.tui.app import GmemApp
from gmemtui.tui.screens.confirm import QuitScreen

from .conftest import SIZE


def _hole_column(app: GmemApp) -> tuple[int, int]:
    """(x, gpa) of a column of the GPA bar that shows no slot, and a column showing slot 0."""
    bar = app.query_one("#gpa-0")
    layout = app.layout
    for x in range(bar.size.width):
        lo, hi = bar.axis.cell(x)
        if not any(s.gpa < max(hi, lo + 1) and lo < s.end for s in layout.slots):
            return x, lo
    raise AssertionError("no hole on the bar")


async def test_explain_over_a_hole_says_hole() -> None:
    app = GmemApp(load("layouts/q35-4g.yaml"), path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one("#gpa-0")
        await pilot.hover(bar, offset=(0, 1))  # slot 0
        await pilot.pause()
        assert "slot 0" in app.explain.text.plain
        x, gpa = _hole_column(app)
        await pilot.hover(bar, offset=(x, 1))
        await pilot.pause()
        text = app.explain.text.plain
        assert "a hole" in text and "slot 0" not in text
        assert f"{gpa - gpa % 4096:#x}" in text


async def test_palette_finds_and_applies_set_policy_whole_binding(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"whole")
        await pilot.pause(0.3)
        found = [str(o.prompt) for o in app.screen.query("CommandList").first().options]
        assert found and "Set policy whole-binding" in found[0], found
        await pilot.press("down", "enter")  # highlight the first hit, run it
        await pilot.pause()
        assert app.layout.policy == "whole-binding" and app.history.can_undo


async def test_pan_stops_at_the_last_slot_and_fit_shows_the_whole_guest(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        m = app.map_view
        await pilot.press(*["plus"] * 6)
        width = m.bar_width()
        for _ in range(200):
            before = m.start
            await pilot.press("right")
            if m.start == before:
                break
        end = max(s.end for s in app.layout.slots)
        assert m.start < end <= m.start + width * m.bpc  # the last slot's end on the bar, not past it
        assert any("last slot" in n.message for n in app._notifications)
        await pilot.press("0")
        await pilot.pause()
        assert m.mode == "linear" and m.start == 0 and m.bpc * width >= end > (m.bpc - 4096) * width
        await pilot.press("minus")  # zooming out past the fit changes nothing
        assert m.start == 0 and m.bpc * width >= end > (m.bpc - 4096) * width


async def test_a_blocked_nudge_says_so(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        app.selected = (0, 0)  # slot 0 starts at 0: its start cannot move down
        await pilot.press("comma")
        await pilot.pause()
        assert app.layout == seed.layout
        assert any("cannot move down" in n.message for n in app._notifications)


async def test_a_clamped_nudge_says_so(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        app.selected = (0, 0)
        await pilot.press("e", "n", "comma")  # slot 0's end (0xc0000) down by 2M: clamped at one page
        await pilot.pause()
        assert app.layout.slots[app.layout.slot_index((0, 0))].end == 0x1000
        assert any("stopped at 0x1000" in n.message for n in app._notifications)


async def test_arrow_keys_move_the_table_selection(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.selected == (0, 5) and app.table.cursor_row == 3
        await pilot.press("up")
        assert app.selected == (0, 4) and app.table.cursor_row == 2
        await pilot.press("up", "up", "down")
        assert app.selected == (0, 3) and app.table.cursor_row == 1


async def test_save_and_quit(tmp_path) -> None:
    path = tmp_path / "seed.yaml"
    shutil.copy(default_layout_path(), path)
    app = GmemApp(load(str(path)), path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("s")
        await pilot.pause()
        assert not app.is_running
    assert load(str(path)).layout.policy == "whole-binding"


async def test_save_and_quit_of_the_seed_asks_for_a_path_and_a_cancel_keeps_running(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "q")
        await pilot.pause()
        await pilot.click("#save")
        await pilot.pause()
        from gmemtui.tui.screens.confirm import SaveAsScreen

        assert isinstance(app.screen, SaveAsScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and app.dirty


async def test_title_keeps_the_name_when_modified(seed) -> None:
    for size in [(80, 24), SIZE]:
        app = GmemApp(seed, path_opened=False)
        async with app.run_test(size=size) as pilot:
            await pilot.press("p")
            await pilot.pause()
            line = app.screen._compositor.render_strips()[0].text
            assert seed.layout.name in line and "●" in line and "? help" in line


async def test_a_save_of_the_built_in_seed_keeps_its_comments(seed, tmp_path) -> None:
    app = GmemApp(seed, path_opened=False)
    target = tmp_path / "mine.yaml"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "ctrl+s")
        await pilot.pause()
        app.screen.query_one("#path").value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert not app.dirty
    text = target.read_text()
    comments = [ln for ln in seed.text.splitlines() if ln.lstrip().startswith("#")]
    assert comments and all(c in text for c in comments)
    assert load(str(target)).layout == app.layout


TEACHING = ["teach-mixed-attributes.yaml", "teach-no-guest-memfd.yaml", "teach-slot-edge.yaml",
            "teach-whole-binding.yaml", "teach-log-dirty.yaml", "teach-ua-misaligned.yaml"]


async def test_layouts_open_on_the_frame_that_shows_the_lesson(seed) -> None:
    """The explain panel opens on the smallest page size of the biggest slot: the seed's 4K head,
    and in each teaching layout a frame where its rule fails (not one that passes every rule)."""
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE):
        assert app.focus_at == (0, 0x100000) and "slot-edge" in app.explain.text.plain
    for name in TEACHING:
        rule = name.removeprefix("teach-").removesuffix(".yaml")
        app = GmemApp(load(f"layouts/{name}"), path_opened=True)
        async with app.run_test(size=SIZE):
            lines = app.explain.text.plain.splitlines()
            assert lines[0].endswith("· 4K"), (name, lines)
            assert rule in lines[1] or (rule == "no-guest-memfd" and "✗" in lines[1]), (name, lines)


async def test_a_nudge_to_a_boundary_says_it_snapped(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", "full_stop")  # slot 5's start 0x100000 up "by 2M": to the 2M boundary
        await pilot.pause()
        assert app.layout.slots[app.layout.slot_index((0, 5))].gpa == 0x200000
        assert any("snapped from 0x100000 to the 2M boundary 0x200000" in n.message
                   for n in app._notifications)
