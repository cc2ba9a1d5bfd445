"""The map's horizontal axis and cell colouring, as pure functions (no Textual).

An axis maps screen columns to address ranges. The linear axis uses a power-of-two number of bytes
per cell, aligned, so at 2M per cell every cell is exactly one 2M page. The slot scale is piecewise
linear: every slot gets a readable width and holes a sliver, whatever their sizes.

A cell's page size comes from the coverage runs by bisection: the runs overlapping the cell's range
are found with ``bisect`` and only those are read, so drawing costs cells + runs, never frames.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, count, islice
from operator import gt, ne

from gmemtui.tui.piece_runs import PieceRuns


@dataclass(frozen=True)
class Piece:
    """Columns ``[x0, x1)`` show addresses ``[g0, g1)`` linearly."""

    x0: int
    x1: int
    g0: int
    g1: int


@dataclass(frozen=True)
class Axis:
    width: int
    pieces: tuple[Piece, ...]
    bpc: int = 0  # bytes per cell of a linear axis (0: piecewise)
    x0s: tuple[int, ...] = field(init=False, compare=False, repr=False)
    g0s: tuple[int, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "x0s", tuple(p.x0 for p in self.pieces))
        object.__setattr__(self, "g0s", tuple(p.g0 for p in self.pieces))

    @property
    def lo(self) -> int:
        return self.pieces[0].g0

    @property
    def hi(self) -> int:
        return self.pieces[-1].g1

    def _piece(self, x: int) -> Piece:
        i = bisect_right(self.x0s, x) - 1
        return self.pieces[max(0, min(i, len(self.pieces) - 1))]

    def at(self, x: int) -> int:
        """The address at the left edge of column x (extrapolated outside the axis)."""
        if self.bpc:
            return self.pieces[0].g0 + x * self.bpc
        p = self._piece(x)
        return p.g0 + (x - p.x0) * (p.g1 - p.g0) // (p.x1 - p.x0)

    def cell(self, x: int) -> tuple[int, int]:
        """The address range ``[lo, hi)`` that column x shows (may be empty on a stretched piece)."""
        if self.bpc:
            lo = self.pieces[0].g0 + x * self.bpc
            return lo, lo + self.bpc
        p = self._piece(x)
        if x + 1 >= p.x1:
            return self.at(x), p.g1
        return self.at(x), self.at(x + 1)

    def bounds(self) -> list[tuple[int, int]]:
        """``cell(x)`` for every column, in one pass over the pieces (cached: axes are values)."""
        cached = self.__dict__.get("_bounds")
        if cached is not None:
            return cached
        out: list[tuple[int, int]] = []
        for p in self.pieces:
            span, w = p.g1 - p.g0, p.x1 - p.x0
            prev = p.g0
            for i in range(1, w + 1):
                nxt = p.g0 + i * span // w if i < w else p.g1
                out.append((prev, nxt))
                prev = nxt
        object.__setattr__(self, "_bounds", out)
        return out

    def x_of(self, g: int) -> int | None:
        """The column showing address g, or None if it is off the axis."""
        if not self.lo <= g < self.hi:
            return None
        if self.bpc:
            return (g - self.lo) // self.bpc
        p = self.pieces[bisect_right(self.g0s, g) - 1]
        if p.g0 <= g < p.g1:
            return min(p.x1 - 1, p.x0 + (g - p.g0) * (p.x1 - p.x0) // (p.g1 - p.g0))
        return None


def linear(start: int, bpc: int, width: int) -> Axis:
    width = max(width, 1)
    return Axis(width, (Piece(0, width, start, start + bpc * width),), bpc)


def fit_bpc(extent: int, width: int, base: int) -> int:
    """The smallest power-of-two multiple of the base page with ``bpc * width >= extent``."""
    bpc = base
    while bpc * max(width, 1) < extent:
        bpc *= 2
    return bpc


def slot_scale(intervals: Sequence[tuple[int, int]], width: int, min_w: int = 6) -> Axis | None:
    """A piecewise axis over sorted disjoint ``[g0, g1)`` intervals: each gets ``min_w`` columns plus a
    share of the rest by size, each gap between them one column. None if they do not fit."""
    spans: list[tuple[int, int, bool]] = []
    for g0, g1 in intervals:
        if spans and g0 > spans[-1][1]:
            spans.append((spans[-1][1], g0, False))
        if g1 > g0:
            spans.append((g0, g1, True))
    if not spans:
        return None
    n = sum(1 for s in spans if s[2])
    fixed = sum(min_w if s[2] else 1 for s in spans)
    if fixed > width:
        min_w = max(1, (width - (len(spans) - n)) // n)
        fixed = sum(min_w if s[2] else 1 for s in spans)
        if fixed > width or min_w < 1:
            return None
    extra = width - fixed
    total = sum(g1 - g0 for g0, g1, slot in spans if slot)
    pieces: list[Piece] = []
    x, given, acc = 0, 0, 0
    for g0, g1, slot in spans:
        w = 1
        if slot:
            acc += g1 - g0
            share = extra * acc // total - given  # cumulative rounding: shares sum to ``extra``
            given += share
            w = min_w + share
        pieces.append(Piece(x, x + w, g0, g1))
        x += w
    return Axis(x, tuple(pieces))


def ticks(axis: Axis, label_len: int) -> list[tuple[int, int]]:
    """(column, address) of axis labels that do not overlap: on a linear axis at power-of-two
    multiples of the cell size; on a piecewise one at the start of each piece."""
    out: list[tuple[int, int]] = []
    if axis.bpc:
        step = axis.bpc
        while step // axis.bpc < label_len + 1:
            step *= 2
        g = -(-axis.lo // step) * step
        while g < axis.hi:
            x = axis.x_of(g)
            if x is not None:
                out.append((x, g))
            g += step
        return out
    last = -label_len - 1
    for p in axis.pieces:
        if p.x0 >= last + 1:
            out.append((p.x0, p.g0))
            last = p.x0 + len(hex(p.g0))
    return out


@dataclass(frozen=True)
class RunIndex:
    """Sorted disjoint runs ``(start, end, page index)`` of one bar, searchable by address."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    pages: tuple[int, ...]

    @classmethod
    def of(cls, runs: Sequence[tuple[int, int, int]]) -> RunIndex:
        runs = sorted(runs)
        return cls(tuple(r[0] for r in runs), tuple(r[1] for r in runs), tuple(r[2] for r in runs))

    def cell(self, lo: int, hi: int) -> tuple[int | None, bool]:
        """(smallest page index in ``[lo, hi)`` or None for a hole, whether several sizes meet there)."""
        i = max(bisect_right(self.starts, lo) - 1, 0)
        smallest: int | None = None
        mixed = False
        while i < len(self.starts) and self.starts[i] < hi:
            if self.ends[i] > lo:
                k = self.pages[i]
                if smallest is not None and k != smallest:
                    mixed = True
                smallest = k if smallest is None else min(smallest, k)
            i += 1
        return smallest, mixed

    def cells(self, axis: Axis) -> list[tuple[int | None, bool]]:
        """Every column's (smallest page, mixed) in one sweep over columns and runs together."""
        return self.cells_of(axis.bounds())

    def cells_of(self, bounds: Sequence[tuple[int, int]]) -> list[tuple[int | None, bool]]:
        """(smallest page, mixed) of each ``[lo, hi)`` of ``bounds`` (ascending, as ``Axis.bounds``)."""
        out: list[tuple[int | None, bool]] = []
        starts, ends, pages = self.starts, self.ends, self.pages
        n = len(starts)
        if not bounds:
            return out
        i = max(bisect_right(starts, bounds[0][0]) - 1, 0)
        for lo, hi in bounds:
            hi = max(hi, lo + 1)
            while i < n and ends[i] <= lo:
                i += 1
            j = i
            smallest: int | None = None
            mixed = False
            while j < n and starts[j] < hi:
                k = pages[j]
                if smallest is None:
                    smallest = k
                elif k != smallest:
                    mixed = True
                    smallest = min(smallest, k)
                j += 1
            out.append((smallest, mixed))
        return out


