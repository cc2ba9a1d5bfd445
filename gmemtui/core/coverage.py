"""Coverage in closed form: runs per slot from slot edges, aligned boundaries and attribute edges.

Inside a slot, a frame's verdict depends on the frame only through (a) its attribute, (b) whether
its aligned range at each size sticks out of the slot (rule 2) and (c) whether that range holds an
attribute edge (rule 4). All three are constant between these cut points: the slot's ends, each
size's first and last aligned boundary inside the slot, each attribute edge, and each size's
aligned boundaries on either side of an attribute edge. So the verdict of the first frame of each
piece is the verdict of the whole piece: the cost grows with slots and private ranges, not bytes.
The other rules depend only on the slot, the attribute and the size: they are evaluated once per
slot and attribute (``rules.size_steps``), and a size where one of them fails before rule 2 or 4
is reached needs no cuts for that rule.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter

from gmemtui.core.gcpause import paused_gc
from gmemtui.core.model import Layout, Slot
from gmemtui.core.rules import (
    RULE_BY_CODE,
    RULES,
    Attributes,
    Rule,
    SizeStep,
    SlotFacts,
    block_verdict,
    size_steps,
    steps_key,
)


@dataclass(frozen=True)
class Run:
    """A maximal GPA range of one slot with the same page size, attribute and reason."""

    gpa: int
    size: int
    page: str
    private: bool
    reason: str | None
    # False for the private frames of a slot without guest_memfd (rule 6): KVM does not map them at
    # all, a private access exits to userspace (KVM_EXIT_MEMORY_FAULT). ``page`` is then the base page,
    # so that the byte counts still sum to the slot's size.
    mappable: bool = True

    @property
    def end(self) -> int:
        return self.gpa + self.size


@dataclass(frozen=True)
class SlotCoverage:
    slot: Slot
    runs: tuple[Run, ...]
    bytes: dict[str, int]  # every ladder size, summing to the slot's size

    @cached_property
    def unmappable(self) -> int:
        """Bytes not mappable (counted under the base page in ``bytes``); once per slot coverage,
        which an edit elsewhere keeps (so a drag step sums stored numbers, not every run)."""
        return sum(r.size for r in self.runs if not r.mappable)


@dataclass(frozen=True)
class Coverage:
    layout: Layout
    slots: tuple[SlotCoverage, ...]  # sorted by (as, gpa)
    total: dict[str, int]

    def at(self, as_: int, gpa: int) -> SlotCoverage | None:
        """The slot holding ``gpa`` in address space ``as_`` (None in a hole), by bisection over the
        sorted slots: what the TUI asks for the frame under the mouse on every step."""
        i = bisect_right(self.slots, (as_, gpa), key=_start) - 1
        if i >= 0:
            s = self.slots[i].slot
            if s.as_ == as_ and s.gpa <= gpa < s.end:
                return self.slots[i]
        return None

    @property
    def size(self) -> int:
        """Bytes of every slot: each slot's ``bytes`` sum to its size, so ``total`` sums to this."""
        return sum(self.total.values())

    @property
    def unmappable(self) -> int:
        return sum(map(_unmappable, self.slots))

    def slot(self, key: tuple[int, int]) -> SlotCoverage:
        for sc in self.slots:
            if sc.slot.key == key:
                return sc
        raise KeyError(key)


_unmappable = attrgetter("unmappable")


def _start(sc: SlotCoverage) -> tuple[int, int]:
    return (sc.slot.as_, sc.slot.gpa)


# The per-block rules (rules.Rule.per_block): the only ones whose answer changes inside a slot.
SLOT_EDGE = RULE_BY_CODE["slot-edge"]
MIXED = RULE_BY_CODE["mixed-attributes"]
assert {r for r in RULES if r.per_block} == {SLOT_EDGE, MIXED}, "a new per-block rule needs its cuts"


