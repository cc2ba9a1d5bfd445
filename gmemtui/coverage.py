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
from .rules import Attributes, SizeStep, SlotFacts, size_steps


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
    """The slot's runs: the verdict of each piece between cut points, adjacent equal pieces merged.

    The slot-level rules are evaluated once per attribute (``size_steps``); per piece only the
    per-block rules (slot-edge, mixed-attributes) are checked (``block_verdict``, inlined).
    """
    shift = facts.base_shift
    names = facts.page_names
    top = len(names) - 1
    cuts = cut_points(facts)
    cuts.append(facts.E)
    attrs, slot = facts.attrs, facts.slot
    uniform = attrs.bounds is None or not attrs.edges_within(facts.B, facts.E)
    steps: dict[bool, tuple[SizeStep, ...]] = {}
    runs: list[list] = []  # [start, end, page, private, reason] in frames
    private = attrs.private_at(slot, facts.B)
    last = None
    for i in range(len(cuts) - 1):
        c = cuts[i]
        if not uniform:
            private = attrs.private_at(slot, c)
        st = steps.get(private)
        if st is None:
            st = steps[private] = size_steps(facts, private)
        k, reason = top, None
        for j, (n, block_rules, stop) in enumerate(st):
            f = c - c % n
            for rule in block_rules:
                if rule.fails(facts, f, n, private):
                    k, reason = j, rule.code
                    break
            else:
                if stop is None:
                    continue
                k, reason = j, stop.code
            break
        if last is not None and last[2] == k and last[3] == private and last[4] == reason:
            last[1] = cuts[i + 1]
        else:
            last = [c, cuts[i + 1], k, private, reason]
            runs.append(last)
    return tuple([Run(a << shift, (b - a) << shift, names[k], p, r) for a, b, k, p, r in runs])


def compute(layout: Layout) -> Coverage:
    """The runs and byte counts of every slot of the layout (SPEC §2 closed form)."""
    plat = layout.platform
    make = SlotFacts.maker(layout, Attributes.of(layout))
    zero = dict.fromkeys(plat.names, 0)
    total = dict(zero)
    out: list[SlotCoverage] = []
    for slot in sorted(layout.slots, key=lambda s: (s.as_, s.gpa)):
        runs = slot_runs(make(slot))
        counts = dict(zero)
        for r in runs:
            counts[r.page] += r.size
        for name, b in counts.items():
            total[name] += b
        out.append(SlotCoverage(slot, runs, counts))
    return Coverage(layout, tuple(out), total)
