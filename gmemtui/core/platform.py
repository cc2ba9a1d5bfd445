"""The platform table: each architecture's page-size ladder and what its KVM supports, as data.

Nothing outside this module may hard-code a mapping size (docs/rules.md, docs/architectures.md).

* x86-64 maps guest memory with 4K PTEs, 2M PDEs and 1G PDPTEs (``arch/x86/kvm/mmu/mmu.c``,
  ``KVM_MAX_HUGEPAGE_LEVEL``).
* arm64 maps stage 2 with the host's granule: PAGE_SIZE, and the block sizes of
  ``KVM_PGTABLE_MIN_BLOCK_LEVEL`` upwards (``arch/arm64/include/asm/kvm_pgtable.h``): 4K/2M/1G with
  4K pages; 16K/32M and 64K/512M with 16K and 64K pages (their level-1 blocks, 64G and 4T, need
  LPA2/52-bit PA and are not used). ``user_mem_abort`` / ``fault_supports_stage2_huge_mapping`` in
  ``arch/arm64/kvm/mmu.c``. No memory attributes (``CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES`` is not
  selected), and ``gmem_abort`` serves every access of a guest_memfd slot from the file.
* riscv64 maps the G-stage with 4K/2M/1G (``fault_supports_gstage_huge_mapping``,
  ``arch/riscv/kvm/mmu.c``, Linux 7.0).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSize:
    """One rung of the ladder: a name like ``2M`` and its size as a power of two."""

    name: str
    shift: int

    @property
    def bytes(self) -> int:
        return 1 << self.shift


@dataclass(frozen=True)
class Platform:
    """What the rules need to know about an architecture."""

    arch: str
    ladder: tuple[PageSize, ...]  # smallest first; ladder[0] is the base page
    max_slot_id: int  # KVM_USER_MEM_SLOTS - 1
    address_spaces: int  # KVM_ADDRESS_SPACE_NUM (x86: 2, the second for SMM)
    gpa_bits: int  # guest-physical addresses stay below 2**gpa_bits
    # per-gfn PRIVATE attributes (KVM_SET_MEMORY_ATTRIBUTES): rule 4 and the ``private:`` list
    memory_attributes: bool = True
    # every guest_memfd slot is guest_memfd-only (arm64 gmem_abort: shared accesses use the file too)
    gmem_only: bool = False
    # a vendor cap on private pages (x86 gmem_max_mapping_level: SEV-SNP, TDX); rule 8 and
    # ``private_max_page`` exist only where this is set
    private_cap: bool = True
    kernel: str = ""  # the kernel functions the ladder and checks come from (for docs and help)

    @property
    def base(self) -> PageSize:
        return self.ladder[0]

    @property
    def base_shift(self) -> int:
        return self.ladder[0].shift

    @property
    def largest(self) -> PageSize:
        return self.ladder[-1]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.ladder)

    def frames(self, page: PageSize) -> int:
        """Base frames per page of this size (x86: 1, 512, 262144)."""
        return 1 << (page.shift - self.base_shift)

    def page(self, name_or_bytes: str | int) -> PageSize:
        """The ladder rung named ``2M`` / ``2m`` / ``2MiB`` or of that many bytes; KeyError if none."""
        if isinstance(name_or_bytes, int):
            for p in self.ladder:
                if p.bytes == name_or_bytes:
                    return p
            raise KeyError(name_or_bytes)
        text = name_or_bytes.strip().upper()
        for suffix in ("IB", "B"):
            if text.endswith(suffix) and len(text) > len(suffix) + 1:
                text = text[: -len(suffix)]
                break
        for p in self.ladder:
            if p.name == text:
                return p
        raise KeyError(name_or_bytes)

    def name_of(self, nbytes: int) -> str:
        return self.page(nbytes).name

    @property
    def second(self) -> PageSize:
        """The first size above the base page: the PMD, what THP gives (``host_max_page``'s default)."""
        return self.ladder[min(1, len(self.ladder) - 1)]

    def rung(self, nbytes: int) -> int:
        """The ladder index of a size in bytes (KeyError if not on the ladder)."""
        return self.ladder.index(self.page(nbytes))

    def same_rung(self, nbytes: int, other: Platform) -> int:
        """The size at the rung that ``nbytes`` has on ``other``'s ladder, on this ladder (the largest
        if this one is shorter): what a page size of one arch means on another (PMD -> PMD)."""
        return self.ladder[min(other.rung(nbytes), len(self.ladder) - 1)].bytes


def _ladder(*names: str) -> tuple[PageSize, ...]:
    shifts = {"K": 10, "M": 20, "G": 30}
    return tuple(PageSize(n, int(n[:-1]).bit_length() - 1 + shifts[n[-1]]) for n in names)


X86_64 = Platform(
    arch="x86_64",
    ladder=_ladder("4K", "2M", "1G"),
    max_slot_id=32763,  # KVM_USER_MEM_SLOTS = 32764 (arch/x86/include/asm/kvm_host.h)
    address_spaces=2,
    gpa_bits=52,
    kernel="arch/x86/kvm/mmu/mmu.c: kvm_mmu_hugepage_adjust, kvm_mmu_max_mapping_level, "
    "kvm_gmem_max_mapping_level; arch/x86/kvm/x86.c: kvm_alloc_memslot_metadata",
)


def _arm64(granule: str, *ladder: str) -> Platform:
    return Platform(
        arch=f"arm64-{granule.lower()}",
        ladder=_ladder(*ladder),
        max_slot_id=32766,  # KVM_USER_MEM_SLOTS = SHRT_MAX (include/linux/kvm_host.h default)
        address_spaces=1,
        gpa_bits=52,  # the largest IPA size (LPA / LPA2); KVM_VM_TYPE_ARM_IPA_SIZE may lower it
        memory_attributes=False,
        gmem_only=True,
        private_cap=False,
        kernel="arch/arm64/kvm/mmu.c: user_mem_abort, fault_supports_stage2_huge_mapping, "
        "transparent_hugepage_adjust, gmem_abort",
    )


ARM64_4K = _arm64("4K", "4K", "2M", "1G")
ARM64_16K = _arm64("16K", "16K", "32M")  # the 64G level-1 block needs LPA2: not used by KVM
ARM64_64K = _arm64("64K", "64K", "512M")  # the 4T level-1 block needs 52-bit PA: not used by KVM
RISCV64 = Platform(
    arch="riscv64",
    ladder=_ladder("4K", "2M", "1G"),  # 512G (Sv48x4) and 256T (Sv57x4) only from hugetlb/PFNMAP
    max_slot_id=32766,  # KVM_USER_MEM_SLOTS = SHRT_MAX (include/linux/kvm_host.h default)
    address_spaces=1,
    gpa_bits=59,  # Sv57x4: 57 + 2 bits of guest-physical address
    private_cap=False,
    kernel="arch/riscv/kvm/mmu.c: kvm_riscv_mmu_map, fault_supports_gstage_huge_mapping (Linux 7.0)",
)

PLATFORMS: dict[str, Platform] = {p.arch: p for p in (X86_64, ARM64_4K, ARM64_16K, ARM64_64K, RISCV64)}
DEFAULT_ARCH = X86_64.arch
