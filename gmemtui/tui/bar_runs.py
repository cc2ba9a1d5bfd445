"""The runs of one map bar, built only as far as the screen needs them.

A bar shows runs ``(start, end, page index)``: the GPA bar its slots' runs on the GPA axis, a file bar
its bindings' runs on the file's offset axis, one piece per slot (``PieceRuns``). Converting every
slot's runs, then sorting and indexing them for the cells, costs all of them (32,763 slots: ~95,000
runs, most of the map's first paint). ``LazyPieceRuns`` is that ``PieceRuns`` with each piece
converted when first read: a bar's cells come from bisection over the slots' starts, a column reading
each slot it holds whole as one small set of page sizes (memoised with the slot's shape, shared by
the GPA bar and the file bar) and converting only the runs of the slots cut by a column edge.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from gmemtui.core.coverage import Shape, SlotCoverage
from gmemtui.tui.axis import Axis, RunIndex
from gmemtui.tui.piece_runs import PieceRuns

Runs = tuple[tuple[int, int, int], ...]
NOT_MAPPABLE = -1  # palette.NOT_MAPPABLE: the page index of a run KVM does not map


class PageSets:
    """Per slot, the set of page indexes its runs show, as bits (bit k + 1 for page index k, bit 0
    for not mappable); read from the slot's ``Shape`` (shared by every slot of its class, so a
    32,763-slot bar needs a few hundred of these, and no Run objects), memoised by identity."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self._bits = {name: 1 << (k + 1) for k, name in enumerate(names)}
        self._memo: dict[int, tuple[Shape, int]] = {}

    def of(self, shape: Shape) -> int:
        hit = self._memo.get(id(shape))
        if hit is not None and hit[0] is shape:
            return hit[1]
        bits, mask = self._bits, 0
        for _, _, page, _, _, mappable in shape.runs:
            mask |= bits[page] if mappable else 1
        if len(self._memo) > 200_000:
            self._memo.clear()
        self._memo[id(shape)] = (shape, mask)
        return mask

    def union(self, group: Sequence[SlotCoverage], a: int, b: int) -> int:
        """``of`` of every slot in ``group[a:b]``, OR-ed (one call per column, not per slot)."""
        get, of = self._memo.get, self.of
        out = 0
        for sc in group[a:b]:
            shape = sc.shape
            hit = get(id(shape))
            out |= hit[1] if hit is not None and hit[0] is shape else of(shape)
        return out


def cell_of_mask(mask: int) -> tuple[int | None, bool]:
    """(smallest page index, whether several meet) of a set of page bits, as ``RunIndex.cell``."""
    if not mask:
        return None, False
    return (mask & -mask).bit_length() - 2, bool(mask & (mask - 1))


class SlotParts(Sequence[Sequence[tuple[int, int, int]]]):
    """The pieces of a ``LazyPieceRuns``: piece j is ``convert(group[j])[side]``, made when first read;
    a piece put in by a drag step (``PieceRuns.replaced``) is kept as given."""

    def __init__(self, group: Sequence[SlotCoverage], side: int, convert: Callable[[SlotCoverage], Any],
                 page_sets: PageSets) -> None:
        self.group = group
        self.side = side  # 1: GPA axis, 2: the file's offset axis (as MapView._converted returns them)
        self._convert = convert
        self.page_sets = page_sets
        self.replaced: dict[int, Sequence[tuple[int, int, int]]] = {}
        self._made: list[Sequence[tuple[int, int, int]] | None] | None = None

    def __len__(self) -> int:
        return len(self.group)

    def _pieces(self) -> list[Sequence[tuple[int, int, int]] | None]:
        """The pieces made so far (None where not yet): a drag step reads a few hundred of them
        around the changed columns (``PieceRuns.near``) as a plain slice once they are made."""
        if self._made is None:
            self._made = [None] * len(self.group)
        return self._made

    def _make(self, j: int) -> Sequence[tuple[int, int, int]]:
        piece = self._made[j] = self._convert(self.group[j])[self.side]  # type: ignore[index]
        return piece

    def __getitem__(self, i: Any) -> Any:
        made = self._pieces()
        if isinstance(i, slice):
            a, b, step = i.indices(len(made))
            if step != 1:
                return [self[j] for j in range(a, b, step)]
            chunk = made[a:b]
            if None in chunk:
                for j in range(a, b):
                    if made[j] is None:
                        self._make(j)
                chunk = made[a:b]
            return chunk
        piece = made[i]
        if piece is None:
            piece = self._make(i if i >= 0 else i + len(made))
        return piece

    def __setitem__(self, i: int, part: Sequence[tuple[int, int, int]]) -> None:
        self._pieces()[i] = part
        self.replaced[i] = part

    def __iter__(self) -> Iterator[Sequence[tuple[int, int, int]]]:
        return (self[j] for j in range(len(self.group)))

    def end(self, j: int, start: int) -> int:
        """Where slot j ends on this axis (its runs cover it whole)."""
        part = self.replaced.get(j) if self.replaced else None
        return part[-1][1] if part is not None else start + self.group[j].slot.size

    def union(self, a: int, b: int) -> int:
        """The page bits of every slot in ``[a, b)`` (each held whole by one column)."""
        if not self.replaced:
            return self.page_sets.union(self.group, a, b)
        mask = 0
        for j in range(a, b):
            part = self.replaced.get(j)
            if part is None:
                mask |= self.page_sets.union(self.group, j, j + 1)
            else:
                for _, _, k in part:
                    mask |= 1 << (k + 1)
        return mask


