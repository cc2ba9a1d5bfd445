"""gmemtui's verdict of what KVM answers to each ``KVM_SET_USER_MEMORY_REGION2``, before asking it.

A small model of the kernel's memslot state, applying the checks of ``kvm_set_memory_region``
(virt/kvm/kvm_main.c, Linux 6.18) in the kernel's order, so the errno *class* matches too:

1. ``kvm_vm_ioctl_set_memory_region``: slot id >= ``KVM_USER_MEM_SLOTS`` -> EINVAL;
   the v1 ioctl with ``KVM_MEM_GUEST_MEMFD`` -> EINVAL.
2. ``check_memory_region_flags``: unknown bits; guest_memfd with LOG_DIRTY or READONLY -> EINVAL.
3. sanity: size/gpa/ua not page aligned, ua not a user address (``access_ok``), guest_memfd
   offset unaligned or wrapping, address space >= ``kvm_arch_nr_memslot_as_ids``, gpa wrap,
   more than ``KVM_MEM_MAX_NR_PAGES`` pages -> EINVAL.
4. delete (size 0) of an empty slot -> EINVAL; a change of an existing slot: any guest_memfd slot,
   a new size, ua or READONLY bit -> EINVAL; identical -> OK.
5. ``kvm_check_memslot_overlap`` on create/move -> EEXIST.
6. ``kvm_gmem_bind`` (virt/kvm/guest_memfd.c): fd not open -> EBADF; not a guest_memfd of this VM,
   offset beyond the file -> EINVAL; a binding overlapping another -> EINVAL (6.18) or EEXIST
   (newer kernels): both agree.
7. ``kvm_arch_prepare_memory_region`` (arch/x86/kvm/x86.c): last gfn beyond ``kvm_mmu_max_gfn``
   (2^52 with shadow paging, the host MAXPHYADDR with TDP) -> EINVAL.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from gmemtui.kvm import uapi

PAGE = 4096


@dataclass(frozen=True)
class Region:
    """One ``kvm_userspace_memory_region2`` as sent. ``fd`` names a file in ``Host.files`` (by key)."""

    slot: int  # as_id << 16 | id
    flags: int
    gpa: int
    size: int
    ua: int
    fd: object = None  # key into Host.files, or None
    offset: int = 0
    v1: bool = False  # sent through KVM_SET_USER_MEMORY_REGION


@dataclass(frozen=True)
class FileInfo:
    """What ``kvm_gmem_bind`` learns from an fd: ``kind`` is gmem (of this VM), other-vm, not-gmem, closed."""

    kind: str
    size: int = 0


@dataclass(frozen=True)
class Host:
    """The facts of this machine that the kernel's answer depends on."""

    max_gpa_bits: int = 52  # kvm_mmu_max_gfn: 52 under shadow paging
    address_spaces: int = 1  # kvm_arch_nr_memslot_as_ids (2 with KVM_CAP_MULTI_ADDRESS_SPACE)
    user_va_end: int = (1 << 47) - PAGE  # TASK_SIZE_MAX on 4-level paging
    readonly_mem: bool = True
    guest_memfd: bool = True
    files: dict = field(default_factory=dict)  # key -> FileInfo


@dataclass(frozen=True)
class Verdict:
    errno: int  # 0 = accepted
    why: str  # the kernel check that decides it
    also: tuple[int, ...] = ()  # other errnos that kernel versions answer for the same check

    @property
    def name(self) -> str:
        name = "OK" if self.errno == 0 else errno.errorcode.get(self.errno, str(self.errno))
        return "/".join([name, *(errno.errorcode.get(e, str(e)) for e in self.also)])

    def agrees(self, kernel_errno: int) -> bool:
        """Whether the kernel's answer is this verdict (in any of the kernels it covers)."""
        return kernel_errno == self.errno or kernel_errno in self.also


OK = Verdict(0, "accepted")


@dataclass
class _Slot:
    gpa: int
    size: int
    ua: int
    flags: int
    fd: object
    offset: int


