"""Replay a lesson's documented solution through Pilot: its keys pressed, its drags made with the
real mouse on the map (down, a few moves, up), as a student would."""

from __future__ import annotations

from gmemtui.formats.lessons import Step
from gmemtui.tui.tour.app import TourApp


def _slot(app: TourApp, step: Step):
    return app.layout.slots[app.layout.slot_index((step.as_, step.slot))]


def _grab(app: TourApp, step: Step) -> tuple[int, int]:
    """(the address the mouse grabs, how far it must move) for the step's part: an edge's own cell
    for start and end, the middle for a whole slot or a binding (an edge would resize instead)."""
    s = _slot(app, step)
    if step.part == "binding":
        return s.offset + s.size // 2, step.to - s.offset
    if step.part == "end":
        return s.end - app.layout.platform.base.bytes, step.to - s.end
    if step.part == "slot":
        return s.gpa + s.size // 2, step.to - s.gpa
    return s.gpa, step.to - s.gpa


async def _fit_view(pilot, app: TourApp, grab: int, delta: int, exact: bool) -> None:
    """Make the map linear with a cell size that divides the move (a plain drag moves by whole cells)
    and shows both ends of it; the view is set up like a student zooming, not part of the edit."""
    m = app.map_view
    width = m.bar_width()
    if m.mode == "linear" and m.bpc:
        x0, x1 = (grab - m.start) // m.bpc, (grab + delta - m.start) // m.bpc
        if 0 <= min(x0, x1) and max(x0, x1) < width and (not exact or delta % m.bpc == 0):
            return
    bpc = app.layout.platform.base.bytes
    while abs(delta) // (bpc * 2) >= 4 and (not exact or delta % (bpc * 2) == 0):
        bpc *= 2
    assert abs(delta) // bpc < width - 8, "the move does not fit on the bar at a cell size that divides it"
    start = max(0, min(grab, grab + delta) - 4 * bpc)
    m._set_view(bpc, start - start % bpc)
    await pilot.pause()


async def apply_step(pilot, app: TourApp, step: Step) -> None:
    if step.keys:
        await pilot.press(*step.keys)
        await pilot.pause()
        return
    s = _slot(app, step)
    grab, delta = _grab(app, step)
    exact = step.snap is None
    await _fit_view(pilot, app, grab, delta, exact)
    m = app.map_view
    bar = app.query_one(f"#file-{s.gmem}" if step.part == "binding" else f"#gpa-{s.as_}")
    x0 = bar.axis.x_of(grab)
    assert x0 is not None, (hex(grab), m.describe())
    x1 = x0 + round(delta / m.bpc)
    await pilot.mouse_down(bar, offset=(x0, 1))
    for frac in (1, 2, 3):
        await pilot.hover(bar, offset=(x0 + (x1 - x0) * frac // 4, 1))
    modifiers = {} if exact else {"control": True}
    await pilot.mouse_up(bar, offset=(x1, 1), **modifiers)
    await pilot.pause()
