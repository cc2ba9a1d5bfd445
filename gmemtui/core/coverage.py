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

A slot's runs relative to its gpa (its ``Shape``) are shared by every slot of its class (``Memo``);
a ``SlotCoverage`` is the slot and its shape, and makes its ``Run`` objects when first asked.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter

from gmemtui.core.facts import Attributes, SlotFacts
from gmemtui.core.gcpause import paused_gc
from gmemtui.core.model import Layout, Slot
from gmemtui.core.rules import (
    RULE_BY_CODE,
    RULES,
    Rule,
    SizeStep,
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


class _once:  # noqa: N801 (used as a decorator, like the functools one it replaces)
    """``functools.cached_property`` without the lock Python 3.11 takes on every first access (a
    third of the cost of making a slot's runs): the value is stored in the instance's ``__dict__``,
    which later lookups find first. A race makes the value twice; both are equal."""

    def __init__(self, fn: Callable) -> None:
        self.fn, self.name, self.__doc__ = fn, fn.__name__, fn.__doc__

    def __get__(self, obj: object, cls: type | None = None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


# One run relative to its slot: (offset from the slot's gpa, size, page, private, reason, mappable), bytes.
RelRun = tuple[int, int, str, bool, "str | None", bool]


@dataclass(frozen=True)
class Shape:
    """A slot's runs relative to its start, and its bytes per page size: what slots of one class share.

    Runs depend on a slot's position only through its gpa mod the largest page and its attribute
    edges relative to it (``Memo``): the 22,761 slots without an edge of the 32,763-slot benchmark
    have 461 shapes. ``bytes`` follows from ``runs`` (every ladder size).
    """

    runs: tuple[RelRun, ...]
    bytes: dict[str, int] = field(compare=False)

    @classmethod
    def of(cls, runs: tuple[RelRun, ...], names: tuple[str, ...]) -> Shape:
        counts = dict.fromkeys(names, 0)
        for r in runs:
            counts[r[2]] += r[1]
        return cls(runs, counts)

    @cached_property
    def unmappable(self) -> int:
        return sum(r[1] for r in self.runs if not r[5])

    def at(self, gpa: int) -> tuple[Run, ...]:
        """The runs of a slot of this shape that starts at ``gpa``."""
        return tuple([_run(gpa + off, size, page, p, reason, m)
                      for off, size, page, p, reason, m in self.runs])


@dataclass(frozen=True)
class SlotCoverage:
    """A slot and its shape; ``runs`` and ``bytes`` are made from them when first asked for
    (``report --json`` writes the shape's text instead, and never needs the Run objects)."""

    slot: Slot
    shape: Shape

    @_once
    def runs(self) -> tuple[Run, ...]:
        return self.shape.at(self.slot.gpa)

    @_once
    def bytes(self) -> dict[str, int]:
        """Bytes per ladder size, summing to the slot's size (a copy of the shape's, which is shared)."""
        return dict(self.shape.bytes)

    @property
    def unmappable(self) -> int:
        """Bytes not mappable (counted under the base page in ``bytes``); once per shape, so a drag
        step sums stored numbers, not every run."""
        return self.shape.unmappable


@dataclass(frozen=True)
class Coverage:
    """Every slot's coverage, sorted by (address space, gpa), and the bytes per page size of them all."""

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

    def make_runs(self) -> Coverage:
        """Make every slot's ``Run`` objects now, in one pause of the cyclic GC, for a caller about to
        walk them all (the TUI's map): made one by one with the GC on, 95,000 runs cost 2.5x more."""
        with paused_gc():
            for sc in self.slots:
                sc.runs  # noqa: B018 (made and kept on first access)
        return self

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


@dataclass(eq=False, repr=False)  # a cache, never compared or printed: no generated methods to build
class Memo:
    """What the slots of one layout share, so that ``compute`` works per class of slots, not per slot.

    ``steps``: ``size_steps`` by attribute and ``rules.steps_key`` (what the slot-level rules
    declare they read). ``shapes``: a slot's ``Shape``, keyed by the attribute at B, ``steps_key``,
    gpa mod the largest page, P and the attribute edges relative to B. Nothing else of the slot's
    position matters: every cut point is B, an edge, an aligned boundary (relative to B, fixed by B
    mod the largest page) or E = B + P; a piece's attribute flips at each edge; and a block that
    passes slot-edge lies inside the slot, where only the edges inside make it mixed (slot-edge is
    checked first). compute() makes one per call; ``suggest`` keeps one for its trials.
    """

    steps: dict[tuple, tuple[SizeStep, ...]] = field(default_factory=dict)
    shapes: dict[tuple, Shape] = field(default_factory=dict)

    def size_steps(self, facts: SlotFacts, private: bool, key: tuple) -> tuple[SizeStep, ...]:
        steps = self.steps.get((private, key))
        if steps is None:
            steps = self.steps[private, key] = size_steps(facts, private)
        return steps

    def shape(self, facts: SlotFacts, private: bool, edges: tuple[int, ...]) -> Shape:
        key = steps_key(facts)
        B = facts.B
        at = (private, key, facts.slot.gpa % (facts.page_frames[-1] << facts.base_shift), facts.P,
              tuple([x - B for x in edges]) if edges else ())
        shape = self.shapes.get(at)
        if shape is None:
            shape = self.shapes[at] = _shape(facts, edges, private, lambda p: self.size_steps(facts, p, key))
        return shape


assert RULES.index(SLOT_EDGE) < RULES.index(MIXED), "Memo.shapes relies on slot-edge coming first"


def slot_shape(facts: SlotFacts, memo: Memo | None = None) -> Shape:
    """The slot's runs relative to its gpa: the verdict of each piece between cut points, adjacent
    equal pieces merged.

    The slot-level rules are evaluated once per attribute (``size_steps``); per piece only the
    per-block rules (slot-edge, mixed-attributes) that come before a slot-level failure are checked.
    With a ``memo``, slots of the same class share that work (see ``Memo``).
    """
    private, edges = facts.attrs.inside(facts.slot, facts.B, facts.E)
    if memo is None:
        return _shape(facts, edges, private, lambda p: size_steps(facts, p))
    return memo.shape(facts, private, edges)


def slot_runs(facts: SlotFacts, memo: Memo | None = None) -> tuple[Run, ...]:
    """The slot's runs (``slot_shape`` placed at the slot's gpa)."""
    return slot_shape(facts, memo).at(facts.slot.gpa)


def _shape(
    facts: SlotFacts, edges: tuple[int, ...], private: bool,
    steps_of: Callable[[bool], tuple[SizeStep, ...]],
) -> Shape:
    """The runs of ``slot_shape``: ``edges`` are the attribute edges inside the slot, ``private`` the
    attribute at B, ``steps_of(private)`` the slot-level ``size_steps``."""
    B, E = facts.B, facts.E
    if edges:
        steps = (steps_of(False), steps_of(True))
        live = [a.block_rules + b.block_rules for a, b in zip(*steps, strict=True)]
    else:
        steps = {private: steps_of(private)}
        live = [step.block_rules for step in steps[private]]
    cuts = cut_points(facts, live, edges)
    cuts.append(E)
    # Each size's block of a frame lies inside the slot from its first aligned boundary inside to
    # its last (rule 2 passes), and holds an attribute edge if one is in the block past its start
    # (rule 4): the same intervals cut_points cuts at, so each piece is decided by comparisons.
    sizes = [(n, -(-B // n) * n, E - E % n) for n in facts.page_frames[1:]]
    runs: list[list] = []  # [start, end, ladder index, private, reason] in frames
    last = None
    j = 0  # edges[:j] are at or below the current cut: the attribute has flipped at each of them
    for i in range(len(cuts) - 1):
        c = cuts[i]
        if j < len(edges) and edges[j] == c:
            private = not private
            j += 1
        k, reason = _verdict(steps[private], sizes, edges, c)
        if last is not None and last[2] == k and last[3] == private and last[4] == reason:
            last[1] = cuts[i + 1]
        else:
            last = [c, cuts[i + 1], k, private, reason]
            runs.append(last)
    shift, names, gpa = facts.base_shift, facts.page_names, facts.slot.gpa
    gmem = facts.gmem  # rule 6: a private frame of a slot without guest_memfd is not mappable
    return Shape.of(tuple([((a << shift) - gpa, (b - a) << shift, names[k], p, r, gmem or not p)
                           for a, b, k, p, r in runs]), names)


_SLOT_EDGE_CODE, _MIXED_CODE = SLOT_EDGE.code, MIXED.code


def _verdict(
    steps: tuple[SizeStep, ...], sizes: list[tuple[int, int, int]], edges: tuple[int, ...], c: int
) -> tuple[int, str | None]:
    """(ladder index, reason) of frame ``c``: ``rules.frame_verdict`` with the slot-level rules from
    ``steps`` and the per-block rules as intervals. ``sizes``: (frames, first and last aligned
    boundary inside the slot) per step. Mixed-attributes is only reached for a block inside the
    slot (slot-edge comes first), where the slot's own edges are all that can make it mixed."""
    for k, step in enumerate(steps):
        n, inside_lo, inside_hi = sizes[k]
        for rule in step.block_rules:
            if rule is SLOT_EDGE:
                if not inside_lo <= c < inside_hi:
                    return k, _SLOT_EDGE_CODE
            else:  # MIXED
                f = c - c % n
                for x in edges:
                    if f < x < f + n:
                        return k, _MIXED_CODE
        if step.stop is not None:
            return k, step.stop.code
    return len(steps), None


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
    attrs = Attributes.of(layout)
    make = SlotFacts.maker(layout, attrs)
    inside, memo = attrs.inside, Memo()
    uses: dict[int, list] = {}  # id(shape) -> [the shape, how many slots have it]
    out: list[SlotCoverage] = []
    new, cls = _new, SlotCoverage
    for slot in sorted(layout.slots, key=_order):
        facts = make(slot)
        private, edges = inside(slot, facts.B, facts.E)
        shape = memo.shape(facts, private, edges)
        use = uses.get(id(shape))  # the memo keeps every shape alive: ids are not reused
        if use is None:
            uses[id(shape)] = [shape, 1]
        else:
            use[1] += 1
        sc = new(cls)  # SlotCoverage(slot, shape) through __dict__, as _run does
        sc.__dict__.update(slot=slot, shape=shape)
        out.append(sc)
    total = dict.fromkeys(plat.names, 0)
    for shape, n in uses.values():
        for name, b in shape.bytes.items():
            total[name] += b * n
    return Coverage(layout, tuple(out), total)


def _order(slot: Slot) -> tuple[int, int]:
    return (slot.as_, slot.gpa)
