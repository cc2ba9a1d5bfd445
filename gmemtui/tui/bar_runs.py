"""The runs of one map bar, built only as far as the screen needs them.

A bar shows runs ``(start, end, page index)``: the GPA bar its slots' runs on the GPA axis, a file bar
its bindings' runs on the file's offset axis. Flattening every slot's runs into one tuple costs all
of them (32,763 slots: ~95,000 runs converted, sorted and indexed, most of the map's first paint).
``BarRuns`` is that tuple, made lazily: a bar's cells come from bisection over the slots' starts,
a column reading each slot it holds whole as one small set of page sizes (memoised with the slot's
runs, shared by the GPA bar and the file bar) and converting only the runs of the slots cut by a
column edge. The flat tuple is built on first use as a sequence (a drag's splice, a comparison).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any

from gmemtui.core.coverage import Run, SlotCoverage
from gmemtui.tui.axis import Axis, RunIndex

Runs = tuple[tuple[int, int, int], ...]
NOT_MAPPABLE = -1  # palette.NOT_MAPPABLE: the page index of a run KVM does not map


class PageSets:
    """Per slot, the set of page indexes its runs show, as bits (bit k + 1 for page index k, bit 0
    for not mappable); memoised by the runs tuple, which an edit elsewhere keeps."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self._bits = {name: 1 << (k + 1) for k, name in enumerate(names)}
        self._memo: dict[int, tuple[tuple[Run, ...], int]] = {}

    def of(self, runs: tuple[Run, ...]) -> int:
        hit = self._memo.get(id(runs))
        if hit is not None and hit[0] is runs:
            return hit[1]
        bits, mask = self._bits, 0
        for r in runs:
            mask |= bits[r.page] if r.mappable else 1
        if len(self._memo) > 200_000:
            self._memo.clear()
        self._memo[id(runs)] = (runs, mask)
        return mask

    def union(self, group: Sequence[SlotCoverage], a: int, b: int) -> int:
        """``of`` of every slot in ``group[a:b]``, OR-ed (one call per column, not per slot)."""
        memo = self._memo
        get, bits = memo.get, self._bits
        if len(memo) > 200_000:
            memo.clear()
        out = 0
        for sc in group[a:b]:
            runs = sc.runs
            hit = get(id(runs))
            if hit is not None and hit[0] is runs:
                out |= hit[1]
                continue
            mask = 0
            for r in runs:
                mask |= bits[r.page] if r.mappable else 1
            memo[id(runs)] = (runs, mask)
            out |= mask
        return out


def cell_of_mask(mask: int) -> tuple[int | None, bool]:
    """(smallest page index, whether several meet) of a set of page bits, as ``RunIndex.cell``."""
    if not mask:
        return None, False
    return (mask & -mask).bit_length() - 2, bool(mask & (mask - 1))


class BarRuns(Sequence[tuple[int, int, int]]):
    """The flattened runs of ``group`` (SlotCoverage sorted by their start on this bar's axis, never
    overlapping there), each slot's runs from ``convert(sc)[side]``; equal to that tuple."""

    def __init__(self, group: Sequence[SlotCoverage], side: int, convert: Callable[[SlotCoverage], Any],
                 page_sets: PageSets) -> None:
        self.group = group
        self.side = side  # 1: GPA axis, 2: the file's offset axis (as MapView._converted returns them)
        self._convert = convert
        self._page_sets = page_sets
        self._flat: Runs | None = None
        self._starts: list[int] | None = None
        self.parts = LazyParts(self)

    def part(self, i: int) -> list[tuple[int, int, int]]:
        """The runs of slot ``i`` of the group, converted (memoised by the converter)."""
        return self._convert(self.group[i])[self.side]

    def flat(self) -> Runs:
        if self._flat is None:
            self._flat = tuple(chain.from_iterable(self.parts))
        return self._flat

    # -- the tuple's behaviour ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.flat())

    def __getitem__(self, i: Any) -> Any:
        return self.flat()[i]

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        return iter(self.flat())

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if isinstance(other, BarRuns):
            return self.flat() == other.flat()
        if isinstance(other, tuple):
            return self.flat() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.flat())

    def __repr__(self) -> str:
        return f"BarRuns({len(self.group)} slots)"

    # -- cells --------------------------------------------------------------------------------------

    def starts(self) -> list[int]:
        if self._starts is None:
            if self.side == 1:
                self._starts = [sc.slot.gpa for sc in self.group]
            else:
                self._starts = [sc.slot.offset for sc in self.group]
        return self._starts

    def cells(self, axis: Axis) -> list[tuple[int | None, bool]]:
        """``RunIndex.of(self).cells(axis)``, in one sweep over the columns and the slots they show."""
        return self.cells_of(axis.bounds())

    def cells_of(self, bounds: Sequence[tuple[int, int]]) -> list[tuple[int | None, bool]]:
        out: list[tuple[int | None, bool]] = []
        if not bounds:
            return out
        group, starts = self.group, self.starts()
        n = len(starts)
        union = self._page_sets.union
        i = max(bisect_right(starts, bounds[0][0]) - 1, 0)
        for lo, hi in bounds:
            hi = max(hi, lo + 1)
            while i < n and starts[i] + group[i].slot.size <= lo:  # slots wholly left of the column
                i += 1
            if i >= n or starts[i] >= hi:  # the column shows a hole (most columns of a zoomed-in view)
                out.append((None, False))
                continue
            end = bisect_left(starts, hi, i)  # the slots [i, end) meet the column
            a, b = i, end
            mask = 0
            if starts[i] < lo:  # the first slot is cut by the column's left edge
                mask |= self._cut(i, lo, hi)
                a += 1
            if b > a and starts[b - 1] + group[b - 1].slot.size > hi:  # the last by its right edge
                mask |= self._cut(b - 1, lo, hi)
                b -= 1
            if b > a:  # whole slots in the column: their page sets, memoised
                mask |= union(group, a, b)
                i = b  # they end in this column: the next one starts after them
            out.append(cell_of_mask(mask))
        return out

    def _cut(self, j: int, lo: int, hi: int) -> int:
        """The page bits of the runs of slot ``j`` that meet ``[lo, hi)``."""
        mask = 0
        for a, b, k in self.part(j):
            if a < hi and b > lo:
                mask |= 1 << (k + 1)
        return mask



class LazyParts(Sequence[list[tuple[int, int, int]]]):
    """The per-slot run lists of a ``BarRuns`` as a sequence, each converted when first read."""

    def __init__(self, runs: BarRuns) -> None:
        self._runs = runs

    def __len__(self) -> int:
        return len(self._runs.group)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._runs.part(j) for j in range(*i.indices(len(self)))]
        return self._runs.part(i if i >= 0 else i + len(self))

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        return (self._runs.part(j) for j in range(len(self)))


def bar_cells(runs: Sequence[tuple[int, int, int]], axis: Axis) -> list[tuple[int | None, bool]]:
    """Every column's (smallest page, mixed) of a bar: by bisection over the slots for ``BarRuns``,
    over the flat runs otherwise."""
    if isinstance(runs, BarRuns):
        return runs.cells(axis)
    return RunIndex.of(runs).cells(axis)
