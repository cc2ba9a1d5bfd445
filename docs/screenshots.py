"""Regenerate the TUI screenshots and the key table of docs/tui.md from the running app.

Run from the repository root: ``.venv/bin/python docs/screenshots.py``. Writes
``docs/tui-seed.svg`` (the seed layout as it opens) and ``docs/tui-drag.svg`` (slot 5's start edge
held half way through a mouse drag from 0x100000 towards 0x200000), both saved by Textual itself,
and rewrites the table between the ``keys`` markers of ``docs/tui.md`` from the app's live
bindings (the same list the help screen and the command palette show).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.pop("NO_COLOR", None)

from gmemtui.formats.loader import load  # noqa: E402
from gmemtui.tui.app import GmemApp  # noqa: E402
from gmemtui.tui.commands import collect_actions  # noqa: E402
from gmemtui.tui.widgets.timeline import Timeline  # noqa: E402

SIZE = (140, 45)
DOCS = ROOT / "docs"
BEGIN, END = "<!-- keys:begin -->", "<!-- keys:end -->"


def keys_markdown(app: GmemApp) -> str:
    lines = ["| keys | action |", "|---|---|"]
    for entry in collect_actions(app, app.screen):
        keys = " ".join(f"`{k}`" for k in entry.keys)
        lines.append(f"| {keys} | {entry.description} |")
    lines += ["", "| mouse | action |", "|---|---|"]
    lines += [f"| {gesture} | {effect} |" for gesture, effect in (*app.MOUSE_HELP, *Timeline.MOUSE_HELP)]
    return "\n".join(lines)


async def main() -> None:
    app = GmemApp(load("layouts/qemu-snp-seed.yaml"), path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.save_screenshot("tui-seed.svg", path=str(DOCS))
        table = keys_markdown(app)
        # zoom to 64 KiB per cell from GPA 0, then hold slot 5's start edge and move it half way
        m = app.map_view
        while not (m.mode == "linear" and m.bpc <= 0x10000):
            await pilot.press("plus")
        await pilot.press("home")
        await pilot.pause()
        bar = app.query_one("#gpa-0")
        col = 0x100000 // m.bpc
        await pilot.mouse_down(bar, offset=(col, 1))
        for x in range(col + 1, col + 9):
            await pilot.hover(bar, offset=(x, 1))
        await pilot.pause()
        app.save_screenshot("tui-drag.svg", path=str(DOCS))
        await pilot.mouse_up(bar, offset=(col + 8, 1))
    doc = DOCS / "tui.md"
    text = doc.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")


if __name__ == "__main__":
    asyncio.run(main())
