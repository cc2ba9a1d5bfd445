"""The TUI on a live trace (gmemtui.tui.follow): a file that grows and a pipe, written a line at a time
while the app runs. Waits poll the app with an upper bound (they never assert on time)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gmemtui.formats.tail import Tail
from gmemtui.formats.trace_stream import TraceStream
from gmemtui.tui.follow import FollowApp

from .conftest import SIZE, until

LINE = ("4242@1.{i:06d}:kvm_set_user_memory AddrSpace#0 Slot#{s} flags=0x0 gpa={g:#x} size=0x200000 "
        "ua={u:#x} guest_memfd=-1 guest_memfd_offset=0x0 ret=0\n")
BAD = "4242@9.0:kvm_set_user_memory AddrSpace#0 Slot#7 flags=0x0 gpa=0x1234 size=0x200000 ua=0x0 ret=0\n"


def line(i: int) -> str:
    """Slot i at 2M * 2i (a hole between slots), ua on a 2M boundary."""
    return LINE.format(i=i, s=i, g=i * 0x400000, u=0x7F0000000000 + i * 0x400000)


def follow_file(path: Path) -> FollowApp:
    return told(FollowApp(Tail.open(str(path)), TraceStream(str(path)), str(path)))


def told(app: FollowApp) -> FollowApp:
    """Keep every notification's text in ``app.told``: a toast expires after a few seconds, which
    a loaded machine can spend between the notification and the assertion."""
    app.told = []  # type: ignore[attr-defined]
    notify = app.notify

    def record(message, *args, **kwargs):
        app.told.append(str(message))  # type: ignore[attr-defined]
        return notify(message, *args, **kwargs)

    app.notify = record  # type: ignore[method-assign]
    return app


def append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


def slots(app: FollowApp) -> list[int]:
    return sorted(s.slot for s in app.layout.slots)


def notes_text(app: FollowApp) -> str:
    return "\n".join(w.message for w in app.warnings)


async def test_a_growing_file_adds_states_and_the_view_follows_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "qemu.log"
    path.write_text("qemu-system-x86_64: starting\n")
    app = follow_file(path)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.timeline
        assert timeline is not None and app.layout.slots == () and len(app.stream.states) == 1
        for i in range(3):
            append(path, line(i))
            await until(pilot, lambda i=i: len(app.stream.states) == i + 2, f"state {i + 1}")
            await until(pilot, lambda i=i: slots(app) == list(range(i + 1)), f"slot {i} shown")
            assert timeline.index == i + 1 and "following" in timeline.label()
        assert not app.dirty and not app.history.can_undo  # new states are not edits

        await pilot.press("left_square_bracket")  # step back: the view stays there from now on
        await pilot.pause()
        assert timeline.index == 2 and slots(app) == [0, 1]
        assert "1 newer state" in timeline.label()
        append(path, line(3) + line(4))
        await until(pilot, lambda: len(app.stream.states) == 6, "states 4 and 5")
        await pilot.pause()
        assert timeline.index == 2 and slots(app) == [0, 1]
        assert "3 newer states" in timeline.label()
        assert "state 2/5" in timeline.label()

        await pilot.press(*["right_square_bracket"] * 3)  # back at the newest: following again
        await pilot.pause()
        assert timeline.index == 5 and slots(app) == [0, 1, 2, 3, 4] and "following" in timeline.label()
        append(path, line(5))
        await until(pilot, lambda: slots(app) == [0, 1, 2, 3, 4, 5], "slot 5 followed")
        assert timeline.index == 6
        await pilot.press("q")  # nothing edited: quits without asking
        await pilot.pause()
        assert not app.is_running


async def test_a_partial_line_waits_and_a_bad_line_warns_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "qemu.log"
    path.write_text(line(0))
    app = follow_file(path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: slots(app) == [0], "the first line")
        half = line(1)[:50]
        append(path, half)
        await until(pilot, lambda: app.tail.offset == path.stat().st_size, "the half line read")
        await until(pilot, lambda: app.stream.pending == half, "the half line held back")
        assert len(app.stream.states) == 2 and slots(app) == [0]
        append(path, line(1)[50:])
        await until(pilot, lambda: slots(app) == [0, 1], "the completed line")
        assert app.stream.states[2].text == line(1).rstrip("\n")

        append(path, BAD)  # line 3
        await until(pilot, lambda: "line 3:" in notes_text(app), "the bad line's warning")
        assert "gpa 0x1234 is not a multiple of 4 KiB" in notes_text(app)
        assert any("line 3:" in m for m in app.told)
        assert len(app.stream.states) == 3 and app.timeline.index == 2  # it changed nothing ...
        append(path, line(2))  # ... and the stream goes on
        await until(pilot, lambda: slots(app) == [0, 1, 2], "the line after the bad one")
        assert app.layout.slots[-1].line == 4


async def test_an_edit_holds_the_view_while_lines_arrive(tmp_path: Path) -> None:
    path = tmp_path / "qemu.log"
    path.write_text(line(0))
    app = follow_file(path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: slots(app) == [0], "the first line")
        await pilot.press("p")  # a what-if edit
        await pilot.pause()
        assert app.dirty
        append(path, line(1))
        await until(pilot, lambda: len(app.stream.states) == 3, "state 2")
        await pilot.pause()
        assert slots(app) == [0] and app.dirty and "1 newer state" in app.timeline.label()


async def test_a_pipe_written_a_line_at_a_time(tmp_path: Path) -> None:
    r, w = os.pipe()
    app = FollowApp(Tail(r, "<stdin>"), TraceStream("<stdin>"), "stdin.trace")
    try:
        async with app.run_test(size=SIZE) as pilot:
            for i in range(3):
                os.write(w, line(i).encode())
                await until(pilot, lambda i=i: slots(app) == list(range(i + 1)), f"slot {i} from the pipe")
                assert app.timeline.index == i + 1
            await pilot.press("left_square_bracket")
            await pilot.pause()
            assert slots(app) == [0, 1]
            os.write(w, BAD.encode())  # line 4
            await until(pilot, lambda: any("line 4:" in w.message for w in app.stream.layout.notes),
                        "the bad line")
            os.write(w, line(3).encode()[:30])
            await pilot.pause()
            assert slots(app) == [0, 1] and "1 newer state" in app.timeline.label()
            os.write(w, line(3).encode()[30:-1])  # no newline: at the end of input it still counts
            os.close(w)
            w = -1
            await until(pilot, lambda: app.stream.closed, "the end of input")
            await pilot.pause()
            assert len(app.stream.states) == 5 and app.timeline.index == 2
            assert "2 newer states" in app.timeline.label()
            await pilot.press("right_square_bracket", "right_square_bracket")
            await pilot.pause()
            assert slots(app) == [0, 1, 2, 3] and "end of input" in app.timeline.label()
    finally:
        if w >= 0:
            os.close(w)


@pytest.mark.parametrize("args", [["--follow"], ["--follow", "/no/such/trace"]])
def test_follow_without_a_readable_file_is_one_line_and_exit_2(args: list[str], capsys) -> None:
    from gmemtui.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("needs a FILE" in err or "no such file" in err)


def test_dash_without_a_terminal_for_the_keys_is_one_line_and_exit_2() -> None:
    """A new session has no controlling terminal: /dev/tty cannot be opened, so no keyboard."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "gmemtui", "-"], input=line(0).encode(), capture_output=True,
                       timeout=120, start_new_session=True)
    assert r.returncode == 2
    err = r.stderr.decode()
    assert err.startswith("gmemtui: - reads a trace from a pipe and the keyboard from the terminal")
    assert err.count("\n") == 1


