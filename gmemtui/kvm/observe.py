"""``check --levels``: run the tiny guest over the layout and compare what KVM installed with
gmemtui's prediction for the layout *as this kernel can run it*.

What this kernel cannot show is named, not counted as a disagreement:

* private memory without ``KVM_CAP_MEMORY_ATTRIBUTES``: every frame is shared, so the prediction
  uses ``private: []`` (shared frames of a guest_memfd slot come from ``ua``, or from the file for
  an ``mmap: true`` file, ``kvm_memslot_is_gmem_only``);
* guest_memfd folios: mainline guest_memfd hands out order-0 folios (``kvm_gmem_get_pfn``), so
  the prediction uses policy ``mainline``;
* sizes above the guest's own page size: under shadow paging the guest page caps KVM's, and the
  guest maps with the ladder's second size (no 1G guest pages: no pdpe1gb in the guest CPUID);
* a huge host page the host did not supply (THP allocation can fail): checked in pagemap and
  kpageflags before a smaller mapping is called a disagreement.

Memory stays bounded by ``limit``: a larger layout touches only the guest pages that decide each
run (both ends of every run and the pages beside them).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace

from gmemtui.core.coverage import compute
from gmemtui.core.model import Layout, Slot
from gmemtui.core.units import fmt_size
from gmemtui.kvm import guest
from gmemtui.kvm.apply import Applied
from gmemtui.kvm.flavour import Flavour
from gmemtui.kvm.levels import HostPages, Mapping, SpteTrace, TraceUnavailable
from gmemtui.kvm.vm import MADV_POPULATE_WRITE, madvise


@dataclass
class SlotLevels:
    slot: Slot
    touched: int = 0  # bytes
    predicted: dict = field(default_factory=dict)  # page name -> bytes (of the touched part)
    seen: dict = field(default_factory=dict)  # page name -> bytes mapped (from the trace)
    excused: int = 0  # bytes of 2M predictions mapped 4K because the host gave no huge page
    disagreements: list = field(default_factory=list)  # strings
    unseen: int = 0  # touched bytes with no mapping in the trace


@dataclass
class LevelsReport:
    ok: bool = True  # the guest ran
    message: str = ""
    notes: list = field(default_factory=list)  # what this kernel cannot show
    slots: list = field(default_factory=list)  # SlotLevels
    stats: dict = field(default_factory=dict)
    stats_expect: dict = field(default_factory=dict)  # name -> (min, max)
    trace: bool = False
    full: bool = True  # every frame touched
    outside: int = 0  # mappings in no layout slot and not the guest's own (should stay 0)

    @property
    def disagreements(self) -> int:
        n = sum(len(s.disagreements) for s in self.slots) + self.outside
        for name, (lo, hi) in self.stats_expect.items():
            if not lo <= self.stats.get(name, 0) <= hi:
                n += 1
        return n if self.ok else n + 1


def kernel_layout(layout: Layout, accepted: list[Slot], flav: Flavour, notes: list[str]) -> Layout:
    """The layout as this kernel runs it (see the module docstring), naming each difference."""
    changes: dict[str, object] = {"slots": tuple(accepted)}
    if not flav.caps.get("MEMORY_ATTRIBUTES"):
        if layout.has_private_memory and (layout.private is None or layout.private):
            notes.append("private memory: no KVM_CAP_MEMORY_ATTRIBUTES here, so every frame is shared "
                         "(guest_memfd slots are served from ua, or from the file where mmap: true); "
                         "the private-frame rules (mixed-attributes, no-guest-memfd, platform-cap, "
                         "folio-cap, whole-binding, offset-misaligned) cannot be observed")
        changes["private"] = ()
    else:
        notes.append("memory attributes are not set by check: every frame is shared")
        changes["private"] = ()
    if any(s.gmem is not None for s in accepted) and layout.policy != "mainline":
        if any(f.mmap for f in layout.files):
            notes.append(f"guest_memfd folios: this kernel's guest_memfd gives order-0 folios, so mmap: true "
                         f"slots are predicted with policy mainline (the layout says {layout.policy})")
        changes["policy"] = "mainline"
    return replace(layout, **changes)  # type: ignore[arg-type]


def _touch_ranges(runs_by_slot: dict, block: int, limit: int) -> tuple[dict, bool]:
    """Per slot key, the sorted gpa ranges to touch, and whether that is every frame."""
    total = sum(sc.slot.size for sc in runs_by_slot.values())
    if total <= limit:
        return {k: [(sc.slot.gpa, sc.slot.end)] for k, sc in runs_by_slot.items()}, True
    out: dict = {}
    used = 0
    for k, sc in runs_by_slot.items():
        s = sc.slot
        blocks: set[int] = set()
        for r in sc.runs:
            first = r.gpa - r.gpa % block
            last = (r.end - 1) - (r.end - 1) % block
            blocks.update({first, first + block, last, last - block})
        ranges = []
        for b in sorted(blocks):
            lo, hi = max(b, s.gpa), min(b + block, s.end)
            if lo < hi:
                if ranges and ranges[-1][1] >= lo:
                    ranges[-1] = (ranges[-1][0], max(ranges[-1][1], hi))
                else:
                    ranges.append((lo, hi))
        size = sum(hi - lo for lo, hi in ranges)
        if used + size > limit:
            keep = []
            for lo, hi in ranges:
                if used + (hi - lo) > limit:
                    break
                keep.append((lo, hi))
                used += hi - lo
            ranges = keep
        else:
            used += size
        out[k] = ranges
    return out, False


def _code_region(slots: list[Slot], block: int, phys_bits: int) -> int | None:
    """A gpa aligned to 4 blocks with 2 free blocks (code slot + slot-less done page), below 2^39."""
    align = 4 * block
    cands = [align] + [s.end + (-s.end) % align for s in slots]
    top = min(1 << 39, 1 << phys_bits)
    for c in sorted(set(cands)):
        if c + 2 * block > top:
            continue
        if all(s.end <= c or s.gpa >= c + 2 * block for s in slots):
            return c
    return None


def observe(layout: Layout, applied: Applied, flav: Flavour, kvm_fd: int, limit: int) -> LevelsReport:
    rep = LevelsReport()
    plat = layout.platform
    guest_page = plat.ladder[1]  # the guest maps with PDEs: the ladder's second size
    block = guest_page.bytes
    base = plat.base.bytes
    vm = applied.vm
    accepted = [s for s in applied.accepted if s.as_ == 0]
    rejected = [a.slot.slot for a in applied.answers if a.kernel not in (0, None)]
    if rejected:
        ids = ", ".join(str(i) for i in rejected)
        rep.notes.append(f"slot{'s' if len(rejected) > 1 else ''} {ids}: rejected by the kernel, so not run")
    if len(accepted) < len(applied.accepted):
        rep.notes.append("address space 1 (SMM): the guest does not run in SMM, so its slots are not touched")
    klayout = kernel_layout(layout, accepted, flav, rep.notes)
    cov = compute(klayout)
    if any(plat.page(r.page).bytes > block for sc in cov.slots for r in sc.runs):
        big = sum(r.size for sc in cov.slots for r in sc.runs if plat.page(r.page).bytes > block)
        g = guest_page.name
        rep.notes.append(f"sizes above {g}: the guest maps with {g} pages (no 1G guest pages), "
                         f"so {fmt_size(big)} predicted larger are checked as {g}")
    if layout.host_max_page > block:
        rep.notes.append(f"host_max_page {fmt_size(layout.host_max_page)}: check backs memory with THP "
                         f"({guest_page.name}) only")
    cpuid = guest.supported_cpuid(kvm_fd)
    phys_bits = guest.guest_phys_bits(cpuid)
    by_key = {sc.slot.key: sc for sc in cov.slots}
    limit = min(limit, guest.MAX_BLOCKS * block // 4)  # the guest's window holds MAX_BLOCKS pages
    ranges, rep.full = _touch_ranges(by_key, block, limit)
    if not rep.full:
        rep.notes.append(f"layout larger than --memory-limit {fmt_size(limit)}: touched only the guest pages "
                         "at both ends of every run and beside them")
    top = 1 << phys_bits
    far = [k for k, rs in ranges.items() if rs and rs[-1][1] > top]
    for k in far:
        ranges[k] = [(lo, min(hi, top)) for lo, hi in ranges[k] if lo < top]
    if far:
        ids = ("slots " if len(far) > 1 else "slot ") + ", ".join(str(k[1]) for k in far)
        rep.notes.append(f"{ids}: memory at or above the guest MAXPHYADDR (2^{phys_bits}) cannot be touched")
    touches: list[guest.Touch] = []
    for k, rs in ranges.items():
        s = by_key[k].slot
        hm = applied.host[k]
        for lo, hi in rs:
            if s.readonly:  # the guest reads; let the host fault the memory in (THP where allowed)
                madvise(hm.addr + (lo - s.gpa), hi - lo, MADV_POPULATE_WRITE)
            touches.append(guest.Touch(lo, hi - lo, write=not s.readonly))
    code_gpa = _code_region(list(layout.slots), block, phys_bits)
    if code_gpa is None:
        rep.ok, rep.message = False, "no free guest-physical room for the guest's code slot"
        return rep
    used_ids = {s.slot for s in layout.slots if s.as_ == 0}
    code_id = next(i for i in range(plat.max_slot_id + 1) if i not in used_ids)
    code_size = guest.code_slot_size(touches, block)
    hm_code = vm.map_host(code_size, code_gpa, block, False)
    err = vm.set_region2(code_id, 0, code_gpa, code_size, hm_code.addr)
    if err:
        rep.ok, rep.message = False, f"cannot create the guest's code slot {code_id}: errno {err}"
        return rep
    frames = sum(t.size for t in touches) // base
    trace = None
    try:
        try:
            trace = SpteTrace(frames)
            rep.trace = True
        except (TraceUnavailable, OSError) as e:
            rep.notes.append(f"per-frame levels not available ({e}); comparing page counts only")
        res = guest.run_guest(vm, code_gpa, hm_code.addr, code_size, touches, block, cpuid)
        if not res.ok:
            rep.ok, rep.message = False, res.message
            return rep
        mappings, lost = trace.read() if trace is not None else ([], False)
    finally:
        if trace is not None:
            trace.close()
    if lost:
        rep.notes.append("the trace lost events: per-frame results are incomplete")
    rep.stats = {k: v for k, v in vm.stats().items() if k.startswith("pages_")}
    hostpages = HostPages()
    try:
        _compare(rep, klayout, cov, ranges, applied, mappings, hostpages, block, base, code_gpa, code_size)
    finally:
        hostpages.close()
    return rep


def _compare(rep: LevelsReport, klayout: Layout, cov, ranges: dict, applied: Applied, mappings: list[Mapping],
             hostpages: HostPages, block: int, base: int, code_gpa: int, code_size: int) -> None:
    plat = klayout.platform
    names = plat.names
    gname = plat.name_of(block)
    slots = sorted(cov.slots, key=lambda sc: sc.slot.gpa)
    starts = [sc.slot.gpa for sc in slots]
    run_starts = {sc.slot.key: [r.gpa for r in sc.runs] for sc in slots}
    levels = {sc.slot.key: SlotLevels(sc.slot) for sc in slots}
    thp_cache: dict[int, bool | None] = {}

    def expected(sc, gpa: int) -> tuple[str, str | None]:
        rs = sc.runs[bisect_right(run_starts[sc.slot.key], gpa) - 1]
        page = rs.page if plat.page(rs.page).bytes <= block else gname
        return page, rs.reason

    def host_huge(sc, blk: int) -> bool | None:
        if blk not in thp_cache:
            hm = applied.host[sc.slot.key]
            thp_cache[blk] = hostpages.huge(hm.addr + (blk - sc.slot.gpa), block, base)
        return thp_cache[blk]

    uses_file = {f.id for f in klayout.files if f.mmap}
    # predicted bytes and the stats expectation, over what was touched
    exp_big_min = exp_big_max = exp_small = 0
    for sc in slots:
        lv = levels[sc.slot.key]
        for lo, hi in ranges.get(sc.slot.key, []):
            lv.touched += hi - lo
            for r in sc.runs:
                a, b = max(lo, r.gpa), min(hi, r.end)
                if a >= b:
                    continue
                page = r.page if plat.page(r.page).bytes <= block else gname
                lv.predicted[page] = lv.predicted.get(page, 0) + (b - a)
                if page == gname:
                    for blk in range(a, b, block):  # one per guest page of the touched part
                        huge = host_huge(sc, blk) if sc.slot.gmem not in uses_file else True
                        if huge is not False:
                            exp_big_max += 1
                        if huge is True:
                            exp_big_min += 1
                else:
                    exp_small += (b - a) // base
    # per mapping
    seen_ranges: list[tuple[int, int]] = []
    for m in mappings:
        n = plat.frames(plat.ladder[m.level - 1]) if 0 < m.level <= len(plat.ladder) else 1
        gpa = (m.gfn - m.gfn % n) * base
        size = n * base
        if code_gpa <= gpa < code_gpa + code_size:
            continue
        i = bisect_right(starts, gpa) - 1
        if i < 0 or not slots[i].slot.gpa <= gpa < slots[i].slot.end:
            rep.outside += 1
            continue
        sc = slots[i]
        lv = levels[sc.slot.key]
        got = names[m.level - 1] if 0 < m.level <= len(names) else f"level {m.level}"
        lv.seen[got] = lv.seen.get(got, 0) + size
        seen_ranges.append((gpa, gpa + size))
        want, reason = expected(sc, gpa)
        if got == want:
            continue
        if want == gname and got == names[0] and sc.slot.gmem not in uses_file:
            blk = gpa - gpa % block
            huge = host_huge(sc, blk)
            if huge is not True:
                lv.excused += size
                continue
        if len(lv.disagreements) < 1000:
            why = f" ({reason})" if reason else ""
            lv.disagreements.append(f"gfn {m.gfn:#x}: kernel {got}, gmemtui {want}{why}")
    # touched but never mapped
    seen_ranges.sort()
    merged: list[list[int]] = []
    for a, b in seen_ranges:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    if rep.trace:
        mstarts = [a for a, _ in merged]
        for sc in slots:
            lv = levels[sc.slot.key]
            for lo, hi in ranges.get(sc.slot.key, []):
                covered = 0
                j = max(bisect_right(mstarts, lo) - 1, 0)
                while j < len(merged) and merged[j][0] < hi:
                    covered += max(0, min(hi, merged[j][1]) - max(lo, merged[j][0]))
                    j += 1
                lv.unseen += (hi - lo) - covered
    rep.slots = [levels[sc.slot.key] for sc in sorted(slots, key=lambda sc: (sc.slot.as_, sc.slot.gpa))]
    big = "pages_" + gname.lower()
    small = "pages_" + names[0].lower()
    rep.stats_expect = {big: (exp_big_min, exp_big_max), small: (exp_small, 1 << 62)}
    for p in plat.ladder:
        if p.bytes > block:
            rep.stats_expect["pages_" + p.name.lower()] = (0, 0)