Runs = Sequence[tuple[int, int, int]]


def remember_span(old: Runs, new: Runs, span: tuple[int, int] | None) -> None:
    """Record a range covering every run that differs between ``old`` and ``new`` (whoever spliced
    ``new`` from ``old`` knows it), so ``changed_span`` need not compare the lists."""
    _SPANS.append((old, new, span))


_SPANS: deque[tuple[Runs, Runs, tuple[int, int] | None]] = deque(maxlen=8)


def changed_span(old: Runs, new: Runs) -> tuple[int, int] | None:
    """The address range ``[lo, hi)`` covering every run that differs between two run lists (a
    common head and tail are skipped: a drag changes the runs of one slot), or None if equal; a
    recorded superset of it where ``remember_span`` was told."""
    for o, n_, span in _SPANS:
        if o is old and n_ is new:
            return span
    if isinstance(old, PieceRuns) and old.stale or isinstance(new, PieceRuns) and new.stale:
        return (0, 1 << 128)  # runs no longer known: every address may have changed
    n, m = len(old), len(new)
    k = min(n, m)
    # the first difference from each end, found by C loops (map/compress) rather than index by index
    p = next(compress(count(), map(ne, old, new)), k)
    if p == n == m:
        return None
    q = next(compress(count(), map(ne, islice(reversed(old), k - p), islice(reversed(new), k - p))), k - p)
    mid = [*old[p:n - q], *new[p:m - q]]
    return min(r[0] for r in mid), max(r[1] for r in mid)


