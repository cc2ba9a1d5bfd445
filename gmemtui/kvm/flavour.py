"""Which KVM this is (kvm_intel, kvm_amd, kvm_pvm; TDP or shadow paging) and what it offers.

The flavour changes answers: ``kvm_mmu_max_gfn`` (arch/x86/kvm/mmu/mmu.c) is 2^52 under shadow
paging and the host MAXPHYADDR with TDP; PVM is always shadow paging.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from gmemtui.kvm import uapi
from gmemtui.kvm.vm import Kvm


def _param(module: str, name: str) -> str | None:
    try:
        with open(f"/sys/module/{module}/parameters/{name}") as f:
            return f.read().strip()
    except OSError:
        return None


def _cpuinfo_bits() -> tuple[int, int]:
    """(physical, virtual) address bits of the host CPU."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return 46, 48
    m = re.search(r"address sizes\s*:\s*(\d+) bits physical, (\d+) bits virtual", text)
    return (int(m.group(1)), int(m.group(2))) if m else (46, 48)


@dataclass(frozen=True)
class Flavour:
    module: str  # kvm_intel, kvm_amd, kvm_pvm or unknown
    tdp: bool  # two-dimensional paging (EPT/NPT); False = shadow paging
    tdp_mmu: str  # /sys/module/kvm/parameters/tdp_mmu
    kernel: str
    phys_bits: int
    virt_bits: int
    caps: dict  # capability name -> KVM_CHECK_EXTENSION answer

    @property
    def max_gpa_bits(self) -> int:
        return self.phys_bits if self.tdp else 52

    @property
    def user_va_end(self) -> int:
        """TASK_SIZE_MAX: the end of user virtual addresses (``access_ok``)."""
        return (1 << (self.virt_bits - 1)) - 4096

    @property
    def address_spaces(self) -> int:
        return max(1, self.caps.get("MULTI_ADDRESS_SPACE", 0))

    def describe(self) -> str:
        paging = "TDP" if self.tdp else "shadow paging"
        return f"{self.module} ({paging}, tdp_mmu={self.tdp_mmu}), Linux {self.kernel}"


CAPS = ("NR_MEMSLOTS", "READONLY_MEM", "MULTI_ADDRESS_SPACE", "BINARY_STATS_FD", "USER_MEMORY2",
        "MEMORY_ATTRIBUTES", "GUEST_MEMFD", "GUEST_MEMFD_FLAGS", "PRE_FAULT_MEMORY", "VM_TYPES")


def detect(kvm: Kvm) -> Flavour:
    if os.path.isdir("/sys/module/kvm_pvm"):
        module, tdp = "kvm_pvm", False
    elif os.path.isdir("/sys/module/kvm_intel"):
        module, tdp = "kvm_intel", (_param("kvm_intel", "ept") or "N") in ("Y", "1")
    elif os.path.isdir("/sys/module/kvm_amd"):
        module, tdp = "kvm_amd", (_param("kvm_amd", "npt") or "0") in ("Y", "1")
    else:
        module, tdp = "unknown", False
    phys, virt = _cpuinfo_bits()
    caps = {name: kvm.cap(getattr(uapi, "KVM_CAP_" + name)) for name in CAPS}
    return Flavour(module, tdp, _param("kvm", "tdp_mmu") or "?", os.uname().release, phys, virt, caps)


def host_arch(machine: str | None = None, page_size: int | None = None) -> str | None:
    """This host's arch as the platform table names it (``x86_64``, ``arm64-64k``, ``riscv64``), or
    None for one gmemtui does not model. On arm64 the stage-2 granule is the host's page size."""
    import platform

    machine = machine if machine is not None else platform.machine()
    if machine in ("x86_64", "amd64", "AMD64"):
        return "x86_64"
    if machine in ("aarch64", "arm64"):
        size = page_size if page_size is not None else os.sysconf("SC_PAGE_SIZE")
        return {4096: "arm64-4k", 16384: "arm64-16k", 65536: "arm64-64k"}.get(size)
    if machine == "riscv64":
        return "riscv64"
    return None
