"""The real ``gmemtui`` console script in a real terminal (tmux): what a new user does, end to end.

tmux gives the app a pseudo-terminal of a fixed size; ``send-keys`` types and ``capture-pane`` reads
the screen as text. Each wait polls the screen with a generous upper bound (the test never asserts
on time, it only stops waiting). Skipped where tmux is not installed.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "layouts" / "qemu-snp-seed.yaml"
GMEMTUI = Path(sys.executable).parent / "gmemtui"
WAIT = 30.0  # seconds: an upper bound for text to appear, not a speed requirement


class Tmux:
    """One private tmux server (its own socket) running one command in a 140x45 window."""

    def __init__(self, command: list[str], cwd: Path, size: tuple[int, int] = (140, 45)) -> None:
        self.socket = f"gmemtui-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "NO_COLOR", "TEXTUAL")}
        env["TERM"] = "xterm-256color"
        self.env = env
        cols, rows = size
        # the exit status goes to a file: tmux's own #{pane_dead_status} is sometimes never filled in
        self.status_file = cwd / f".exit-{uuid.uuid4().hex[:8]}"
        shell_cmd = " ".join(_quote(c) for c in command) + f"; echo $? > {_quote(str(self.status_file))}"
        self.tmux("new-session", "-d", "-s", "t", "-x", str(cols), "-y", str(rows), "-c", str(cwd),
                  shell_cmd, ";", "set-option", "-t", "t", "remain-on-exit", "on")
        self.shell_pid = int(self.tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip())
        self.socket_path = Path(self.tmux("display-message", "-p", "#{socket_path}").strip())

    def app_pid(self) -> int:
        """The pid of gmemtui itself: the child of the pane's shell (Linux /proc)."""
        children = Path(f"/proc/{self.shell_pid}/task/{self.shell_pid}/children")
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            pids = children.read_text().split() if children.exists() else []
            if pids:
                return int(pids[0])
            time.sleep(0.02)
        raise AssertionError("gmemtui did not start")

    def tmux(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                             env=self.env, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def mouse(self, button: int, x: int, y: int, release: bool = False) -> None:
        """An xterm SGR mouse report (0-based cell x, y), as the terminal sends it to the app."""
        self.tmux("send-keys", "-t", "t", "-l", f"\x1b[<{button};{x + 1};{y + 1}{'m' if release else 'M'}")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def exit_status(self) -> int | None:
        """gmemtui's exit status once it has exited (the shell writes it after reaping it), else None."""
        try:
            text = self.status_file.read_text()
        except FileNotFoundError:
            return None
        return int(text) if text.strip() else None

    def wait_for(self, predicate: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + WAIT
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            if self.exit_status() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"screen never showed {what}; last screen:\n{text}")

    def wait_exit(self) -> int | None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            status = self.exit_status()
            if status is not None:
                return status
            time.sleep(0.05)
        raise AssertionError(f"gmemtui did not exit; last screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
        self.socket_path.unlink(missing_ok=True)  # tmux leaves the socket file of a killed server


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def layout_copy(tmp_path: Path) -> Path:
    path = tmp_path / "seed.yaml"
    shutil.copyfile(SEED, path)
    return path


@pytest.fixture
def run_gmemtui(layout_copy: Path) -> Iterator[Callable[..., Tmux]]:
    sessions: list[Tmux] = []

    def start(*args: str, size: tuple[int, int] = (140, 45)) -> Tmux:
        t = Tmux([str(GMEMTUI), *args], cwd=layout_copy.parent, size=size)
        sessions.append(t)
        return t

    yield start
    for t in sessions:
        t.close()


def _seed_view(text: str) -> bool:
    return "pc.ram" in text and "slot-edge" in text and "0x100000" in text


def _row(text: str, *needles: str) -> str:
    rows = [ln for ln in text.splitlines() if all(n in ln for n in needles)]
    assert rows, f"no line with {needles} on the screen:\n{text}"
    return rows[0]


def test_seed_view_policy_key_and_quit(run_gmemtui, layout_copy: Path) -> None:
    t = run_gmemtui(layout_copy.name)
    text = t.wait_for(_seed_view, "the seed layout with slot 5's explained 4K head")
    pid = t.app_pid()
    # slot 5 in the table: 0.05 % of it (the 1 MiB head) is 4K, the rest 2M
    row5 = _row(text, "pc.ram", "0x100000", "2047M")
    assert "0.05%" in row5 and "99.95%" in row5
    # the explain panel says why the head is 4K: the 2M block sticks out of the slot
    explain = _row(text, "explain", "slot 5")
    assert "0x100000" in explain
    assert "2M" in _row(text, "slot-edge")
    assert "per-range" in text and "whole-binding" not in text
    # the footer, the help screen and the command palette name the actions
    text = t.wait_for(lambda s: "Policy" in s.rstrip().splitlines()[-1], "the footer")
    footer = text.rstrip().splitlines()[-1]
    for words in ("Policy", "Undo", "Save", "Help"):
        assert words in footer
    t.keys("?")
    text = t.wait_for(lambda s: "Why not a larger page" in s, "the help screen")
    assert "slot-edge" in text and "The aligned block around this frame" in text  # in plain words
    t.keys("Escape")
    t.wait_for(lambda s: "Why not a larger page" not in s, "the help screen closed")
    t.keys("C-p")
    t.wait_for(lambda s: "Search for commands" in s, "the command palette")
    t.keys("-l", "undo")
    t.wait_for(lambda s: "key: u" in s, "the Undo command with its key")
    t.keys("Escape")
    t.wait_for(lambda s: "🔎" not in s, "the palette closed")  # before the next key: esc+p is alt+p
    # one key: whole-binding, and slot 5 loses every 2M page
    t.keys("p")
    text = t.wait_for(lambda s: "whole-binding" in s, "the whole-binding policy")
    row5 = _row(text, "pc.ram", "0x100000", "2047M")
    assert "100%" in row5 and "99.95%" not in row5
    # quitting with an unsaved what-if asks first; y quits
    t.keys("q")
    t.wait_for(lambda s: "unsaved" in s, "the quit question")
    t.keys("y")
    assert t.wait_exit() == 0
    assert _process_gone(pid)  # its shell reaped it before writing the status


def test_the_seed_at_80x24_shows_slot_5_and_the_save_key(run_gmemtui) -> None:
    """The smallest terminal of docs/tui.md: the built-in seed in 80x24 tells its story unscrolled."""
    t = run_gmemtui(size=(80, 24))
    text = t.wait_for(lambda s: "^s Save" in s and "2047M" in s, "slot 5's row and the save key")
    lines = text.rstrip("\n").splitlines()
    assert len(lines) == 24 and max(len(ln) for ln in lines) <= 80
    assert "QEMU q35 SEV-SNP" in lines[0]  # the title keeps the layout name
    row5 = _row(text, "pc.ram", "0x100000", "2047M")
    assert "0.05%" in row5 and "99.95%" in row5
    assert "^s Save" in lines[-1] and "? Help" in lines[-1]
    assert _row(text, "explain", "slot 5") and any(ln.startswith("╰") for ln in lines)  # map unclipped
    t.keys("q")
    assert t.wait_exit() == 0


def test_save_after_a_keyboard_nudge_changes_only_the_edited_values(run_gmemtui, layout_copy: Path) -> None:
    from gmemtui.core import edit
    from gmemtui.formats.loader import load

    before = layout_copy.read_text()
    t = run_gmemtui(layout_copy.name)
    t.wait_for(_seed_view, "the seed layout")
    # slot 5 is selected (the largest) and the start edge is the part edited: step 2M, nudge up once
    t.keys("n")
    t.keys(".")
    t.wait_for(lambda s: "0x200000" in s and "modified" in s, "slot 5 starting at 0x200000")
    t.keys("C-s")
    deadline = time.monotonic() + WAIT
    while layout_copy.read_text() == before and time.monotonic() < deadline:
        time.sleep(0.05)
    t.wait_for(lambda s: "modified" not in s, "the saved state in the title")
    after = layout_copy.read_text()
    t.keys("q")  # nothing unsaved: quits without asking
    assert t.wait_exit() == 0

    expected = edit.nudge(load(str(SEED)).layout, (0, 5), "start", +1, level=1)
    assert load(str(layout_copy)).layout == expected
    old_lines, new_lines = before.splitlines(), after.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert [a.split(":")[0].strip() for a, _ in changed] == ["gpa", "size", "ua", "offset"]
    assert [b.split("#")[0].split(":")[1].strip() for _, b in changed] == [
        "0x200000", "0x7fe00000", "0x7f24afe00000", "0x200000"]
    # comments survive, on the edited line too
    assert "# not 2M-aligned" in changed[-1][1]
    assert [ln for ln in old_lines if ln.lstrip().startswith("#")] == \
        [ln for ln in new_lines if ln.lstrip().startswith("#")]
    assert difflib.SequenceMatcher(a=before, b=after).ratio() > 0.95


def test_drag_slot5_start_with_the_mouse_then_policy_and_undo(run_gmemtui, layout_copy: Path) -> None:
    """The issue's "done when", in a real terminal: see slot 5's 4K head, drag its start edge to
    0x200000 with the mouse and watch it turn 2M, switch to whole-binding, undo both."""
    t = run_gmemtui(layout_copy.name)
    t.wait_for(_seed_view, "the seed layout")
    t.keys(*["+"] * 10, "Home")  # zoom in far enough that 0x100000 and 0x200000 are far apart

    def axis_row(text: str) -> int | None:
        for i, line in enumerate(text.splitlines()):
            if " 0x100000 " in line and line.rstrip(" │").endswith("0x200000"):
                return i
        return None

    text = t.wait_for(lambda s: axis_row(s) is not None, "a GPA axis from 0x0 to 0x200000")
    lines = text.splitlines()
    y = axis_row(text) + 1  # the GPA bar is the row under its axis labels
    x0, x1 = lines[y - 1].index("0x100000"), lines[y - 1].index("0x200000")
    # the slot numbers under the bar (and its attribute row): slot 5 starts in this column
    assert any(ln[x0:x0 + 2] == "5─" for ln in lines[y + 1:y + 6])
    t.mouse(0, x0, y)  # press on slot 5's start edge
    mid = (x0 + x1) // 2
    for x in (x0 + 3, mid - 5, mid):
        t.mouse(32, x, y)  # motion with the button held
    text = t.wait_for(lambda s: "0x100000  2047M" not in s and "pc.ram " in s, "slot 5 following the mouse")
    row5 = _row(text, "pc.ram ", "19 @ 0x1")
    gpa = int(row5.split()[3], 16)
    assert 0x100000 < gpa < 0x200000  # part way: the start moved, the offset moved with it
    assert f"19 @ {gpa:#x}" in row5
    for x in (mid + 5, x1 - 2, x1):
        t.mouse(32, x, y)
    t.mouse(0, x1, y, release=True)
    text = t.wait_for(lambda s: "0x200000  2046M" in s and "modified" in s, "slot 5 starting at 0x200000")
    row5 = _row(text, "pc.ram ", "0x200000  2046M")
    assert "19 @ 0x200000" in row5 and "100%" in row5 and row5.split()[-2] == "100%"  # all 2M
    t.keys("p")
    text = t.wait_for(lambda s: "whole-binding" in s, "whole-binding")
    t.keys("u")
    t.wait_for(lambda s: "per-range" in s and "0x200000  2046M" in s, "the policy undone")
    t.keys("u")
    text = t.wait_for(lambda s: "0x100000  2047M" in s and "modified" not in s, "the drag undone")
    assert "99.95%" in _row(text, "pc.ram ", "0x100000  2047M")
    t.keys("q")
    assert t.wait_exit() == 0


def test_trace_timeline_and_save_as_yaml(run_gmemtui, layout_copy: Path, tmp_path: Path) -> None:
    """A trace: step back with [, forward with ], then save: never over the trace but as YAML beside
    it, and over an existing file only after asking (seed.yaml exists: the layout_copy fixture)."""
    from gmemtui.formats.loader import load

    trace = tmp_path / "seed.trace"
    shutil.copyfile(ROOT / "layouts" / "qemu-snp-seed.trace", trace)
    before = trace.read_text()
    t = run_gmemtui(trace.name)
    text = t.wait_for(lambda s: "state 6/6" in s, "the timeline at the last state")
    assert "Slot#5" in _row(text, "state 6/6")
    t.keys("[")
    text = t.wait_for(lambda s: "state 5/6" in s, "one state back")
    assert "Slot#4" in _row(text, "state 5/6") and "pc.ram " not in text
    t.keys("]")
    t.wait_for(lambda s: "state 6/6" in s, "forward again")
    t.keys("p")
    t.wait_for(lambda s: "whole-binding" in s, "whole-binding")
    t.keys("C-s")
    text = t.wait_for(lambda s: "Save the layout as YAML to:" in s, "the save-as question")
    assert "seed.yaml" in text  # suggested beside the trace, with .yaml
    t.keys("Enter")
    saved = tmp_path / "seed.yaml"
    assert saved == layout_copy
    old_yaml = saved.read_text()
    t.wait_for(lambda s: "exists. Overwrite it?" in s, "the overwrite question")
    assert saved.read_text() == old_yaml  # nothing written before the answer
    t.keys("y")
    t.wait_for(lambda s: saved.read_text() != old_yaml and "modified" not in s, "the YAML file written")
    assert trace.read_text() == before  # the trace itself is never overwritten
    expected = load(str(trace)).layout
    got = load(str(saved)).layout
    assert got.policy == "whole-binding"
    assert [(s.key, s.gpa, s.size, s.ua, s.gmem, s.offset) for s in got.slots] == \
        [(s.key, s.gpa, s.size, s.ua, s.gmem, s.offset) for s in expected.slots]
    t.keys("q")
    assert t.wait_exit() == 0
