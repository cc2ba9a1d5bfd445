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
        assert app.layout.policy == "4k-only"
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
        assert load(str(tmp_path / "seed.yaml")).layout.policy == "4k-only" == app.layout.policy


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
