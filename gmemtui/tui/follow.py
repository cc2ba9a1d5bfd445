"""The TUI on a live trace (docs/tui.md): ``gmemtui --follow FILE`` and ``gmemtui -`` (a pipe).

New trace lines become new states as they arrive. The view follows the newest state unless the
user stepped back with ``[`` (or the timeline bar); then it stays where it is and the timeline says
how many newer states there are, and stepping to the newest one follows again. A bad line is a
warning naming its line, and the stream goes on (``gmemtui.formats.trace_stream``).

A pipe is watched by the event loop (``add_reader``: woken when QEMU writes, idle otherwise); a
regular file cannot be watched that way (it always reads as ready), so it is polled a few times a
second. Each wake-up reads what is there (up to ``tail.LIMIT``) and redraws once, so a fast writer
costs one redraw per batch of lines, not one per line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import PurePath

from gmemtui.commands.options import overrides_from
from gmemtui.core.errors import InputError
from gmemtui.formats.loader import STDIN, STDIN_LABEL, Loaded
from gmemtui.formats.tail import Tail
from gmemtui.formats.trace_stream import StreamUpdate, TraceStream
from gmemtui.tui.app import GmemApp

POLL = 0.2  # seconds between looks at a followed file
NOTIFY_MAX = 3  # bad lines notified one by one per batch; more are summed up (all are in the warnings)


def live_loaded(stream: TraceStream, path: str) -> Loaded:
    return Loaded(stream.layout, path, "", "trace", stream.states)


class FollowApp(GmemApp):
    """``GmemApp`` whose trace keeps growing from ``tail``."""

    def __init__(self, tail: Tail, stream: TraceStream, path: str) -> None:
        self.tail = tail
        self.stream = stream
        super().__init__(live_loaded(stream, path), path_opened=True)
        self._watching = False
        self._problems_told: set[str] = set()

    def on_mount(self) -> None:
        super().on_mount()
        if self.timeline is not None:
            self.timeline.live = "following"
        if self.tail.is_file:
            self.set_interval(POLL, self.pump)
        else:
            try:
                asyncio.get_running_loop().add_reader(self.tail.fd, self.pump)
                self._watching = True
            except (NotImplementedError, ValueError, OSError):  # no selector for this fd: poll
                self.set_interval(POLL, self.pump)
        self.pump()

    def on_unmount(self) -> None:
        self._stop_watching()
        self.tail.close()

    def _stop_watching(self) -> None:
        if self._watching:
            self._watching = False
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.tail.fd)

    # -- reading ------------------------------------------------------------------------------------

    def pump(self) -> None:
        """Read what has arrived, replay it, and show the result."""
        if self.stream.closed or self.tail.fd < 0:
            return
        data = self.tail.read()
        if self.tail.truncated:
            self.restart()
        if data is None:  # the pipe was closed: the end of the trace
            self._stop_watching()
            self.apply(self.stream.close(), "end of input")
            if len(self.stream.states) == 1 and self.stream.lines:
                self.notify("no kvm_set_user_memory line in the input (a trace needs "
                            "-trace kvm_set_user_memory)", severity="warning")
            return
        if data:
            self.apply(self.stream.feed(data))

    def restart(self) -> None:
        """The file shrank: QEMU started again and truncated its ``-D`` file. Its new trace is
        another VM's, so the replay starts afresh (what was shown is gone with the old file)."""
        old = self.stream
        self.stream = TraceStream(old.path, old.overrides)
        self._problems_told.clear()
        self.loaded = live_loaded(self.stream, self.loaded.path)
        self.notify(f"{self.tail.name} started again (truncated): replaying it from its first line",
                    severity="warning")
        timeline = self.timeline
        if timeline is not None:
            timeline.restart(self.stream.states)
            self.show_state(0)

    def apply(self, update: StreamUpdate, live: str | None = None) -> None:
        """Show what ``update`` brought: follow the newest state unless the user stepped back."""
        timeline = self.timeline
        if timeline is None:
            return
        if not update and live is None:
            return
        # an edited state is not swept away by the next line: the view stays, the timeline counts on
        following = timeline.following and not self.dirty
        self.loaded = live_loaded(self.stream, self.loaded.path)
        map_fitted = self._map_fitted()
        moved = timeline.grown(live, following)
        if following and not moved:  # same state, new facts (a bad line's warning, a file grew)
            self.show_state(timeline.index)
        if map_fitted:
            self._refit_map()
        self._notify_bad_lines(update)
        if update.new_states:
            self._notify_problems()

    def _notify_problems(self) -> None:
        """Each new problem of the newest state once (a whole-file load would refuse the trace)."""
        for problem in self.stream.problems():
            if problem not in self._problems_told:
                self._problems_told.add(problem)
                self.notify(problem, severity="error")

    def _notify_bad_lines(self, update: StreamUpdate) -> None:
        bad = [w for w in update.warnings if w.as_ is None and w.slot is None]
        for w in bad[:NOTIFY_MAX]:
            self.notify(w.message, title=PurePath(self.loaded.path).name, severity="warning")
        if len(bad) > NOTIFY_MAX:
            self.notify(f"{len(bad) - NOTIFY_MAX} more bad lines (see the warnings)", severity="warning")

    # -- the map: a view fitted to the whole guest stays fitted as the guest grows -------------------

    def _map_fitted(self) -> bool:
        m = self.map_view
        if m.mode != "linear":
            return False
        if not m.bpc:
            return True
        try:
            return m.start == 0 and m.bpc == m._max_bpc(m.bar_width())
        except Exception:  # pragma: no cover - the map's internals changed: leave the view alone
            return False

    def _refit_map(self) -> None:
        m = self.map_view
        if m.mode == "linear":
            m.bpc, m.start = 0, 0
            m.redraw()


# -- gmemtui --follow FILE, gmemtui - -----------------------------------------------------------------

STDIN_NAME = "stdin.trace"  # what the app calls a piped trace (a save suggests stdin.yaml beside it)


def stdin_tail() -> Tail:
    """Standard input as the trace, and the terminal as the keyboard.

    Textual's Linux driver reads keys and mouse reports from file descriptor 0, which is the pipe
    here. So the pipe is moved to another descriptor and the controlling terminal (``/dev/tty``)
    is opened onto descriptor 0 before the app starts; the app then reads the terminal as if it had
    been started without a pipe, and the trace comes from the moved descriptor.
    """
    if os.isatty(0):
        raise InputError("- reads a trace from a pipe, but standard input is a terminal; e.g. "
                         "qemu-system-x86_64 ... -trace kvm_set_user_memory 2>&1 | gmemtui -")
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError as e:
        raise InputError("- reads a trace from a pipe and the keyboard from the terminal, but there is "
                         f"no terminal (/dev/tty: {e.strerror})") from None
    pipe = os.dup(0)
    os.dup2(tty, 0)
    os.close(tty)
    return Tail(pipe, STDIN_LABEL)


def main(args: argparse.Namespace) -> int:
    """Open the TUI on a live trace; bad input is one line and exit 2 before Textual starts."""
    path = getattr(args, "file", None)
    try:
        if not path:
            raise InputError("--follow needs a FILE: the trace QEMU writes "
                             "(-trace kvm_set_user_memory -D FILE)")
        overrides = overrides_from(args)
        if path == STDIN:
            tail, name, label = stdin_tail(), STDIN_NAME, STDIN_LABEL
        else:
            tail, name, label = Tail.open(path), path, path
    except InputError as e:
        print(str(e), file=sys.stderr)
        return 2
    try:
        FollowApp(tail, TraceStream(label, overrides), name).run()
    finally:
        tail.close()
    return 0
