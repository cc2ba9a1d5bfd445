"""A trace that QEMU is still writing (docs/tui.md, live traces): text arrives in chunks, states follow.

QEMU writes ``kvm_set_user_memory`` lines to its log file (``-D FILE``) or to stderr as the guest
maps and unmaps memory, so a reader sees them in pieces cut anywhere: in the middle of a line, of a
number, even of a UTF-8 character. ``TraceStream`` keeps the incomplete last line until its newline
arrives and replays the complete lines through ``gmemtui.formats.trace.Replayer``, the very code that
loads a whole trace file, so the states after the last chunk are the states of the whole text.

A live trace must not stop at one garbled line (a line cut by a crash, a mangled copy): a bad event
line becomes a warning naming its line number, is skipped, and the lines after it are replayed.
Its attributes are always tracked, since a ``kvm_convert_memory`` line may come at any time.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from gmemtui.core import validate
from gmemtui.core.model import Layout, Overrides, Warning_
from gmemtui.formats.trace import Replayer
from gmemtui.formats.trace_states import TraceStates


@dataclass(frozen=True)
class StreamUpdate:
    """What one chunk brought: how many new states, and the new warnings (bad lines included)."""

    new_states: int
    warnings: tuple[Warning_, ...]

    def __bool__(self) -> bool:
        return bool(self.new_states or self.warnings)


class TraceStream:
    """Feed it text or bytes as they arrive (``feed``), and ``close`` it at the end of the input."""

    def __init__(self, path: str, overrides: Overrides | None = None) -> None:
        self.path = path
        self.overrides = overrides
        self._replayer = Replayer(path, overrides, strict=False, track=True)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []  # the incomplete last line, in the pieces it came in
        self._line = 1  # the trace line number of the first line not yet replayed
        self._states = self._replayer.states()
        self.closed = False

    @property
    def states(self) -> TraceStates:
        """Every state so far (state 0: the empty layout); the same object as the stream grows."""
        return self._states

    @property
    def layout(self) -> Layout:
        """The newest state's layout."""
        return self._states.layout(len(self._states) - 1)

    @property
    def lines(self) -> int:
        """Complete lines replayed so far."""
        return self._line - 1

    @property
    def pending(self) -> str:
        """The incomplete last line that waits for its newline."""
        return "".join(self._pending)

    def problems(self) -> list[str]:
        """What a whole-file load would refuse in the newest state (``FILE:LINE: ...``: overlapping
        slots or bindings, a binding beyond its file). A live trace shows them instead of stopping;
        they may go away again when a later line deletes one of the slots."""
        return [str(e) for e in validate.layout_errors(self.layout, self.path)]

    def feed(self, chunk: str | bytes) -> StreamUpdate:
        """Add ``chunk`` (cut anywhere) and replay the lines it completes."""
        if self.closed:
            raise ValueError("feed after close")
        text = self._decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        cut = text.rfind("\n") + 1
        if not cut:
            if text:
                self._pending.append(text)
            return StreamUpdate(0, ())
        whole = "".join(self._pending) + text[:cut]
        self._pending = [text[cut:]] if cut < len(text) else []
        return self._replay(whole)

    def close(self) -> StreamUpdate:
        """The end of the input: a last line without a newline counts, as it does in a file."""
        if self.closed:
            return StreamUpdate(0, ())
        rest = "".join(self._pending) + self._decoder.decode(b"", final=True)
        self._pending = []
        self.closed = True
        return self._replay(rest) if rest else StreamUpdate(0, ())

    def _replay(self, whole: str) -> StreamUpdate:
        r = self._replayer
        states_before, notes_before = len(self._states), len(r.notes)
        r.feed(whole, self._line)
        self._line += whole.count("\n")
        self._states = r.states()
        return StreamUpdate(len(self._states) - states_before, tuple(r.notes[notes_before:]))
