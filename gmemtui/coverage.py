"""Coverage in closed form: runs per slot from slot edges, aligned boundaries and attribute edges.

Inside a slot, a frame's verdict depends on the frame only through (a) its attribute, (b) whether
its aligned range at each size sticks out of the slot (rule 2) and (c) whether that range holds an
attribute edge (rule 4). All three are constant between these cut points: the slot's ends, each
size's first and last aligned boundary inside the slot, each attribute edge, and each size's
aligned boundaries on either side of an attribute edge. So the verdict of the first frame of each
piece is the verdict of the whole piece: the cost grows with slots and private ranges, not bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Layout, Slot
from .rules import Attributes, SlotFacts, frame_verdict


@dataclass(frozen=True)
class Run:
    """A maximal GPA range of one slot with the same page size, attribute and reason."""

    gpa: int
    size: int
    page: str
    private: bool
    reason: str | None

    @property
    def end(self) -> int:
        return self.gpa + self.size


@dataclass(frozen=True)
class SlotCoverage:
    slot: Slot
    runs: tuple[Run, ...]
    bytes: dict[str, int]  # every ladder size, summing to the slot's size


@dataclass(frozen=True)
class Coverage:
    layout: Layout
    slots: tuple[SlotCoverage, ...]  # sorted by (as, gpa)
    total: dict[str, int]

    @property
    def size(self) -> int:
        return sum(sc.slot.size for sc in self.slots)

    def slot(self, key: tuple[int, int]) -> SlotCoverage:
        for sc in self.slots:
            if sc.slot.key == key:
                return sc
        raise KeyError(key)


def cut_points(facts: SlotFacts) -> list[int]:
    """Sorted frames where the verdict may change, starting with B (all inside [B, E))."""
    B, E = facts.B, facts.E
    cuts = {B}
    for n in facts.page_frames[1:]:
        cuts.add(-(-B // n) * n)
        cuts.add(E - E % n)
    for x in facts.attrs.edges_within(B, E):
        cuts.add(x)
        for n in facts.page_frames[1:]:
            lo = x - x % n
            cuts.add(lo)
            cuts.add(lo + n)
    return sorted(c for c in cuts if B <= c < E)


def slot_runs(facts: SlotFacts) -> tuple[Run, ...]:
    shift = facts.base_shift
    names = facts.page_names
    cuts = cut_points(facts)
    runs: list[list[object]] = []  # [start, end, page, private, reason] in frames
    for i, c in enumerate(cuts):
        end = cuts[i + 1] if i + 1 < len(cuts) else facts.E
        private = facts.attrs.private_at(facts.slot, c)
        k, reason = frame_verdict(facts, c, private)
        if runs and runs[-1][2] == k and runs[-1][3] == private and runs[-1][4] == reason:
            runs[-1][1] = end
        else:
            runs.append([c, end, k, private, reason])
    return tuple(Run(a << shift, (b - a) << shift, names[k], p, r) for a, b, k, p, r in runs)


def compute(layout: Layout) -> Coverage:
    """The runs and byte counts of every slot of the layout (SPEC §2 closed form)."""
    plat = layout.platform
    attrs = Attributes.of(layout)
    zero = {name: 0 for name in plat.names}
    total = dict(zero)
    out: list[SlotCoverage] = []
    for slot in sorted(layout.slots, key=lambda s: (s.as_, s.gpa)):
        runs = slot_runs(SlotFacts.of(layout, slot, attrs))
        counts = dict(zero)
        for r in runs:
            counts[r.page] += r.size
        for name, b in counts.items():
            total[name] += b
        out.append(SlotCoverage(slot, runs, counts))
    return Coverage(layout, tuple(out), total)
