"""What the first paint leaves for later must come out as if built at once: the live model's index
by slot identity (``LiveCoverage._index``), and the GC paused from loading to the first paint."""

from __future__ import annotations

import gc

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import layouts

from gmemtui.core import edit
from gmemtui.core.coverage import compute
from gmemtui.core.model import Layout
from gmemtui.tui import startup_gc
from gmemtui.tui.live import LiveCoverage


@settings(max_examples=100, deadline=None)
@given(layouts(max_slots=6), st.data())
def test_the_live_index_built_late_equals_one_built_at_once(layout: Layout, data: st.DataObject) -> None:
    live = LiveCoverage()
    coverage = live.compute(layout)
    assert live._last is not None and live._last[3] is None  # nothing indexed before the first paint
    where = live._index()
    assert where == {id(sc.slot): i for i, sc in enumerate(coverage.slots)}
    files = {f.id: (f.max_page, f.mmap) for f in layout.files}
    facts = [files.get(sc.slot.gmem) if sc.slot.gmem is not None else None for sc in coverage.slots]
    assert live._memo == {id(sc.slot): (sc.slot, f, sc) for sc, f in zip(coverage.slots, facts, strict=True)}
    # an edit right after the first paint (the index not built yet) patches exactly as compute()
    fresh = LiveCoverage()
    fresh.compute(layout)
    if not layout.slots:
        return
    key = data.draw(st.sampled_from([s.key for s in layout.slots]))
    part = data.draw(st.sampled_from(edit.PARTS))
    moved = edit.drag(layout, key, part, data.draw(st.integers(-(1 << 22), 1 << 22)))
    assert fresh.compute(moved) == compute(moved)
    assert fresh.compute(layout) == compute(layout)


def test_the_gc_is_paused_until_the_first_paint_then_the_start_up_heap_is_frozen() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        startup_gc.pause()
        assert not gc.isenabled() and startup_gc.paused()
        startup_gc.pause()  # a second pause changes nothing
        startup_gc.resume()
        assert gc.isenabled() and not startup_gc.paused()
        assert gc.get_freeze_count() >= frozen
        startup_gc.resume()  # nothing paused: nothing to do
        assert gc.isenabled()
        gc.disable()  # a GC already off (someone else's pause) is left off
        startup_gc.pause()
        assert not startup_gc.paused()
        startup_gc.resume()
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


@settings(max_examples=100, deadline=None)
@given(layouts(max_slots=8), st.lists(st.text("0123456789: -", max_size=6), max_size=5))
def test_the_table_finds_a_row_by_bisection_as_a_dict_of_every_row_would(layout: Layout, junk) -> None:
    from gmemtui.tui.row_index import RowIndex
    from gmemtui.tui.widgets.slot_table import row_key

    coverage = compute(layout)
    rows = {row_key(sc.slot): i for i, sc in enumerate(coverage.slots)}
    index = RowIndex(coverage)
    for key in [*rows, *junk, "9:9999", "0:", ":1", "00:1"]:
        assert index.get(key, -1) == rows.get(key, -1), key
    assert RowIndex().get("0:1", -1) == -1
