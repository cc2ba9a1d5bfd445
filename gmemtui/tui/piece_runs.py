"""A bar's runs kept as one piece per slot, so a drag step touches the dragged slot's piece only.

A bar shows the runs ``(start, end, page index)`` of every slot of its group, sorted and disjoint.
Flattening them into one tuple costs every run of every slot (32,763 slots: ~94,000 runs, ~5 ms) on
every step; ``PieceRuns`` keeps the per-slot lists as they are, with the first address of each, and
answers what drawing asks -- the runs around a few columns (``near``) -- by bisection over the
pieces, then inside one. A step makes a new object (the bar compares runs by identity) that shares
every piece but the replaced ones. Pure: no Textual.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from itertools import chain
from typing import overload

Run = tuple[int, int, int]


def _first(t: tuple[int, ...]) -> int:
    return t[0]


class PieceRuns(Sequence[Run]):
    """The concatenation of ``parts`` (each sorted; together sorted and disjoint), searchable by address.

    ``firsts[k]`` is the start of part k's first run (an empty part repeats the one before it, so
    ``firsts`` stays sorted); ``empty`` counts empty parts (then ``near`` and ``replaced`` take the
    plain path). Equality is identity, as for the bar's other inputs: equal contents are compared
    with ``tuple(a) == tuple(b)``."""

    __slots__ = ("parts", "firsts", "empty", "_flat")

    parts: list[Sequence[Run]] | None
    firsts: list[int] | None

    def __init__(self, parts: list[Sequence[Run]], firsts: list[int] | None = None, empty: int = 0) -> None:
        self.parts = parts
        if firsts is None:
            firsts, prev, empty = [], -1, 0
            for p in parts:
                if p:
                    prev = p[0][0]
                else:
                    empty += 1
                firsts.append(prev)
        self.firsts = firsts
        self.empty = empty
        self._flat: tuple[Run, ...] | None = None

    def flat(self) -> tuple[Run, ...]:
        """Every run in one tuple (built once, on the first question that needs it: a full redraw)."""
        if self._flat is None:
            if self.parts is None:
                raise ValueError("the runs of a replaced PieceRuns are gone")
            self._flat = tuple(chain.from_iterable(self.parts))
        return self._flat

    def __iter__(self) -> Iterator[Run]:
        return chain.from_iterable(self.parts) if self._flat is None else iter(self._flat)

    def __len__(self) -> int:
        return len(self.flat())

    @overload
    def __getitem__(self, i: int) -> Run: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Run, ...]: ...

    def __getitem__(self, i: int | slice) -> Run | tuple[Run, ...]:
        return self.flat()[i]

    def __repr__(self) -> str:
        return f"PieceRuns({len(self.parts)} parts)"

    @property
    def stale(self) -> bool:
        """True once ``replaced`` took this object's lists over (its runs are then unknown)."""
        return self.parts is None

    def replaced(self, changes: Mapping[int, Sequence[Run]]) -> PieceRuns | None:
        """This object with part k replaced by ``changes[k]``, as a new object; None where an empty part
        is involved (then build afresh). The new object takes the lists over and this one goes
        ``stale``: no copy of 32,763 pointers on every drag step, and nothing reads the runs of the
        step before (the bar is told which span changed: ``axis.remember_span``)."""
        if self.parts is None or self.empty or not all(changes.values()):
            return None
        parts, firsts = self.parts, self.firsts
        for k, p in changes.items():
            parts[k] = p
            firsts[k] = p[0][0]
        self.parts = self.firsts = None  # type: ignore[assignment]
        return PieceRuns(parts, firsts, 0)

    def near(self, a: int, b: int) -> list[Run]:
        """``flat[i:j]``: from the last run starting at or before ``a`` (else the first run) to the last
        run starting before ``b`` -- the runs that columns ``[a, b)`` can show. Cost: the runs returned
        plus two bisections over the pieces."""
        if self.empty or self.parts is None:
            flat = self.flat()
            i = max(bisect_right(flat, a, key=_first) - 1, 0)
            return list(flat[i:bisect_left(flat, b, key=_first)])
        parts, firsts = self.parts, self.firsts
        k = bisect_right(firsts, a) - 1
        if k < 0:
            k, i = 0, 0
        else:  # part k starts at or before a, the next one after it: the run is in part k
            i = bisect_right(parts[k], a, key=_first) - 1
        m = bisect_left(firsts, b)  # parts from m on start at or after b
        if m - 1 < k:
            return []
        if m - 1 == k:
            return list(parts[k][i:bisect_left(parts[k], b, key=_first)])
        out = list(parts[k][i:])
        for p in parts[k + 1:m - 1]:
            out.extend(p)
        last = parts[m - 1]
        out.extend(last[:bisect_left(last, b, key=_first)])
        return out
