"""Where, by GPA, the page size changed between two layouts: the computation behind ``gmemtui diff``.

Compared per address space and by guest-physical address, never by slot number: QEMU renumbers
slots freely (the seed thread's slot 0 becomes slots 0 and 5). Closed form: both sides' runs are
overlaid with one sweep over their edges, so a 1 TiB layout costs what a 1 MiB one does.

``compare`` diffs two whole layouts; ``compare_slots`` diffs the coverage of a few slots on each side
with the same sweep, so ``suggest`` can verify a change to one slot without recomputing the layout
(the other slots' runs are equal on both sides and contribute nothing to a diff).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from gmemtui.core.coverage import Coverage, SlotCoverage, compute
from gmemtui.core.errors import InputError
from gmemtui.core.model import Layout


class Piece(NamedTuple):
    """A run of one side with its slot and ladder index (for the sweep; a tuple, as there are many)."""

    gpa: int
    end: int
    k: int  # ladder index of the page size
    reason: str | None
    slot: int


@dataclass
class Change:
    as_: int
    gpa: int
    size: int
    old: str
    new: str
    reason: str | None  # the new side's reason
    old_slots: list[int] = field(default_factory=list)
    new_slots: list[int] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.gpa + self.size


@dataclass
class Only:
    as_: int
    gpa: int
    size: int
    slots: list[int] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.gpa + self.size


@dataclass
class Sweep:
    """What the overlay of two sides' runs finds: the body of a ``Diff``."""

    changes: list[Change]
    only_old: list[Only]
    only_new: list[Only]
    lost: dict[str, int]
    gained: dict[str, int]

    @property
    def any_loss(self) -> bool:
        return any(self.lost.values())


@dataclass
class Diff:
    """Two whole layouts compared: both coverages and the sweep's findings."""

    old: Layout
    new: Layout
    old_cov: Coverage
    new_cov: Coverage
    changes: list[Change]
    only_old: list[Only]
    only_new: list[Only]
    lost: dict[str, int]
    gained: dict[str, int]

    @property
    def any_loss(self) -> bool:
        return any(self.lost.values())


def pieces(slots: Iterable[SlotCoverage], names: Sequence[str]) -> dict[int, list[Piece]]:
    """Per address space, every run of the given slots sorted by GPA (slots of a space never overlap)."""
    index = {n: i for i, n in enumerate(names)}
    out: dict[int, list[Piece]] = {}
    for sc in sorted(slots, key=lambda sc: (sc.slot.as_, sc.slot.gpa)):
        lst = out.setdefault(sc.slot.as_, [])
        sid = sc.slot.slot
        lst.extend([Piece(r.gpa, r.gpa + r.size, index[r.page], r.reason, sid) for r in sc.runs])
    return out


def overlay(a: Sequence[Piece], b: Sequence[Piece]) -> Iterator[tuple[int, int, Piece | None, Piece | None]]:
    """``(lo, hi, piece of a, piece of b)`` between consecutive edges of either side; None = uncovered."""
    points = sorted({x for p in a for x in (p.gpa, p.end)} | {x for p in b for x in (p.gpa, p.end)})
    i = j = 0
    for lo, hi in zip(points, points[1:]):  # noqa: B905 (one shorter by design)
        while i < len(a) and a[i].end <= lo:
            i += 1
        while j < len(b) and b[j].end <= lo:
            j += 1
        pa = a[i] if i < len(a) and a[i].gpa <= lo else None
        pb = b[j] if j < len(b) and b[j].gpa <= lo else None
        if pa is not None or pb is not None:
            yield lo, hi, pa, pb


def _add_only(out: list[Only], as_: int, lo: int, hi: int, slot: int) -> None:
    last = out[-1] if out else None
    if last is not None and last.as_ == as_ and last.end == lo:
        last.size += hi - lo
        if last.slots[-1] != slot:
            last.slots.append(slot)
    else:
        out.append(Only(as_, lo, hi - lo, [slot]))


def sweep(po: dict[int, list[Piece]], pn: dict[int, list[Piece]], names: Sequence[str]) -> Sweep:
    """Overlay two sides' pieces per address space: changes, one-sided ranges, lost/gained bytes."""
    changes: list[Change] = []
    only_old: list[Only] = []
    only_new: list[Only] = []
    lost = {n: 0 for n in names}
    gained = {n: 0 for n in names}
    for as_ in sorted(set(po) | set(pn)):
        for lo, hi, a, b in overlay(po.get(as_, ()), pn.get(as_, ())):
            if b is None:
                assert a is not None
                _add_only(only_old, as_, lo, hi, a.slot)
                continue
            if a is None:
                _add_only(only_new, as_, lo, hi, b.slot)
                continue
            if a.k == b.k:
                continue
            if b.k < a.k:
                lost[names[a.k]] += hi - lo
            else:
                gained[names[b.k]] += hi - lo
            last = changes[-1] if changes else None
            if (last is not None and last.as_ == as_ and last.end == lo and last.old == names[a.k]
                    and last.new == names[b.k] and last.reason == b.reason):
                last.size += hi - lo
            else:
                last = Change(as_, lo, hi - lo, names[a.k], names[b.k], b.reason)
                changes.append(last)
            if a.slot not in last.old_slots:
                last.old_slots.append(a.slot)
            if b.slot not in last.new_slots:
                last.new_slots.append(b.slot)
    return Sweep(changes, only_old, only_new, lost, gained)


def compare_slots(old: Iterable[SlotCoverage], new: Iterable[SlotCoverage], names: Sequence[str]) -> Sweep:
    """The diff of a few slots' coverage on each side (the rest of both layouts being equal)."""
    return sweep(pieces(old, names), pieces(new, names), names)


def compare(old: Layout, new: Layout) -> Diff:
    """The changes, one-sided ranges and lost/gained bytes of docs/commands.md ``diff --json``."""
    if old.arch != new.arch:
        raise InputError(f"cannot compare an {old.arch} layout with an {new.arch} one")
    names = old.platform.names
    old_cov, new_cov = compute(old), compute(new)
    s = sweep(pieces(old_cov.slots, names), pieces(new_cov.slots, names), names)
    return Diff(old, new, old_cov, new_cov, s.changes, s.only_old, s.only_new, s.lost, s.gained)
