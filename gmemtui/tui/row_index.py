"""The slot table's row of a slot, by its row key (``"as:slot"``), found when asked for.

The rows are the coverage's slots, sorted by (as, gpa). A dict of every row key (32,763 formatted
strings at KVM's limit) was built on every full redraw, for the one lookup the cursor needs; this
finds the slot through the layout's own index by key (``Layout.positions``, which the app builds
anyway) and its row by bisection over the sorted slots.
"""

from __future__ import annotations

from bisect import bisect_left

from gmemtui.core.coverage import Coverage, SlotCoverage


def _start(sc: SlotCoverage) -> tuple[int, int]:
    return sc.slot.as_, sc.slot.gpa


class RowIndex:
    """Row key -> row number of ``coverage.slots``, as ``{row_key(sc.slot): i for i, sc in ...}``."""

    def __init__(self, coverage: Coverage | None = None) -> None:
        self._coverage = coverage

    def get(self, key: str, default: int | None = None) -> int | None:
        cov = self._coverage
        if cov is None:
            return default
        space, sep, number = key.partition(":")
        try:
            wanted = (int(space), int(number))
        except ValueError:
            return default
        if not sep or f"{wanted[0]}:{wanted[1]}" != key:  # "00:1" or " 0:1" name no row
            return default
        layout = cov.layout
        pos = layout.positions.get(wanted)
        if pos is None:
            return default
        s = layout.slots[pos]
        i = bisect_left(cov.slots, (s.as_, s.gpa), key=_start)
        if i < len(cov.slots) and cov.slots[i].slot.key == wanted:
            return i
        return default