class KernelModel:
    """The memslots of one VM as gmemtui expects the kernel to hold them after each ioctl."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.slots: dict[int, _Slot] = {}  # as_id << 16 | id -> slot

    def _invalid(self, why: str) -> Verdict:
        return Verdict(errno.EINVAL, why)

    def predict(self, r: Region) -> Verdict:
        """The verdict for ``r`` given the slots so far (does not change them)."""
        h = self.host
        as_id, sid = r.slot >> 16, r.slot & 0xFFFF
        gmem = bool(r.flags & uapi.KVM_MEM_GUEST_MEMFD)
        if sid >= uapi.KVM_USER_MEM_SLOTS:
            return self._invalid(f"slot id {sid} >= KVM_USER_MEM_SLOTS ({uapi.KVM_USER_MEM_SLOTS})")
        if r.v1 and gmem:
            return self._invalid("KVM_MEM_GUEST_MEMFD through KVM_SET_USER_MEMORY_REGION (v1)")
        valid = uapi.KVM_MEM_LOG_DIRTY_PAGES
        if h.guest_memfd:
            valid |= uapi.KVM_MEM_GUEST_MEMFD
        if gmem:
            valid &= ~uapi.KVM_MEM_LOG_DIRTY_PAGES
        if h.readonly_mem and not gmem:
            valid |= uapi.KVM_MEM_READONLY
        if r.flags & ~valid:
            if gmem and r.flags & (uapi.KVM_MEM_LOG_DIRTY_PAGES | uapi.KVM_MEM_READONLY):
                return self._invalid("check_memory_region_flags: guest_memfd with LOG_DIRTY/READONLY")
            return self._invalid(f"check_memory_region_flags: flags {r.flags:#x}")
        if r.size % PAGE or r.gpa % PAGE:
            return self._invalid("size or gpa not page aligned")
        if r.ua % PAGE or r.ua + r.size > h.user_va_end or r.ua >= 1 << 64:
            return self._invalid("userspace_addr unaligned or not a user address (access_ok)")
        if gmem and (r.offset % PAGE or r.offset + r.size >= 1 << 64):
            return self._invalid("guest_memfd_offset unaligned or wrapping")
        if as_id >= h.address_spaces:
            return self._invalid(f"address space {as_id} >= {h.address_spaces} (KVM_CAP_MULTI_ADDRESS_SPACE)")
        if r.gpa + r.size >= 1 << 64:
            return self._invalid("gpa + size wraps")
        if r.size // PAGE > uapi.KVM_MEM_MAX_NR_PAGES:
            return self._invalid("more than KVM_MEM_MAX_NR_PAGES pages")
        old = self.slots.get(r.slot)
        if r.size == 0:
            return OK if old is not None else self._invalid("delete of an empty slot")
        if old is not None:
            if gmem:
                return self._invalid("a guest_memfd slot can only be deleted")
            if r.ua != old.ua or r.size != old.size or (r.flags ^ old.flags) & (
                    uapi.KVM_MEM_READONLY | uapi.KVM_MEM_GUEST_MEMFD):
                return self._invalid("change of size, userspace_addr or READONLY of a slot")
            if r.gpa == old.gpa:
                return OK  # flags-only change (LOG_DIRTY) or identical
        for key, s in self.slots.items():
            if key >> 16 == as_id and key != r.slot and r.gpa < s.gpa + s.size and s.gpa < r.gpa + r.size:
                why = f"gpa range overlaps slot {key & 0xFFFF} (kvm_check_memslot_overlap)"
                return Verdict(errno.EEXIST, why)
        if gmem:
            info = h.files.get(r.fd)
            if info is None or info.kind == "closed":
                return Verdict(errno.EBADF, "guest_memfd is not an open fd (kvm_gmem_bind)")
            if info.kind != "gmem":
                return self._invalid(f"fd is {info.kind}, not this VM's guest_memfd (kvm_gmem_bind)")
            if r.offset >= 1 << 63 or r.offset + r.size > info.size:
                return self._invalid("binding beyond the guest_memfd's size (kvm_gmem_bind)")
            for s in self.slots.values():
                if s.fd == r.fd and r.offset < s.offset + s.size and s.offset < r.offset + r.size:
                    # EINVAL up to 6.18; EEXIST on newer kernels (kvm_gmem_bind, Linux 7.0)
                    why = "binding overlaps another binding of the file (kvm_gmem_bind)"
                    return Verdict(errno.EINVAL, why, also=(errno.EEXIST,))
        # create or move (flag-only changes returned above)
        if r.gpa + r.size > 1 << h.max_gpa_bits:
            return self._invalid(f"gpa + size beyond 2^{h.max_gpa_bits} (kvm_mmu_max_gfn)")
        return OK

    def record(self, r: Region) -> None:
        """The kernel accepted ``r``: update the slots as it did."""
        if r.size == 0:
            self.slots.pop(r.slot, None)
            return
        old = self.slots.get(r.slot)
        fd = r.fd if r.flags & uapi.KVM_MEM_GUEST_MEMFD else None
        self.slots[r.slot] = _Slot(r.gpa, r.size, r.ua, r.flags, fd if old is None else old.fd,
                                   r.offset if old is None else old.offset)

    def apply(self, r: Region) -> Verdict:
        """Predict, and if accepted, update the model as the kernel would."""
        v = self.predict(r)
        if v.errno == 0:
            self.record(r)
        return v


def create_guest_memfd(size: int, flags: int, supported_flags: int) -> Verdict:
    """``kvm_gmem_create`` / ``kvm_vm_ioctl_guest_memfd``: unknown flags, size 0 or unaligned -> EINVAL."""
    if flags & ~supported_flags:
        return Verdict(errno.EINVAL, f"guest_memfd flags {flags:#x} not in {supported_flags:#x}")
    if size <= 0 or size % PAGE:
        return Verdict(errno.EINVAL, "guest_memfd size 0 or not page aligned")
    return OK
