"""The slots of one bar, read through its group of slot coverage (no list of them copied per step).

A bar asks for its slots by position (bisection, labels, hit tests); a drag step replaces one slot of
a group of 32,763, and copying the list of slots for that costs more than the rest of the step's map
work. A ``SlotView`` is a new object per group (the bars compare slot lists by identity, and the live
model is told which positions changed), reading ``group[i].slot`` on demand. Pure: no Textual.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from gmemtui.core.coverage import SlotCoverage
from gmemtui.core.model import Slot


class SlotView(Sequence[Slot]):
    """``[sc.slot for sc in group]`` without building it; equal to any sequence of the same slots."""

    __slots__ = ("group",)

    def __init__(self, group: Sequence[SlotCoverage]) -> None:
        self.group = group

    def __len__(self) -> int:
        return len(self.group)

    @overload
    def __getitem__(self, i: int) -> Slot: ...

    @overload
    def __getitem__(self, i: slice) -> list[Slot]: ...

    def __getitem__(self, i: int | slice) -> Slot | list[Slot]:
        if isinstance(i, slice):
            return [sc.slot for sc in self.group[i]]
        return self.group[i].slot

    def __iter__(self) -> Iterator[Slot]:
        return (sc.slot for sc in self.group)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SlotView({len(self.group)} slots)"
