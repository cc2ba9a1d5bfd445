"""QEMU trace lines (docs/formats.md): find the events on a line and read their fields.

QEMU prints ``kvm_set_user_memory`` from ``kvm_set_user_memory_region`` (accel/kvm/kvm-all.c) after each
``KVM_SET_USER_MEMORY_REGION(2)`` ioctl. Its format changed over the years (accel/kvm/trace-events):
``Slot#`` with ``as << 16 | slot`` up to 8.2, ``AddrSpace#`` from 9.0, ``guest_memfd=`` from 9.1,
``restricted_fd=`` in the 2022–23 UPM trees, and ``name=0x..`` pairs from ``scripts/simpletrace.py``.
So fields are found by name, never by position; canonical lines take a fast path that gives the same
result as the by-name parser (tests check both). Every pattern is anchored or bounded, so a line is
read in time linear in its length. Replaying the events is ``gmemtui.formats.trace``.
"""

from __future__ import annotations

import re

from gmemtui.core import validate
from gmemtui.core.model import KVM_MEM_GUEST_MEMFD
from gmemtui.core.platform import X86_64

PLATFORM = X86_64  # QEMU's kvm_set_user_memory traces of the x86 machines gmemtui models
_KNOWN_FLAGS = 0x7  # KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD (old: PRIVATE)
_NAMED_FLAGS = 0x3  # kept in Slot.flags; the guest_memfd bit becomes Slot.gmem
_NO_FD = (-1, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF)  # -1 as %d, as a uint32 and as simpletrace's uint64
_FD_MAX = 0x7FFFFFFF
_BASE_MASK = PLATFORM.base.bytes - 1
_GPA_LIMIT = 1 << PLATFORM.gpa_bits
_UA_LIMIT = validate.UA_LIMIT
_ADDRESS_SPACES = PLATFORM.address_spaces
_MAX_SLOT = PLATFORM.max_slot_id

# An event line (docs/formats.md): the event name followed on the same line by a Slot#/slot= field (as
# loader.is_trace says), or for kvm_convert_memory by its start field. One match per line: the
# first event name that qualifies, and the rest of its line; prose lines never match.
_SLOT_FIELD = r"(?:Slot#|\bslot=)"
_START_FIELD = r"(?<!\w)start[ =]"
# No ``name(?=.*?field)`` regex for that: it backtracks over every name of a line without the field,
# quadratic in the line. Only the first name of each kind on a line can qualify (a later one sees a
# suffix of the same rest of the line), so later_event tests two names, each with one linear search.
_SET_NAME_RE = re.compile(r"kvm_set_user_memory\b")
_CONVERT_NAME_RE = re.compile(r"kvm_convert_memory\b")
SLOT_FIELD_RE = re.compile(_SLOT_FIELD)
START_FIELD_RE = re.compile(_START_FIELD)
# The cheap scan: the first event name of each line; lines where it is prose take later_event.
ANY_EVENT_RE = re.compile(r"kvm_(?:(set_user_memory)|convert_memory)\b([^\n]*)")


def later_event(text: str, start: int, end: int) -> tuple[str | None, str] | None:
    """The first event name in ``text[start:end]`` (one line) with its field after it: (is_set, tail)."""
    best: tuple[int, str | None, str] | None = None
    m = _SET_NAME_RE.search(text, start, end)
    if m is not None and SLOT_FIELD_RE.search(text, m.end(), end) is not None:
        best = (m.start(), "set_user_memory", text[m.end():end])
    m = _CONVERT_NAME_RE.search(text, start, end)
    if m is not None and (best is None or m.start() < best[0]) \
            and START_FIELD_RE.search(text, m.end(), end) is not None:
        best = (m.start(), None, text[m.end():end])
    return None if best is None else best[1:]

# Fast paths: the exact printf formats of accel/kvm/trace-events (tail after the event name).
_H = r"0x([0-9a-fA-F]{1,32})"
_D = r"(-?[0-9]{1,30})"
_COMMON = rf"Slot#([0-9]{{1,30}}) flags={_H} gpa={_H} size={_H} ua={_H}"
_FAST_91 = re.compile(
    rf" AddrSpace#([0-9]{{1,30}}) {_COMMON} guest_memfd={_D} guest_memfd_offset={_H} ret={_D}\s*", re.A
)
_FAST_UPM = re.compile(
    rf" AddrSpace#([0-9]{{1,30}}) {_COMMON} ret={_D} restricted_fd={_D} restricted_offset={_H}\s*", re.A
)
_FAST_90 = re.compile(rf" AddrSpace#([0-9]{{1,30}}) {_COMMON} ret={_D}\s*", re.A)
_FAST_82 = re.compile(rf" {_COMMON} ret={_D}\s*", re.A)

