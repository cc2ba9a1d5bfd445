"""The TUI on a QEMU monitor dump: it opens like any layout, and saving never overwrites the dump."""

from __future__ import annotations

import shutil
from pathlib import Path

from gmemtui.formats.loader import load
from gmemtui.tui.app import GmemApp
from tui.conftest import SIZE

ROOT = Path(__file__).resolve().parent.parent.parent
DUMP = ROOT / "layouts" / "qemu-10.0" / "pc-vga-seabios.mtree"


async def test_dump_opens_and_an_edit_saves_to_a_new_file(tmp_path) -> None:
    path = tmp_path / "dump.txt"
    shutil.copy(DUMP, path)
    before = path.read_text()
    loaded = load(str(path))
    assert loaded.kind == "dump"
    app = GmemApp(loaded, path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.layout.slots == loaded.layout.slots
        await pilot.press("p", "ctrl+s")  # change the policy, then save
        await pilot.pause()
        from gmemtui.tui.screens.confirm import SaveAsScreen

        assert isinstance(app.screen, SaveAsScreen)
        await pilot.press("escape")
        await pilot.pause()
    assert path.read_text() == before
