"""FILE ``-``: every command reads standard input to its end, detected by content like a file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT / "layouts" / "tdx-9.1.trace"
YAML = ROOT / "layouts" / "q35-4g.yaml"
DUMP = ROOT / "layouts" / "qemu-7.2" / "q35-4g.mtree"


def gmemtui(*args: str, stdin: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gmemtui", *args], input=stdin, capture_output=True,
                          timeout=120, cwd=ROOT)


@pytest.mark.parametrize("path", [TRACE, YAML, DUMP], ids=lambda p: p.name)
def test_report_dash_reads_stdin_like_the_file(path: Path) -> None:
    piped = gmemtui("report", "-", "--json", stdin=path.read_bytes())
    direct = gmemtui("report", str(path), "--json", stdin=b"")
    assert piped.returncode == direct.returncode == 0, piped.stderr
    got, want = json.loads(piped.stdout), json.loads(direct.stdout)
    assert got["file"] == "-"
    assert got["slots"] == want["slots"] and got["total"] == want["total"]
    assert len(got["slots"]) > 1


def test_a_trace_in_pieces_through_a_pipe_is_read_to_its_end() -> None:
    """The writer sends a line at a time and pauses; ``report -`` waits for the end of input."""
    lines = TRACE.read_bytes().splitlines(keepends=True)
    proc = subprocess.Popen([sys.executable, "-m", "gmemtui", "convert", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    for line in lines:
        proc.stdin.write(line)
        proc.stdin.flush()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    want = gmemtui("convert", str(TRACE), stdin=b"")
    got_lines, want_lines = out.decode().splitlines(), want.stdout.decode().splitlines()
    assert 'name: "QEMU trace <stdin>"' in got_lines

    def body(lines: list[str]) -> list[str]:
        return [ln for ln in lines if not ln.startswith(("#", "name:"))]

    assert body(got_lines) == body(want_lines) and len(body(got_lines)) > 20


def test_bad_input_on_stdin_names_stdin_and_its_line() -> None:
    bad = b"# a trace\nkvm_set_user_memory Slot#1 flags=0x0 gpa=0x1 size=0x200000 ua=0x0 ret=0\n"
    r = gmemtui("report", "-", stdin=bad)
    assert r.returncode == 2
    assert r.stderr.decode().strip() == "<stdin>:2: gpa 0x1 is not a multiple of 4 KiB"
    assert b"Traceback" not in r.stderr