# The fast path of a replay (trace_fast): ANY_EVENT_RE, but a QEMU 9.1 line as QEMU prints it (%x:
# no leading zeros, so size 0 is "0x0") with an address space KVM has, known flags (0-7) and ret=0,
# where parse_set takes its inline branch, read at once to the end of its line. Where ANY_EVENT_RE
# matches, this matches at the same place; on every other line its groups are None.
assert _ADDRESS_SPACES <= 10
FAST_91_RE = re.compile(
    rf"kvm_(?:set_user_memory AddrSpace#([0-{_ADDRESS_SPACES - 1}]) Slot#([0-9]{{1,5}}) flags=0x([0-7]) "
    rf"gpa={_H} size=0x(0|[1-9a-fA-F][0-9a-fA-F]{{0,31}}) ua={_H} guest_memfd=(-?[0-9]{{1,30}}) "
    r"guest_memfd_offset=0x([0-9a-fA-F]{1,32}) ret=0[ \t\r\f\v]*(?![^\n])"
    r"|(?:set_user_memory|convert_memory)\b[^\n]*)"
)


def fast_fields(text: str, pos: int) -> tuple[int, int, int, int, int, int, int]:
    """(key, named flags, gpa, size, ua, fd, offset) of the FAST_91_RE line at ``pos``, one the
    replay took (so valid): a change of the fast path keeps its line, not its fields."""
    m = FAST_91_RE.match(text, pos)
    if m is None or m.group(1) is None:
        raise AssertionError(f"not a fast-path line: {text[pos:pos + 80]!r}")
    a, s, fl, g, z, u, fd, off = m.groups()
    key, flags, size = int(a) << 16 | int(s), int(fl), int(z, 16)
    if not size:
        return key, flags & _NAMED_FLAGS, 0, 0, 0, -1, 0
    if not flags & KVM_MEM_GUEST_MEMFD:
        return key, flags & _NAMED_FLAGS, int(g, 16), size, int(u, 16), -1, 0
    return key, flags & _NAMED_FLAGS, int(g, 16), size, int(u, 16), int(fd), int(off, 16)


# By-name parser: each field and the names it has had in the five forms of docs/formats.md.
_FIELDS: dict[str, tuple[str, ...]] = {
    "as": ("AddrSpace#", "as="),
    "slot": ("Slot#", "slot="),
    "flags": ("flags=",),
    "gpa": ("gpa=", "guest_phys_addr="),
    "size": ("size=", "memory_size="),
    "ua": ("ua=", "userspace_addr="),
    "ret": ("ret=",),
    "fd": ("guest_memfd=", "restricted_fd=", "fd="),
    "offset": ("guest_memfd_offset=", "restricted_offset=", "fd_offset="),
}
_FIELD_RES = {
    key: re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(\S*)", re.ASCII)
    for key, names in _FIELDS.items()
}
_SIGNED = ("ret", "fd")
# at most 32 hex or 30 decimal digits (more is beyond 64 bits anyway; int() refuses 4300+ digits)
_NUM_RE = re.compile(r"(-?)(?:0[xX]([0-9a-fA-F]{1,32})|([0-9]{1,30}))", re.ASCII)
_LONG_NUM_RE = re.compile(r"-?(?:0[xX][0-9a-fA-F]+|[0-9]+)", re.ASCII)
_CONV_START_RE = re.compile(r"(?<!\w)start[ =](\S*)", re.ASCII)
_CONV_SIZE_RE = re.compile(r"(?<!\w)size[ =](\S*)", re.ASCII)
_CONV_DIR_RE = re.compile(r"\b(shared_to_private|private_to_shared)\b", re.ASCII)


class LineError(Exception):
    """A problem with one line; the caller adds FILE:LINE."""


def _names(key: str) -> str:
    return " / ".join(_FIELDS[key])


def _number(key: str, text: str) -> int:
    m = _NUM_RE.fullmatch(text)
    if m is None and _LONG_NUM_RE.fullmatch(text):
        raise LineError(f"{_FIELDS[key][0]} value {text[:40]}... is too large")
    if m is None or (m.group(1) and key not in _SIGNED):
        kind = "an integer" if key in _SIGNED else "a non-negative integer (0x.. or decimal)"
        raise LineError(f"{_FIELDS[key][0]} value {text[:40]!r} is not {kind}")
    value = int(m.group(2), 16) if m.group(2) is not None else int(m.group(3))
    return -value if m.group(1) else value


