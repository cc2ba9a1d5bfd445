"""The tiny guest of ``check --levels``: 64-bit code at CPL3 that touches one byte per base page.

Why this shape (measured on kvm_pvm, see docs/kvm-check.md): PVM runs a guest
natively only in long mode at CPL3 (CS 0x33, data 0x2b, DPL 3) with the U/S bit on every paging
level and RFLAGS.IOPL=3 so ``out`` works; real mode or CPL0 code is emulated and maps nothing, and
HLT at CPL3 triple-faults. Under shadow paging the guest's own page size caps KVM's, so the guest
maps each touched block with one large PDE (the ladder's second size, 2M on x86).

The guest's page tables, code and touch table live in a private slot of its own ("code slot"),
at a large-page-aligned gpa away from the layout, identity mapped. Touched layout memory is mapped
at packed virtual addresses (one large page per touched gpa block), so any gpa below the guest's
MAXPHYADDR can be touched whatever its size.
"""

from __future__ import annotations

import ctypes
import fcntl
import mmap
import os
import signal
import threading
from dataclasses import dataclass

from gmemtui.kvm import uapi
from gmemtui.kvm.vm import Vm

# See the module docstring; assembled from (Intel syntax):
#   movabs rsi, TABLE        ; entries of (va, pages, write), pages 0 ends the table
# next: mov rdi,[rsi]; mov rcx,[rsi+8]; test rcx,rcx; jz done; cmp qword [rsi+16],0; je rd
# wr:   mov [rdi],al; add rdi,0x1000; dec rcx; jnz wr; jmp adv
# rd:   mov al,[rdi]; add rdi,0x1000; dec rcx; jnz rd
# adv:  add rsi,24; jmp next
# done: movabs rdi, DONE; mov [rdi],al; jmp done
# ``DONE`` is a gpa with no slot: the write ends the run as KVM_EXIT_MMIO on every KVM flavour
# (``out`` needs IOPL 3, which PVM does not keep for a CPL3 guest: measured, #GP -> SHUTDOWN).
_CODE = bytes.fromhex(
    "48be8877665544332211488b3e488b4e084885c9742b48837e1000741088074881c70010000048ffc975f2eb0e"
    "8a074881c70010000048ffc975f24883c618ebc948bf00ffeeddccbbaa998807ebf2"
)
_TABLE_IMM = 2  # offsets of the movabs immediates
_DONE_IMM = 0x43

PTE_P, PTE_RW, PTE_US, PTE_A, PTE_D, PTE_PS = 0x1, 0x2, 0x4, 0x20, 0x40, 0x80
TABLE_FLAGS = PTE_P | PTE_RW | PTE_US | PTE_A
LEAF_FLAGS = TABLE_FLAGS | PTE_D | PTE_PS
WINDOW_VA = 1 << 39  # PML4 entry 1: the packed touch window (the code slot is below 2^39)
MAX_BLOCKS = 512 * 512  # one PDPT of PDs
PAGE = 4096


@dataclass(frozen=True)
class Touch:
    """Guest-physical memory the guest touches, one byte per base page; ``write`` false = read."""

    gpa: int
    size: int
    write: bool = True


@dataclass(frozen=True)
class GuestResult:
    ok: bool
    message: str  # why not, when not ok


