"""Semantic checks of a layout, shared by the YAML loader, trace replay and the TUI (docs/formats.md).

``check_layout`` rejects what ``KVM_SET_USER_MEMORY_REGION2`` / ``KVM_CREATE_GUEST_MEMFD`` would
reject, or what makes the model meaningless: ``__kvm_set_memory_region`` (virt/kvm/kvm_main.c)
wants page-aligned gpa/size/ua/offset, a slot id below ``KVM_USER_MEM_SLOTS``, an address space
below ``KVM_ADDRESS_SPACE_NUM``, no overlap with another slot of the same address space
(``kvm_check_memslot_overlap``), a gfn range within the guest's physical address width; and
``kvm_gmem_bind`` (virt/kvm/guest_memfd.c) wants the binding inside the file and not overlapping
another binding of that file.

``layout_warnings`` lists what is computed all the same but deserves a remark (docs/formats.md).
Everything is closed form: sorts and sweeps over slots and ranges, never over frames.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from gmemtui.core.errors import InputError
from gmemtui.core.model import FLAG_NAMES, POLICIES, POLICY_ALIASES, GmemFile, Layout, Slot, Warning_
from gmemtui.core.platform import PLATFORMS, Platform
from gmemtui.core.units import fmt_size
from gmemtui.core.validate_plain import entries_plainly_valid

_KNOWN_FLAG_BITS = sum(FLAG_NAMES.values())
UA_LIMIT = 1 << 64  # userspace_addr is a __u64


def _line(line: int | None) -> int | None:
    return line if line else None


def h(value: int) -> str:
    """Hex as the kernel's traces print addresses."""
    return hex(value)


def base_words(plat: Platform) -> str:
    """'4 KiB' for x86-64: the base page, as docs/rules.md writes it."""
    text = fmt_size(plat.base.bytes)
    return f"{text[:-1]} {text[-1]}iB" if text[-1].isalpha() else f"{text} bytes"


def multiple_problem(what: str, value: int, plat: Platform) -> str | None:
    """The message if ``value`` (an address, size or offset) is not a multiple of the base page."""
    if value % plat.base.bytes:
        return f"{what} {h(value)} is not a multiple of {base_words(plat)}"
    return None


def page_problem(what: str, value: int, plat: Platform) -> str | None:
    """The message if ``value`` (bytes) is not a page size of the platform's ladder."""
    try:
        plat.page(value)
    except KeyError:
        return f"{what} {fmt_size(value)} is not a page size of {plat.arch} ({', '.join(plat.names)})"
    return None


def slot_id_problem(slot_id: int, plat: Platform) -> str | None:
    if not 0 <= slot_id <= plat.max_slot_id:
        return (
            f"slot {slot_id} is outside 0..{plat.max_slot_id} "
            f"(KVM_USER_MEM_SLOTS on {plat.arch} is {plat.max_slot_id + 1})"
        )
    return None


def as_problem(as_: int, plat: Platform) -> str | None:
    if not 0 <= as_ < plat.address_spaces:
        allowed = " or ".join(str(i) for i in range(plat.address_spaces))
        smm = "; 1 is SMM" if plat.address_spaces > 1 else ""
        return f"as {as_} is not an address space of {plat.arch} (must be {allowed}{smm})"
    return None


def no_attributes_problem(plat: Platform) -> str:
    """Why a ``private:`` list is refused on an arch without memory attributes (arm64)."""
    return (f"private: {plat.arch} has no memory attributes (its KVM does not select "
            "CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES): every frame is shared; remove the list")


def range_problem(gpa: int, size: int, plat: Platform) -> str | None:
    if gpa + size > 1 << plat.gpa_bits:
        return f"gpa+size {h(gpa + size)} is beyond 2^{plat.gpa_bits} ({plat.arch} guest-physical addresses)"
    return None


def _slot_errors(s: Slot, plat: Platform) -> Iterable[str]:
    for problem in (
        slot_id_problem(s.slot, plat),
        as_problem(s.as_, plat),
        multiple_problem("gpa", s.gpa, plat),
        multiple_problem("size", s.size, plat),
        multiple_problem("ua", s.ua, plat),
        multiple_problem("offset", s.offset, plat) if s.gmem is not None else None,
        "size 0: a slot must not be empty" if s.size == 0 else None,
        "gpa, size and ua must not be negative" if min(s.gpa, s.size, s.ua, s.offset) < 0 else None,
        range_problem(s.gpa, s.size, plat),
        f"ua+size {h(s.ua + s.size)} is beyond 2^64" if s.ua + s.size > UA_LIMIT else None,
        f"unknown flag bits {h(s.flags & ~_KNOWN_FLAG_BITS)}" if s.flags & ~_KNOWN_FLAG_BITS else None,
    ):
        if problem:
            yield f"slot {s.slot}: {problem}"


