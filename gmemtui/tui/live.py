"""Coverage for live editing: ``gmemtui.core.coverage.compute`` with the runs of unchanged slots reused.

A drag changes one slot per mouse move; the runs of every other slot depend only on that slot, its
file's folio size and mmap flag, and the VM-wide settings (policy, caps, whether the VM has private
memory, the explicit attribute list). So they are kept, keyed by exactly those values, and only the
dragged slot goes through ``coverage.slot_shape`` again. When only a few Slot objects changed (an edit
replaces one and keeps the others), even the walk over all slots is skipped: the previous result is
patched in place and the totals adjusted. The result equals ``compute(layout)`` (tested), at the cost
of one slot instead of all of them (512 slots: ~30 ms -> well under 1 ms).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from itertools import chain, compress, count, islice
from operator import is_not

from gmemtui.core.coverage import Coverage, SlotCoverage, compute, slot_shape
from gmemtui.core.facts import Attributes, SlotFacts
from gmemtui.core.model import Layout, Slot, Warning_
from gmemtui.core.validate import file_warnings, in_file_order, merged_private, slot_warnings

PATCH_LIMIT = 8  # more changed slots than this: walk them all


def changed_positions(new: Sequence[object], old: Sequence[object],
                      limit: int = PATCH_LIMIT) -> list[int] | None:
    """Positions where ``new`` holds another object than ``old`` (identity), or None if the lengths
    differ or more than ``limit`` changed (then patching is no cheaper than starting again).

    One drag step asks this of the same pair of sequences several times (the live model, the map,
    the table, each bar); the answer is kept for the last few pairs (``remember``), so each pair is
    compared once per step. The comparison itself runs in C (``map(is_not)`` + ``compress``)."""
    if limit > PATCH_LIMIT:
        if len(new) != len(old):
            return None
        out = list(islice(compress(count(), map(is_not, new, old)), limit + 1))
        return None if len(out) > limit else out
    for n, o, result in _RECENT:
        if n is new and o is old:
            return None if result is None or len(result) > limit else result
    composed = _composed(new, old)
    if composed is not None:
        result = composed
    elif len(new) != len(old):
        result = None
    else:
        result = list(islice(compress(count(), map(is_not, new, old)), PATCH_LIMIT + 1))
        if len(result) > PATCH_LIMIT:
            result = None
    remember(new, old, result)
    return None if result is None or len(result) > limit else result


def _composed(new: Sequence[object], old: Sequence[object]) -> list[int] | None:
    """The diff of ``new`` and ``old`` from two remembered diffs against one common base (every step
    of a drag is made from the layout at mouse-down, and the bar says where it changed it): they can
    differ only where either differs from the base. None if no such pair is remembered."""
    for n1, base, p1 in _RECENT:
        if n1 is new and p1 is not None:
            for n2, b2, p2 in _RECENT:
                if n2 is old and b2 is base and p2 is not None and len(new) == len(old):
                    return [i for i in sorted({*p1, *p2}) if new[i] is not old[i]]
    return None


def remember(new: Sequence[object], old: Sequence[object], positions: list[int] | None) -> None:
    """Record the answer for ``(new, old)`` — the live model knows which slots it replaced, so the
    panels that diff the same sequences get it for free. The references keep the pair alive, so
    identity cannot be confused with a later object at the same address."""
    _RECENT.append((new, old, positions))


_RECENT: deque[tuple[Sequence[object], Sequence[object], list[int] | None]] = deque(maxlen=32)


class LiveCoverage:
    def __init__(self) -> None:
        self._settings: object = None
        self._attrs: Attributes | None = None
        # id(slot) -> (slot, file facts, its SlotCoverage): an edit replaces one Slot object and keeps
        # the others, so identity finds the unchanged ones without hashing every slot
        self._memo: dict[int, tuple[Slot, object, SlotCoverage]] = {}
        # the last answer: the layout's slots, files, and where each slot's coverage is in the result
        self._last: tuple[tuple[Slot, ...], object, Coverage, dict[int, int] | None] | None = None
        # for warnings: the layout they were found for, its slots' warnings by position, file warnings
        self._warned: tuple[Layout, dict[int, list[Warning_]], list[Warning_]] | None = None

    def warnings(self, layout: Layout) -> list[Warning_]:
        """``validate.layout_warnings(layout)``, with only the changed slots' warnings recomputed when
        the files, the private list and the notes are the same objects as last time (a drag step)."""
        last = self._warned
        if last is not None and (last[0].files, last[0].private, last[0].notes) == \
                (layout.files, layout.private, layout.notes):
            changed = changed_positions(layout.slots, last[0].slots)
            if changed is not None:
                per_slot = last[1]
                if changed:
                    per_slot = dict(per_slot)
                    merged = merged_private(layout) if layout.private is not None and \
                        any(layout.slots[i].gmem is None for i in changed) else None
                    for i in changed:
                        per_slot.pop(i, None)
                        found = slot_warnings(layout, layout.slots[i], merged)
                        if found:
                            per_slot[i] = found
                self._warned = (layout, per_slot, last[2])
                return _assemble(layout, per_slot, last[2])
        merged = merged_private(layout) if layout.private is not None else None
        per_slot = {}
        for i, s in enumerate(layout.slots):
            found = slot_warnings(layout, s, merged)
            if found:
                per_slot[i] = found
        files = file_warnings(layout)
        self._warned = (layout, per_slot, files)
        return _assemble(layout, per_slot, files)

    @property
    def attributes(self) -> Attributes | None:
        """The memory attributes of the last computed layout (for explaining a frame of it)."""
        return self._attrs

    def compute(self, layout: Layout) -> Coverage:
        settings = (layout.arch, layout.policy, layout.host_max_page, layout.private_max_page,
                    layout.has_private_memory, layout.private)
        if settings != self._settings:
            self._settings, self._memo, self._last = settings, {}, None
            self._attrs = Attributes.of(layout)
        files = {f.id: (f.max_page, f.mmap) for f in layout.files}
        patched = self._patch(layout, files)
        if patched is not None:
            return patched
        self._index()
        if not self._memo:
            return self._fresh(layout, files)
        names = layout.platform.names
        zero = dict.fromkeys(names, 0)
        total = dict(zero)
        out: list[SlotCoverage] = []
        memo: dict[int, tuple[Slot, object, SlotCoverage]] = {}
        where: dict[int, int] = {}
        for slot in sorted(layout.slots, key=_order):
            sc = self._slot(layout, slot, files, memo)
            for name, b in sc.bytes.items():
                total[name] += b
            where[id(slot)] = len(out)
            out.append(sc)
        self._memo = memo  # keep only what the current layout uses (a drag leaves no trail)
        coverage = Coverage(layout, tuple(out), total)
        self._last = (layout.slots, files, coverage, where)
        return coverage

    def _fresh(self, layout: Layout, files: dict) -> Coverage:
        """Nothing to reuse (first paint, new settings): the batch ``compute()``, whose memo shares
        the work of slots of one shape (32,763 slots: ~1 s instead of ~5 s slot by slot). Its index by
        slot identity is built when an edit first needs it (``_index``), not before the first paint;
        its Run objects too (the map reads each slot's shape, and the runs only of slots a column cuts)."""
        coverage = compute(layout)
        self._memo = {}
        self._last = (layout.slots, files, coverage, None)
        return coverage

    def _index(self) -> dict[int, int] | None:
        """The memo and the positions (id(slot) -> where in the coverage) of the last result, built
        now if ``_fresh`` left them for later; None if there is no last result."""
        if self._last is None or self._last[3] is not None:
            return None if self._last is None else self._last[3]
        slots, files, coverage, _ = self._last
        memo: dict[int, tuple[Slot, object, SlotCoverage]] = {}
        where: dict[int, int] = {}
        for i, sc in enumerate(coverage.slots):
            slot = sc.slot
            memo[id(slot)] = (slot, files.get(slot.gmem) if slot.gmem is not None else None, sc)
            where[id(slot)] = i
        self._memo = memo
        self._last = (slots, files, coverage, where)
        return where

    def _slot(self, layout: Layout, slot: Slot, files: dict, memo: dict) -> SlotCoverage:
        facts = files.get(slot.gmem) if slot.gmem is not None else None
        hit = self._memo.get(id(slot))
        if hit is None or hit[0] is not slot or hit[1] != facts:
            hit = (slot, facts, SlotCoverage(slot, slot_shape(SlotFacts.of(layout, slot, self._attrs))))
        memo[id(slot)] = hit
        return hit[2]

    def _patch(self, layout: Layout, files: dict) -> Coverage | None:
        """The last result with the few changed slots replaced, or None to compute afresh."""
        if self._last is None:
            return None
        old_slots, old_files, old, where = self._last
        if files != old_files:
            return None
        changed = changed_positions(layout.slots, old_slots)
        if changed is None:
            return None
        if not changed:
            coverage = Coverage(layout, old.slots, old.total)
            self._last = (layout.slots, files, coverage, where)
            return coverage
        out = list(old.slots)
        total = dict(old.total)  # ``where`` is updated in place: on any failure below it is dropped
        if where is None:  # the first edit after ``_fresh``: index the slots now
            where = self._index() or {}
        memo = self._memo
        for i in changed:
            before, slot = old_slots[i], layout.slots[i]
            j = where.pop(id(before))
            memo.pop(id(before), None)
            sc = self._slot(layout, slot, files, memo)
            for name, b in out[j].bytes.items():
                total[name] -= b
            for name, b in sc.bytes.items():
                total[name] += b
            out[j] = sc
            where[id(slot)] = j
        # the order by (as, gpa) must still hold around each (a drag cannot pass a neighbour)
        for i in changed:
            j = where[id(layout.slots[i])]
            if (j > 0 and _order(out[j - 1].slot) >= _order(out[j].slot)) or \
                    (j + 1 < len(out) and _order(out[j].slot) >= _order(out[j + 1].slot)):
                self._last = None
                return None
        coverage = Coverage(layout, tuple(out), total)
        self._last = (layout.slots, files, coverage, where)
        remember(coverage.slots, old.slots, sorted(where[id(layout.slots[i])] for i in changed))
        return coverage


def _assemble(layout: Layout, per_slot: dict[int, list[Warning_]], files: list[Warning_]) -> list[Warning_]:
    """In ``validate.layout_warnings``'s order: notes, slots in layout order, files; then by line."""
    return in_file_order([*layout.notes, *chain.from_iterable(per_slot[i] for i in sorted(per_slot)), *files])


def _order(s: Slot) -> tuple[int, int]:
    return (s.as_, s.gpa)
