"""The rule of docs/rules.md: the largest page a guest frame can be mapped with, and why not larger.

Each rule is one kernel check, in the order the x86 fault path meets it:

* ``kvm_mmu_max_mapping_level`` / ``kvm_mmu_hugepage_adjust`` (arch/x86/kvm/mmu/mmu.c) stop at the
  base page for dirty logging, then walk down while ``lpage_info.disallow_lpage`` is set.
  ``kvm_alloc_memslot_metadata`` (arch/x86/kvm/x86.c) sets it for the head and tail frames that stick
  out of the slot and for *every* frame when gpa and userspace_addr disagree below the page size;
  ``hugepage_has_attrs`` adds ``KVM_LPAGE_MIXED_FLAG`` where private and shared frames share a range.
* Shared frames then take the host mapping level (``host_pfn_mapping_level``).
* Private frames (and shared frames of guest_memfd-only slots, ``kvm_memslot_is_gmem_only``) take
  ``kvm_gmem_max_mapping_level``: the folio order guest_memfd reports (``kvm_gmem_get_pfn``; the
  policy says which kernel's rule), capped by the vendor (``gmem_max_mapping_level``: SNP RMP 2M,
  TDX 4K). The folio order comes first: ``kvm_gmem_max_mapping_level`` returns the base page before
  it asks the vendor, so the private rules run 6, 7, 9, 10, 11, 8 and a frame failing both caps
  reports ``folio-cap`` (sizes do not depend on the order, reasons do).

All numbers here are in base frames (``gfn = gpa >> 12`` on x86). Every rule is monotone in the page
size, so the largest size where all hold is found by walking up the ladder until one fails.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass

from gmemtui.core.facts import SlotFacts
from gmemtui.core.units import fmt_size


# One object per rule: identity is equality (coverage looks rules up in tuples on every piece, where
# the generated field-by-field ``__eq__`` compared two lambdas to tell slot-edge from mixed-attributes).
# No generated ``__repr__`` either: every class dataclasses makes costs start-up time (``report``).
@dataclass(frozen=True, eq=False, repr=False)
class Rule:
    """One kernel check of docs/rules.md: when it fails for an aligned block, and why (for ``explain``).

    (A dataclass without a docstring makes one from ``inspect.signature`` at import.)
    """

    number: int
    code: str
    applies: str  # "all", "shared" (ua-backed shared frames) or "gmem" (private / gmem-only shared)
    source: str  # the kernel function it comes from
    plain: str  # one sentence for students
    fails: Callable[[SlotFacts, int, int, bool], bool]  # (facts, aligned start f, frames n, private)
    numbers: Callable[[SlotFacts, int, int, bool], str]  # the values that decide it, for `explain`
    # True when the outcome depends on the aligned block [f, f+n) (rules 2 and 4); every other rule
    # depends only on the slot, the attribute and n, so coverage evaluates it once per slot and size.
    per_block: bool = False
    # Slot-level rules only: the slot's values the rule reads, reduced to what decides it at every
    # ladder size (for either attribute). Slots with equal values share their ``size_steps``.
    reads: Callable[[SlotFacts], object] | None = None


def _cong(a: int, b: int, n: int) -> bool:
    """``a ≡ b (mod n)`` for a power of two n."""
    return (a ^ b) & (n - 1) == 0


def _low_bit(s: SlotFacts, x: int) -> int:
    """The lowest set bit of ``x`` below the largest page (0: none), which decides ``x % n`` at
    every ladder size n: ``x % n == 0`` exactly when the bit is 0 or at least n."""
    x &= s.page_frames[-1] - 1
    return x & -x


# The texts of Rule.numbers speak bytes and page names (what users write), not frames.
def _b(s: SlotFacts, frames: int) -> str:
    """A frame number or count as a byte value in hex."""
    return hex(frames << s.base_shift)


def _sz(s: SlotFacts, frames: int) -> str:
    """A size in frames by name: ``2M``."""
    return fmt_size(frames << s.base_shift)


def _range(s: SlotFacts, lo: int, hi: int) -> str:
    return f"[{_b(s, lo)}, {_b(s, hi)})"


def _vs(s: SlotFacts, what_a: str, a: int, what_b: str, b: int, n: int) -> str:
    """``gpa 0x100000 vs ua 0x7f24afd00000 mod 1G: 0x100000 ≠ 0x2fd00000``."""
    ra, rb = _b(s, a % n), _b(s, b % n)
    return f"{what_a} {_b(s, a)} vs {what_b} {_b(s, b)} mod {_sz(s, n)}: {ra} {'=' if ra == rb else '≠'} {rb}"


def _cap(s: SlotFacts, n: int, what: str, cap: int) -> str:
    return f"{_sz(s, n)} {'>' if n > cap else '≤'} {what} {_sz(s, cap)}"


RULES: tuple[Rule, ...] = (
    Rule(
        1, "log-dirty", "all", "kvm_mmu_hugepage_adjust (kvm_slot_dirty_track_enabled)",
        "Dirty logging tracks writes per base page, so KVM maps the whole slot with base pages.",
        lambda s, f, n, p: s.slot.log_dirty,
        lambda s, f, n, p: "slot has log_dirty" if s.slot.log_dirty else "slot has no log_dirty",
        reads=lambda s: s.slot.log_dirty,
    ),
    Rule(
        2, "slot-edge", "all", "kvm_alloc_memslot_metadata (lpage_info head/tail disallow_lpage)",
        "The aligned block around this frame sticks out of the slot, so one page cannot map it.",
        lambda s, f, n, p: f < s.B or f + n > s.E,
        lambda s, f, n, p: f"{_sz(s, n)} block {_range(s, f, f + n)} "
        + ("sticks out of" if f < s.B or f + n > s.E else "inside") + f" slot {_range(s, s.B, s.E)}",
        per_block=True,
    ),
    Rule(
        3, "ua-misaligned", "all", "kvm_alloc_memslot_metadata (gfn vs ugfn congruence)",
        "Guest address and host virtual address differ below this page size, for the whole slot.",
        lambda s, f, n, p: not _cong(s.B, s.U, n),
        lambda s, f, n, p: _vs(s, "gpa", s.B, "ua", s.U, n),
        reads=lambda s: _low_bit(s, s.B ^ s.U),
    ),
    Rule(
        4, "mixed-attributes", "all", "hugepage_has_attrs (KVM_LPAGE_MIXED_FLAG)",
        "The aligned block holds both private and shared frames; one page cannot be both.",
        lambda s, f, n, p: s.has_private and s.attrs.mixed(f, f + n),
        lambda s, f, n, p: (
            f"{_range(s, f, f + n)} " + ("holds private and shared frames" if s.attrs.mixed(f, f + n)
                                           else "is all " + ("private" if p else "shared"))
            if s.has_private else "VM has no private memory"
        ),
        per_block=True,
    ),
    Rule(
        5, "host-page", "shared", "host_pfn_mapping_level",
        "Shared memory is mapped no larger than the host page behind it (THP is 2M on x86).",
        lambda s, f, n, p: n > s.host_max,
        lambda s, f, n, p: _cap(s, n, "host_max_page", s.host_max),
        reads=lambda s: s.host_max,
    ),
    Rule(
        6, "no-guest-memfd", "gmem", "kvm_faultin_pfn_private (-EFAULT without guest_memfd)",
        "A private frame needs a guest_memfd to back it; this slot has none.",
        lambda s, f, n, p: p and not s.gmem,
        lambda s, f, n, p: f"slot has guest_memfd {s.slot.gmem}" if s.gmem else "slot has no guest_memfd",
        reads=lambda s: s.gmem,
    ),
    Rule(
        7, "gmem-4k-only", "gmem", "kvm_gmem_get_pfn (merged guest_memfd reports order 0)",
        "Mainline guest_memfd only hands out base pages (policy mainline, alias 4k-only).",
        lambda s, f, n, p: s.policy == "mainline",
        lambda s, f, n, p: f"policy {s.policy}",
        reads=lambda s: s.policy,
    ),
    Rule(
        9, "folio-cap", "gmem", "kvm_gmem_get_pfn (max_order = folio order)",
        "The guest_memfd file cannot allocate a folio (huge page) this large.",
        lambda s, f, n, p: n > s.folio_max,
        lambda s, f, n, p: _cap(s, n, f"guest_memfd {s.slot.gmem} max_page", s.folio_max)
        if s.gmem else "slot has no guest_memfd",
        reads=lambda s: s.folio_max,
    ),
    Rule(
        10, "whole-binding", "gmem", "kvm_gmem_get_pfn ([PATCH 06/13] whole-binding check)",
        "This kernel only uses huge folios when the whole binding (offset and size) is aligned.",
        lambda s, f, n, p: s.policy == "whole-binding" and (s.O % n != 0 or s.P % n != 0),
        lambda s, f, n, p: f"offset {_b(s, s.O)} size {_b(s, s.P)} mod {_sz(s, n)}: "
        f"{_b(s, s.O % n)}, {_b(s, s.P % n)}"
        + ("" if s.policy == "whole-binding" else f" (policy {s.policy}: not checked)"),
        reads=lambda s: _low_bit(s, s.O | s.P) if s.policy == "whole-binding" else None,
    ),
    Rule(
        11, "offset-misaligned", "gmem", "kvm_gmem_get_pfn / kvm_mmu_hugepage_adjust (gfn vs index)",
        "Guest frame and file offset differ below this size, so no aligned folio can back the block.",
        lambda s, f, n, p: not _cong(s.B, s.O, n),
        lambda s, f, n, p: _vs(s, "gpa", s.B, "offset", s.O, n),
        reads=lambda s: _low_bit(s, s.B ^ s.O),
    ),
    Rule(
        8, "platform-cap", "gmem",
        "gmem_max_mapping_level (SEV-SNP RMP 2M, TDX 4K), asked after the folio order",
        "The confidential-computing hardware caps private pages at this size.",
        lambda s, f, n, p: p and n > s.private_max,
        lambda s, f, n, p: (_cap(s, n, "private_max_page", s.private_max) if s.private_cap
                            else "no vendor cap on this arch") if p else "shared frame: no vendor cap",
        reads=lambda s: s.private_max,
    ),
)

RULE_BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}

# Where the other architectures make the same check (``Rule.source`` names x86's function). arm64:
# arch/arm64/kvm/mmu.c; riscv64: arch/riscv/kvm/mmu.c (Linux 7.0). Rules not listed have no
# counterpart there, or are the generic guest_memfd code (virt/kvm/guest_memfd.c).
ARCH_SOURCES: dict[str, dict[int, str]] = {
    "arm64": {
        1: "user_mem_abort (memslot_is_logging: force_pte)",
        2: "fault_supports_stage2_huge_mapping (block inside the memslot)",
        3: "fault_supports_stage2_huge_mapping (gpa vs uaddr congruence)",
        4: "none on arm64 (no memory attributes: CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES not selected)",
        5: "transparent_hugepage_adjust (THP: the PMD size only), get_vma_page_shift (hugetlbfs)",
        7: "gmem_abort (maps PAGE_SIZE; kvm_gmem_get_pfn reports order 0)",
        8: "none on arm64 (no vendor cap)",
    },
    "riscv64": {
        1: "kvm_riscv_mmu_map (dirty logging maps PAGE_SIZE)",
        2: "fault_supports_gstage_huge_mapping (block inside the memslot)",
        3: "fault_supports_gstage_huge_mapping (gpa vs hva congruence)",
        5: "kvm_riscv_mmu_map (THP adjust to the PMD size, Linux 7.0)",
        8: "none on riscv64 (no vendor cap)",
    },
}


def source_for(rule: Rule, arch: str) -> str:
    """The kernel function that makes the rule's check on ``arch`` (x86's by default)."""
    family = "arm64" if arch.startswith("arm64") else arch
    return ARCH_SOURCES.get(family, {}).get(rule.number, rule.source)
_SLOT_LEVEL: tuple[Rule, ...] = tuple(r for r in RULES if not r.per_block)
assert all(r.reads is not None for r in _SLOT_LEVEL), "a slot-level rule must declare what it reads"
REASON_CODES: tuple[str, ...] = tuple(r.code for r in RULES)


def rules_for(uses_gmem: bool, private: bool) -> tuple[Rule, ...]:
    """The rules checked for a frame (docs/rules.md's three tables), in order.

    ``uses_gmem``: the frame is private, or its slot is guest_memfd-only (``kvm_memslot_is_gmem_only``).
    """
    if not uses_gmem:
        return tuple(r for r in RULES if r.applies in ("all", "shared"))
    # shared frames of a guest_memfd-only slot: rules 7 and 9-11 only
    return tuple(r for r in RULES if r.applies == "all" or (r.applies == "gmem" and
                                                             (private or r.number in (7, 9, 10, 11))))


_APPLICABLE: dict[tuple[bool, bool], tuple[Rule, ...]] = {
    (u, p): rules_for(u, p) for u in (False, True) for p in (False, True)
}


def applicable(facts: SlotFacts, private: bool) -> tuple[Rule, ...]:
    """The rules checked for a frame of this slot with this attribute, in order."""
    return _APPLICABLE[facts.uses_gmem(private), private]


def applies(rule: Rule, facts: SlotFacts, private: bool) -> bool:
    """Whether a rule is checked for a frame with this attribute (docs/rules.md's three tables)."""
    return rule in applicable(facts, private)


class SizeStep(namedtuple("SizeStep", "frames block_rules stop")):
    """How to decide one size above the base page for the frames of one slot and attribute.

    ``frames`` (int) is the size in base pages; ``block_rules`` (tuple of Rule) are the per-block
    rules (2, 4) that come before ``stop``, the first slot-level rule that fails at this size (a
    Rule, or None: none fails). A block's first failure is the first failing rule of
    ``block_rules``, else ``stop``: the same answer as walking every rule in order. (A plain
    ``collections.namedtuple``: ``typing.NamedTuple`` would cost every command 3 ms of import.)
    """

    __slots__ = ()


def _split(rules: tuple[Rule, ...]) -> tuple[tuple[tuple[int, Rule], ...], tuple[tuple[Rule, ...], ...]]:
    """(slot-level rules with their positions, per-block rules before each position 0..len)."""
    slot_level = tuple((i, r) for i, r in enumerate(rules) if not r.per_block)
    before = tuple(tuple(r for r in rules[:i] if r.per_block) for i in range(len(rules) + 1))
    return slot_level, before


_SPLIT = {key: _split(rules) for key, rules in _APPLICABLE.items()}


def size_steps(facts: SlotFacts, private: bool) -> tuple[SizeStep, ...]:
    """The slot-level rules evaluated once for this slot and attribute, one step per size above the base.

    Walks the sizes from the largest down: a rule that holds at a size holds at every smaller one
    (every rule is monotone, docs/rules.md), so each smaller size resumes at the rule that stopped the
    larger one and every rule is evaluated about once.
    """
    key = (facts.uses_gmem(private), private)
    slot_level, before = _SPLIT[key]
    steps: list[SizeStep] = []
    j = 0  # slot-level rules before index j hold at every size still to come
    end = len(_APPLICABLE[key])
    for n in reversed(facts.page_frames[1:]):
        stop, pos = None, end
        while j < len(slot_level):
            i, rule = slot_level[j]
            if rule.fails(facts, 0, n, private):  # slot-level: f unused
                stop, pos = rule, i
                break
            j += 1
        steps.append(SizeStep(n, before[pos], stop))
    steps.reverse()
    return tuple(steps)


def plain_steps_key(facts: SlotFacts) -> tuple:
    """What ``size_steps(facts, private)`` depends on besides ``private``: slots with equal keys get
    equal steps. The ladder, the rule table (``gmem_only``) and what each slot-level rule reads."""
    return (facts.page_frames, facts.gmem_only, *[r.reads(facts) for r in _SLOT_LEVEL])


def _unrolled(reads: tuple[Callable[[SlotFacts], object], ...]) -> Callable[[SlotFacts], tuple]:
    """``plain_steps_key`` as one expression that calls each rule's ``reads`` in line, made from
    source as ``namedtuple`` makes its methods: compute() asks it for every slot, and the loop over
    the nine functions and the unpacking cost 1.7x (52 against 30 ms at 32,763 slots)."""
    names = [f"r{i}" for i in range(len(reads))]
    calls = "".join(f"{n}(s), " for n in names)
    return eval(f"lambda {', '.join(names)}: lambda s: (s.page_frames, s.gmem_only, {calls})")(*reads)


steps_key = _unrolled(tuple(r.reads for r in _SLOT_LEVEL))
steps_key.__doc__ = plain_steps_key.__doc__


def frame_verdict(facts: SlotFacts, g: int, private: bool | None = None) -> tuple[int, str | None]:
    """(ladder index of the largest page, reason code) for frame g of the slot."""
    if private is None:
        private = facts.attrs.private_at(facts.slot, g)
    rules = applicable(facts, private)
    for k in range(1, len(facts.page_frames)):
        n = facts.page_frames[k]
        f = g - g % n
        for rule in rules:
            if rule.fails(facts, f, n, private):
                return k - 1, rule.code
    return len(facts.page_frames) - 1, None