def _plainly_valid(s: Slot, plat: Platform) -> bool:
    """True when ``_slot_errors`` would find nothing: the same checks as plain tests, the base-page
    multiples of gpa/size/ua/offset as one bitmask (the base page is a power of two). Words no
    message, so the messages stay ``_slot_errors``'; at 32,763 slots it makes the happy path of the
    per-slot checks several times cheaper."""
    offset = s.offset if s.gmem is not None else 0
    return (
        0 <= s.slot <= plat.max_slot_id
        and 0 <= s.as_ < plat.address_spaces
        and not (s.gpa | s.size | s.ua | offset) & (plat.base.bytes - 1)
        and s.size > 0
        and min(s.gpa, s.ua, s.offset) >= 0
        and s.gpa + s.size <= 1 << plat.gpa_bits
        and s.ua + s.size <= UA_LIMIT
        and not s.flags & ~_KNOWN_FLAG_BITS
    )


def layout_errors(layout: Layout, path: str) -> list[InputError]:
    """Every semantic error, sorted by line (errors without a line last)."""
    errors: list[InputError] = []

    def err(message: str, line: int | None) -> None:
        errors.append(InputError(message, path, _line(line)))

    if layout.arch not in PLATFORMS:
        err(f"unknown arch {layout.arch!r} (known: {', '.join(PLATFORMS)})", None)
        return errors
    plat = layout.platform
    if layout.policy not in POLICIES:
        aliases = ", ".join(f"{a} = {c}" for a, c in POLICY_ALIASES.items())
        err(f"unknown policy {layout.policy!r} (known: {', '.join(POLICIES)}; {aliases})", None)
    for what in ("host_max_page", "private_max_page") if plat.private_cap else ("host_max_page",):
        problem = page_problem(what, getattr(layout, what), plat)
        if problem:
            err(problem, None)

    # files: ids, sizes, folio sizes
    seen_files: dict[int, int] = {}
    for f in layout.files:
        if f.id in seen_files:
            err(f"duplicate guest_memfd id {f.id} (first listed on line {seen_files[f.id]})", f.line)
        seen_files.setdefault(f.id, f.line)
        if f.id < 0:
            err(f"guest_memfd id {f.id} must not be negative", f.line)
        if f.size is not None:
            if f.size == 0:
                err(f"guest_memfd {f.id}: size 0 (KVM_CREATE_GUEST_MEMFD rejects an empty file)", f.line)
            problem = multiple_problem("size", f.size, plat)
            if problem:
                err(f"guest_memfd {f.id}: {problem}", f.line)
        problem = page_problem("max_page", f.max_page, plat)
        if problem:
            err(f"guest_memfd {f.id}: {problem}", f.line)

    if entries_plainly_valid(layout, plat):  # nothing below would find a problem (no messages)
        errors.sort(key=lambda e: (e.line is None, e.line or 0))
        return errors

    # slots one by one
    files_by_id: dict[int, GmemFile] = {}
    for f in layout.files:
        files_by_id.setdefault(f.id, f)
    seen_keys: dict[tuple[int, int], int] = {}
    for s in layout.slots:
        if not _plainly_valid(s, plat):
            for problem in _slot_errors(s, plat):
                err(problem, s.line)
        if s.key in seen_keys:
            err(
                f"duplicate slot {s.slot} in address space {s.as_} (first on line {seen_keys[s.key]})", s.line
            )
        seen_keys.setdefault(s.key, s.line)
        if s.gmem is not None:
            f = files_by_id.get(s.gmem)
            if f is None:
                err(f"slot {s.slot}: guest_memfd {s.gmem} is not listed under guest_memfd", s.line)
            elif f.size is not None and f.size and s.offset + s.size > f.size:
                err(
                    f"slot {s.slot}: binding [{h(s.offset)}, {h(s.offset + s.size)}) of guest_memfd "
                    f"{s.gmem} ends beyond the file's size {h(f.size)}",
                    s.line,
                )

    # overlaps: sweep slots of one address space by gpa, bindings of one file by offset
    def sweep(items: list[Slot], start, what: str) -> None:
        items = sorted(items, key=start)
        furthest: Slot | None = None
        for s in items:
            if furthest is not None and start(s) < start(furthest) + furthest.size:
                later, earlier = (s, furthest) if s.line >= furthest.line else (furthest, s)
                err(
                    f"slot {later.slot} [{h(start(later))}, {h(start(later) + later.size)}) overlaps "
                    f"slot {earlier.slot} [{h(start(earlier))}, {h(start(earlier) + earlier.size)}) "
                    f"{what}",
                    later.line,
                )
            if furthest is None or start(s) + s.size > start(furthest) + furthest.size:
                furthest = s

    by_as: dict[int, list[Slot]] = {}
    by_file: dict[int, list[Slot]] = {}
    for s in layout.slots:
        by_as.setdefault(s.as_, []).append(s)
        if s.gmem is not None:
            by_file.setdefault(s.gmem, []).append(s)
    for as_, group in sorted(by_as.items()):
        sweep(group, lambda s: s.gpa, f"in address space {as_}")
    for fid, group in sorted(by_file.items()):
        sweep(group, lambda s: s.offset, f"in guest_memfd {fid} (offsets)")

    if layout.private is not None and not plat.memory_attributes:
        first = layout.private[0].line if layout.private else None
        err(no_attributes_problem(plat), first)
    for r in layout.private or ():
        for problem in (
            multiple_problem("gpa", r.gpa, plat),
            multiple_problem("size", r.size, plat),
            "size 0: a private range must not be empty" if r.size == 0 else None,
            range_problem(r.gpa, r.size, plat),
        ):
            if problem:
                err(f"private range: {problem}", r.line)

    errors.sort(key=lambda e: (e.line is None, e.line or 0))
    return errors


