"""QEMU ``kvm_set_user_memory`` traces (docs/formats.md): parse every known form, replay, keep every state.

QEMU prints the event from ``kvm_set_user_memory_region`` (accel/kvm/kvm-all.c) after each
``KVM_SET_USER_MEMORY_REGION(2)`` ioctl. Its format changed over the years (accel/kvm/trace-events):
``Slot#`` with ``as << 16 | slot`` up to 8.2, ``AddrSpace#`` from 9.0, ``guest_memfd=`` from 9.1,
``restricted_fd=`` in the 2022–23 UPM trees, and ``name=0x..`` pairs from ``scripts/simpletrace.py``.
So fields are found by name, never by position; canonical lines take a fast path that gives the same
result as the by-name parser (tests check both).

The replay keeps a change log (a few machine words per change, in ``array``\\s) plus checkpoints of
the live slots every ``max(64, live slots)`` changes, so memory grows with the number of changes,
not lines × slots; a state's ``Layout`` is built on demand from the nearest checkpoint or cached
state (``TraceStates``).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from gmemtui.core import validate
from gmemtui.core.errors import InputError
from gmemtui.core.model import KVM_MEM_GUEST_MEMFD, GmemFile, Layout, Overrides, PrivateRange, Slot, Warning_
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
CHECKPOINT_MIN = 64
CACHE_STATES = 16
PARSE_CACHE = 1 << 16
MAX_NOTES = 1000

# An event line (docs/formats.md): the event name followed on the same line by a Slot#/slot= field (as
# loader.is_trace says), or for kvm_convert_memory by its start field. One match per line: the
# first event name that qualifies, and the rest of its line; prose lines never match.
_SLOT_FIELD = r"(?:Slot#|\bslot=)"
_START_FIELD = r"(?<!\w)start[ =]"
# No ``name(?=.*?field)`` regex for that: it backtracks over every name of a line without the field,
# quadratic in the line. Only the first name of each kind on a line can qualify (a later one sees a
# suffix of the same rest of the line), so _later_event tests two names, each with one linear search.
_SET_NAME_RE = re.compile(r"kvm_set_user_memory\b")
_CONVERT_NAME_RE = re.compile(r"kvm_convert_memory\b")
_SLOT_FIELD_RE = re.compile(_SLOT_FIELD)
_START_FIELD_RE = re.compile(_START_FIELD)
# The cheap scan: the first event name of each line; lines where it is prose take _later_event.
_ANY_EVENT_RE = re.compile(r"kvm_(?:(set_user_memory)|convert_memory)\b([^\n]*)")


def _later_event(text: str, start: int, end: int) -> tuple[str | None, str] | None:
    """The first event name in ``text[start:end]`` (one line) with its field after it: (is_set, tail)."""
    best: tuple[int, str | None, str] | None = None
    m = _SET_NAME_RE.search(text, start, end)
    if m is not None and _SLOT_FIELD_RE.search(text, m.end(), end) is not None:
        best = (m.start(), "set_user_memory", text[m.end():end])
    m = _CONVERT_NAME_RE.search(text, start, end)
    if m is not None and (best is None or m.start() < best[0]) \
            and _START_FIELD_RE.search(text, m.end(), end) is not None:
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


class _Bad(Exception):
    """A problem with one line; the caller adds FILE:LINE."""


def _names(key: str) -> str:
    return " / ".join(_FIELDS[key])


def _number(key: str, text: str) -> int:
    m = _NUM_RE.fullmatch(text)
    if m is None and _LONG_NUM_RE.fullmatch(text):
        raise _Bad(f"{_FIELDS[key][0]} value {text[:40]}... is too large")
    if m is None or (m.group(1) and key not in _SIGNED):
        kind = "an integer" if key in _SIGNED else "a non-negative integer (0x.. or decimal)"
        raise _Bad(f"{_FIELDS[key][0]} value {text[:40]!r} is not {kind}")
    value = int(m.group(2), 16) if m.group(2) is not None else int(m.group(3))
    return -value if m.group(1) else value


def _field(tail: str, key: str, required: bool = True) -> int | None:
    found = _FIELD_RES[key].findall(tail)
    if not found:
        if required:
            raise _Bad(f"kvm_set_user_memory line without {_names(key)} (a cut or wrapped line?)")
        return None
    if len(found) > 1:
        raise _Bad(f"{_names(key)} appears {len(found)} times on one line")
    return _number(key, found[0])


# A parsed kvm_set_user_memory line: (key = as << 16 | slot, as, slot, flags, gpa, size, ua, fd, offset, ret)
Event = tuple[int, int, int, int, int, int, int, int, int, int]


def parse_set(tail: str) -> Event | None:
    """Fields of a ``kvm_set_user_memory`` line (the text after the event name), by name.

    None when the line is not an event line (prose: no ``Slot#``/``slot=`` field). Raises ``_Bad``
    for a missing field or a malformed value, and for what ``__kvm_set_memory_region`` would have
    rejected on a line that claims ``ret=0``.
    """
    m = _FAST_91.fullmatch(tail)
    if m is not None:
        a, s, fl, g, z, u, fd, off, ret = m.groups()
        if ret == "0":  # the common case inline, converting only the fields it uses; else _check
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
        return _check(int(a), int(s), int(fl, 16), int(g, 16), int(z, 16), int(u, 16),
                      int(fd), int(off, 16), int(ret))
    m = _FAST_UPM.fullmatch(tail)
    if m is not None:
        a, s, fl, g, z, u, ret, fd, off = m.groups()
        return _check(int(a), int(s), int(fl, 16), int(g, 16), int(z, 16), int(u, 16),
                      int(fd), int(off, 16), int(ret))
    if not _SLOT_FIELD_RE.search(tail):
        return None
    return _check(*_parse_slow(tail))


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


def _check(as_: int | None, slot: int, flags: int, gpa: int, size: int, ua: int,
           fd: int | None, off: int | None, ret: int) -> Event:
    if as_ is None:  # QEMU <= 8.2 and old simpletrace: mem.slot = as_id << 16 | slot
        as_, slot = slot >> 16, slot & 0xFFFF
    if ret >= 1 << 63:  # simpletrace prints the int as a uint64
        ret -= 1 << 64
    if ret != 0:  # KVM refused it; the values may well be bad, that is why
        return (-1, as_, slot, flags, gpa, size, ua, -1, 0, ret)
    if not (0 <= as_ < _ADDRESS_SPACES and 0 <= slot <= _MAX_SLOT):
        raise _Bad(validate.as_problem(as_, PLATFORM) or validate.slot_id_problem(slot, PLATFORM) or "")
    if flags & ~_KNOWN_FLAGS:
        raise _Bad(f"flags={flags:#x}: unknown bits {flags & ~_KNOWN_FLAGS:#x} "
                   "(KVM knows 0x1 log_dirty, 0x2 readonly, 0x4 guest_memfd)")
    key = as_ << 16 | slot
    if size == 0:  # delete: nothing else matters
        return (key, as_, slot, flags & _NAMED_FLAGS, 0, 0, 0, -1, 0, 0)
    if (gpa | size | ua) & _BASE_MASK or gpa + size > _GPA_LIMIT or ua + size > validate.UA_LIMIT:
        raise _Bad(_range_problem(gpa, size, ua))
    if not flags & KVM_MEM_GUEST_MEMFD:
        return (key, as_, slot, flags & _NAMED_FLAGS, gpa, size, ua, -1, 0, 0)
    if fd is None:
        raise _Bad(f"flags={flags:#x} has the guest_memfd bit 0x4 but the line has no {_names('fd')} field")
    if fd in _NO_FD:
        raise _Bad(f"flags={flags:#x} has the guest_memfd bit 0x4 but the fd is -1 (no guest_memfd)")
    if not 0 <= fd <= _FD_MAX:
        raise _Bad(f"guest_memfd fd {fd} is not a file descriptor")
    if off is None:
        raise _Bad(
            f"flags={flags:#x} has the guest_memfd bit 0x4 but the line has no {_names('offset')} field"
        )
    if off & _BASE_MASK or off + size > validate.UA_LIMIT:
        raise _Bad(validate.multiple_problem("guest_memfd offset", off, PLATFORM)
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
            raise _Bad(f"kvm_convert_memory line with {len(found)} {what} fields (expected one)")
        m = _NUM_RE.fullmatch(found[0])
        if m is None and _LONG_NUM_RE.fullmatch(found[0]):
            raise _Bad(f"kvm_convert_memory {what} {found[0][:40]}... is too large")
        if m is None or m.group(1):
            raise _Bad(f"kvm_convert_memory {what} {found[0][:40]!r} is not a non-negative integer")
        values.append(int(m.group(2), 16) if m.group(2) is not None else int(m.group(3)))
    direction = _CONV_DIR_RE.findall(tail)
    if len(set(direction)) != 1:
        raise _Bad("kvm_convert_memory line without shared_to_private or private_to_shared")
    gpa, size = values
    plat = PLATFORM
    for problem in (
        validate.multiple_problem("start", gpa, plat),
        validate.multiple_problem("size", size, plat),
        "size 0: nothing to convert" if size == 0 else None,
        validate.range_problem(gpa, size, plat),
    ):
        if problem:
            raise _Bad(f"kvm_convert_memory: {problem}")
    return gpa, size, direction[0] == "shared_to_private"


def set_range(los: list[int], his: list[int], lo: int, hi: int, private: bool) -> bool:
    """Make ``[lo, hi)`` private or shared in the merged ranges ``zip(los, his)``; True if it changed.

    The attributes are per VM and per gfn (``kvm->mem_attr_array``, KVM_SET_MEMORY_ATTRIBUTES), not
    per slot or address space, which is what ``private:`` of docs/formats.md means.
    """
    j = bisect_left(his, lo)  # first range ending at or after lo (touching ones merge)
    k = bisect_right(los, hi)  # ranges [j, k) touch or overlap [lo, hi]
    old = list(zip(los[j:k], his[j:k], strict=True))
    if private:
        new = [(min(lo, old[0][0]), max(hi, old[-1][1]))] if old else [(lo, hi)]
    else:
        new = []
        if old and old[0][0] < lo:
            new.append((old[0][0], lo))
        if old and old[-1][1] > hi:
            new.append((hi, old[-1][1]))
    if new == old:
        return False
    los[j:k] = [a for a, _ in new]
    his[j:k] = [b for _, b in new]
    return True


class _Text:
    """The trace text, kept as the pieces it was fed in (each of whole lines), so that a live trace
    appends without copying what came before; a state reads its line from here on demand."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.pieces: list[str] = []
        self.length = 0

    def add(self, piece: str) -> int:
        """Append ``piece``; return its offset in the whole text."""
        base = self.length
        if piece:
            self.starts.append(base)
            self.pieces.append(piece)
            self.length += len(piece)
        return base

    def keep_changed_lines(self, positions: array, first: int, base: int) -> None:
        """Keep of the last piece only the lines of its changes ``positions[first:]`` (rewritten to
        point into what is kept) when they are at most half of it, so memory follows the changes: a
        long log with a few events in it keeps a few lines. When they are most of it (every line an
        event) the piece stays as it is: copying it would cost time and save little."""
        if not self.pieces or self.starts[-1] != base:  # the piece fed at ``base`` was empty
            return
        piece = self.pieces[-1]
        n, size = len(positions) - first, len(piece)
        if n == 0:  # nothing of it is ever read
            self.pieces.pop()
            self.starts.pop()
            self.length = base
            return
        rfind, find = piece.rfind, piece.find
        sample = [(find("\n", p - base) % (size + 1)) - rfind("\n", 0, p - base)
                  for p in positions[first::max(1, n // 64)]]
        if sum(sample) * n > size * len(sample) // 2:
            return
        parts: list[str] = []
        offset = base
        for i in range(first, len(positions)):
            p = positions[i] - base
            start, end = rfind("\n", 0, p) + 1, find("\n", p)
            line = piece[start: end if end >= 0 else size]
            parts.append(line)
            positions[i] = offset + p - start
            offset += len(line) + 1
        kept = "\n".join(parts) + "\n"
        self.pieces[-1] = kept
        self.length = base + len(kept)

    def line_at(self, pos: int) -> str:
        """The line holding offset ``pos``, without its line ending."""
        i = bisect_right(self.starts, pos) - 1
        text, pos = self.pieces[i], pos - self.starts[i]
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        return text[start: end if end >= 0 else len(text)].rstrip("\r")


@dataclass(frozen=True)
class TraceState:
    """The layout after trace line ``line`` (state 0: before any line, the empty layout)."""

    index: int
    line: int  # 1-based line of the trace; 0 for state 0
    text: str  # that line as written ("" for state 0)
    layout: Layout


@dataclass(frozen=True)
class _Checkpoint:
    state: int
    keys: array  # the live slots' keys (as << 16 | slot) ...
    made: array  # ... and the change that made each
    los: tuple[int, ...]
    his: tuple[int, ...]


@dataclass
class _Cached:
    layout: Layout
    live: dict[int, Slot]
    los: list[int]
    his: list[int]


class _Log:
    """The change log, as machine words: each change points at a distinct parsed event.

    A long trace repeats the same lines (a BAR or VGA window mapped and unmapped, dirty logging
    toggled), so events are stored once and a change costs three words: line, offset, event.
    """

    def __init__(self) -> None:
        self.line = array("q")  # 1-based line of each change
        self.pos = array("q")  # offset of the event name in the text (the line is read on demand)
        self.event = array("q")  # index into the event table below
        # the event table: one entry per distinct event line (or per conversion)
        self.key = array("q")  # as << 16 | slot; -1: a kvm_convert_memory conversion
        self.gpa = array("Q")
        self.size = array("Q")  # 0: delete
        self.ua = array("Q")
        self.flags = array("q")  # named flag bits; for a conversion: 1 = to private
        self.gmem = array("q")  # fd, -1 none
        self.off = array("Q")

    def __len__(self) -> int:
        return len(self.line)

    def add_event(self, key: int, flags: int, gpa: int, size: int, ua: int, fd: int, off: int) -> int:
        self.key.append(key)
        self.gpa.append(gpa)
        self.size.append(size)
        self.ua.append(ua)
        self.flags.append(flags)
        self.gmem.append(fd)
        self.off.append(off)
        return len(self.key) - 1

    def slot(self, i: int) -> Slot:
        """The slot made by change ``i``, named after its trace line."""
        e, line = self.event[i], self.line[i]
        key, gm = self.key[e], self.gmem[e]
        return Slot(
            slot=key & 0xFFFF, as_=key >> 16, gpa=self.gpa[e], size=self.size[e], ua=self.ua[e],
            flags=self.flags[e], gmem=gm if gm >= 0 else None, offset=self.off[e] if gm >= 0 else 0,
            name=f"line {line}", line=line,
        )


class TraceStates(Sequence):
    """Every state of a replay, built on demand: ``states[n].layout``; ``len(states)`` = changes + 1."""

    def __init__(self, text: _Text, log: _Log, checkpoints: list[_Checkpoint], files: tuple[GmemFile, ...],
                 file_first_change: list[int], notes: list[Warning_], explicit_private: bool,
                 name: str, overrides: Overrides) -> None:
        self._text = text
        self._log = log
        self._ckpts = checkpoints
        self._ck_states = [c.state for c in checkpoints]
        self._files = files
        self._file_first = file_first_change
        self._notes = notes
        self._note_lines = [w.line or 0 for w in notes]
        self._explicit = explicit_private
        self._name = name
        self._overrides = overrides
        self._cache: OrderedDict[int, _Cached] = OrderedDict()
        self._final: Layout | None = None
        self._final = self.layout(len(log))

    def grown(self, files: tuple[GmemFile, ...], file_first_change: list[int], explicit: bool) -> None:
        """The replay went on (a live trace): later states exist, and the files' sizes, the notes and
        whether attributes are explicit may have changed for the earlier states too, so the cached
        layouts are dropped (the checkpoints stay valid; they grew with the log)."""
        self._ck_states = [c.state for c in self._ckpts]
        self._files = files
        self._file_first = file_first_change
        self._note_lines = [w.line or 0 for w in self._notes]
        self._explicit = explicit
        self._cache.clear()
        self._final = None
        self._final = self.layout(len(self._log))

    def __len__(self) -> int:
        return len(self._log) + 1

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"state {index} of {n}")
        return TraceState(index, self.line_of(index), self.text_of(index), self.layout(index))

    def __iter__(self) -> Iterator[TraceState]:
        for i in range(len(self)):
            yield self[i]

    def line_of(self, index: int) -> int:
        return self._log.line[index - 1] if index > 0 else 0

    def text_of(self, index: int) -> str:
        if index <= 0:
            return ""
        return self._text.line_at(self._log.pos[index - 1])

    def state_at_line(self, line: int) -> int:
        """The state in force after trace line ``line`` (0 before the first change)."""
        return bisect_right(self._log.line, line)

    def layout(self, index: int) -> Layout:
        if index == len(self._log) and self._final is not None:  # the last state, asked for most
            return self._final
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached.layout
        ck = self._ckpts[bisect_right(self._ck_states, index) - 1]
        base = max((k for k in self._cache if ck.state < k <= index), default=None)
        log = self._log
        if base is not None:
            c = self._cache[base]
            live, los, his, start = dict(c.live), list(c.los), list(c.his), base
        else:
            live = {key: log.slot(i) for key, i in zip(ck.keys, ck.made, strict=True)}
            los, his, start = list(ck.los), list(ck.his), ck.state
        for i in range(start, index):
            e = log.event[i]
            key = log.key[e]
            if key < 0:
                set_range(los, his, log.gpa[e], log.gpa[e] + log.size[e], bool(log.flags[e]))
            elif log.size[e] == 0:
                del live[key]
            else:
                s = log.slot(i)
                live[key] = s
                if s.gmem is not None:
                    set_range(los, his, s.gpa, s.end, True)
        layout = self._build(index, live, los, his)
        self._cache[index] = _Cached(layout, live, los, his)
        if len(self._cache) > CACHE_STATES:
            self._cache.popitem(last=False)
        return layout

    def _build(self, index: int, live: dict[int, Slot], los: list[int], his: list[int]) -> Layout:
        if index == len(self) - 1:
            notes = tuple(self._notes)
        else:
            notes = tuple(self._notes[: bisect_left(self._note_lines, self._log.line[index])])
        private = None
        if self._explicit:
            private = tuple(PrivateRange(a, b - a) for a, b in zip(los, his, strict=True))
        layout = Layout(
            slots=tuple(sorted(live.values(), key=lambda s: (s.as_, s.gpa, s.slot))),
            files=self._files[: bisect_left(self._file_first, index)],
            private=private,
            name=self._name,
            notes=notes,
        )
        return self._overrides.apply(layout)


@dataclass(frozen=True)
class Replay:
    layout: Layout  # the state after the last line
    states: TraceStates


class _Notes(list):
    """The replay's warnings, the first MAX_NOTES of them and then one that counts the rest: a trace
    of a million refused ioctls keeps a thousand notes, not a million (memory and output follow the
    changes). The count is the last element, replaced as it grows (a live trace shows it growing)."""

    def __init__(self) -> None:
        super().__init__()
        self.more = 0
        self.first_more = 0

    def append(self, w: Warning_) -> None:  # type: ignore[override]
        if len(self) < MAX_NOTES:
            super().append(w)
            return
        self.first_more = self.first_more or w.line or 0
        self.more += 1
        count = Warning_(f"{self.more} more warnings like these from line {self.first_more} on (not listed)",
                         line=self.first_more)
        if self.more == 1:
            super().append(count)
        else:
            self[-1] = count


class Replayer:
    """Parse and replay trace text given in pieces of whole lines (``feed``), keeping every state.

    ``load_trace`` feeds a whole file once; ``gmemtui.formats.trace_stream`` feeds the lines of a
    trace that QEMU is still writing as they arrive, and the same ``TraceStates`` grows with them.
    ``strict``: a bad event line raises ``InputError``; otherwise it becomes a warning naming its
    line and the replay goes on (a live trace must not stop at one garbled line).
    """

    def __init__(self, path: str, overrides: Overrides | None = None, *, strict: bool = True,
                 track: bool = True) -> None:
        self.path = path
        self.overrides = overrides or Overrides()
        self.strict = strict
        # attributes are replayed only if the trace converts memory; a stream cannot know in advance
        self.track = track
        self.explicit = False
        self.log = _Log()
        self.live: dict[int, int] = {}
        self.los: list[int] = []
        self.his: list[int] = []
        self.checkpoints = [_Checkpoint(0, array("q"), array("q"), (), ())]
        self.next_ckpt = CHECKPOINT_MIN
        self.files: dict[int, list[int]] = {}  # fd -> [end of furthest binding, first line, first change]
        self.notes: list[Warning_] = _Notes()
        self.cache: dict[str, tuple[int, ...]] = {}  # event line tail -> (event id, *parse_set(tail))
        self.caching, self.hits, self.misses = True, 0, 0
        self.text = _Text()
        self._states: TraceStates | None = None

    def feed(self, text: str, line: int = 1) -> None:
        """Replay ``text``, whole lines (the last may lack its newline only at the end of the input)
        whose first line is trace line ``line``."""
        base = self.text.add(text)
        track, explicit = self.track, self.explicit
        log = self.log
        append_line, append_pos, append_event = log.line.append, log.pos.append, log.event.append
        live, los, his, files = self.live, self.los, self.his, self.files
        notes, cache = self.notes, self.cache
        checkpoints, next_ckpt = self.checkpoints, self.next_ckpt
        caching, hits, misses = self.caching, self.hits, self.misses
        add_key, add_gpa, add_size, add_ua = log.key.append, log.gpa.append, log.size.append, log.ua.append
        add_flags, add_gmem, add_off = log.flags.append, log.gmem.append, log.off.append
        line_no, counted = line, 0
        n = n_before = len(log)  # changes so far
        n_events = len(log.key)
        count = text.count

        for m in _ANY_EVENT_RE.finditer(text):
            pos = m.start()
            line_no += count("\n", counted, pos)
            counted = pos
            is_set, tail = m.groups()
            if not ("Slot#" in tail or "slot=" in tail and _SLOT_FIELD_RE.search(tail)) if is_set \
                    else not _START_FIELD_RE.search(tail):
                later = _later_event(text, pos + 1, m.end())  # prose first, an event line after it?
                if later is None:
                    continue
                is_set, tail = later
            try:
                if is_set:  # kvm_set_user_memory
                    ev = cache.get(tail) if caching else None
                    if ev is None:
                        parsed = parse_set(tail)
                        if parsed is None:  # cannot happen: the scan saw the Slot# field
                            continue
                        key, as_, slot, flags, gpa, size, ua, fd, off, ret = parsed
                        evid = -1
                        if not ret:
                            evid = n_events
                            n_events += 1
                            add_key(key)
                            add_gpa(gpa)
                            add_size(size)
                            add_ua(ua)
                            add_flags(flags)
                            add_gmem(fd)
                            add_off(off)
                        if caching:
                            misses += 1
                            if len(cache) >= PARSE_CACHE:
                                cache.clear()
                                caching = misses < 4 * hits  # distinct lines: the cache only costs
                            cache[tail] = (evid, *parsed)
                    else:
                        hits += 1
                        evid, key, as_, slot, flags, gpa, size, ua, fd, off, ret = ev
                    if ret:
                        notes.append(Warning_(f"slot {slot} (as {as_}): KVM returned {ret} for this line, "
                                              "so it changes nothing", as_, slot, line_no))
                        continue
                    if size == 0:
                        if key not in live:
                            notes.append(Warning_(
                                f"slot {slot} (as {as_}): deleted but not created by the trace "
                                "(an excerpt?): nothing to delete", as_, slot, line_no))
                            continue
                        del live[key]
                    else:
                        live[key] = n
                        if fd >= 0:
                            f = files.get(fd)
                            if f is None:
                                files[fd] = [off + size, line_no, n]
                            elif off + size > f[0]:
                                f[0] = off + size
                            if track:
                                set_range(los, his, gpa, gpa + size, True)
                else:
                    gpa, size, to_private = parse_convert(tail)
                    explicit = True
                    if not set_range(los, his, gpa, gpa + size, to_private):
                        continue
                    evid = log.add_event(-1, int(to_private), gpa, size, 0, -1, 0)
                    n_events += 1
            except _Bad as e:
                if self.strict:
                    raise InputError(str(e), self.path, line_no) from None
                notes.append(Warning_(f"line {line_no}: {e} (line skipped)", None, None, line_no))
                continue
            append_line(line_no)
            append_pos(base + pos)
            append_event(evid)
            n += 1
            if n >= next_ckpt:
                ck = _Checkpoint(n, array("q", live), array("q", live.values()), tuple(los), tuple(his))
                checkpoints.append(ck)
                next_ckpt = n + max(CHECKPOINT_MIN, len(live) + len(los))

        self.text.keep_changed_lines(log.pos, n_before, base)
        self.explicit, self.next_ckpt = explicit, next_ckpt
        self.caching, self.hits, self.misses = caching, hits, misses

    def states(self) -> TraceStates:
        """Every state so far; the same object after later ``feed``\\s, grown to include them."""
        overrides = self.overrides
        file_values = tuple(
            GmemFile(
                id=fd,
                size=end,
                **({"max_page": overrides.gmem_max_page} if overrides.gmem_max_page is not None else {}),
                mmap=overrides.gmem_mmap,
                line=first_line,
            )
            for fd, (end, first_line, _) in self.files.items()
        )
        first = [f[2] for f in self.files.values()]
        if self._states is None:
            self._states = TraceStates(
                self.text, self.log, self.checkpoints, file_values, first, self.notes, self.explicit,
                f"QEMU trace {PurePath(self.path).name}", overrides,
            )
        else:
            self._states.grown(file_values, first, self.explicit)
        return self._states


def load_trace(text: str, path: str, overrides: Overrides | None = None) -> Replay:
    """Parse and replay a trace; raise ``InputError(msg, path, line)`` on a bad event line."""
    return load_trace_pieces([(text, 1)], path, overrides, track="kvm_convert_memory" in text)


def load_trace_pieces(pieces: Iterable[tuple[str, int]], path: str, overrides: Overrides | None = None,
                      track: bool = True) -> Replay:
    """``load_trace`` of a text given as pieces of whole lines, each with its first line number (a
    file read a chunk at a time: memory is what the replay keeps plus one piece, not the file)."""
    replayer = Replayer(path, overrides, track=track)
    for text, line in pieces:
        replayer.feed(text, line)
    states = replayer.states()
    final = states[-1].layout
    validate.check_layout(final, path)
    return Replay(final, states)
