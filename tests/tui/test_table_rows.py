"""The slot table's rows are formatted when drawn, and a large table's column widths are bounds
computed from the slots' values: every formatted cell must fit them."""

from __future__ import annotations

from hypothesis import given, settings

from gmemtui.core.coverage import compute
from gmemtui.core.model import Layout
from gmemtui.tui.widgets.slot_table import Rows, bound_widths, columns, rows, widths
from tests.strategies import layouts


@settings(max_examples=150, deadline=None)
@given(layouts(max_slots=8))
def test_bound_widths_hold_every_cell(layout: Layout) -> None:
    cov = compute(layout)
    names = layout.platform.names
    for warned in (frozenset(), frozenset(s.key for s in layout.slots[:1])):
        table = Rows(cov.slots, names, warned)
        labels = columns(names)
        exact = widths(labels, [v for _, v in table])
        bound = bound_widths(labels, table)
        assert all(b >= e for b, e in zip(bound, exact, strict=True)), (bound, exact)


def test_rows_are_formatted_when_asked_and_kept(seed) -> None:
    cov = compute(seed.layout)
    table = Rows(cov.slots, seed.layout.platform.names, frozenset())
    assert table.memo == {}
    first = table[1]
    assert len(table.memo) == 1 and table[1] is first  # the same tuple: identity tells "unchanged"
    assert list(table) == rows(cov, [])
    assert [table.key(i) for i in range(len(table))] == [k for k, _ in rows(cov, [])]
