"""The platform table: each architecture's page-size ladder, as data.

Nothing outside this module may hard-code a mapping size (docs/rules.md). x86-64 maps guest memory
with 4K PTEs, 2M PDEs and 1G PDPTEs (``arch/x86/kvm/mmu/mmu.c``, ``KVM_MAX_HUGEPAGE_LEVEL``).
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


X86_64 = Platform(
    arch="x86_64",
    ladder=(PageSize("4K", 12), PageSize("2M", 21), PageSize("1G", 30)),
    max_slot_id=32763,  # KVM_USER_MEM_SLOTS = 32764 (arch/x86/include/asm/kvm_host.h)
    address_spaces=2,
    gpa_bits=52,
)

PLATFORMS: dict[str, Platform] = {X86_64.arch: X86_64}
DEFAULT_ARCH = X86_64.arch