def cut_points(
    facts: SlotFacts, live: list[tuple[Rule, ...]] | None = None, edges: tuple[int, ...] | None = None
) -> list[int]:
    """Sorted frames where the verdict may change, starting with B (all inside [B, E)).

    ``live[k]``: the per-block rules evaluated at ladder size k+1 (None: both). A rule that is never
    evaluated at a size (a slot-level rule fails before it) needs no cuts there. ``edges``: the
    attribute edges inside the slot, if already known.
    """
    B, E = facts.B, facts.E
    if edges is None:
        edges = facts.attrs.edges_within(B, E)
    cuts = [B, *edges]  # the attribute changes at each edge
    for k, n in enumerate(facts.page_frames[1:]):
        rules = live[k] if live is not None else (SLOT_EDGE, MIXED)
        if SLOT_EDGE in rules:  # rule 2 changes at the first and last aligned boundary inside
            cuts += (-(-B // n) * n, E - E % n)
        if edges and MIXED in rules:  # rule 4 changes at the aligned boundaries around an edge
            for x in edges:
                lo = x - x % n
                cuts += (lo, lo + n)
    return sorted({c for c in cuts if B <= c < E})


@dataclass
class Memo:
    """What the slots of one layout share, so that ``compute`` works per class of slots, not per slot.

    ``steps``: ``size_steps`` by attribute and ``rules.steps_key`` (what the slot-level rules
    declare they read). ``uniform``: the runs, relative to B, of a slot without attribute edges.
    Those depend on the slot's position only through B mod the largest page: every cut point is B,
    an aligned boundary, or E = B + P, and a block that passes slot-edge lies inside the slot, where
    no attribute edge makes it mixed (slot-edge is checked first). So they are keyed by the
    attribute, ``steps_key``, B mod the largest page and P. compute() makes one per call.
    """

    steps: dict[tuple, tuple[SizeStep, ...]] = field(default_factory=dict)
    uniform: dict[tuple, tuple[tuple, ...]] = field(default_factory=dict)

    def size_steps(self, facts: SlotFacts, private: bool, key: tuple) -> tuple[SizeStep, ...]:
        steps = self.steps.get((private, key))
        if steps is None:
            steps = self.steps[private, key] = size_steps(facts, private)
        return steps

    def uniform_runs(self, facts: SlotFacts, private: bool, key: tuple) -> tuple[Run, ...]:
        B, shift = facts.B, facts.base_shift
        at = (private, key, B % facts.page_frames[-1], facts.P)
        rel = self.uniform.get(at)
        if rel is None:
            rel = self.uniform[at] = tuple((r.gpa - (B << shift), r.size, r.page, r.private, r.reason,
                                            r.mappable)
                                           for r in _slot_runs(facts, edges=(), private=private,
                                                               memo=self, key=key))
        base = B << shift
        return tuple([_run(gpa + base, size, page, p, reason, m) for gpa, size, page, p, reason, m in rel])


assert RULES.index(SLOT_EDGE) < RULES.index(MIXED), "Memo.uniform relies on slot-edge coming first"


def slot_runs(facts: SlotFacts, memo: Memo | None = None) -> tuple[Run, ...]:
    """The slot's runs: the verdict of each piece between cut points, adjacent equal pieces merged.

    The slot-level rules are evaluated once per attribute (``size_steps``); per piece only the
    per-block rules (slot-edge, mixed-attributes) that come before a slot-level failure are checked.
    With a ``memo``, slots of the same class share that work (see ``Memo``).
    """
    edges = facts.attrs.edges_within(facts.B, facts.E)
    private = facts.attrs.private_at(facts.slot, facts.B)
    if memo is None:
        return _slot_runs(facts, edges, private)
    key = steps_key(facts)
    if not edges:
        return memo.uniform_runs(facts, private, key)
    return _slot_runs(facts, edges, private, memo, key)


def _slot_runs(
    facts: SlotFacts, edges: tuple[int, ...], private: bool, memo: Memo | None = None, key: tuple = ()
) -> tuple[Run, ...]:
    shift = facts.base_shift
    names = facts.page_names
    attrs, slot = facts.attrs, facts.slot
    uniform = not edges
    steps_of = size_steps if memo is None else lambda f, p: memo.size_steps(f, p, key)
    if uniform:
        steps = {private: steps_of(facts, private)}
        live = [step.block_rules for step in steps[private]]
    else:
        steps = {False: steps_of(facts, False), True: steps_of(facts, True)}
        live = [a.block_rules + b.block_rules for a, b in zip(steps[False], steps[True], strict=True)]
    cuts = cut_points(facts, live, edges)
    cuts.append(facts.E)
    runs: list[list] = []  # [start, end, page, private, reason] in frames
    last = None
    for i in range(len(cuts) - 1):
        c = cuts[i]
        if not uniform:
            private = attrs.private_at(slot, c)
        k, reason = block_verdict(facts, steps[private], c, private)
        if last is not None and last[2] == k and last[3] == private and last[4] == reason:
            last[1] = cuts[i + 1]
        else:
            last = [c, cuts[i + 1], k, private, reason]
            runs.append(last)
    gmem = facts.gmem  # rule 6: a private frame of a slot without guest_memfd is not mappable
    return tuple([_run(a << shift, (b - a) << shift, names[k], p, r, gmem or not p)
                  for a, b, k, p, r in runs])


def _run(gpa: int, size: int, page: str, private: bool, reason: str | None, mappable: bool = True) -> Run:
    """``Run(...)`` at half the cost: the frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``; this fills ``__dict__`` at once (same value, equality and hash)."""
    run = _new(Run)
    run.__dict__.update(gpa=gpa, size=size, page=page, private=private, reason=reason, mappable=mappable)
    return run


_new = object.__new__


def compute(layout: Layout) -> Coverage:
    """The runs and byte counts of every slot of the layout (docs/rules.md closed form)."""
    # Pure allocation, no reference cycles: the cyclic GC would only rescan the growing result
    # (about 1/6 of the time for 32,763 slots), so pause it for the call.
    with paused_gc():
        return _compute(layout)


def _compute(layout: Layout) -> Coverage:
    plat = layout.platform
    make = SlotFacts.maker(layout, Attributes.of(layout))
    zero = dict.fromkeys(plat.names, 0)
    total = dict(zero)
    out: list[SlotCoverage] = []
    memo = Memo()
    for slot in sorted(layout.slots, key=lambda s: (s.as_, s.gpa)):
        runs = slot_runs(make(slot), memo)
        counts = dict(zero)
        for r in runs:
            counts[r.page] += r.size
        for name, b in counts.items():
            total[name] += b
        out.append(SlotCoverage(slot, runs, counts))
    return Coverage(layout, tuple(out), total)
