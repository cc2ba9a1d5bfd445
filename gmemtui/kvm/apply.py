"""Apply a layout to a throwaway VM, slot by slot, and set the kernel's answer beside gmemtui's.

Files first (``KVM_CREATE_GUEST_MEMFD``, size from the layout, ``GUEST_MEMFD_FLAG_MMAP`` where
``mmap: true``), then the slots in layout order (``KVM_SET_USER_MEMORY_REGION2``), each with its own
anonymous host memory congruent with the layout's ``ua`` modulo the ladder's largest size, so every
alignment rule sees the same numbers as in the layout.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from gmemtui.core.model import Layout, Slot
from gmemtui.kvm import uapi
from gmemtui.kvm.flavour import Flavour
from gmemtui.kvm.predict import FileInfo, Host, KernelModel, Region, Verdict
from gmemtui.kvm.vm import HostMapping, Kvm, KvmUnavailable, Vm, errno_name


@dataclass(frozen=True)
class SlotAnswer:
    slot: Slot
    predicted: Verdict | None  # None: not checkable
    kernel: int | None  # errno (0 = accepted); None: not asked
    note: str = ""  # why not checkable, or where the kernel is stricter than gmemtui

    @property
    def checkable(self) -> bool:
        return self.predicted is not None and self.kernel is not None

    @property
    def agree(self) -> bool:
        return not self.checkable or self.predicted.agrees(self.kernel)  # type: ignore[union-attr]

    @property
    def kernel_name(self) -> str:
        return "-" if self.kernel is None else errno_name(self.kernel)


@dataclass
class Applied:
    vm: Vm
    answers: list[SlotAnswer] = field(default_factory=list)
    host: dict = field(default_factory=dict)  # slot key -> HostMapping (accepted slots)
    accepted: list[Slot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def needed_capability(layout: Layout, flav: Flavour) -> str | None:
    """The first capability the layout needs that this KVM lacks (``check`` then skips), or None."""
    if not flav.caps.get("USER_MEMORY2"):
        return "KVM_CAP_USER_MEMORY2 (KVM_SET_USER_MEMORY_REGION2)"
    if layout.files and not flav.caps.get("GUEST_MEMFD"):
        return "KVM_CAP_GUEST_MEMFD"
    gmem_flags = flav.caps.get("GUEST_MEMFD_FLAGS", 0)
    if any(f.mmap for f in layout.files) and not gmem_flags & uapi.GUEST_MEMFD_FLAG_MMAP:
        return "GUEST_MEMFD_FLAG_MMAP in KVM_CAP_GUEST_MEMFD_FLAGS"
    if any(s.readonly for s in layout.slots) and not flav.caps.get("READONLY_MEM"):
        return "KVM_CAP_READONLY_MEM"
    return None


def _mem_available() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


RMAP_BYTES_PER_PAGE = 8  # struct kvm_rmap_head per base page (plus less for the larger levels)


def metadata_problem(layout: Layout, flav: Flavour) -> str | None:
    """Why creating the layout's slots would cost the kernel too much memory, or None.

    Without the TDP MMU, ``kvm_alloc_memslot_metadata`` (arch/x86/kvm/x86.c) allocates an rmap
    entry per base page of every slot at creation: 16 GiB for an 8 TiB slot."""
    if flav.tdp and flav.tdp_mmu in ("Y", "1"):
        return None
    pages = sum(s.size for s in layout.slots) // layout.platform.base.bytes
    need = pages * RMAP_BYTES_PER_PAGE
    avail = _mem_available()
    if avail and need > avail // 4:
        return (f"the slots would need ~{need >> 20} MiB of KVM rmap metadata (shadow paging allocates it "
                f"per base page at slot creation), more than a quarter of available memory")
    return None


def host_model(flav: Flavour, files: dict[int, FileInfo]) -> Host:
    return Host(max_gpa_bits=flav.max_gpa_bits, address_spaces=flav.address_spaces,
                user_va_end=flav.user_va_end, readonly_mem=bool(flav.caps.get("READONLY_MEM")),
                guest_memfd=bool(flav.caps.get("GUEST_MEMFD")), files=files)


def apply_layout(layout: Layout, kvm: Kvm, flav: Flavour) -> Applied:
    """Create the VM, files and slots. The caller closes ``Applied.vm`` (it owns everything)."""
    plat = layout.platform
    vm = Vm(kvm)
    out = Applied(vm)
    try:
        gmem_flags = flav.caps.get("GUEST_MEMFD_FLAGS", 0)
        fds: dict[int, int] = {}
        infos: dict[int, FileInfo] = {}
        for f in layout.files:
            size = layout.file_size(f.id)
            if size == 0:
                out.notes.append(f"guest_memfd {f.id}: size 0 (no binding), not created")
                continue
            flags = 0
            if f.mmap:
                flags = uapi.GUEST_MEMFD_FLAG_MMAP | (gmem_flags & uapi.GUEST_MEMFD_FLAG_INIT_SHARED)
            try:
                fds[f.id] = vm.create_guest_memfd(size, flags)
                infos[f.id] = FileInfo("gmem", size)
            except OSError as e:
                why = errno_name(e.errno or 0)
                out.notes.append(f"guest_memfd {f.id}: KVM_CREATE_GUEST_MEMFD failed: {why}")
                infos[f.id] = FileInfo("closed")
        if layout.has_private_memory and (layout.private is None or layout.private) \
                and not flav.caps.get("MEMORY_ATTRIBUTES"):
            out.notes.append("the layout has private memory, but this KVM has no KVM_CAP_MEMORY_ATTRIBUTES: "
                             "the slots are created, their frames cannot be made private")
        model = KernelModel(host_model(flav, infos))
        huge = layout.host_max_page >= plat.ladder[1].bytes
        for s in layout.slots:
            if s.as_ >= flav.address_spaces:
                out.answers.append(SlotAnswer(
                    s, None, None, f"not checkable: address space {s.as_} needs KVM_CAP_MULTI_ADDRESS_SPACE "
                    f"({flav.caps.get('MULTI_ADDRESS_SPACE', 0)} here)"))
                continue
            try:
                hm: HostMapping = vm.map_host(s.size, s.ua, plat.largest.bytes, huge)
            except OSError as e:
                out.answers.append(SlotAnswer(s, None, None, f"not checkable: host memory: {e.strerror}"))
                continue
            region = Region(slot=s.as_ << 16 | s.slot, flags=s.kvm_flags, gpa=s.gpa, size=s.size, ua=hm.addr,
                            fd=s.gmem, offset=s.offset)
            predicted = model.predict(region)
            kernel = vm.set_region2(region.slot, region.flags, s.gpa, s.size, hm.addr,
                                    fds.get(s.gmem, 0) if s.gmem is not None else 0, s.offset)
            note = ""
            if s.gmem is not None and (s.readonly or s.log_dirty) and predicted.errno == errno.EINVAL:
                flags = "+".join(n for n, on in (("READONLY", s.readonly), ("LOG_DIRTY", s.log_dirty)) if on)
                note = (f"gmemtui warns; this kernel rejects guest_memfd with {flags} "
                        "(check_memory_region_flags, since 6.8)")
            elif predicted.errno:
                note = predicted.why
            out.answers.append(SlotAnswer(s, predicted, kernel, note))
            if kernel == 0:
                model.record(region)
                out.accepted.append(s)
                out.host[s.key] = hm
        return out
    except BaseException:
        vm.close()
        raise


__all__ = ["Applied", "SlotAnswer", "apply_layout", "needed_capability", "KvmUnavailable"]
