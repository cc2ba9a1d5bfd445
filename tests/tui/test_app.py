"""The main screen: what-if keys, undo/redo, selection, explain on hover, save, quit, traces."""

from __future__ import annotations

import argparse
import shutil

import pytest

from gmemtui.formats.loader import default_layout_path, load
from gmemtui.tui import run
from gmemtui.tui.app import GmemApp
from tui.conftest import SIZE, zoom_to

SLOT5 = (0, 5)

TRACE = """\
kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x4 gpa=0x0 size=0x80000000 ua=0x7f24afc00000 ret=0 restricted_fd=19 restricted_offset=0x0
kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x0 gpa=0x0 size=0x0 ua=0x7f24afc00000 ret=0 restricted_fd=19 restricted_offset=0x0
kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x4 gpa=0x0 size=0xc0000 ua=0x7f24afc00000 ret=0 restricted_fd=19 restricted_offset=0x0
kvm_set_user_memory AddrSpace#0 Slot#5 flags=0x4 gpa=0x100000 size=0x7ff00000 ua=0x7f24afd00000 ret=0 restricted_fd=19 restricted_offset=0x100000
"""  # noqa: E501  (the seed thread's lines, slots 3 and 4 left out)


def slot(app: GmemApp, key: tuple[int, int]):
    return app.layout.slots[app.layout.slot_index(key)]


