"""Replaying QEMU ``kvm_set_user_memory`` traces (docs/formats.md): every line in order, every state kept.

``trace_lines`` reads the events of a line; ``trace_states`` keeps what the replay produced (a change
log and checkpoints, so memory follows the changes, not the lines); ``trace_fast`` replays QEMU 9.1's
accepted lines, most of a real trace, with the same result as the plain path here. A slot is
created, replaced or deleted as KVM would; a refused ioctl (``ret`` non-zero) changes nothing;
``kvm_convert_memory`` lines set memory attributes.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from gmemtui.core import validate
from gmemtui.core.errors import InputError
from gmemtui.core.model import GmemFile, Layout, Overrides, Warning_
from gmemtui.formats.trace_fast import PARSE_CACHE, ReplayState, feed_fast
from gmemtui.formats.trace_lines import (
    ANY_EVENT_RE,
    SLOT_FIELD_RE,
    START_FIELD_RE,
    LineError,
    later_event,
    parse_convert,
    parse_set,
)
from gmemtui.formats.trace_states import CHECKPOINT_MIN, TraceStates, _Checkpoint, set_range

MAX_NOTES = 1000


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


class Replayer(ReplayState):
    """Parse and replay trace text given in pieces of whole lines (``feed``), keeping every state.

    ``load_trace`` feeds a whole file once; ``gmemtui.formats.trace_stream`` feeds the lines of a
    trace that QEMU is still writing as they arrive, and the same ``TraceStates`` grows with them.
    ``strict``: a bad event line raises ``InputError``; otherwise it becomes a warning naming its
    line and the replay goes on (a live trace must not stop at one garbled line).
    """

    def __init__(self, path: str, overrides: Overrides | None = None, *, strict: bool = True,
                 track: bool = True, fast: bool = True) -> None:
        # attributes are replayed only if the trace converts memory; a stream cannot know in advance
        super().__init__(track)
        self.path = path
        self.fast = fast  # False: every line through the plain path (the reference the tests compare with)
        self.overrides = overrides or Overrides()
        self.strict = strict
        self.explicit = False
        self.notes: list[Warning_] = _Notes()
        self.cache: dict[str, tuple[int, ...]] = {}  # event line tail -> (event id, *parse_set(tail))
        self._states: TraceStates | None = None

    def feed(self, text: str, line: int = 1) -> None:
        """Replay ``text``, whole lines (the last may lack its newline only at the end of the input)
        whose first line is trace line ``line``."""
        base = self.text.add(text)
        n_before = len(self.log)
        if self.fast:
            feed_fast(self, text, base, line)
        else:
            self.replay_lines(text, base, 0, len(text), line)
        self.text.keep_changed_lines(self.log.pos, n_before, base)

    def replay_lines(self, text: str, base: int, start: int, end: int, line: int) -> None:
        """The plain path, one event line at a time: replay the lines of ``text[start:end]``, ``line``
        the number of the line holding ``start``, ``base`` the offset of ``text`` in the whole trace.
        ``feed_fast`` gives the same result and hands this path every line it does not take itself."""
        track, explicit = self.track, self.explicit
        log = self.log
        append_line, append_pos, append_event = log.line.append, log.pos.append, log.event.append
        live, los, his, files = self.live, self.los, self.his, self.files
        notes, cache = self.notes, self.cache
        checkpoints, next_ckpt = self.checkpoints, self.next_ckpt
        caching, hits, misses = self.caching, self.hits, self.misses
        add_key, add_gpa, add_size, add_ua = log.key.append, log.gpa.append, log.size.append, log.ua.append
        add_flags, add_gmem, add_off = log.flags.append, log.gmem.append, log.off.append
        line_no, counted = line, start
        n = len(log)  # changes so far
        n_events = len(log.key)
        count = text.count

        for m in ANY_EVENT_RE.finditer(text, start, end):
            pos = m.start()
            line_no += count("\n", counted, pos)
            counted = pos
            is_set, tail = m.groups()
            if not ("Slot#" in tail or "slot=" in tail and SLOT_FIELD_RE.search(tail)) if is_set \
                    else not START_FIELD_RE.search(tail):
                later = later_event(text, pos + 1, m.end())  # prose first, an event line after it?
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
            except LineError as e:
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