def check_layout(layout: Layout, path: str) -> None:
    """Raise the first semantic error (by line; errors without a line last)."""
    errors = layout_errors(layout, path)
    if errors:
        raise errors[0]


def merged_private(layout: Layout) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    for r in sorted(layout.private or (), key=lambda r: r.gpa):
        if r.size <= 0:
            continue
        if ends and r.gpa <= ends[-1]:
            ends[-1] = max(ends[-1], r.end)
        else:
            starts.append(r.gpa)
            ends.append(r.end)
    return starts, ends


def private_bytes(layout: Layout, lo: int, hi: int, merged: tuple[list[int], list[int]] | None = None) -> int:
    """Bytes of ``[lo, hi)`` inside the explicit private list (interval intersection)."""
    starts, ends = merged if merged is not None else merged_private(layout)
    i = max(bisect_right(ends, lo), 0)
    j = bisect_left(starts, hi)
    total = 0
    for k in range(i, j):
        total += max(0, min(hi, ends[k]) - max(lo, starts[k]))
    return total


def slot_warnings(layout: Layout, s: Slot,
                  merged: tuple[list[int], list[int]] | None = None) -> list[Warning_]:
    """The warnings about one slot (``merged``: the private list merged once for many slots)."""
    out: list[Warning_] = []
    if s.gmem is not None and (s.log_dirty or s.readonly):
        names = " and ".join(n for n, on in (("log_dirty", s.log_dirty), ("readonly", s.readonly)) if on)
        out.append(
            Warning_(
                f"slot {s.slot}: guest_memfd slot with {names}: KVM rejects this since 6.8 "
                "(check_memory_region_flags); the 2023 UPM trees, like the seed trace, accepted READONLY",
                s.as_,
                s.slot,
                _line(s.line),
            )
        )
    if layout.private is not None and s.gmem is None:
        n = private_bytes(layout, s.gpa, s.end, merged)
        if n:
            out.append(
                Warning_(
                    f"slot {s.slot}: {fmt_size(n)} of private frames but no guest_memfd: not "
                    "mappable, a private access exits to userspace (KVM_EXIT_MEMORY_FAULT); "
                    "counted under the base page (no-guest-memfd)",
                    s.as_,
                    s.slot,
                    _line(s.line),
                )
            )
    return out


def file_warnings(layout: Layout) -> list[Warning_]:
    """Files listed but bound by no slot."""
    out: list[Warning_] = []
    bound = {s.gmem for s in layout.slots if s.gmem is not None}
    for f in layout.files:
        if f.id not in bound:
            size = "" if f.size is not None else " (no size given: shown as an empty file)"
            out.append(
                Warning_(
                    f"guest_memfd {f.id} is listed but no slot binds it{size}", None, None, _line(f.line)
                )
            )
    return out


def in_file_order(warnings: Iterable[Warning_]) -> list[Warning_]:
    return sorted(warnings, key=lambda w: (w.line is None, w.line or 0))


def layout_warnings(layout: Layout) -> list[Warning_]:
    """docs/formats.md warnings plus the layout's own notes, in file order (warnings without a line last)."""
    out: list[Warning_] = list(layout.notes)
    merged = merged_private(layout) if layout.private is not None else None
    for s in layout.slots:
        out.extend(slot_warnings(layout, s, merged))
    out.extend(file_warnings(layout))
    return in_file_order(out)
