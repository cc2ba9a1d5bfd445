"""The real ``gmemtui --follow FILE`` and ``cat FIFO | gmemtui -`` in a real terminal (tmux), with trace
lines written while they run. Waits poll the screen with an upper bound; skipped without tmux."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tmux import GMEMTUI, Tmux, _quote

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

LINE = ("4242@1.{i:06d}:kvm_set_user_memory AddrSpace#0 Slot#{i} flags=0x0 gpa={g:#x} size=0x200000 "
        "ua={u:#x} guest_memfd=-1 guest_memfd_offset=0x0 ret=0\n")
BAD = "4242@9.0:kvm_set_user_memory AddrSpace#0 Slot#7 flags=0x0 gpa=0x1234 size=0x200000 ua=0x0 ret=0\n"


def line(i: int) -> str:
    return LINE.format(i=i, g=i * 0x400000, u=0x7F0000000000 + i * 0x400000)


@pytest.fixture
def sessions() -> Iterator[list[Tmux]]:
    started: list[Tmux] = []
    yield started
    for t in started:
        t.close()


def test_follow_a_file_qemu_is_writing(tmp_path: Path, sessions: list[Tmux]) -> None:
    log = tmp_path / "qemu.log"
    log.write_text("qemu-system-x86_64: -accel kvm: starting\n" + line(0))
    t = Tmux([str(GMEMTUI), "--follow", log.name], cwd=tmp_path)
    sessions.append(t)
    t.wait_for(lambda s: "state 1/1 · following" in s, "the first state, followed")
    with log.open("a") as f:
        f.write(line(1))
        f.flush()
        t.wait_for(lambda s: "state 2/2 · following" in s, "the second state, followed")
        f.write(line(2))
        f.flush()
        text = t.wait_for(lambda s: "state 3/3 · following" in s, "the third state, followed")
        assert "Slot#2" in text  # the timeline shows the trace line that made the state
        t.keys("[")
        t.wait_for(lambda s: "state 2/3 · 1 newer state" in s, "one step back, one newer state")
        f.write(BAD + line(4))  # lines 5 and 6
        f.flush()
        t.wait_for(lambda s: "state 2/4 · 2 newer states" in s, "the view stays where the user went")
        t.keys("]", "]")
        text = t.wait_for(lambda s: "state 4/4 · following" in s, "following again at the newest")
        assert "line 5: gpa 0x1234 is not a multiple of 4 KiB" in text  # the bad line, as a warning
    t.keys("q")
    assert t.wait_exit() == 0


def test_a_pipe_into_gmemtui_dash_while_keys_still_work(tmp_path: Path, sessions: list[Tmux]) -> None:
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    t = Tmux(["sh", "-c", f"cat {_quote(fifo.name)} | {_quote(str(GMEMTUI))} -"], cwd=tmp_path)
    sessions.append(t)
    w = os.open(fifo, os.O_WRONLY)  # returns once cat has opened the other end
    try:
        os.write(w, line(0).encode())
        t.wait_for(lambda s: "state 1/1 · following" in s, "the first state from the pipe")
        t.keys("[")  # the keyboard works although standard input is the pipe
        t.wait_for(lambda s: "state 0/1 · 1 newer state" in s, "a step back by key")
        os.write(w, line(1).encode() + line(2).encode()[:40])  # the second line and half of the third
        t.wait_for(lambda s: "state 0/2 · 2 newer states" in s, "the second line")
        t.keys("]", "]")
        t.wait_for(lambda s: "state 2/2 · following" in s, "following again")
        os.write(w, line(2).encode()[40:])
        text = t.wait_for(lambda s: "state 3/3 · following" in s, "the third line, once complete")
        # the mouse works too: a click at the left end of the timeline's bar goes to state 0
        rows = text.splitlines()
        y = next(i for i, row in enumerate(rows) if "state 3/3" in row) + 1
        x = rows[y].index("━")
        t.mouse(0, x, y)
        t.mouse(0, x, y, release=True)
        t.wait_for(lambda s: "state 0/3 · 3 newer states" in s, "state 0 after a click on the bar")
    finally:
        os.close(w)
    t.wait_for(lambda s: "end of input" in s, "the end of the input")
    t.keys("q")
    assert t.wait_exit() == 0


def test_dash_with_a_terminal_as_standard_input_is_one_line_and_exit_2(tmp_path: Path,
                                                                        sessions: list[Tmux]) -> None:
    t = Tmux(["sh", "-c", f"{_quote(str(GMEMTUI))} - 2>err.txt"], cwd=tmp_path)
    sessions.append(t)
    assert t.wait_exit() == 2
    err = (tmp_path / "err.txt").read_text()
    assert err.startswith("gmemtui: - reads a trace from a pipe, but standard input is a terminal")
    assert err.count("\n") == 1


QEMU = shutil.which("qemu-system-x86_64")
KVM = os.access("/dev/kvm", os.R_OK | os.W_OK)


@pytest.mark.skipif(QEMU is None or not KVM, reason="needs qemu-system-x86_64 and a usable /dev/kvm")
def test_real_qemu_piped_into_gmemtui_dash(tmp_path: Path, sessions: list[Tmux]) -> None:
    """What the docs tell a user to type: QEMU's trace on stderr, piped live into ``gmemtui -``."""
    pidfile = tmp_path / "qemu.pid"
    qemu = (f"timeout 120 {_quote(QEMU or '')} -accel kvm -S -nodefaults -display none -monitor none "
            f"-serial none -m 1G -pidfile {_quote(str(pidfile))} -trace kvm_set_user_memory")
    t = Tmux(["sh", "-c", f"{qemu} 2>&1 | {_quote(str(GMEMTUI))} -"], cwd=tmp_path)
    sessions.append(t)
    try:
        # QEMU 7.2 maps RAM, remaps it around the legacy holes, and maps the BIOS read-only at 4G - 256K
        text = t.wait_for(lambda s: "0xfffc0000" in s and "readonly" in s and "following" in s,
                          "QEMU's memslots, live")
        assert "Slot#" in text  # the timeline shows QEMU's own trace line
        t.keys("[")
        t.wait_for(lambda s: "1 newer state" in s, "a step back by key while QEMU runs")
        t.keys("q")
        t.wait_for(lambda s: "1 newer state" not in s and "readonly" not in s, "gmemtui gone")
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), 15)
            except (ProcessLookupError, ValueError):
                pass
    assert t.wait_exit() == 0
