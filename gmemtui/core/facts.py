"""What the rules read: which frames are private (``Attributes``) and one slot's inputs in frames
(``SlotFacts``: B, P, U, O of docs/rules.md plus the VM-wide settings), made once per layout and
slot so each rule is plain arithmetic on them (``gmemtui.core.rules``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from gmemtui.core.model import Layout, Slot


@dataclass(frozen=True)
class Attributes:
    """Which frames are PRIVATE (``kvm->mem_attr_array``; per VM, indexed by gfn).

    ``bounds`` is None for the default of docs/formats.md (a frame is private iff its slot is a guest_memfd
    slot); else the sorted edges of the merged private ranges: start0, end0, start1, end1, ...
    """

    bounds: tuple[int, ...] | None

    @classmethod
    def of(cls, layout: Layout) -> Attributes:
        if not layout.platform.memory_attributes:
            return cls(())  # arm64: no attributes, every frame is shared
        if layout.private is None:
            return cls(None)
        shift = layout.platform.base_shift
        merged: list[list[int]] = []
        for r in sorted(layout.private, key=lambda r: r.gpa):
            lo, hi = r.gpa >> shift, r.end >> shift
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            elif hi > lo:
                merged.append([lo, hi])
        return cls(tuple(x for pair in merged for x in pair))

    def private_at(self, slot: Slot, g: int) -> bool:
        if self.bounds is None:
            return slot.gmem is not None
        return bisect_right(self.bounds, g) % 2 == 1

    def mixed(self, lo: int, hi: int) -> bool:
        """Whether ``[lo, hi)`` holds both private and shared frames (an edge strictly inside)."""
        if self.bounds is None:
            return False  # within one slot the default attribute is uniform
        i = bisect_right(self.bounds, lo)
        return i < len(self.bounds) and self.bounds[i] < hi

    def inside(self, slot: Slot, lo: int, hi: int) -> tuple[bool, tuple[int, ...]]:
        """``(private_at(slot, lo), edges_within(lo, hi))`` with one bisection less: a slot's
        attribute at its start and where it changes (what ``coverage`` keys a slot's runs by)."""
        if self.bounds is None:
            return slot.gmem is not None, ()
        i = bisect_right(self.bounds, lo)
        return i % 2 == 1, self.bounds[i:bisect_right(self.bounds, hi - 1, i)]

    def edges_within(self, lo: int, hi: int) -> tuple[int, ...]:
        """Attribute edges strictly inside ``(lo, hi)``."""
        if self.bounds is None:
            return ()
        i = bisect_right(self.bounds, lo)
        j = bisect_right(self.bounds, hi - 1)
        return self.bounds[i:j]


@dataclass(frozen=True)
class SlotFacts:
    """One slot's inputs to the rules, in frames (B, P, U, O of docs/rules.md) plus the VM-wide settings."""

    slot: Slot
    B: int
    P: int
    U: int
    O: int
    gmem: bool
    gmem_only: bool  # bound to a file created with GUEST_MEMFD_FLAG_MMAP, or any file on arm64
    folio_max: int  # frames; the file's max_page (0 without a file)
    host_max: int  # frames
    private_max: int  # frames; the largest page where the arch has no vendor cap
    private_cap: bool  # the arch has a vendor cap (x86 only): rule 8 can fail
    policy: str
    has_private: bool
    attrs: Attributes
    page_frames: tuple[int, ...]  # frames per ladder size
    page_names: tuple[str, ...]
    base_shift: int

    @property
    def E(self) -> int:
        return self.B + self.P

    @classmethod
    def of(cls, layout: Layout, slot: Slot, attrs: Attributes | None = None) -> SlotFacts:
        return cls.maker(layout, attrs)(slot)

    @classmethod
    def maker(cls, layout: Layout, attrs: Attributes | None = None) -> Callable[[Slot], SlotFacts]:
        """A builder of SlotFacts for the slots of one layout: the VM-wide values computed once."""
        plat = layout.platform
        sh = plat.base_shift
        files = {f.id: f for f in layout.files}
        attrs = attrs if attrs is not None else Attributes.of(layout)
        has_private = layout.has_private_memory
        host_max = layout.host_max_page >> sh
        page_frames = tuple(plat.frames(p) for p in plat.ladder)
        private_max = layout.private_max_page >> sh if plat.private_cap else page_frames[-1]
        all_gmem_only = plat.gmem_only
        names = plat.names

        policy = layout.policy
        new = object.__new__

        def make(slot: Slot) -> SlotFacts:
            # A frozen dataclass built field by field through __dict__: same value as cls(...), at a
            # third of the cost (compute() builds one per slot; 32,763 slots in the benchmark).
            gmem = slot.gmem is not None
            f = files.get(slot.gmem) if gmem else None
            facts = new(cls)
            facts.__dict__.update(
                slot=slot,
                B=slot.gpa >> sh,
                P=slot.size >> sh,
                U=slot.ua >> sh,
                O=slot.offset >> sh if gmem else 0,
                gmem=gmem,
                gmem_only=f is not None and (f.mmap or all_gmem_only),
                folio_max=(f.max_page >> sh) if f is not None else 0,
                host_max=host_max,
                private_max=private_max,
                private_cap=plat.private_cap,
                policy=policy,
                has_private=has_private,
                attrs=attrs,
                page_frames=page_frames,
                page_names=names,
                base_shift=sh,
            )
            return facts

        return make

    def uses_gmem(self, private: bool) -> bool:
        """Whether the gmem rules (6-11) decide this frame rather than the host page (rule 5)."""
        return private or self.gmem_only

    def name(self, n: int) -> str:
        return self.page_names[self.page_frames.index(n)]