async def test_policy_key_turns_slot5_all_4k_under_whole_binding(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.table.values("0:5")["2M"] == "99.95%"
        await pilot.press("p")
        assert app.layout.policy == "whole-binding"
        assert app.coverage.slot(SLOT5).bytes["4K"] == slot(app, SLOT5).size
        assert (app.table.values("0:5")["4K"], app.table.values("0:5")["2M"]) == ("100%", "-")
        assert "whole-binding" in app.title_bar.plain and "modified" in app.title_bar.plain
        bar = app.query_one("#gpa-0").line(1).text
        assert "▓" not in bar and "▚" not in bar  # every cell 4K
        await pilot.press("p")
        assert app.layout.policy == "mainline"
        await pilot.press("u", "u")
        assert app.layout is seed.layout and "modified" not in app.title_bar.plain
        await pilot.press("U")
        assert app.layout.policy == "whole-binding"
        await pilot.press("ctrl+z")
        assert app.layout is seed.layout


async def test_cap_keys_cycle_and_recompute(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")  # every file's folio 2M -> 1G: nothing changes for slot 5 (ua 1G-misaligned)
        assert {f.max_page for f in app.layout.files} == {1 << 30}
        await pilot.press("g")  # 1G -> 4K: slot 5 all 4K (folio-cap)
        assert app.coverage.slot(SLOT5).bytes["4K"] == slot(app, SLOT5).size
        await pilot.press("v")
        assert app.layout.private_max_page == 1 << 12
        await pilot.press("h")
        assert app.layout.host_max_page == 1 << 30
        assert len(app.history.past) == 4


async def test_hover_explains_the_frame_under_the_mouse(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await zoom_to(pilot, app, 0x10000)
        bar = app.query_one("#gpa-0")
        await pilot.hover(bar, offset=(40, 1))  # 0x280000 in slot 5: 2M, 1G stopped by slot-edge
        text = str(app.explain.render())
        assert "explain 0x280000" in text and "slot 5" in text and "1G ✗ slot-edge" in text
        await pilot.hover(app.query_one("#file-19"), offset=(2, 1))  # file offset 0x20000: slot 0
        assert "explain 0x20000" in str(app.explain.render()) and "slot 0" in str(app.explain.render())


async def test_selection_by_keys_and_table_click(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab")
        assert app.selected == (0, 0)
        await pilot.click(app.table, offset=(2, 2))  # header row, then slots 0, 3, 4
        await pilot.pause()
        assert app.selected == (0, 3)
        assert app.query_one("#gpa-0").line(2).text.count("─") > 0


async def test_zoom_pan_and_slot_scale_keys(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        m = app.map_view
        assert m.mode == "scale"
        await pilot.press("s")
        # the whole 2 GiB on 116 columns: the smallest whole number of 4K frames per cell that fits
        assert m.mode == "linear" and m.bpc * 116 >= 0x80000000 > (m.bpc - 4096) * 116
        await zoom_to(pilot, app, 1 << 12)  # down to single 4K frames
        await pilot.press("right")
        assert m.start == 29 * 4096
        await pilot.press("end")
        assert m.start + 116 * 4096 >= 0x80000000 > m.start
        ticks = app.query_one("#gpa-0").line(0).text
        assert "0x7ff" in ticks  # hex labels at 4K zoom
        await pilot.press("s")
        assert m.mode == "scale"


async def test_save_opened_yaml_keeps_comments(tmp_path, seed) -> None:
    path = tmp_path / "seed.yaml"
    shutil.copy(default_layout_path(), path)
    before = path.read_text()
    app = GmemApp(load(str(path)), path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", "full_stop", "ctrl+s")  # slot 5's start up to 2M
        await pilot.pause()
        assert not app.dirty
    after = path.read_text()
    assert load(str(path)).layout == app.layout
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 4  # gpa, size, ua, offset of slot 5; comments kept
    assert "# not 2M-aligned: the point of the thread" in after


async def test_built_in_layout_is_never_overwritten(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "ctrl+s")
        await pilot.pause()
        from gmemtui.tui.screens.confirm import SaveAsScreen

        assert isinstance(app.screen, SaveAsScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.dirty


async def test_quit_with_unsaved_edits_asks(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "q")
        await pilot.pause()
        from gmemtui.tui.screens.confirm import QuitScreen

        assert isinstance(app.screen, QuitScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and app.screen is app.screen_stack[0]


async def test_trace_steps_are_navigation_not_edits(tmp_path) -> None:
    path = tmp_path / "seed.trace"
    path.write_text(TRACE)
    loaded = load(str(path))
    app = GmemApp(loaded, path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        assert app.query_one("#timeline") is not None
        assert [s.slot for s in app.layout.slots] == [0, 5]
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert [s.slot for s in app.layout.slots] == [0]
        assert not app.dirty and not app.history.can_undo  # a step is not an edit
        await pilot.press("p", "left_square_bracket", "left_square_bracket")
        await pilot.pause()
        # the what-if policy stays while stepping
        assert app.layout.slots[0].size == 0x80000000 and app.layout.policy == "whole-binding"
        assert not app.dirty
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await pilot.pause()
        assert app.layout.slots == loaded.layout.slots
        await pilot.press("q")  # nothing to lose: quits without asking
        await pilot.pause()
        assert not app.is_running


def test_bad_file_exits_2_before_textual(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("slots: [\n")
    args = argparse.Namespace(file=str(bad), policy=None, host_max_page=None, private_max_page=None,
                              gmem_max_page=None, gmem_mmap=False)
    assert run.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(str(bad))


@pytest.mark.parametrize("key", ["question_mark", "f1"])
async def test_help_opens(seed, key) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        await pilot.pause()
        from gmemtui.tui.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)


async def test_tab_moves_focus_in_dialogs_not_the_slot(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "q")
        await pilot.pause()
        focused = app.focused
        await pilot.press("tab")
        assert app.selected == SLOT5 and app.focused is not focused


async def test_save_as_writes_yaml_and_asks_before_overwriting(tmp_path) -> None:
    trace = tmp_path / "seed.trace"
    trace.write_text(TRACE)
    app = GmemApp(load(str(trace)), path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        from textual.widgets import Input

        from gmemtui.tui.screens.confirm import ConfirmScreen, SaveAsScreen

        await pilot.press("p", "ctrl+s")  # a trace is never rewritten: save as YAML
        await pilot.pause()
        assert isinstance(app.screen, SaveAsScreen)
        assert app.screen.query_one("#path", Input).value == str(tmp_path / "seed.yaml")
        await pilot.press("enter")
        await pilot.pause()
        assert load(str(tmp_path / "seed.yaml")).layout == app.layout and not app.dirty
        assert trace.read_text() == TRACE
        await pilot.press("p", "ctrl+s", "enter")  # the same path again: asks first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert load(str(tmp_path / "seed.yaml")).layout.policy == "mainline" == app.layout.policy


async def test_page_colours_come_from_the_theme(seed) -> None:
    from textual.theme import Theme

    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.query_one("#gpa-0")
        first = bar.line(1)._segments[0].style.color.triplet.hex
        assert first.upper() == "#E69F00"  # Okabe-Ito orange: the base page
        app.register_theme(Theme("mine", primary="#004578", variables={"gmem-page-0": "#123456"}))
        app.theme = "mine"
        await pilot.pause()
        await pilot.pause()
        assert bar.line(1)._segments[0].style.color.triplet.hex == "#123456"


async def test_palette_sets_mainline_and_reads_the_alias(seed) -> None:
    from gmemtui.tui.commands import GmemCommands

    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        provider = GmemCommands(app.screen)
        hits = [h async for h in provider.search("4k-only")]
        assert [h.text for h in hits][:1] == ["Set policy mainline (alias 4k-only)"]
        await hits[0].command()
        await pilot.pause()
        assert app.layout.policy == "mainline"
        assert "mainline" in app.title_bar.plain
        app.action_set_policy("4k-only")  # the alias is the same policy: no new edit
        await pilot.press("u")
        assert app.layout.policy == "per-range"


async def test_not_mappable_frames_have_their_own_glyph_and_colour() -> None:
    from pathlib import Path

    from gmemtui.tui import palette
    from gmemtui.tui.widgets.explain_panel import explain_lines

    path = Path(__file__).resolve().parents[2] / "layouts" / "teach-no-guest-memfd.yaml"
    app = GmemApp(load(str(path)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        strip = app.query_one("#gpa-0").line(1)
        assert palette.NOT_MAPPABLE_GLYPH in strip.text
        colours = {ch: seg.style.color.triplet.hex.lower()
                   for seg in strip._segments for ch in seg.text if ch.strip()}
        bad = colours[palette.NOT_MAPPABLE_GLYPH]
        assert bad != colours[palette.GLYPHS[1]]
        assert bad != palette.colours(app.theme_variables)[0].hex.lower()  # not the base page's colour
        from gmemtui.tui.widgets.summary import summary_text
        assert "not mappable 2.0 MiB (20%)" in summary_text(app.coverage).plain
        lines = [t for t, _ in explain_lines(app.layout, 0, 0x400000)]
        assert "NOT MAPPABLE" in lines[0] and "exits to userspace" in lines[1]


def _help_legend_text(screen) -> str:
    from io import StringIO

    from rich.console import Console

    from gmemtui.tui.screens.help import legend_table

    console = Console(width=120, record=True, file=StringIO())
    console.print(legend_table(screen))
    return console.export_text()


async def test_arm64_64k_layout_follows_its_ladder() -> None:
    """Table columns, title, bars, zoom floor, nudge steps and the private-cap key follow the 64K ladder."""
    from pathlib import Path

    from gmemtui.tui import palette
    from gmemtui.tui.screens.help import HelpScreen

    path = Path(__file__).resolve().parents[2] / "layouts" / "teach-arm64-64k.yaml"
    app = GmemApp(load(str(path)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = app.table.values("0:0")
        assert ("64K" in row and "512M" in row) and "4K" not in row and "2M" not in row
        assert row["512M"] == "100%" and app.table.values("0:1")["64K"] == "100%"
        title = app.title_bar.plain
        assert "arm64-64k" in title and "private" not in title and "host 512M" in title
        bar = app.query_one("#gpa-0").line(1).text
        assert palette.GLYPHS[0] in bar and palette.GLYPHS[1] in bar  # 64K and 512M cells
        await zoom_to(pilot, app, 64 << 10)  # the finest zoom is one 64K frame per cell
        await pilot.press("plus")
        assert app.map_view.bpc == 64 << 10
        before = app.layout
        await pilot.press("v")  # no vendor cap on arm64: nothing to cycle
        assert app.layout is before
        await pilot.press("tab")  # select a slot and nudge the selected edge: one 64K step
        assert app.selected is not None
        i = app.layout.slot_index(app.selected)
        old = app.layout.slots[i]
        await pilot.press("full_stop")
        new = app.layout.slots[i]
        assert {new.gpa - old.gpa, new.end - old.end} - {0} == {64 << 10}
        await pilot.press("n")  # the next step is the next rung, 512M
        assert "±512M" in app.title_bar.plain
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        arch = str(app.screen.query_one("#help-arch").render())
        assert "pages 64K, 512M" in arch and "no memory attributes" in arch and "gmem_abort" in arch
        assert "64K" in _help_legend_text(app.screen) and "512M" in _help_legend_text(app.screen)
