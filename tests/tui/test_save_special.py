"""The TUI's save obeys the same rule as ``convert -o``: a FIFO, device or directory is never replaced
(one error notification, no overwrite question), a symlink keeps pointing at its replaced target."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gmemtui.formats.loader import default_layout_path, load
from gmemtui.tui.app import GmemApp
from tui.conftest import SIZE
from tui.test_app import TRACE


def recording(app: GmemApp) -> list[tuple[str, str]]:
    notes: list[tuple[str, str]] = []
    app.notify = lambda message, **kw: notes.append((message, kw.get("severity", "")))  # type: ignore
    return notes


async def test_save_as_onto_a_fifo_is_refused_without_asking(tmp_path: Path) -> None:
    trace = tmp_path / "seed.trace"
    trace.write_text(TRACE)
    fifo = tmp_path / "out.yaml"
    os.mkfifo(fifo)
    app = GmemApp(load(str(trace)), path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        from textual.widgets import Input

        from gmemtui.tui.screens.confirm import ConfirmScreen, SaveAsScreen

        notes = recording(app)
        await pilot.press("p", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SaveAsScreen)
        app.screen.query_one("#path", Input).value = str(fifo)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert notes == [(f"gmemtui: {fifo} is a FIFO: only a regular file (or a new path) is written",
                          "error")]
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and app.dirty


async def test_saving_an_opened_yaml_that_became_a_fifo_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(Path(default_layout_path()).read_text())
    app = GmemApp(load(str(path)), path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        notes = recording(app)
        path.unlink()
        os.mkfifo(path)
        await pilot.press("p", "ctrl+s")
        await pilot.pause()
        assert len(notes) == 1 and "is a FIFO" in notes[0][0] and notes[0][1] == "error"
        assert stat.S_ISFIFO(os.lstat(path).st_mode) and app.dirty


async def test_saving_through_a_symlink_replaces_the_target(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text(Path(default_layout_path()).read_text())
    link = tmp_path / "link.yaml"
    link.symlink_to("real.yaml")
    app = GmemApp(load(str(link)), path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "ctrl+s")
        await pilot.pause()
        assert not app.dirty
        assert os.readlink(link) == "real.yaml"
        assert load(str(real)).layout.policy == app.layout.policy != load(default_layout_path()).layout.policy
        assert sorted(os.listdir(tmp_path)) == ["link.yaml", "real.yaml"]
