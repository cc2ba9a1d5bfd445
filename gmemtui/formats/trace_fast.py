"""The fast path of a trace replay: QEMU 9.1's exact ``kvm_set_user_memory`` line, one regex per line.

A trace QEMU writes is almost all lines of one form (``accel/kvm/trace-events`` since 9.1), most of
them accepted (``ret=0``) with values KVM took. For those, ``feed_fast`` finds the event and reads
its fields with one regex over the whole piece (``FAST_91_RE``), converts only the fields the replay
checks, and keeps per change only its offset (the change log's line numbers are counted for a run
of such lines at once, and its fields are read again from its line when a state is built). Every
other line -- another form, a refused ioctl, a bad value, a conversion, a delete of an unknown
slot, prose naming the event -- goes to ``Replayer.replay_lines``, the plain path, so messages and
states are the plain path's own (tests compare the two on random and mutated traces).
"""

from __future__ import annotations

from array import array
from itertools import accumulate, repeat

from gmemtui.core.model import KVM_MEM_GUEST_MEMFD
from gmemtui.formats.trace_lines import (
    _ADDRESS_SPACES,
    _BASE_MASK,
    _FD_MAX,
    _GPA_LIMIT,
    _MAX_SLOT,
    _UA_LIMIT,
    FAST_91_RE,
)
from gmemtui.formats.trace_states import CHECKPOINT_MIN, _Checkpoint, _Log, _Text, set_range

_AS_KEY = {str(a): a << 16 for a in range(_ADDRESS_SPACES)}  # the key of (as, slot) is as << 16 | slot
_GMEM_FLAGS = frozenset(f"{f:x}" for f in range(8) if f & KVM_MEM_GUEST_MEMFD)  # flags=0x4 to 0x7
PARSE_CACHE = 1 << 16  # the most lines each parse cache remembers (the plain path's and this one)
_FAST_EVENT = array("q", [-1])  # the event of a fast change: read from its line (trace_states._Log)


class ReplayState:
    """The state of a replay that both its paths keep up (``gmemtui.formats.trace.Replayer`` is one,
    with the plain path, the warnings and the states)."""

    def __init__(self, track: bool) -> None:
        self.track = track  # replay the attributes (a guest_memfd binding makes its range private)
        self.text = _Text()
        self.log = _Log(self.text)
        self.live: dict[int, int] = {}  # key -> the change that made the live slot
        self.los: list[int] = []  # the private ranges [lo, hi) (when tracked)
        self.his: list[int] = []
        self.checkpoints = [_Checkpoint(0, array("q"), array("q"), (), ())]
        self.next_ckpt = CHECKPOINT_MIN
        self.files: dict[int, list[int]] = {}  # fd -> [end of furthest binding, first line, first change]
        self.fast_cache: dict[str, tuple[int, ...]] = {}  # the fast path's: line -> (key, size, gpa, fd, end)
        self.caching, self.hits, self.misses = True, 0, 0  # of both parse caches

    def replay_lines(self, text: str, base: int, start: int, end: int, line: int) -> None:
        """The plain path (``Replayer.replay_lines``)."""
        raise NotImplementedError


def _flush(log: _Log, text: str, base: int, done: list[int], line: int, counted: int) -> tuple[int, int]:
    """Log the fast changes at offsets ``done`` (in ``text``; ``line`` is the line at ``counted``): their
    offsets, events and line numbers, each a C loop over the run. Each is on a line of its own (a
    match runs to the end of its line), so when the run's lines hold nothing else -- a trace of
    event lines only -- they are consecutive: two counts of newlines give them all. Returns the line
    number at the last one."""
    if not done:
        return line, counted
    k, first, last = len(done), done[0], done[-1]
    line += text.count("\n", counted, first)
    if text.count("\n", first, last) == k - 1:
        log.line.extend(range(line, line + k))
    else:
        lines = list(accumulate(map(text.count, repeat("\n"), done, done[1:]), initial=line))
        log.line.extend(lines)
    log.pos.extend(map(base.__add__, done) if base else done)
    log.event.extend(_FAST_EVENT * k)
    done.clear()
    return log.line[-1], last


def _plain_line(r: ReplayState, text: str, base: int, done: list[int], line: int, counted: int,
                pos: int) -> tuple[int, int]:
    """Hand the line at offset ``pos`` to the plain path; returns (its line number, ``pos``)."""
    line, counted = _flush(r.log, text, base, done, line, counted)
    line += text.count("\n", counted, pos)
    end = text.find("\n", pos)
    r.replay_lines(text, base, pos, end if end >= 0 else len(text), line)
    return line, pos


def _first_of_file(r: ReplayState, text: str, base: int, done: list[int], line: int, counted: int,
                   pos: int, fd: int, end: int, n: int) -> tuple[int, int]:
    """Record guest_memfd ``fd``'s first binding, change ``n`` at offset ``pos`` (its extent so far
    ``end``): the line number is counted up to it. Returns (that line number, ``pos``)."""
    line, counted = _flush(r.log, text, base, done, line, counted)
    line += text.count("\n", counted, pos)
    r.files[fd] = [end, line, n]
    return line, pos


