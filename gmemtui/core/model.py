"""The layout as values: frozen dataclasses, so an edit returns a new layout (undo keeps old ones).

Everything is in bytes, as the user writes it; the rules convert to frames. ``line`` fields remember
where a value came from (for ``FILE:LINE`` messages and for saving) and take no part in equality.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property

from gmemtui.core.errors import InputError
from gmemtui.core.platform import PLATFORMS, Platform

POLICIES = ("per-range", "whole-binding", "mainline")
DEFAULT_POLICY = "per-range"
# Older spellings read as the policy they name: files, ``--policy`` and the TUI accept them, and a
# layout holds the canonical name (saving rewrites the file's word only when the policy changed).
POLICY_ALIASES = {"4k-only": "mainline"}
POLICY_NAMES = POLICIES + tuple(POLICY_ALIASES)  # every accepted spelling
# What each policy models, for people (JSON keeps the bare name).
POLICY_MODELS = {
    "per-range": "posted patches",
    "whole-binding": "Sep 2023 patch",
    "mainline": "Linux 6.8–7.0",
}


def canonical_policy(name: str) -> str:
    """``4k-only`` -> ``mainline``; any other name unchanged (unknown names are validate's job)."""
    return POLICY_ALIASES.get(name, name)


def policy_title(name: str) -> str:
    """``mainline (Linux 6.8–7.0)``: the policy with what it models."""
    name = canonical_policy(name)
    return f"{name} ({POLICY_MODELS[name]})" if name in POLICY_MODELS else name

# include/uapi/linux/kvm.h
KVM_MEM_LOG_DIRTY_PAGES = 1 << 0
KVM_MEM_READONLY = 1 << 1
KVM_MEM_GUEST_MEMFD = 1 << 2
FLAG_NAMES = {"log_dirty": KVM_MEM_LOG_DIRTY_PAGES, "readonly": KVM_MEM_READONLY}


def flag_names(flags: int) -> list[str]:
    """The named flags set in a KVM flag mask (the guest_memfd bit is shown as a binding instead)."""
    return [name for name, bit in FLAG_NAMES.items() if flags & bit]


@dataclass(frozen=True)
class GmemFile:
    """A guest_memfd file: ``KVM_CREATE_GUEST_MEMFD`` with its size and the largest folio it can use."""

    id: int
    size: int | None = None  # bytes; None: end of the furthest binding (docs/formats.md)
    max_page: int = 1 << 21  # bytes; largest folio
    mmap: bool = False  # created with GUEST_MEMFD_FLAG_MMAP
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Slot:
    """A memslot: ``KVM_SET_USER_MEMORY_REGION2`` arguments, in bytes."""

    slot: int
    gpa: int
    size: int
    ua: int
    as_: int = 0
    flags: int = 0  # log_dirty / readonly bits; the guest_memfd bit follows ``gmem``
    gmem: int | None = None  # guest_memfd file id
    offset: int = 0  # guest_memfd_offset
    name: str | None = None
    line: int = field(default=0, compare=False)

    @property
    def end(self) -> int:
        return self.gpa + self.size

    @property
    def key(self) -> tuple[int, int]:
        return (self.as_, self.slot)

    @property
    def log_dirty(self) -> bool:
        return bool(self.flags & KVM_MEM_LOG_DIRTY_PAGES)

    @property
    def readonly(self) -> bool:
        return bool(self.flags & KVM_MEM_READONLY)

    @property
    def kvm_flags(self) -> int:
        """The flags word KVM sees (guest_memfd bit included)."""
        return self.flags | (KVM_MEM_GUEST_MEMFD if self.gmem is not None else 0)


@dataclass(frozen=True)
class PrivateRange:
    """A range of PRIVATE frames (``KVM_SET_MEMORY_ATTRIBUTES``), in bytes."""

    gpa: int
    size: int
    line: int = field(default=0, compare=False)

    @property
    def end(self) -> int:
        return self.gpa + self.size


@dataclass(frozen=True)
class Warning_:
    """A finding that does not stop the computation (docs/formats.md)."""

    message: str
    as_: int | None = None
    slot: int | None = None
    line: int | None = None


@dataclass(frozen=True)
class Layout:
    """A VM's memory: its slots, guest_memfd files and private ranges, and the settings the rules read."""

    slots: tuple[Slot, ...]
    files: tuple[GmemFile, ...] = ()
    private: tuple[PrivateRange, ...] | None = None  # None: the default attributes of docs/formats.md
    name: str | None = None
    arch: str = "x86_64"
    policy: str = DEFAULT_POLICY
    host_max_page: int = 1 << 21
    private_max_page: int = 1 << 30
    # warnings found while reading (e.g. a trace deleting a slot it never made); others are derived
    notes: tuple[Warning_, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.policy in POLICY_ALIASES:  # read an alias as the policy it names
            object.__setattr__(self, "policy", POLICY_ALIASES[self.policy])
        plat = PLATFORMS.get(self.arch)
        if plat is not None and not plat.private_cap and self.private_max_page != plat.largest.bytes:
            # no vendor cap on this arch: the value means nothing, so it holds one value (no cap)
            object.__setattr__(self, "private_max_page", plat.largest.bytes)

    @property
    def platform(self) -> Platform:
        return PLATFORMS[self.arch]

    def file(self, file_id: int) -> GmemFile | None:
        for f in self.files:
            if f.id == file_id:
                return f
        return None

    def file_size(self, file_id: int) -> int:
        """The file's size: its own, else the end of its furthest binding (0 with none)."""
        f = self.file(file_id)
        if f is not None and f.size is not None:
            return f.size
        return max((s.offset + s.size for s in self.slots if s.gmem == file_id), default=0)

    def bindings(self, file_id: int) -> list[Slot]:
        return sorted((s for s in self.slots if s.gmem == file_id), key=lambda s: s.offset)

    @cached_property
    def positions(self) -> dict[tuple[int, int], int]:
        """Where each ``(as, slot)`` is in ``slots``; built on first use (lookups by key are what the
        TUI does on every step, and a scan is 32,763 compares at KVM's limit)."""
        return {s.key: i for i, s in enumerate(self.slots)}

    @cached_property
    def neighbours(self) -> Neighbours:
        """Slots per address space by gpa and bindings per file by offset, for edges and rooms."""
        return Neighbours.of(self.slots)

    def slot_index(self, key: tuple[int, int]) -> int:
        return self.positions[key]

    def with_slot(self, index: int, **changes: object) -> Layout:
        slots = list(self.slots)
        slots[index] = replace(slots[index], **changes)
        new = replace(self, slots=tuple(slots))
        if "positions" in self.__dict__ and "slot" not in changes and "as_" not in changes:
            # same keys at the same places: share the index rather than rebuild it per drag step
            new.__dict__["positions"] = self.positions
        return new

    def with_settings(self, **changes: object) -> Layout:
        return replace(self, **changes)

    @property
    def has_private_memory(self) -> bool:
        """``kvm_arch_has_private_mem``: a guest_memfd slot or an explicit attribute list (never on an
        arch without memory attributes: arm64)."""
        if not self.platform.memory_attributes:
            return False
        return self.private is not None or any(s.gmem is not None for s in self.slots)

    def for_arch(self, arch: str) -> Layout:
        """The same layout looked at on another arch (``--arch``): each page size moves to the same
        rung of the new ladder (x86's 2M THP is arm64-64k's 512M), a cap the arch lacks becomes its
        largest size. Alignment is not checked here (``validate.layout_errors`` does)."""
        if arch == self.arch:
            return self
        if arch not in PLATFORMS:
            raise InputError(f"--arch: unknown arch {arch!r} (known: {', '.join(PLATFORMS)})")
        old, new = self.platform, PLATFORMS[arch]

        def move(nbytes: int) -> int:
            try:
                return new.same_rung(nbytes, old)
            except KeyError:  # not on the old ladder either: left for validation to report
                return nbytes

        private_max = move(self.private_max_page) if new.private_cap else new.largest.bytes
        files = tuple(replace(f, max_page=move(f.max_page)) for f in self.files)
        return replace(self, arch=arch, host_max_page=move(self.host_max_page),
                       private_max_page=private_max, files=files)


@dataclass(frozen=True, eq=False, repr=False)  # an index, never compared or shown: fewer methods to generate
class Neighbours:
    """Slots sorted per address space (by gpa) and per guest_memfd file (by offset): the free room
    around a slot or a binding, and the slot holding a gpa, by bisection."""

    spaces: dict[int, tuple[list[int], list[Slot]]]
    files: dict[int, tuple[list[int], list[Slot]]]

    @classmethod
    def of(cls, slots: Iterable[Slot]) -> Neighbours:
        spaces: dict[int, list[Slot]] = {}
        files: dict[int, list[Slot]] = {}
        for s in slots:
            spaces.setdefault(s.as_, []).append(s)
            if s.gmem is not None:
                files.setdefault(s.gmem, []).append(s)
        by_gpa = {a: sorted(v, key=lambda s: s.gpa) for a, v in spaces.items()}
        by_off = {f: sorted(v, key=lambda s: s.offset) for f, v in files.items()}
        return cls({a: ([s.gpa for s in v], v) for a, v in by_gpa.items()},
                   {f: ([s.offset for s in v], v) for f, v in by_off.items()})

    def slot_at(self, as_: int, gpa: int) -> Slot | None:
        starts, slots = self.spaces.get(as_, ((), ()))
        i = bisect_left(starts, gpa + 1) - 1
        return slots[i] if i >= 0 and slots[i].gpa <= gpa < slots[i].end else None

    @staticmethod
    def _around(starts: list[int], items: list[Slot], at: int, key: tuple[int, int]) -> tuple[int, int]:
        """Positions of the nearest other item starting below ``at`` and at or above it (-1 / len)."""
        i = bisect_left(starts, at)
        left, right = i - 1, i
        while left >= 0 and items[left].key == key:
            left -= 1
        while right < len(items) and items[right].key == key:
            right += 1
        return left, right

    def gpa_room(self, slot: Slot, top: int) -> tuple[int, int]:
        """The free GPA range around ``slot`` in its address space: neighbours' edges, else 0 / top."""
        starts, slots = self.spaces.get(slot.as_, ([], []))
        left, right = self._around(starts, slots, slot.gpa, slot.key)
        return (slots[left].end if left >= 0 else 0), (slots[right].gpa if right < len(slots) else top)

    def offset_room(self, slot: Slot, top: int) -> tuple[int, int]:
        """The free offset range around the slot's binding in its file: neighbours, else 0 / top."""
        assert slot.gmem is not None
        starts, slots = self.files.get(slot.gmem, ([], []))
        left, right = self._around(starts, slots, slot.offset, slot.key)
        return ((slots[left].offset + slots[left].size) if left >= 0 else 0,
                slots[right].offset if right < len(slots) else top)


@dataclass(frozen=True)
class Overrides:
    """Command-line values that replace the file's (``--arch``, ``--policy``, ``--host-max-page`` ...)."""

    arch: str | None = None
    policy: str | None = None
    host_max_page: int | None = None
    private_max_page: int | None = None
    gmem_max_page: int | None = None
    gmem_mmap: bool = False
    # the option each value came from, for messages: key -> prefix ("old-" for diff's --old-host-max-page)
    prefixes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def apply(self, layout: Layout) -> Layout:
        """The layout with these values; a page size not on the (new) arch's ladder is ``gmemtui: ...``."""
        if self.arch is not None:
            layout = layout.for_arch(self.arch)
        plat = layout.platform
        for key in ("host_max_page", "private_max_page", "gmem_max_page"):
            value = getattr(self, key)
            if value is None:
                continue
            flag = "--" + self.prefixes.get(key, "") + key.replace("_", "-")
            if key == "private_max_page" and not plat.private_cap:
                raise InputError(f"{flag}: {plat.arch} has no vendor cap on private pages")
            try:
                plat.page(value)
            except KeyError:
                raise InputError(f"{flag}: {value:#x} bytes is not a page size of {plat.arch} "
                                 f"({', '.join(plat.names)})") from None
        changes: dict[str, object] = {}
        if self.policy is not None:
            changes["policy"] = canonical_policy(self.policy)
        if self.host_max_page is not None:
            changes["host_max_page"] = self.host_max_page
        if self.private_max_page is not None:
            changes["private_max_page"] = self.private_max_page
        if self.gmem_max_page is not None or self.gmem_mmap:
            changes["files"] = tuple(
                replace(
                    f,
                    max_page=self.gmem_max_page if self.gmem_max_page is not None else f.max_page,
                    mmap=True if self.gmem_mmap else f.mmap,
                )
                for f in layout.files
            )
        return replace(layout, **changes) if changes else layout


def sorted_slots(slots: Iterable[Slot]) -> list[Slot]:
    return sorted(slots, key=lambda s: (s.as_, s.gpa))
