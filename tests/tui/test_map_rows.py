"""What the map shows beyond page sizes: private vs shared, page-size boundaries in slot scale, and
amounts that cannot be read as page sizes (docs/tui.md)."""

from __future__ import annotations

import re

from gmemtui.core.model import Slot
from gmemtui.core.units import fmt_amount as amount
from gmemtui.formats.loader import load
from gmemtui.tui.app import GmemApp
from gmemtui.tui.attributes import GLYPHS, MIXED, PRIVATE, SHARED, attribute_cells
from gmemtui.tui.axis import boundary_marks, linear, slot_scale
from gmemtui.tui.widgets.gpa_bar import GpaBar
from gmemtui.tui.widgets.summary import summary_text

from .conftest import SIZE

M = 1 << 20


def test_attribute_cells_default_and_explicit() -> None:
    gmem = Slot(slot=0, gpa=0, size=8 * M, ua=0, gmem=1, offset=0)
    plain = Slot(slot=1, gpa=10 * M, size=2 * M, ua=0)
    axis = linear(0, 1 * M, 12)  # one column per MiB
    cells = attribute_cells(axis.bounds(), [gmem, plain], None, 12)
    assert cells == [PRIVATE] * 8 + [None] * 2 + [SHARED] * 2  # default: private iff guest_memfd
    # explicit: frames [0, 3M) private (in 4K frames: edges 0 and 768)
    cells = attribute_cells(axis.bounds(), [gmem, plain], (0, 768), 12)
    assert cells == [PRIVATE] * 3 + [SHARED] * 5 + [None] * 2 + [SHARED] * 2
    wide = linear(0, 2 * M, 4)  # a 2M column holding the 3M edge is both
    assert attribute_cells(wide.bounds(), [gmem], (0, 768), 12)[1] == MIXED


async def test_the_attribute_row_shows_a_private_edge_without_hover() -> None:
    app = GmemApp(load("layouts/teach-mixed-attributes.yaml"), path_opened=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = app.query_one("#gpa-0", GpaBar).line(GpaBar.ATTR_ROW).text
        shown = row.strip()
        assert shown[0] == GLYPHS[PRIVATE] and shown[-1] == GLYPHS[SHARED]
        # private for the first 3M of 8M: about 3/8 of the slot's columns
        assert abs(shown.count(GLYPHS[PRIVATE]) - 3 * len(shown) / 8) <= 2


def test_boundary_marks_in_slot_scale_only() -> None:
    sizes = [4096, 2 * M, 1 << 30]
    axis = slot_scale([(0, 0xc0000), (0x100000, 0x80000000)], 100)
    marks = boundary_marks(axis, sizes)
    assert [(axis.cell(x)[0] <= 0x40000000 < axis.cell(x)[1], k) for x, k in marks] == [(True, 2)]
    small = slot_scale([(0, 16 * M)], 40)  # no 1G boundary inside: the 2M ones, 5 columns apart
    assert [k for _, k in boundary_marks(small, sizes)] == [1] * 7
    assert boundary_marks(linear(0, M, 100), sizes) == []


async def test_the_seed_marks_its_1g_boundary_on_the_axis_row(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        bar = app.query_one("#gpa-0", GpaBar)
        ticks = bar.line(bar.TICK_ROW).text
        x = ticks.index("╻")
        lo, hi = bar.axis.cell(x)
        assert lo <= 0x40000000 < hi


def test_amounts_carry_a_unit_that_is_not_a_page_size(seed) -> None:
    assert amount(0) == "0 B" and amount(2 * M) == "2.0 MiB" and amount(2046 * M) == "2046 MiB"
    assert amount(768 << 10) == "768 KiB" and amount(1 << 31) == "2.0 GiB"
    from gmemtui.core.coverage import compute

    text = summary_text(compute(seed.layout)).plain
    # every amount has a binary unit; page sizes (4K, 2M, 1G) appear only as the row's names
    assert re.findall(r"\d+(?:\.\d)? (?:B|KiB|MiB|GiB)", text)
    assert not re.search(r"[\d.]+[KMG] \(", text)
