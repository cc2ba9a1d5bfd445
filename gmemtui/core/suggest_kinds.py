"""The arithmetic behind each kind of suggestion (docs/suggest.md), in closed form.

Every function here reasons about ladder boundaries and congruences of one slot (or one file's
bindings), never about frames: a 64 TiB slot costs what a 64 MiB one does.

* ``split_cuts``: under ``whole-binding`` a binding keeps huge pages of size N only when its offset
  and size are multiples of N (the Sep 2023 patch's check in ``kvm_gmem_get_pfn``). A part of the
  slot cut at N-aligned GPAs keeps the gfn/index congruence (``B - O`` is the same in every part), so
  where B ≡ O (mod N) its offset is N-aligned exactly where its GPA is. The minimal cuts are a
  staircase from each end: the largest page the slot could reach anywhere (what ``per-range`` gives
  it) first, then, in the leftover head and tail, the largest page reachable there, and so on.
* ``congruent_moves``: the two smallest moves that make a value congruent with another modulo N
  (``kvm_alloc_memslot_metadata`` compares gfn and ugfn; the posted guest_memfd patches gfn and index).
* ``place_binding``: an offset move inside a file, with the bindings above pushed up by whole
  multiples of the largest page where they would overlap (which keeps their own congruences).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gmemtui.core.coverage import Run
from gmemtui.core.model import Layout, Slot


def align_up(x: int, n: int) -> int:
    return -(-x // n) * n


def align_down(x: int, n: int) -> int:
    return x - x % n


def _max_page(runs: Sequence[Run], lo: int, hi: int, page_bytes: dict[str, int],
              governed: Callable[[bool], bool]) -> int:
    """The largest page of the governed runs overlapping ``[lo, hi)`` (0: none)."""
    m = 0
    for r in runs:
        if r.gpa < hi and r.end > lo and governed(r.private):
            m = max(m, page_bytes[r.page])
    return m


def split_cuts(slot: Slot, target: Sequence[Run], page_bytes: dict[str, int], base: int,
               governed: Callable[[bool], bool]) -> list[int]:
    """The GPAs where the fewest cuts let every frame reach its ``target`` page under whole-binding.

    ``target``: the slot's runs without the whole-binding rule (policy per-range); ``governed``: whether
    a frame of that attribute is served by guest_memfd (rule 10 applies to it). A part holding a
    governed frame whose target is N must start and end N-aligned; the frames before the first
    N-aligned GPA of the slot cannot reach N (their N-block sticks out of the slot), so the cut at
    ``align_up(B, N)`` is forced and the head before it is solved alone, with its own largest target.
    Cuts at N-aligned GPAs never split a block of a frame's target (larger blocks there stick out of
    the slot), so no frame loses. At most two cuts per ladder rung.
    """
    B, E = slot.gpa, slot.end
    top = _max_page(target, B, E, page_bytes, governed)
    cuts: set[int] = set()
    if top <= base:
        return []
    m, hi = top, E
    while B % m:  # the head: [B, align_up(B, m)) cannot hold a page of m
        c = align_up(B, m)
        if c >= hi:
            break
        cuts.add(c)
        hi = c
        m = _max_page(target, B, c, page_bytes, governed)
        if m <= base:
            break
    m, lo = top, B
    while E % m:  # the tail, the same from the other end
        d = align_down(E, m)
        if d <= lo:
            break
        cuts.add(d)
        lo = d
        m = _max_page(target, d, E, page_bytes, governed)
        if m <= base:
            break
    return sorted(c for c in cuts if B < c < E)


def split_parts(slot: Slot, cuts: Sequence[int], ids: Sequence[int]) -> tuple[Slot, ...]:
    """The slot cut at ``cuts``: the first part keeps the slot's id, the others take ``ids``.

    Each part keeps its frames' host address and file index (ua and offset advance with the gpa).
    """
    bounds = [slot.gpa, *cuts, slot.end]
    parts = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:])):  # noqa: B905 (one shorter by design)
        d = a - slot.gpa
        name = slot.name if i == 0 or slot.name is None else f"{slot.name} @{a:#x}"
        parts.append(Slot(slot=slot.slot if i == 0 else ids[i - 1], gpa=a, size=b - a, ua=slot.ua + d,
                          as_=slot.as_, flags=slot.flags, gmem=slot.gmem,
                          offset=slot.offset + d if slot.gmem is not None else slot.offset, name=name))
    return tuple(parts)


def congruent_moves(value: int, target: int, n: int) -> tuple[int, ...]:
    """The moves d, smallest first, with ``value + d ≡ target (mod n)`` and ``value + d >= 0``."""
    r = (target - value) % n
    if r == 0:
        return (0,)
    moves = sorted((r, r - n), key=lambda d: (abs(d), d < 0))
    return tuple(d for d in moves if value + d >= 0)


@dataclass(frozen=True)
class Placement:
    """A binding moved to ``offset``; ``pushed``: (slot key, old offset, new offset) of bindings moved up."""

    offset: int
    pushed: tuple[tuple[tuple[int, int], int, int], ...]
    file_end: int  # the end of the furthest binding afterwards


class FileBindings:
    """One guest_memfd file's bindings sorted by offset, for placing a moved binding without a sweep
    over the whole layout (bisection, then only the bindings that would overlap)."""

    def __init__(self, slots: Sequence[Slot]) -> None:
        self.slots = sorted(slots, key=lambda s: s.offset)
        self.offsets = [s.offset for s in self.slots]
        ends = sorted((s.offset + s.size for s in self.slots), reverse=True)
        self.end = ends[0] if ends else 0
        self.second_end = ends[1] if len(ends) > 1 else 0

    def _free(self, lo: int, hi: int, skip: set[tuple[int, int]], taken: list[tuple[int, int]]) -> bool:
        """Whether ``[lo, hi)`` overlaps no binding (but those in ``skip``) and no range in ``taken``."""
        if any(a < hi and b > lo for a, b in taken):
            return False
        j = bisect_left(self.offsets, hi) - 1  # bindings starting below hi: the nearest one reaches furthest
        while j >= 0 and self.slots[j].key in skip:
            j -= 1
        return j < 0 or self.slots[j].offset + self.slots[j].size <= lo

    def place(self, slot: Slot, offset: int, step: int) -> Placement | None:
        """``slot``'s binding at ``offset``; a binding above that would overlap moves up by a multiple of
        ``step`` (the largest page, so its gfn/index congruences stay): to the nearest of the next few
        multiples that is free, else past the file's furthest binding, so that nothing else has to move.
        None if a binding below overlaps (moving it down could leave the file)."""
        end = offset + slot.size
        skip = {slot.key}
        j = bisect_left(self.offsets, offset) - 1  # the nearest binding starting below must end in time
        while j >= 0 and self.slots[j].key in skip:
            j -= 1
        if j >= 0 and self.slots[j].offset + self.slots[j].size > offset:
            return None
        taken = [(offset, end)]
        furthest = max(end, self.second_end if self.end == slot.offset + slot.size else self.end)
        pushed = []
        i = bisect_left(self.offsets, offset)
        while i < len(self.slots) and self.slots[i].offset < end:
            s = self.slots[i]
            i += 1
            if s.key == slot.key:
                continue
            skip.add(s.key)
            new = next((c for c in (s.offset + k * step for k in range(1, 5))
                        if self._free(c, c + s.size, skip, taken)), None)
            if new is None:
                new = s.offset + align_up(furthest - s.offset, step)
            taken.append((new, new + s.size))
            pushed.append((s.key, s.offset, new))
            furthest = max(furthest, new + s.size)
        return Placement(offset, tuple(pushed), furthest)


def file_bindings(layout: Layout) -> dict[int, FileBindings]:
    by_file: dict[int, list[Slot]] = {}
    for s in layout.slots:
        if s.gmem is not None:
            by_file.setdefault(s.gmem, []).append(s)
    return {fid: FileBindings(slots) for fid, slots in by_file.items()}


class FreeIds:
    """The unused slot ids of each address space (``KVM_USER_MEM_SLOTS`` per space), smallest first.

    Found by a scan from the lowest id that may be free (taking ids only raises it), so a layout of
    five slots does not list 32,000 free ids."""

    def __init__(self, layout: Layout) -> None:
        self._used: dict[int, set[int]] = {}
        for s in layout.slots:
            self._used.setdefault(s.as_, set()).add(s.slot)
        self._limit = layout.platform.max_slot_id
        self._cursor: dict[int, int] = {}
        self._memo: dict[tuple[int, int], list[int]] = {}  # (as, n) -> ids, until ids are taken

    def left(self, as_: int) -> int:
        return self._limit + 1 - len(self._used.get(as_, ()))

    def smallest(self, as_: int, n: int) -> list[int] | None:
        """The n smallest unused ids (None: fewer are left)."""
        if self.left(as_) < n:
            return None
        if (as_, n) in self._memo:
            return list(self._memo[as_, n])
        used = self._used.get(as_, set())
        out: list[int] = []
        i = self._cursor.get(as_, 0)
        while len(out) < n:
            if i not in used:
                out.append(i)
            i += 1
        self._memo[as_, n] = out
        return list(out)

    def take(self, as_: int, n: int) -> list[int] | None:
        """Like ``smallest``, and no longer free afterwards (for combining several splits)."""
        got = self.smallest(as_, n)
        if got is not None:
            self._memo.clear()
            self._used.setdefault(as_, set()).update(got)
            self._cursor[as_] = got[-1] + 1 if got else self._cursor.get(as_, 0)
        return got
