"""The map's attribute row: which frames under each column are private and which shared.

Pure functions (no Textual). A column's answer comes from the slots overlapping its address range
and the private ranges' edges (``Attributes.bounds``, the ``kvm->mem_attr_array`` of the layout), found
by bisection: the row costs columns + slots, never frames.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

from gmemtui.core.model import Slot
from gmemtui.tui.live import changed_positions

PRIVATE, SHARED, MIXED = "p", "s", "m"
GLYPHS = {PRIVATE: "━", SHARED: "┄", MIXED: "╋", None: " "}
LEGEND = ((GLYPHS[PRIVATE], "private", "private frames (guest_memfd backs them)"),
          (GLYPHS[SHARED], "shared", "shared frames (the host mapping at ua backs them)"),
          (GLYPHS[MIXED], "both", "private and shared frames in one cell"))


def _of_range(slot: Slot, lo: int, hi: int, bounds: tuple[int, ...] | None, shift: int) -> str:
    """The attribute of ``[lo, hi)`` (bytes, inside ``slot``): default, or from the private edges."""
    if bounds is None:  # the default: a frame is private iff its slot has a guest_memfd
        return PRIVATE if slot.gmem is not None else SHARED
    f0, f1 = lo >> shift, max((hi - 1) >> shift, lo >> shift) + 1
    i = bisect_right(bounds, f0)
    if i < len(bounds) and bounds[i] < f1:
        return MIXED
    return PRIVATE if i % 2 == 1 else SHARED


class _Index:
    """Starts, ends and a running count of guest_memfd slots of one sorted slot list: a column
    holding many slots is answered by bisection and a difference, not by visiting them."""

    def __init__(self, slots: Sequence[Slot], starts: list[int] | None = None, ends: list[int] | None = None,
                 gmem: list[int] | None = None) -> None:
        self.slots = slots
        self.starts = starts if starts is not None else [s.gpa for s in slots]
        self.ends = ends if ends is not None else [s.gpa + s.size for s in slots]
        self.gmem = gmem if gmem is not None else [0, *accumulate(s.gmem is not None for s in slots)]

    def patched(self, slots: Sequence[Slot]) -> _Index | None:
        """The index of ``slots`` = these slots with a few replaced (a drag step), or None. The new
        index takes this one's lists over (no copy of every slot's start and end on each step); the
        caller forgets this one."""
        changed = changed_positions(slots, self.slots)
        if changed is None or any((self.slots[i].gmem is None) != (slots[i].gmem is None) for i in changed):
            return None
        starts, ends = self.starts, self.ends
        for i in changed:
            new = slots[i]
            starts[i], ends[i] = new.gpa, new.gpa + new.size
        return _Index(slots, starts, ends, self.gmem)


_last: list[_Index] = []  # the indexes of the slot lists drawn last (each bar's list is kept while unchanged)


def index_of(slots: Sequence[Slot]) -> _Index:
    for ix in _last:
        if ix.slots is slots:
            return ix
    for k, old in enumerate(_last):
        if len(old.slots) == len(slots):
            ix = old.patched(slots)
            if ix is not None:
                del _last[k]  # its lists now belong to the new index
                break
    else:
        ix = _Index(slots)
    _last[:] = [ix, *_last[:3]]
    return ix


def attribute_cells(bounds_of_columns: Sequence[tuple[int, int]], slots: Sequence[Slot],
                    private: tuple[int, ...] | None, shift: int) -> list[str | None]:
    """Per column ``[lo, hi)`` (ascending, as ``Axis.bounds``): PRIVATE, SHARED, MIXED or None (a hole).
    ``slots`` sorted by gpa and disjoint (one address space); ``private`` as ``Attributes.bounds``.
    A column over several slots with explicit attributes is judged on the span from its first slot's
    first frame to its last slot's last (an edge in a hole between them reads as MIXED)."""
    ix = index_of(slots)
    out: list[str | None] = []
    for lo, hi in bounds_of_columns:
        hi = max(hi, lo + 1)
        i = bisect_right(ix.ends, lo)  # the first slot ending after lo
        j = bisect_left(ix.starts, hi)  # past the last slot starting before hi
        if i >= j:
            out.append(None)
            continue
        if private is None:
            n = ix.gmem[j] - ix.gmem[i]
            out.append(PRIVATE if n == j - i else SHARED if n == 0 else MIXED)
            continue
        a, b = max(lo, ix.starts[i]), min(hi, ix.ends[j - 1])
        out.append(_of_range(slots[i], a, b, private, shift))
    return out


def patch_attribute_cells(cells: list[str | None], bounds_of_columns: Sequence[tuple[int, int]],
                          old: Sequence[Slot], slots: Sequence[Slot], changed: Sequence[int],
                          private: tuple[int, ...] | None, shift: int) -> list[str | None]:
    """``attribute_cells(bounds_of_columns, slots, ...)`` given ``cells`` = the same for ``old``, which
    holds the same slots but at positions ``changed`` (a drag step): a column's answer depends only on
    the slots overlapping it, so only the columns over a changed slot's old or new extent are asked
    again (the row costs those columns, not the bar's)."""
    out = list(cells)
    for i in changed:
        lo, hi = min(old[i].gpa, slots[i].gpa), max(old[i].end, slots[i].end)
        x0 = max(bisect_left(bounds_of_columns, lo, key=_first) - 1, 0)  # from the last column before lo
        x1 = bisect_left(bounds_of_columns, hi, key=_first)  # to the first column starting at or after hi
        if x0 < x1:
            out[x0:x1] = attribute_cells(bounds_of_columns[x0:x1], slots, private, shift)
    return out


def _first(t: tuple[int, int]) -> int:
    return t[0]
