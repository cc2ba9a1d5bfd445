"""The reviewer commands in a fresh interpreter: they never import Textual (nor rich, for start-up
time), and their colour follows NO_COLOR and whether stdout is a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "layouts" / "qemu-snp-seed.yaml")
SPLIT = str(ROOT / "layouts" / "qemu-snp-seed-split.yaml")

COMMANDS = [
    ["report", SEED],
    ["report", SEED, "--json"],
    ["report", SEED, "--markdown"],
    ["explain", SEED, "0x40000000"],
    ["explain", SEED, "0x40000000", "--json"],
    ["explain", SEED, "0x90000000"],
    ["diff", SEED, SPLIT, "--policy", "whole-binding"],
    ["diff", SEED, SEED, "--new-policy", "whole-binding", "--json", "--fail-on-loss"],
    ["diff", SEED, SPLIT, "--markdown"],
]

PROBE = """
import contextlib, io, json, sys
from gmemtui.cli import main
heavy = lambda: sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('textual', 'rich')})
result = []
for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        rc = main(argv)
    result.append([argv[0], rc, len(out.getvalue()), heavy()])
print(json.dumps(result))
"""


def test_reviewer_commands_import_neither_textual_nor_rich() -> None:
    import json

    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(COMMANDS)], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    result = json.loads(proc.stdout)
    assert [r[1] for r in result] == [0, 0, 0, 0, 0, 1, 0, 1, 0]  # hole: 1; loss with --fail-on-loss: 1
    assert all(r[2] > 0 for r in result), "every command printed something"
    assert [r[3] for r in result] == [[]] * len(COMMANDS), "no textual / rich imported"


def run_on_pty(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``python -m gmemtui ARGV`` with stdout on a pseudo-terminal; return (exit code, output)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "gmemtui", *argv], stdout=slave,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        return proc.wait(timeout=30), b"".join(chunks).decode()
    finally:
        os.close(master)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


@pytest.mark.parametrize("argv", [["report", SEED], ["explain", SEED, "1G"],
                                  ["diff", SEED, SEED, "--new-policy", "whole-binding"]], ids=lambda a: a[0])
def test_colour_only_on_a_terminal_without_no_color(argv: list[str]) -> None:
    rc, out = run_on_pty(argv, clean_env())
    assert rc == 0 and "\x1b[" in out, "a terminal gets colour"
    rc, out = run_on_pty(argv, clean_env(NO_COLOR="1"))
    assert rc == 0 and "\x1b[" not in out and "0x" in out, "NO_COLOR: no ANSI codes"
    piped = subprocess.run([sys.executable, "-m", "gmemtui", *argv], capture_output=True, text=True,
                           env=clean_env(), cwd=ROOT)
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout and "0x" in piped.stdout, "a pipe: no ANSI"


def test_markdown_never_coloured_even_on_a_terminal() -> None:
    for argv in (["report", SEED, "--markdown"], ["diff", SEED, SPLIT, "--markdown"]):
        rc, out = run_on_pty(argv, clean_env())
        assert rc == 0 and "\x1b[" not in out and "| " in out
