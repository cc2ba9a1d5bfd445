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
        """The index of ``slots`` = these slots with a few replaced (a drag step), or None."""
        changed = changed_positions(slots, self.slots)
        if changed is None:
            return None
        starts, ends = list(self.starts), list(self.ends)
        for i in changed:
            old, new = self.slots[i], slots[i]
            if (old.gmem is None) != (new.gmem is None):
                return None
            starts[i], ends[i] = new.gpa, new.gpa + new.size
        return _Index(slots, starts, ends, self.gmem)


_last: list[_Index] = []  # the indexes of the slot lists drawn last (each bar's list is kept while unchanged)


def index_of(slots: Sequence[Slot]) -> _Index:
    for ix in _last:
        if ix.slots is slots:
            return ix
    near = next((ix.patched(slots) for ix in _last if len(ix.slots) == len(slots)), None)
    ix = near if near is not None else _Index(slots)
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