async def test_a_truncated_file_starts_the_replay_again(tmp_path: Path) -> None:
    """QEMU run again with the same -D FILE truncates it: the new VM's trace replaces the old one."""
    path = tmp_path / "qemu.log"
    path.write_text(line(0) + line(1) + line(2))
    app = follow_file(path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: slots(app) == [0, 1, 2], "the first run's slots")
        path.write_text(line(5)[:30])  # truncated, and the new run's first line half written
        await until(pilot, lambda: len(app.stream.states) == 1 and app.stream.pending, "the restart")
        await pilot.pause()
        assert app.layout.slots == () and app.timeline.index == 0
        assert any("started again" in m for m in app.told)
        append(path, line(5)[30:])
        await until(pilot, lambda: slots(app) == [5], "the second run's slot")
        assert app.stream.states[1].line == 1 and app.timeline.index == 1
        assert "state 1/1" in app.timeline.label()


async def test_an_overlap_a_file_load_would_refuse_is_told_once(tmp_path: Path) -> None:
    path = tmp_path / "qemu.log"
    path.write_text(line(0))
    app = follow_file(path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: slots(app) == [0], "the first line")
        overlap = LINE.format(i=9, s=9, g=0x100000, u=0x7F0000000000)
        append(path, overlap + line(1))  # slot 9 overlaps slot 0; slot 1 comes after it
        await until(pilot, lambda: slots(app) == [0, 1, 9], "the overlapping slot shown")
        told = [m for m in app.told if "overlaps" in m]
        assert told == [f"{path}:2: slot 9 [0x100000, 0x300000) overlaps slot 0 [0x0, 0x200000) "
                        "in address space 0"]


async def test_follow_a_named_pipe_waits_for_its_writer(tmp_path: Path) -> None:
    import threading

    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    fds: list[int] = []
    writer = threading.Thread(target=lambda: fds.append(os.open(fifo, os.O_WRONLY)))
    writer.start()
    tail = Tail.open(str(fifo))  # returns once the writer has opened its end
    writer.join(timeout=60)
    assert fds and not tail.is_file
    app = FollowApp(tail, TraceStream(str(fifo)), str(fifo))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert not app.stream.closed  # no data yet is not the end
            os.write(fds[0], line(0).encode())
            await until(pilot, lambda: slots(app) == [0], "a line through the named pipe")
            os.close(fds.pop())
            await until(pilot, lambda: app.stream.closed, "the end of input")
            assert "end of input" in app.timeline.label()
    finally:
        for fd in fds:
            os.close(fd)
        tail.close()
