"""The slot labels of every shipped layout at every size, in both scales (docs/tui.md, labels)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmemtui.formats.loader import load
from gmemtui.tui.app import GmemApp
from gmemtui.tui.widgets.gpa_bar import GpaBar

from .test_fast_paths import check_label_row

ROOT = Path(__file__).resolve().parent.parent.parent
LAYOUTS = sorted(p.name for p in (ROOT / "layouts").iterdir() if p.suffix in (".yaml", ".trace"))


@pytest.mark.parametrize("name", LAYOUTS)
async def test_labels_never_touch_and_every_wide_slot_has_one(name: str) -> None:
    app = GmemApp(load(str(ROOT / "layouts" / name)), path_opened=True)
    async with app.run_test(size=(80, 24)) as pilot:
        checked = 0
        for size in [(80, 24), (120, 40), (200, 60)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            for scale_key in ["", "s", "s"]:  # slot scale, linear (the fit), slot scale again
                if scale_key:
                    await pilot.press(scale_key)
                    await pilot.pause()
                for bar in app.query(GpaBar):
                    slots = bar.slots()
                    key = app.map_view.selected
                    sel = next((i for i, s in enumerate(slots) if key == s.key), -1)
                    width = bar.size.width
                    row = bar.line(GpaBar.LABEL_ROW).text
                    assert len(row) == width
                    check_label_row(bar.axis, slots, sel, width)
                    from gmemtui.tui.labels import label_cells

                    assert row == "".join(label_cells(bar.axis, slots, sel, width)[0])
                    checked += 1
        assert checked >= 9


async def test_every_state_of_a_trace_labels_its_wide_slots() -> None:
    """tdx-9.1.trace: each state (the 2G slot of state 5 among them), linear and slot scale, at 120."""
    app = GmemApp(load(str(ROOT / "layouts" / "tdx-9.1.trace")), path_opened=True)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.timeline is not None
        for position in range(app.timeline.count):
            app.timeline.index = position
            await pilot.pause()
            for mode in ("scale", "linear"):
                if app.map_view.mode != mode:
                    await pilot.press("s")
                    await pilot.pause()
                for bar in app.query(GpaBar):
                    slots = bar.slots()
                    sel = next((i for i, s in enumerate(slots) if app.map_view.selected == s.key), -1)
                    check_label_row(bar.axis, slots, sel, bar.size.width)