def patch_cells(cells: list[tuple[int | None, bool]], axis: Axis, old: Runs,
                new: Runs) -> list[tuple[int | None, bool]] | None:
    """``RunIndex.of(new).cells(axis)`` given ``cells`` = the same for ``old``, recomputing only the
    columns that show a changed run. ``new`` must be sorted by start and disjoint (slots of one
    address space and bindings of one file never overlap); None if that does not hold nearby."""
    bounds = axis.bounds()
    if len(cells) != len(bounds):
        return None
    span = changed_span(old, new)
    if span is None:
        return cells
    lo, hi = span
    x0 = max(bisect_left(bounds, lo, key=_first) - 1, 0)  # from the last column starting before lo
    x1 = max(bisect_left(bounds, hi, key=_first), x0 + 1)  # the first column starting at or after hi
    cols = bounds[x0:x1]
    a, b = cols[0][0], max(cols[-1][1], cols[-1][0] + 1)
    if isinstance(new, PieceRuns):  # the runs of the changed columns without flattening the bar's
        near = new.near(a, b)
    else:
        i = max(bisect_right(new, a, key=_first) - 1, 0)
        near = new[i:bisect_left(new, b, key=_first)]
    starts, ends, pages = zip(*near, strict=True) if near else ((), (), ())
    if any(map(gt, ends, starts[1:])):  # overlapping or unsorted here
        return None
    # sorted (each run ends before the next starts): what RunIndex.of would sort them into
    return [*cells[:x0], *RunIndex(starts, ends, pages).cells_of(cols), *cells[x1:]]


def _first(t: tuple[int, ...]) -> int:
    return t[0]


def boundary_marks(axis: Axis, sizes: Sequence[int], min_gap: int = 3) -> list[tuple[int, int]]:
    """(column, ladder index) of page-size boundaries to mark on a slot-scale axis, where the scale
    changes from piece to piece and the hex labels name only piece starts: in each piece, the
    boundaries of the largest ladder size (not the base page) that has some inside the piece, if
    they are at least ``min_gap`` columns apart (at most width / min_gap marks)."""
    out: list[tuple[int, int]] = []
    if axis.bpc:
        return out
    for p in axis.pieces:
        span, w = p.g1 - p.g0, p.x1 - p.x0
        if span <= 0 or w < min_gap:
            continue
        for k in range(len(sizes) - 1, 0, -1):
            size = sizes[k]
            g = (p.g0 // size + 1) * size
            if g >= p.g1:
                continue  # no boundary of this size inside: try the next smaller one
            if size * w >= min_gap * span:
                while g < p.g1:
                    out.append((p.x0 + (g - p.g0) * w // span, k))
                    g += size
            break
    return out
