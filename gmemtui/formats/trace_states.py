"""The states of a replayed trace, kept small: a change log (a few machine words per change, in
``array``\\s) plus checkpoints of the live slots every ``max(64, live slots)`` changes, so memory grows
with the number of changes, not lines × slots; a state's ``Layout`` is built on demand from the
nearest checkpoint or cached state (``TraceStates``). The trace text is kept as the pieces it came in.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gmemtui.core.model import GmemFile, Layout, Overrides, PrivateRange, Slot, Warning_
from gmemtui.formats.trace_lines import fast_fields

CACHE_STATES = 16
CHECKPOINT_MIN = 64  # changes between checkpoints at least (more with more live slots)


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

    def at(self, pos: int) -> tuple[str, int]:
        """The piece holding offset ``pos`` and the offset in it."""
        i = bisect_right(self.starts, pos) - 1
        return self.pieces[i], pos - self.starts[i]

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
    toggled), so events are stored once and a change costs three words: line, offset, event. A
    change from the fast path (``trace_fast``: a QEMU 9.1 line KVM accepted) has event -1 and no
    entry in the table: its fields are read again from its line, which the text keeps.
    """

    def __init__(self, text: _Text) -> None:
        self.text = text
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

    def fields(self, i: int) -> tuple[int, int, int, int, int, int, int]:
        """(key, flags, gpa, size, ua, fd, offset) of change ``i``'s event."""
        e = self.event[i]
        if e < 0:
            return fast_fields(*self.text.at(self.pos[i]))
        return self.key[e], self.flags[e], self.gpa[e], self.size[e], self.ua[e], self.gmem[e], self.off[e]

    def slot(self, i: int) -> Slot:
        """The slot made by change ``i``, named after its trace line."""
        key, flags, gpa, size, ua, gm, off = self.fields(i)
        line = self.line[i]
        return Slot(
            slot=key & 0xFFFF, as_=key >> 16, gpa=gpa, size=size, ua=ua,
            flags=flags, gmem=gm if gm >= 0 else None, offset=off if gm >= 0 else 0,
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
            key, flags, gpa, size, *_ = log.fields(i)
            if key < 0:
                set_range(los, his, gpa, gpa + size, bool(flags))
            elif size == 0:
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