def code_slot_size(touches: list[Touch], block: int) -> int:
    """Bytes the code slot needs for code, page tables and the touch table."""
    blocks = len({g for t in touches for g in range(t.gpa - t.gpa % block, t.gpa + t.size, block)})
    pieces = sum(len(range(t.gpa - t.gpa % block, t.gpa + t.size, block)) for t in touches)
    pds = -(-blocks // 512)
    table = (pieces + 1) * 24
    return PAGE * (4 + 1 + pds) + -(-table // PAGE) * PAGE


def supported_cpuid(kvm_fd: int) -> bytes | None:
    """KVM_GET_SUPPORTED_CPUID as a kvm_cpuid2 buffer, or None."""
    n = 128
    esize = ctypes.sizeof(uapi.kvm_cpuid_entry2)
    hsize = ctypes.sizeof(uapi.kvm_cpuid2)
    while n <= 4096:
        buf = bytearray(hsize + n * esize)
        uapi.kvm_cpuid2.from_buffer(buf).nent = n
        try:
            fcntl.ioctl(kvm_fd, uapi.KVM_GET_SUPPORTED_CPUID, buf)
        except OSError as e:
            if e.errno == 7:  # E2BIG
                n *= 2
                continue
            return None
        nent = uapi.kvm_cpuid2.from_buffer(buf).nent
        return bytes(buf[: hsize + nent * esize])
    return None


def guest_phys_bits(cpuid: bytes | None) -> int:
    """MAXPHYADDR the guest sees (CPUID 0x80000008 EAX[7:0]); KVM assumes 36 without that leaf."""
    if cpuid:
        esize = ctypes.sizeof(uapi.kvm_cpuid_entry2)
        hsize = ctypes.sizeof(uapi.kvm_cpuid2)
        for i in range((len(cpuid) - hsize) // esize):
            e = uapi.kvm_cpuid_entry2.from_buffer_copy(cpuid, hsize + i * esize)
            if e.function == 0x80000008:
                return e.eax & 0xFF
    return 36


class _Timeout(Exception):
    pass


def run_guest(vm: Vm, code_gpa: int, code_ua: int, code_size: int, touches: list[Touch], block: int,
              cpuid: bytes | None, timeout: float = 60.0) -> GuestResult:
    """Build the guest in the code slot's host memory (at ``code_ua``), run it to its "done" write."""
    # --- memory image of the code slot: code, PML4, PDPT0, PD0, PDPT1, PDs, table ---
    mem = (ctypes.c_char * code_size).from_address(code_ua)

    def put64(off: int, value: int) -> None:
        ctypes.c_uint64.from_address(code_ua + off).value = value

    code_off, pml4_off, pdpt0_off, pd0_off, pdpt1_off = 0, PAGE, 2 * PAGE, 3 * PAGE, 4 * PAGE
    blocks = sorted({g for t in touches for g in range(t.gpa - t.gpa % block, t.gpa + t.size, block)})
    index = {g: i for i, g in enumerate(blocks)}
    pds = -(-len(blocks) // 512)
    pd1_off = 5 * PAGE
    table_off = pd1_off + pds * PAGE
    ctypes.memset(code_ua, 0, code_size)
    mem[code_off:code_off + len(_CODE)] = _CODE
    put64(code_off + _TABLE_IMM, code_gpa + table_off)
    # identity map of the code slot's large page and of the slot-less "done" page after it
    # (code_gpa is aligned to 4 blocks, so both PDEs are in the same PD)
    done_gpa = code_gpa + block
    put64(code_off + _DONE_IMM, done_gpa)
    put64(pml4_off, (code_gpa + pdpt0_off) | TABLE_FLAGS)
    put64(pdpt0_off + 8 * ((code_gpa // (block * 512)) % 512), (code_gpa + pd0_off) | TABLE_FLAGS)
    put64(pd0_off + 8 * ((code_gpa // block) % 512), code_gpa | LEAF_FLAGS)
    put64(pd0_off + 8 * ((done_gpa // block) % 512), done_gpa | LEAF_FLAGS)
    # the packed window: block i at WINDOW_VA + i * block
    put64(pml4_off + 8 * ((WINDOW_VA >> 39) & 511), (code_gpa + pdpt1_off) | TABLE_FLAGS)
    for k in range(pds):
        put64(pdpt1_off + 8 * k, (code_gpa + pd1_off + k * PAGE) | TABLE_FLAGS)
    for i, g in enumerate(blocks):
        put64(pd1_off + 8 * i, g | LEAF_FLAGS)
    off = table_off
    for t in touches:
        g = t.gpa
        while g < t.gpa + t.size:
            blk = g - g % block
            end = min(t.gpa + t.size, blk + block)
            va = WINDOW_VA + index[blk] * block + (g - blk)
            put64(off, va)
            put64(off + 8, (end - g) // PAGE)
            put64(off + 16, 1 if t.write else 0)
            off += 24
            g = end
    # --- vCPU ---

    vcpu = fcntl.ioctl(vm.fd, uapi.KVM_CREATE_VCPU, 0)
    run_map = None
    try:
        size = fcntl.ioctl(vm.kvm.fd, uapi.KVM_GET_VCPU_MMAP_SIZE)
        run_map = mmap.mmap(vcpu, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        if cpuid is not None:
            try:
                fcntl.ioctl(vcpu, uapi.KVM_SET_CPUID2, bytearray(cpuid))
            except OSError as e:
                if blocks and blocks[-1] + block > 1 << 36:  # KVM's MAXPHYADDR without CPUID
                    return GuestResult(False, f"KVM_SET_CPUID2 failed ({e.strerror}): memory above 2^36 "
                                       "cannot be touched")
        sregs = uapi.kvm_sregs()
        fcntl.ioctl(vcpu, uapi.KVM_GET_SREGS, sregs)
        for name in ("ds", "es", "fs", "gs", "ss"):
            seg = getattr(sregs, name)
            seg.base, seg.limit, seg.selector, seg.type = 0, 0xFFFFFFFF, 0x2B, 3
            seg.present, seg.dpl, seg.db, seg.s, seg.l, seg.g, seg.unusable = 1, 3, 1, 1, 0, 1, 0
        cs = sregs.cs
        cs.base, cs.limit, cs.selector, cs.type = 0, 0xFFFFFFFF, 0x33, 11
        cs.present, cs.dpl, cs.db, cs.s, cs.l, cs.g, cs.unusable = 1, 3, 0, 1, 1, 1, 0
        sregs.cr0 = 0x80010033  # PG | WP | NE | ET | MP | PE
        sregs.cr4 = 0x20  # PAE
        sregs.efer = 0x500  # LMA | LME
        sregs.cr3 = code_gpa + pml4_off
        fcntl.ioctl(vcpu, uapi.KVM_SET_SREGS, sregs)
        regs = uapi.kvm_regs()
        regs.rip = code_gpa + code_off
        regs.rflags = 0x3002  # IOPL 3, reserved bit 1
        fcntl.ioctl(vcpu, uapi.KVM_SET_REGS, regs)
        return _run(vcpu, run_map, timeout, done_gpa)
    finally:
        if run_map is not None:
            run_map.close()
        os.close(vcpu)


def _run(vcpu: int, run_map: mmap.mmap, timeout: float, done_gpa: int) -> GuestResult:

    use_timer = threading.current_thread() is threading.main_thread()
    old = None
    if use_timer:
        def on_alarm(signum: int, frame: object) -> None:
            raise _Timeout()

        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        while True:
            try:
                fcntl.ioctl(vcpu, uapi.KVM_RUN, 0)
            except _Timeout:
                return GuestResult(False, f"guest did not finish within {timeout:g} s")
            except OSError as e:
                if e.errno == 4:  # EINTR
                    continue
                return GuestResult(False, f"KVM_RUN failed: {os.strerror(e.errno or 0)}"
                                   + (" (a slot's host memory is not mapped?)" if e.errno == 14 else ""))
            r0, u0 = uapi.KVM_RUN_EXIT_REASON_OFFSET, uapi.KVM_RUN_UNION_OFFSET
            reason = int.from_bytes(run_map[r0:r0 + 4], "little")
            if reason == uapi.KVM_EXIT_INTR:
                continue
            extra = ""
            if reason == uapi.KVM_EXIT_MMIO:
                gpa = int.from_bytes(run_map[u0:u0 + 8], "little")  # kvm_run.mmio.phys_addr
                if gpa == done_gpa:
                    return GuestResult(True, "")
                extra = f" at gpa {gpa:#x}"
            if reason == uapi.KVM_EXIT_INTERNAL_ERROR:
                extra = f" suberror {int.from_bytes(run_map[u0:u0 + 4], 'little')}"
            return GuestResult(False, f"guest exit {uapi.EXIT_NAMES.get(reason, reason)}{extra}")
    finally:
        if use_timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


__all__ = ["Touch", "GuestResult", "run_guest", "code_slot_size", "supported_cpuid", "guest_phys_bits"]
