"""Brute-force reference for docs/rules.md: the tables applied to one frame at a time.

Written from the rule tables of docs/rules.md only; it must not import gmemtui.core.rules or
gmemtui.core.coverage, so that the
closed-form engine is checked against an independent reading of the contract. Attributes are kept
per frame (a bytearray per largest-page block, spelled out when first used, so sparse or huge
layouts stay cheap), and every condition is evaluated literally for the frame's aligned range at
every ladder size.

API (other tests import it; keep it stable):

* ``reference_frames(layout)`` -> ``{(as, slot, gfn): (page, private, reason)}`` for every frame.
* ``reference_runs(layout)`` -> ``{(as, slot): [(gpa, size, page, private, reason), ...]}``.
* ``Reference(layout).verdict(as_, slot, gfn)`` -> ``(page, private, reason)`` for one frame
  (for sampling big slots); ``.private(as_, gfn)`` -> the frame's attribute; ``.mappable(as_, slot,
  gfn)`` -> False for a frame KVM maps at no size (rule 6).
"""

from __future__ import annotations

from gmemtui.core.model import Layout, Slot

Verdict = tuple[str, bool, "str | None"]


class _FrameAttrs:
    """PRIVATE bit of every gfn of one attribute space.

    Kept as the listed frame ranges; a block of ``block`` frames is spelled out frame by frame (a
    bytearray) the first time a frame of it is asked for, so a 64 TiB range costs nothing until used.
    """

    def __init__(self, block: int) -> None:
        self.block = block
        self.ranges: list[tuple[int, int]] = []
        self.cache: dict[int, bytearray | None] = {}

    def mark(self, lo: int, hi: int) -> None:
        """Set frames [lo, hi) private."""
        if hi > lo:
            self.ranges.append((lo, hi))
            self.cache.clear()

    def _blk(self, k: int) -> bytearray | None:
        if k in self.cache:
            return self.cache[k]
        b = self.block
        lo, hi = k * b, (k + 1) * b
        arr = None
        for a, z in self.ranges:
            a, z = max(a, lo), min(z, hi)
            if a < z:
                if arr is None:
                    arr = bytearray(b)
                arr[a - lo : z - lo] = b"\x01" * (z - a)
        if len(self.cache) > 256:
            self.cache.clear()
        self.cache[k] = arr
        return arr

    def get(self, g: int) -> bool:
        arr = self._blk(g // self.block)
        return bool(arr is not None and arr[g % self.block])

    def count(self, f: int, n: int) -> int:
        """Private frames in the aligned range [f, f+n) (n divides the block size)."""
        arr = self._blk(f // self.block)
        if arr is None:
            return 0
        off = f % self.block
        return arr[off : off + n].count(1)


class Reference:
    """The docs/rules.md answer for any frame of a layout, evaluated literally."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        plat = layout.platform
        self.shift = plat.base_shift
        self.names = [p.name for p in plat.ladder]
        self.frames = [plat.frames(p) for p in plat.ladder]
        self.slots: dict[tuple[int, int], Slot] = {(s.as_, s.slot): s for s in layout.slots}
        block = self.frames[-1]
        sh = self.shift
        # "has private memory": any guest_memfd slot (any address space) or a `private:` list; never
        # on an arch without memory attributes (arm64), where every frame is shared
        self.attributes = plat.memory_attributes
        self.has_private = self.attributes and (
            layout.private is not None or any(s.gmem is not None for s in layout.slots))
        # arm64: every guest_memfd slot is guest_memfd-only; x86 and riscv64: files with mmap: true
        self.all_gmem_only = plat.gmem_only
        self.private_cap = plat.private_cap  # only x86 has a vendor cap (rule 8)
        if not self.attributes:
            self.attrs = {a: _FrameAttrs(block) for a in (0, 1)}  # nothing marked: all shared
        elif layout.private is None:
            # default: per address space, a frame is private iff a guest_memfd slot of that space holds it
            self.attrs = {a: _FrameAttrs(block) for a in (0, 1)}
            for s in layout.slots:
                if s.gmem is not None:
                    self.attrs[s.as_].mark(s.gpa >> sh, (s.gpa + s.size) >> sh)
        else:
            # explicit list: exactly those frames, whatever the slot or address space
            shared = _FrameAttrs(block)
            for r in layout.private:
                shared.mark(r.gpa >> sh, (r.gpa + r.size) >> sh)
            self.attrs = {0: shared, 1: shared}

    def private(self, as_: int, g: int) -> bool:
        return self.attrs[as_].get(g)

    def _file(self, slot: Slot):
        for f in self.layout.files:
            if f.id == slot.gmem:
                return f
        return None

    def failing(self, slot: Slot, g: int, k: int, private: bool) -> str | None:
        """The first condition of docs/rules.md that fails for frame g at ladder size k (None: all hold)."""
        lay = self.layout
        sh = self.shift
        N = self.frames[k]
        B, P, U = slot.gpa >> sh, slot.size >> sh, slot.ua >> sh
        O = slot.offset >> sh
        f = g - g % N

        def cong(a: int, b: int) -> bool:
            return (a ^ b) & (N - 1) == 0

        # all frames
        if slot.flags & 1:
            return "log-dirty"
        if not (B <= f and f + N <= B + P):
            return "slot-edge"
        if not cong(B, U):
            return "ua-misaligned"
        if self.has_private:
            c = self.attrs[slot.as_].count(f, N)
            if 0 < c < N:
                return "mixed-attributes"
        file = self._file(slot) if slot.gmem is not None else None
        mmap = file is not None and (file.mmap or self.all_gmem_only)
        if not private and not mmap:
            if N > lay.host_max_page >> sh:
                return "host-page"
            return None
        # private frames: rules 6, 7, 9, 10, 11, 8; shared frames of an mmap file: 7, 9, 10, 11
        if private and slot.gmem is None:
            return "no-guest-memfd"
        if lay.policy in ("mainline", "4k-only"):
            return "gmem-4k-only"
        assert file is not None
        if N > file.max_page >> sh:
            return "folio-cap"
        if lay.policy == "whole-binding" and (O % N != 0 or P % N != 0):
            return "whole-binding"
        if not cong(B, O):
            return "offset-misaligned"
        # the vendor cap last: the kernel asks the folio order first (kvm_gmem_max_mapping_level)
        if private and self.private_cap and N > lay.private_max_page >> sh:
            return "platform-cap"
        return None

    def mappable(self, as_: int, slot_id: int, g: int) -> bool:
        """Rule 6: a private frame of a slot without guest_memfd is mapped at no size at all."""
        return not (self.private(as_, g) and self.slots[(as_, slot_id)].gmem is None)

    def verdict(self, as_: int, slot_id: int, g: int) -> Verdict:
        slot = self.slots[(as_, slot_id)]
        private = self.private(as_, g)
        fails = [None] + [self.failing(slot, g, k, private) for k in range(1, len(self.frames))]
        # the largest size where every condition holds (the base page always holds)
        best = max(k for k in range(len(self.frames)) if fails[k] is None)
        reason = fails[best + 1] if best + 1 < len(self.frames) else None
        return self.names[best], private, reason


def reference_frames(layout: Layout) -> dict[tuple[int, int, int], Verdict]:
    """Every frame of every slot: (as, slot, gfn) -> (page, private, reason)."""
    ref = Reference(layout)
    sh = ref.shift
    out: dict[tuple[int, int, int], Verdict] = {}
    for s in layout.slots:
        for g in range(s.gpa >> sh, (s.gpa + s.size) >> sh):
            out[(s.as_, s.slot, g)] = ref.verdict(s.as_, s.slot, g)
    return out


def reference_runs(layout: Layout) -> dict[tuple[int, int], list[tuple[int, int, str, bool, str | None]]]:
    """Per slot, adjacent frames with equal verdicts merged: [(gpa, size, page, private, reason)]."""
    ref = Reference(layout)
    sh = ref.shift
    out: dict[tuple[int, int], list[tuple[int, int, str, bool, str | None]]] = {}
    for s in layout.slots:
        runs: list[list] = []
        for g in range(s.gpa >> sh, (s.gpa + s.size) >> sh):
            v = ref.verdict(s.as_, s.slot, g)
            if runs and tuple(runs[-1][2:]) == v:
                runs[-1][1] += 1
            else:
                runs.append([g, 1, *v])
        out[(s.as_, s.slot)] = [(g << sh, n << sh, p, pr, r) for g, n, p, pr, r in runs]
    return out