def feed_fast(r: ReplayState, text: str, base: int, line: int) -> None:
    """``r.replay_lines(text, base, 0, len(text), line)``, faster on QEMU 9.1's accepted lines.

    Two loops over the same matches: the first while the parse cache pays (lines repeat: a line seen
    before is not read again), the second, without the cache, once it stops paying (distinct lines).
    """
    log = r.log
    live, los, his, files, track = r.live, r.los, r.his, r.files, r.track
    checkpoints, next_ckpt = r.checkpoints, r.next_ckpt
    cache, caching, hits, misses = r.fast_cache, r.caching, r.hits, r.misses
    n = len(log)
    done: list[int] = []  # offsets of the fast changes not yet in the log
    add = done.append
    line_no, counted = line, 0  # the line number at offset ``counted``
    matches = FAST_91_RE.finditer(text)
    for m in matches if caching else ():
        ev = cache.get(t := m[0])
        if ev is not None:
            hits += 1
            key, size, gpa, fdv, end = ev
            ok = True
        else:  # what parse_set's inline branch checks, where the regex has not
            a, s, fl, g, z, u, fd, off = m.groups()
            ok = False
            if a is not None and (slot := int(s)) <= _MAX_SLOT:
                key = _AS_KEY[a] | slot
                if z == "0":  # a delete (the regex allows no other way to write size 0)
                    size, gpa, fdv, end = 0, 0, -1, 0
                    ok = True
                else:
                    size, gpa, ua = int(z, 16), int(g, 16), int(u, 16)
                    if not ((gpa | size | ua) & _BASE_MASK or gpa + size > _GPA_LIMIT
                            or ua + size > _UA_LIMIT):
                        if fl not in _GMEM_FLAGS:
                            fdv, end = -1, 0
                            ok = True
                        else:
                            fdv, end = int(fd), int(off, 16) + size
                            ok = 0 <= fdv <= _FD_MAX and not end & _BASE_MASK and end <= _UA_LIMIT
            if ok:
                misses += 1
                if len(cache) >= PARSE_CACHE:
                    cache.clear()
                    caching = misses < 4 * hits  # distinct lines: the cache only costs
                cache[t] = (key, size, gpa, fdv, end)
        if ok:
            if not size:
                if key in live:
                    del live[key]
                else:  # nothing to delete: the plain path says so
                    ok = False
            else:
                live[key] = n
                if fdv >= 0:
                    f = files.get(fdv)
                    if f is None:  # the file's first line: count up to here
                        line_no, counted = _first_of_file(r, text, base, done, line_no, counted, m.start(),
                                                          fdv, end, n)
                    elif end > f[0]:
                        f[0] = end
                    if track:
                        set_range(los, his, gpa, gpa + size, True)
        if ok:
            add(m.start())
            n += 1
            if n >= next_ckpt:  # the log too is brought up to date: ``done`` holds a state's worth at most
                line_no, counted = _flush(log, text, base, done, line_no, counted)
                next_ckpt = _checkpoint(checkpoints, n, live, los, his)
        else:  # every other line: the plain path, with the state handed over and taken back
            r.next_ckpt, r.caching, r.hits, r.misses = next_ckpt, caching, hits, misses
            line_no, counted = _plain_line(r, text, base, done, line_no, counted, m.start())
            next_ckpt, caching, hits, misses = r.next_ckpt, r.caching, r.hits, r.misses
            n = len(log)
        if not caching:
            break
    for m in matches:  # the same without the cache: (the rest of) the lines
        a, s, fl, g, z, u, fd, off = m.groups()
        if a is not None and (slot := int(s)) <= _MAX_SLOT:
            key = _AS_KEY[a] | slot
            if z == "0":
                if key in live:
                    del live[key]
                    add(m.start())
                    n += 1
                    if n >= next_ckpt:
                        line_no, counted = _flush(log, text, base, done, line_no, counted)
                        next_ckpt = _checkpoint(checkpoints, n, live, los, his)
                    continue
            else:
                size, gpa, ua = int(z, 16), int(g, 16), int(u, 16)
                if not ((gpa | size | ua) & _BASE_MASK or gpa + size > _GPA_LIMIT or ua + size > _UA_LIMIT):
                    if fl not in _GMEM_FLAGS:
                        live[key] = n
                        add(m.start())
                        n += 1
                        if n >= next_ckpt:
                            line_no, counted = _flush(log, text, base, done, line_no, counted)
                            next_ckpt = _checkpoint(checkpoints, n, live, los, his)
                        continue
                    fdv, end = int(fd), int(off, 16) + size
                    if 0 <= fdv <= _FD_MAX and not end & _BASE_MASK and end <= _UA_LIMIT:
                        live[key] = n
                        f = files.get(fdv)
                        if f is None:
                            line_no, counted = _first_of_file(r, text, base, done, line_no, counted,
                                                              m.start(), fdv, end, n)
                        elif end > f[0]:
                            f[0] = end
                        if track:
                            set_range(los, his, gpa, gpa + size, True)
                        add(m.start())
                        n += 1
                        if n >= next_ckpt:
                            line_no, counted = _flush(log, text, base, done, line_no, counted)
                            next_ckpt = _checkpoint(checkpoints, n, live, los, his)
                        continue
        r.next_ckpt, r.caching, r.hits, r.misses = next_ckpt, caching, hits, misses
        line_no, counted = _plain_line(r, text, base, done, line_no, counted, m.start())
        next_ckpt, caching, hits, misses = r.next_ckpt, r.caching, r.hits, r.misses
        n = len(log)
    _flush(log, text, base, done, line_no, counted)
    r.next_ckpt, r.caching, r.hits, r.misses = next_ckpt, caching, hits, misses


def _checkpoint(checkpoints: list[_Checkpoint], n: int, live: dict[int, int], los: list[int],
                his: list[int]) -> int:
    """Checkpoint state ``n`` (as ``Replayer.replay_lines`` does); returns the state of the next one."""
    checkpoints.append(_Checkpoint(n, array("q", live), array("q", live.values()), tuple(los), tuple(his)))
    return n + max(CHECKPOINT_MIN, len(live) + len(los))
