"""README.md and docs/reviewing.md paste real command output: re-run every ``$ gmemtui ...`` of their
console blocks and compare (colour off, from the top of the checkout), so they cannot drift from the tool."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# page -> how many commands it shows at least
DOCS = {"README.md": 3, "docs/reviewing.md": 5, "docs/suggest.md": 2}


def console_runs(text: str) -> list[tuple[str, str, int]]:
    """(command, expected output, expected exit code) for each command of each console block."""
    runs: list[tuple[str, str, int]] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            assert lines[i].startswith("$ "), lines[i]
            cmd = lines[i][2:]
            while cmd.endswith("\\"):
                i += 1
                cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
            i += 1
            out: list[str] = []
            while i < len(lines) and not lines[i].startswith("$ "):
                out.append(lines[i])
                i += 1
            if cmd == "echo $?":
                runs[-1] = (runs[-1][0], runs[-1][1], int(out[0]))
            else:
                runs.append((cmd, "\n".join(out) + "\n", 0))
    return runs


def test_console_blocks_parse() -> None:
    runs = console_runs("```console\n$ gmemtui a \\\n    b\nx\n$ echo $?\n1\n$ gmemtui c\ny\n```\n")
    assert runs == [("gmemtui a b", "x\n", 1), ("gmemtui c", "y\n", 0)]


@pytest.mark.parametrize("page", sorted(DOCS))
def test_doc_output_is_real(page: str) -> None:
    runs = console_runs((ROOT / page).read_text())
    assert len(runs) >= DOCS[page]
    env = dict(os.environ, NO_COLOR="1")
    for cmd, want, rc in runs:
        argv = shlex.split(cmd)
        assert argv[0] == "gmemtui"
        proc = subprocess.run([sys.executable, "-m", "gmemtui", *argv[1:]], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        assert (proc.stdout, proc.returncode) == (want, rc), f"{page} is stale for: {cmd}"
