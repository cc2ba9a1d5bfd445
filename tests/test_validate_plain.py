"""``validate_plain.entries_plainly_valid`` only says True where ``layout_errors`` finds nothing.

``layout_errors`` skips its per-slot walk when the column checks pass, so for any layout -- valid
ones from the strategies, and ones broken in each way the walk reports (ids, spaces, alignment,
sizes, limits, flags, duplicates, overlaps by gpa and by file offset, unknown files, bindings past
a file's end, private ranges) -- the errors must be the same with and without the column checks,
and valid layouts must take them.
"""

from __future__ import annotations

from dataclasses import replace
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmemtui.core import validate
from gmemtui.core.model import GmemFile, Layout, PrivateRange
from gmemtui.core.validate_plain import entries_plainly_valid
from tests.strategies import any_arch_layouts

FIELDS = ("slot", "as_", "gpa", "size", "ua", "flags", "gmem", "offset")


def _errors(layout: Layout, plain: bool) -> list[str]:
    if plain:
        return [str(e) for e in validate.layout_errors(layout, "t.yaml")]
    with mock.patch.object(validate, "entries_plainly_valid", lambda *a: False):
        return [str(e) for e in validate.layout_errors(layout, "t.yaml")]


def _lined(layout: Layout) -> Layout:
    slots = tuple(replace(s, line=10 + i) for i, s in enumerate(layout.slots))
    private = None if layout.private is None else tuple(
        replace(r, line=100 + i) for i, r in enumerate(layout.private))
    files = tuple(replace(f, line=1 + i) for i, f in enumerate(layout.files))
    return replace(layout, slots=slots, private=private, files=files)


@st.composite
def broken(draw: st.DrawFn) -> Layout:
    layout = _lined(draw(any_arch_layouts(max_slots=5)))
    plat = layout.platform
    slots = list(layout.slots)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["field", "copy", "dup-id", "shift", "file", "private", "no-file"]))
        i = draw(st.integers(0, len(slots) - 1))
        s = slots[i]
        if kind == "field":
            name = draw(st.sampled_from(FIELDS))
            value = draw(st.sampled_from([0, 1, -1, -plat.base.bytes, plat.base.bytes, 1 << 20, 1 << 30,
                                          plat.max_slot_id, plat.max_slot_id + 1, 2, 4, 8, 1 << plat.gpa_bits,
                                          (1 << 64) - plat.base.bytes, 1 << 66, 1 << 70, None]))
            if value is None and name != "gmem":
                continue
            slots[i] = replace(s, **{name: value})
        elif kind == "copy":  # a duplicate key, or an overlap by gpa and by offset
            slots.append(replace(s, line=s.line + 50, slot=draw(st.sampled_from([s.slot, s.slot + 1]))))
        elif kind == "dup-id":  # the same (as, slot) after every slot: nothing else wrong
            end = max(t.gpa + t.size for t in slots)
            slots.append(replace(s, gpa=end, size=plat.base.bytes, gmem=None, offset=0, line=s.line + 60))
        elif kind == "shift":  # move onto a neighbour's gpa or offset
            other = draw(st.sampled_from(slots))
            delta = draw(st.sampled_from([0, plat.base.bytes, -plat.base.bytes]))
            slots[i] = replace(s, gpa=max(0, other.gpa + delta)) if draw(st.booleans()) else replace(
                s, offset=max(0, other.offset + delta), gmem=other.gmem)
        elif kind == "file" and layout.files:  # the file shorter than its bindings
            f = draw(st.sampled_from(layout.files))
            files = tuple(replace(g, size=max(plat.base.bytes, s.offset + s.size - plat.base.bytes))
                          if g.id == f.id else g for g in layout.files)
            layout = replace(layout, files=files)
        elif kind == "no-file":
            slots[i] = replace(s, gmem=12345)
        elif kind == "private":
            r = PrivateRange(draw(st.sampled_from([0, 1, plat.base.bytes, -plat.base.bytes])),
                             draw(st.sampled_from([0, plat.base.bytes, 1 << plat.gpa_bits, -1])), line=99)
            layout = replace(layout, private=(*(layout.private or ()), r))
    if draw(st.booleans()) and layout.files:  # a second file of an id already listed
        layout = replace(layout, files=(*layout.files, GmemFile(layout.files[0].id, size=plat.base.bytes,
                                                                 line=50)))
    return replace(layout, slots=tuple(slots))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken())
def test_column_checks_change_no_error(layout: Layout) -> None:
    assert _errors(layout, plain=True) == _errors(layout, plain=False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_arch_layouts(max_slots=6))
def test_valid_layouts_take_the_column_checks(layout: Layout) -> None:
    layout = _lined(layout)
    assert _errors(layout, plain=False) == []
    assert entries_plainly_valid(layout, layout.platform)
