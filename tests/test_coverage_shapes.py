"""Slots of one class share a ``coverage.Shape`` (their runs relative to the slot's gpa): memo hits
and misses give the runs of the plain per-slot path on every ladder of the platform table, and
``report --json`` writes each shape from one template, byte for byte what ``json.dumps`` writes.
"""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import any_arch_layouts, big_layouts

from gmemtui.commands.report_dict import report_dict
from gmemtui.commands.report_json import report_json
from gmemtui.core.coverage import Shape, SlotCoverage, compute, slot_runs
from gmemtui.core.facts import Attributes, SlotFacts
from gmemtui.core.model import GmemFile, Layout, PrivateRange, Slot
from gmemtui.core.platform import PLATFORMS

CFG = settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])
_names = st.none() | st.text(alphabet=st.sampled_from('a%"\\\n{}d: é\ud800'), max_size=6)


def _plain(layout: Layout) -> list[tuple]:
    """Every slot's runs without a memo, in compute()'s order."""
    make = SlotFacts.maker(layout, Attributes.of(layout))
    return [slot_runs(make(s)) for s in sorted(layout.slots, key=lambda s: (s.as_, s.gpa))]


def _copies(layout: Layout, shifts: list[tuple[int, int]]) -> Layout:
    """The layout with copies of every slot (and of the private ranges) moved by ``k`` largest pages
    plus ``m`` second-largest ones: whole largest pages keep each slot's class (the memo must hit),
    other moves change gpa mod the largest page (it must miss where that changes the runs)."""
    plat = layout.platform
    top, below = plat.largest.bytes, plat.ladder[-2].bytes if len(plat.ladder) > 1 else plat.base.bytes
    span = -(-max([s.end for s in layout.slots] + [r.end for r in layout.private or ()]) // top) * top
    slots, private = list(layout.slots), list(layout.private or ())
    for i, (k, m) in enumerate(shifts):
        d = (span + 4 * top) * (i + 1) + k * top + m * below  # the copies overlap nothing
        slots += [replace(s, slot=s.slot + 1000 * (i + 1), gpa=s.gpa + d, ua=s.ua + d, offset=s.offset + d)
                  for s in layout.slots]
        private += [replace(r, gpa=r.gpa + d) for r in layout.private or ()]
    return replace(layout, slots=tuple(slots),
                   private=tuple(private) if layout.private is not None else None)


_shifts = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=3)


@CFG
@given(any_arch_layouts(max_slots=3), _shifts)
def test_shared_shapes_equal_the_plain_path_on_every_ladder(layout: Layout, shifts) -> None:
    lay = _copies(layout, shifts)
    cov = compute(lay)
    assert [sc.runs for sc in cov.slots] == _plain(lay)
    # a copy moved by whole largest pages is the same class: the memo hands it the same Shape
    by_key = {sc.slot.key: sc for sc in cov.slots}
    top = lay.platform.largest.bytes
    for i, (_, m) in enumerate(shifts):
        if m == 0:
            for s in layout.slots:
                assert by_key[s.as_, s.slot + 1000 * (i + 1)].shape is by_key[s.key].shape
    # and a Shape is shared only by slots that agree on gpa mod the largest page
    shapes = {id(sc.shape) for sc in cov.slots}
    assert len({(sc.slot.gpa % top, id(sc.shape)) for sc in cov.slots}) == len(shapes)


@CFG
@given(big_layouts(), _shifts)
def test_shared_shapes_on_big_slots(layout: Layout, shifts) -> None:
    lay = _copies(layout, shifts)
    assert [sc.runs for sc in compute(lay).slots] == _plain(lay)


@CFG
@given(any_arch_layouts(max_slots=4))
def test_slot_coverage_follows_its_shape(layout: Layout) -> None:
    cov = compute(layout)
    names = layout.platform.names
    assert cov.total == {n: sum(sc.bytes[n] for sc in cov.slots) for n in names}
    for sc in cov.slots:
        assert sc.runs == sc.shape.at(sc.slot.gpa) and sc.runs is sc.runs  # made once
        assert [r.gpa - sc.slot.gpa for r in sc.runs] == [r[0] for r in sc.shape.runs]
        assert list(sc.bytes) == list(names) and sum(sc.bytes.values()) == sc.slot.size
        assert sc.bytes == {n: sum(r.size for r in sc.runs if r.page == n) for n in names}
        assert sc.bytes is not sc.shape.bytes  # a copy: the shape's is shared
        assert sc.unmappable == sum(r.size for r in sc.runs if not r.mappable)
        assert sc == SlotCoverage(sc.slot, Shape.of(sc.shape.runs, names))


def test_make_runs_makes_every_slots_runs_once() -> None:
    lay = _copies(Layout(slots=(Slot(slot=0, gpa=0x1000, size=0x401000, ua=0x1000),)), [(0, 1), (1, 0)])
    cov = compute(lay)
    assert not any("runs" in vars(sc) for sc in cov.slots)  # not made by compute()
    assert cov.make_runs() is cov and all("runs" in vars(sc) for sc in cov.slots)
    assert [sc.runs for sc in cov.slots] == _plain(lay)


@CFG
@given(any_arch_layouts(max_slots=4), st.data())
def test_attributes_inside_is_private_at_and_edges_within(layout: Layout, data: st.DataObject) -> None:
    attrs = Attributes.of(layout)
    for s in layout.slots:
        lo = data.draw(st.integers(0, 1 << 20))
        hi = lo + data.draw(st.integers(0, 1 << 20))
        assert attrs.inside(s, lo, hi) == (attrs.private_at(s, lo), attrs.edges_within(lo, hi))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_arch_layouts(max_slots=3), _shifts, st.data())
def test_templates_of_shared_shapes_write_json_dumps_bytes(layout: Layout, shifts, data) -> None:
    """Copies share shapes, so most slots are written from a template made for another slot;
    hostile names (``%``, quotes, surrogates) and flags (the general encoder's head) on any of them."""
    lay = _copies(layout, shifts)
    slots = tuple(replace(s, name=data.draw(_names), flags=data.draw(st.sampled_from([0, 0, 1, 2, 3])))
                  for s in lay.slots)
    lay = replace(lay, slots=slots)
    assert report_json(lay, "x%d.yaml") == json.dumps(report_dict(lay, "x%d.yaml"), indent=2)


def test_a_private_range_moves_the_shape() -> None:
    """Equal slots with their attribute edge at different places: different shapes, both right."""
    plat = PLATFORMS["x86_64"]
    m2 = plat.ladder[1].bytes
    a = Slot(slot=0, gpa=0, size=8 * m2, ua=0, gmem=1, offset=0)
    b = replace(a, slot=1, gpa=plat.largest.bytes, ua=plat.largest.bytes, offset=plat.largest.bytes)
    lay = Layout(slots=(a, b), files=(GmemFile(id=1, max_page=plat.largest.bytes),),
                 private=(PrivateRange(m2 + 4096, m2), PrivateRange(b.gpa + 3 * m2, m2)))
    cov = compute(lay)
    assert cov.slots[0].shape != cov.slots[1].shape
    assert [sc.runs for sc in cov.slots] == _plain(lay)