def _field(tail: str, key: str, required: bool = True) -> int | None:
    found = _FIELD_RES[key].findall(tail)
    if not found:
        if required:
            raise LineError(f"kvm_set_user_memory line without {_names(key)} (a cut or wrapped line?)")
        return None
    if len(found) > 1:
        raise LineError(f"{_names(key)} appears {len(found)} times on one line")
    return _number(key, found[0])


# A parsed kvm_set_user_memory line: (key = as << 16 | slot, as, slot, flags, gpa, size, ua, fd, offset, ret)
Event = tuple[int, int, int, int, int, int, int, int, int, int]


def parse_set(tail: str) -> Event | None:
    """Fields of a ``kvm_set_user_memory`` line (the text after the event name), by name.

    None when the line is not an event line (prose: no ``Slot#``/``slot=`` field). Raises ``LineError``
    for a missing field or a malformed value, and for what ``__kvm_set_memory_region`` would have
    rejected on a line that claims ``ret=0``.
    """
    m = _FAST_91.fullmatch(tail)
    if m is not None:
        a, s, fl, g, z, u, fd, off, ret = m.groups()
        if ret == "0":  # the common case inline, converting only the fields it uses; else check_set
            as_, slot, flags, size = int(a), int(s), int(fl, 16), int(z, 16)
            if as_ < _ADDRESS_SPACES and slot <= _MAX_SLOT and not flags & ~_KNOWN_FLAGS:
                key = as_ << 16 | slot
                if not size:
                    return (key, as_, slot, flags & _NAMED_FLAGS, 0, 0, 0, -1, 0, 0)
                gpa, ua = int(g, 16), int(u, 16)
                if not ((gpa | size | ua) & _BASE_MASK or gpa + size > _GPA_LIMIT or ua + size > _UA_LIMIT):
                    if not flags & KVM_MEM_GUEST_MEMFD:
                        return (key, as_, slot, flags & _NAMED_FLAGS, gpa, size, ua, -1, 0, 0)
                    fdv, offv = int(fd), int(off, 16)
                    if 0 <= fdv <= _FD_MAX and not offv & _BASE_MASK and offv + size <= _UA_LIMIT:
                        return (key, as_, slot, flags & _NAMED_FLAGS, gpa, size, ua, fdv, offv, 0)
        return check_set(int(a), int(s), int(fl, 16), int(g, 16), int(z, 16), int(u, 16),
                      int(fd), int(off, 16), int(ret))
    m = _FAST_UPM.fullmatch(tail)
    if m is not None:
        a, s, fl, g, z, u, ret, fd, off = m.groups()
        return check_set(int(a), int(s), int(fl, 16), int(g, 16), int(z, 16), int(u, 16),
                      int(fd), int(off, 16), int(ret))
    if not SLOT_FIELD_RE.search(tail):
        return None
    return check_set(*_parse_slow(tail))


def _parse_slow(tail: str) -> tuple[int | None, ...]:
    m = _FAST_90.fullmatch(tail)
    if m is not None:
        a, s, fl, g, z, u, ret = m.groups()
        return (int(a), int(s), int(fl, 16), int(g, 16), int(z, 16), int(u, 16), None, None, int(ret))
    m = _FAST_82.fullmatch(tail)
    if m is not None:
        s, fl, g, z, u, ret = m.groups()
        return (None, int(s), int(fl, 16), int(g, 16), int(z, 16), int(u, 16), None, None, int(ret))
    return parse_by_name(tail)


def parse_by_name(tail: str) -> tuple[int | None, ...]:
    """The by-name parser behind the fast paths.

    Returns (as|None, slot, flags, gpa, size, ua, fd|None, offset|None, ret).
    """
    return (
        _field(tail, "as", False),
        _field(tail, "slot"),
        _field(tail, "flags"),
        _field(tail, "gpa"),
        _field(tail, "size"),
        _field(tail, "ua"),
        _field(tail, "fd", False),
        _field(tail, "offset", False),
        _field(tail, "ret"),
    )