class LazyPieceRuns(PieceRuns):
    """A ``PieceRuns`` whose pieces are ``SlotParts`` (converted when read), with the cells of a whole
    bar by bisection over the slots (``cells``). ``fresh``: made for a new group, not by a drag step
    (the bar then computes all its cells rather than patching the last ones)."""

    __slots__ = ("fresh",)

    @classmethod
    def of(cls, group: Sequence[SlotCoverage], side: int, convert: Callable[[SlotCoverage], Any],
           page_sets: PageSets) -> LazyPieceRuns:
        # every slot has runs, and the first starts where the slot does: no piece is empty
        if side == 1:
            firsts = [sc.slot.gpa for sc in group]
        else:
            firsts = [sc.slot.offset for sc in group]
        runs = cls(SlotParts(group, side, convert, page_sets), firsts, 0)  # type: ignore[arg-type]
        runs.fresh = True
        return runs

    def replaced(self, changes: Any) -> PieceRuns | None:
        new = super().replaced(changes)
        if new is None:
            return None
        runs = LazyPieceRuns(new.parts, new.firsts, 0)  # type: ignore[arg-type]
        runs.fresh = False
        return runs

    def __repr__(self) -> str:
        return f"LazyPieceRuns({len(self.firsts or ())} slots)"

    def cells(self, axis: Axis) -> list[tuple[int | None, bool]]:
        """``RunIndex.of(self).cells(axis)``, in one sweep over the columns and the slots they show."""
        return self.cells_of(axis.bounds())

    def cells_of(self, bounds: Sequence[tuple[int, int]]) -> list[tuple[int | None, bool]]:
        out: list[tuple[int | None, bool]] = []
        parts, starts = self.parts, self.firsts
        if not bounds or parts is None or starts is None:
            return out
        assert isinstance(parts, SlotParts)
        n = len(starts)
        end = parts.end
        i = max(bisect_right(starts, bounds[0][0]) - 1, 0)
        for lo, hi in bounds:
            hi = max(hi, lo + 1)
            while i < n and end(i, starts[i]) <= lo:  # slots wholly left of the column
                i += 1
            if i >= n or starts[i] >= hi:  # the column shows a hole (most columns of a zoomed-in view)
                out.append((None, False))
                continue
            a, b = i, bisect_left(starts, hi, i)  # the slots [i, b) meet the column
            mask = 0
            if starts[a] < lo:  # the first slot is cut by the column's left edge
                mask |= _cut(parts[a], lo, hi)
                a += 1
            if b > a and end(b - 1, starts[b - 1]) > hi:  # the last by its right edge
                mask |= _cut(parts[b - 1], lo, hi)
                b -= 1
            if b > a:  # whole slots in the column: their page sets, memoised
                mask |= parts.union(a, b)
                i = b  # they end in this column: the next one starts after them
            out.append(cell_of_mask(mask))
        return out


def _cut(part: Sequence[tuple[int, int, int]], lo: int, hi: int) -> int:
    """The page bits of the runs of one slot that meet ``[lo, hi)``."""
    mask = 0
    for a, b, k in part:
        if a < hi and b > lo:
            mask |= 1 << (k + 1)
    return mask


def is_fresh(runs: object) -> bool:
    """Runs made for a new group (not spliced by a drag step): patching the last cells would compare
    every run, computing them all by bisection costs only what the screen shows."""
    return isinstance(runs, LazyPieceRuns) and getattr(runs, "fresh", False)


def bar_cells(runs: Sequence[tuple[int, int, int]], axis: Axis) -> list[tuple[int | None, bool]]:
    """Every column's (smallest page, mixed) of a bar: by bisection over the slots for
    ``LazyPieceRuns``, over the flat runs otherwise."""
    if isinstance(runs, LazyPieceRuns) and not runs.stale:
        return runs.cells(axis)
    return RunIndex.of(runs).cells(axis)
