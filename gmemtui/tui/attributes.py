"""The map's attribute row: which frames under each column are private and which shared.

Pure functions (no Textual). A column's answer comes from the slots overlapping its address range
and the private ranges' edges (``Attributes.bounds``, the ``kvm->mem_attr_array`` of the layout), found
by bisection: the row costs columns + slots, never frames.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from gmemtui.core.model import Slot

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


def attribute_cells(bounds_of_columns: Sequence[tuple[int, int]], slots: Sequence[Slot],
                    private: tuple[int, ...] | None, shift: int) -> list[str | None]:
    """Per column ``[lo, hi)`` (ascending, as ``Axis.bounds``): PRIVATE, SHARED, MIXED or None (a hole).
    ``slots`` sorted by gpa and disjoint (one address space); ``private`` as ``Attributes.bounds``."""
    out: list[str | None] = []
    starts = [s.gpa for s in slots]
    n = len(slots)
    if not bounds_of_columns:
        return out
    i = max(bisect_right(starts, bounds_of_columns[0][0]) - 1, 0)
    for lo, hi in bounds_of_columns:
        hi = max(hi, lo + 1)
        while i < n and slots[i].end <= lo:
            i += 1
        seen: str | None = None
        j = i
        while j < n and slots[j].gpa < hi:
            s = slots[j]
            v = _of_range(s, max(lo, s.gpa), min(hi, s.end), private, shift)
            seen = v if seen is None or seen == v else MIXED
            j += 1
        out.append(seen)
    return out