def check_set(as_: int | None, slot: int, flags: int, gpa: int, size: int, ua: int,
           fd: int | None, off: int | None, ret: int) -> Event:
    if as_ is None:  # QEMU <= 8.2 and old simpletrace: mem.slot = as_id << 16 | slot
        as_, slot = slot >> 16, slot & 0xFFFF
    if ret >= 1 << 63:  # simpletrace prints the int as a uint64
        ret -= 1 << 64
    if ret != 0:  # KVM refused it; the values may well be bad, that is why
        return (-1, as_, slot, flags, gpa, size, ua, -1, 0, ret)
    if not (0 <= as_ < _ADDRESS_SPACES and 0 <= slot <= _MAX_SLOT):
        raise LineError(validate.as_problem(as_, PLATFORM) or validate.slot_id_problem(slot, PLATFORM) or "")
    if flags & ~_KNOWN_FLAGS:
        raise LineError(f"flags={flags:#x}: unknown bits {flags & ~_KNOWN_FLAGS:#x} "
                   "(KVM knows 0x1 log_dirty, 0x2 readonly, 0x4 guest_memfd)")
    key = as_ << 16 | slot
    if size == 0:  # delete: nothing else matters
        return (key, as_, slot, flags & _NAMED_FLAGS, 0, 0, 0, -1, 0, 0)
    if (gpa | size | ua) & _BASE_MASK or gpa + size > _GPA_LIMIT or ua + size > validate.UA_LIMIT:
        raise LineError(_range_problem(gpa, size, ua))
    if not flags & KVM_MEM_GUEST_MEMFD:
        return (key, as_, slot, flags & _NAMED_FLAGS, gpa, size, ua, -1, 0, 0)
    if fd is None:
        raise LineError(f"flags={flags:#x} has the guest_memfd bit 0x4 "
                        f"but the line has no {_names('fd')} field")
    if fd in _NO_FD:
        raise LineError(f"flags={flags:#x} has the guest_memfd bit 0x4 but the fd is -1 (no guest_memfd)")
    if not 0 <= fd <= _FD_MAX:
        raise LineError(f"guest_memfd fd {fd} is not a file descriptor")
    if off is None:
        raise LineError(
            f"flags={flags:#x} has the guest_memfd bit 0x4 but the line has no {_names('offset')} field"
        )
    if off & _BASE_MASK or off + size > validate.UA_LIMIT:
        raise LineError(validate.multiple_problem("guest_memfd offset", off, PLATFORM)
                   or f"guest_memfd offset+size {off + size:#x} is beyond 2^64")
    return (key, as_, slot, flags & _NAMED_FLAGS, gpa, size, ua, fd, off, 0)


def _range_problem(gpa: int, size: int, ua: int) -> str:
    plat = PLATFORM
    for problem in (
        validate.multiple_problem("gpa", gpa, plat),
        validate.multiple_problem("size", size, plat),
        validate.multiple_problem("ua", ua, plat),
        validate.range_problem(gpa, size, plat),
    ):
        if problem:
            return problem
    return f"ua+size {ua + size:#x} is beyond 2^64"


def parse_convert(tail: str) -> tuple[int, int, bool]:
    """``kvm_convert_memory start 0x.. size 0x.. shared_to_private`` -> (gpa, size, to_private)."""
    values = []
    for what, rx in (("start", _CONV_START_RE), ("size", _CONV_SIZE_RE)):
        found = rx.findall(tail)
        if len(found) != 1:
            raise LineError(f"kvm_convert_memory line with {len(found)} {what} fields (expected one)")
        m = _NUM_RE.fullmatch(found[0])
        if m is None and _LONG_NUM_RE.fullmatch(found[0]):
            raise LineError(f"kvm_convert_memory {what} {found[0][:40]}... is too large")
        if m is None or m.group(1):
            raise LineError(f"kvm_convert_memory {what} {found[0][:40]!r} is not a non-negative integer")
        values.append(int(m.group(2), 16) if m.group(2) is not None else int(m.group(3)))
    direction = _CONV_DIR_RE.findall(tail)
    if len(set(direction)) != 1:
        raise LineError("kvm_convert_memory line without shared_to_private or private_to_shared")
    gpa, size = values
    plat = PLATFORM
    for problem in (
        validate.multiple_problem("start", gpa, plat),
        validate.multiple_problem("size", size, plat),
        "size 0: nothing to convert" if size == 0 else None,
        validate.range_problem(gpa, size, plat),
    ):
        if problem:
            raise LineError(f"kvm_convert_memory: {problem}")
    return gpa, size, direction[0] == "shared_to_private"
