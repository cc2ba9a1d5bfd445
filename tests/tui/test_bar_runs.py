"""The map's lazy run lists (``LazyPieceRuns``: cells by bisection over the slots, runs converted when
read) must equal the eager ones: the flattened tuple of every slot's runs and ``RunIndex`` cells over
it, before and after a drag step replaces a piece."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import layouts

from gmemtui.core.coverage import compute
from gmemtui.core.model import Layout
from gmemtui.tui import palette
from gmemtui.tui.axis import RunIndex, linear, slot_scale
from gmemtui.tui.bar_runs import LazyPieceRuns, PageSets, cell_of_mask
from gmemtui.tui.widgets.map_view import MapView


def eager_runs(layout: Layout, kind: str, ident: int) -> tuple[tuple[int, int, int], ...]:
    """What a bar showed before ``LazyPieceRuns``: every slot's runs, converted and flattened."""
    names = layout.platform.names
    cov = compute(layout)
    if kind == "as":
        group = [sc for sc in cov.slots if sc.slot.as_ == ident]
    else:
        group = sorted((sc for sc in cov.slots if sc.slot.gmem == ident), key=lambda sc: sc.slot.offset)
    out = []
    for sc in group:
        shift = 0 if kind == "as" else sc.slot.offset - sc.slot.gpa
        out += [(r.gpa + shift, r.end + shift, names.index(r.page) if r.mappable else palette.NOT_MAPPABLE)
                for r in sc.runs]
    return tuple(out)


def bars(layout: Layout) -> list[tuple[str, int]]:
    return [("as", a) for a in sorted({s.as_ for s in layout.slots})] + \
        [("file", f) for f in sorted({s.gmem for s in layout.slots if s.gmem is not None})]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts(max_slots=6), st.data())
def test_lazy_runs_and_cells_equal_the_eager_ones(layout: Layout, data: st.DataObject) -> None:
    view = MapView(layout, compute(layout))
    for kind, ident in bars(layout):
        lazy = view.runs_of(kind, ident)
        assert isinstance(lazy, LazyPieceRuns) and lazy.fresh
        eager = eager_runs(layout, kind, ident)
        width = data.draw(st.integers(1, 120), label="width")
        for axis in axes_for(eager, width, data):  # the cells before any piece is read: by bisection
            assert lazy.cells(axis) == RunIndex.of(eager).cells(axis)
        if eager:  # a drag step replaces a piece (a slot shrunk from its end): still the same cells
            j = data.draw(st.integers(0, len(lazy.parts) - 1), label="piece")
            piece = list(lazy.parts[j])
            a, b, k = piece[-1]
            cut = data.draw(st.integers(0, (b - a) // 4096 - 1), label="cut") * 4096
            piece[-1] = (a, b - cut, k)
            if cut and len(piece) > 1 and data.draw(st.booleans(), label="other page"):
                piece[-1] = (a, b - cut, (k + 1) % 3)
            after = lazy.replaced({j: piece})
            assert isinstance(after, LazyPieceRuns) and not after.fresh and lazy.stale
            flat = [r for p in after.parts for r in p]
            for axis in axes_for(eager, width, data):
                assert after.cells(axis) == RunIndex.of(flat).cells(axis)
            lazy, eager = after, tuple(flat)
        # and as a sequence it is the flat tuple (the drag's splice and comparisons read it so)
        assert tuple(lazy) == eager and len(lazy) == len(eager)
        if eager:
            assert lazy[0] == eager[0] and lazy[-1] == eager[-1] and lazy[1:3] == eager[1:3]
            assert lazy.near(eager[0][0], eager[-1][1]) == list(eager)


def axes_for(eager, width: int, data: st.DataObject) -> list:
    """A linear axis at random, the whole bar, the slot scale, and one whose column edges fall just
    beside a run's edge (slots cut by a column)."""
    lo = min((a for a, _, _ in eager), default=0)
    hi = max((b for _, b, _ in eager), default=1)
    start = data.draw(st.integers(0, hi), label="start")
    bpc = data.draw(st.sampled_from([1 << 12, 1 << 16, 1 << 21, max(-(-(hi - lo) // width), 1)]), label="bpc")
    axes = [linear(start - start % 4096, bpc, width), linear(lo, max(-(-(hi - lo) // width), 1), width)]
    if eager:
        a, b, _ = data.draw(st.sampled_from(eager), label="run")
        edge = data.draw(st.sampled_from([a, b]), label="edge") + 4096 * data.draw(st.integers(-3, 3))
        small = data.draw(st.sampled_from([1 << 12, 3 << 12, 1 << 14, 1 << 16, 1 << 21]), label="small")
        axes.append(linear(max(edge - small * data.draw(st.integers(0, 3)), 0), small, width))
        scale = slot_scale([(a, b) for a, b, _ in eager], width)
        axes += [scale] if scale is not None else []
    return axes


@given(st.sets(st.integers(-1, 4), max_size=6))
def test_a_page_set_reads_as_the_smallest_page_and_whether_several_meet(pages: set[int]) -> None:
    mask = sum(1 << (k + 1) for k in pages)
    assert cell_of_mask(mask) == ((min(pages) if pages else None), len(pages) > 1)


def test_page_sets_are_read_from_the_shape_and_memoised() -> None:
    from gmemtui.core.model import Slot

    layout = Layout(slots=(Slot(slot=0, gpa=0x100000, size=0x600000, ua=0x7F0000000000),
                           Slot(slot=1, gpa=0x40100000, size=0x600000, ua=0x7F0040000000)))
    a, b = compute(layout).slots
    sets = PageSets(layout.platform.names)
    expected = sum({1 << (layout.platform.names.index(r.page) + 1) for r in a.runs})
    assert sets.of(a.shape) == expected and sets.union((a, b), 0, 2) == expected
    assert len(sets._memo) == len({id(a.shape), id(b.shape)})  # one entry per shape


def eager_groups(slots) -> dict:
    """The map's groups as they were built before ``groups_of``: one loop over the slots."""
    groups: dict = {}
    for sc in slots:
        groups.setdefault(("as", sc.slot.as_), []).append(sc)
        if sc.slot.gmem is not None:
            groups.setdefault(("file", sc.slot.gmem), []).append(sc)
    for k, v in groups.items():
        if k[0] == "file":
            v.sort(key=lambda sc: sc.slot.offset)
    return {k: tuple(v) for k, v in groups.items()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts(max_slots=8))
def test_groups_equal_the_per_slot_loop(layout: Layout) -> None:
    from gmemtui.tui.bar_groups import groups_of

    slots = compute(layout).slots
    got = groups_of(slots)
    want = eager_groups(slots)
    assert got == want
    assert all(a is b for k in want for a, b in zip(got[k], want[k], strict=True))  # the same objects


@settings(max_examples=100, deadline=None)
@given(layouts(max_slots=6))
def test_the_map_extent_is_the_furthest_slot_or_file_end(layout: Layout) -> None:
    ends = [s.end for s in layout.slots] + [layout.file_size(f.id) for f in layout.files]
    want = max(ends, default=0) or layout.platform.base.bytes
    assert MapView(layout, compute(layout)).extent() == want
