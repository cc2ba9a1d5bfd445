"""Fixtures for the TUI tests: the seed layout as the app loads it, and view helpers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.app import App

from gmemtui.formats.loader import Loaded, default_layout_path, load

SIZE = (120, 40)  # terminal size for every Pilot test: the GPA bar is 116 columns wide

# Tests read the notifications an action sent; a toast fades after 5 s, which a loaded CI machine
# can spend between the key and the assertion. (Snapshots clear notifications before the picture.)
App.NOTIFICATION_TIMEOUT = 600


@pytest.fixture
def seed() -> Loaded:
    return load(default_layout_path())


async def zoom_to(pilot, app, bpc: int) -> None:
    """Zoom in with the real keys until a cell is at most ``bpc`` bytes, then go to GPA 0."""
    m = app.map_view
    for _ in range(40):
        if m.mode == "linear" and m.bpc <= bpc:
            break
        await pilot.press("plus")
    await pilot.press("home")
    await pilot.pause()
    assert m.mode == "linear" and m.bpc == bpc and m.start == 0


async def until(pilot, cond: Callable[[], bool], what: str) -> None:
    """Wait for the app to catch up; the bound (a minute) only matters on a stuck run, not a slow one."""
    for _ in range(3000):
        if cond():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"gave up waiting for {what}")
