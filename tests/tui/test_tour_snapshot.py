"""SVG snapshot of a lesson screen of the tour (pytest-textual-snapshot): the slot-edge lesson as it
opens, and the same lesson after its task is done (the success text and the way on)."""

from __future__ import annotations

from gmemtui.formats.lessons import load_lessons
from gmemtui.tui.tour.app import TourApp

SIZE = (110, 42)


def test_slot_edge_lesson_opens(snap_compare, monkeypatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert snap_compare(TourApp(load_lessons(), 2), terminal_size=SIZE)


def test_host_page_lesson_done(snap_compare, monkeypatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = TourApp(load_lessons(), 5)

    async def solve(pilot) -> None:
        await pilot.press("h")
        await pilot.pause()
        app.clear_notifications()  # the toast fades on a timer: not part of the picture
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=solve)
