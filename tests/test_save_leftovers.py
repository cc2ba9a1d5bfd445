"""A save killed between writing its temporary file and the rename leaves ``.NAME.gmemtui-PID-NS.*.tmp``;
the next start of the TUI removes it (those of live processes and other namespaces stay)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from gmemtui.formats import fileio
from gmemtui.formats.loader import default_layout_path

WRITER = """
import os, sys, time
from gmemtui.formats import fileio
os.replace = lambda *a: (print("written", flush=True), time.sleep(600))  # killed before the rename
fileio.atomic_write(sys.argv[1], "x" * 100000)
"""


def dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_kill_before_rename_then_next_start_removes_the_temporary_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "seed.yaml"
    target.write_text(Path(default_layout_path()).read_text())
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"written\n"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    left = [n for n in os.listdir(tmp_path) if n != "seed.yaml"]
    assert len(left) == 1 and left[0].startswith(f".seed.yaml.gmemtui-{proc.pid}-")

    from gmemtui.tui import app, run

    started: list[str] = []
    monkeypatch.setattr(app.GmemApp, "run", lambda self: started.append(self.loaded.path))
    monkeypatch.chdir(tmp_path.parent)
    assert run.main(argparse.Namespace(file=str(target))) == 0
    assert started == [str(target)]
    assert os.listdir(tmp_path) == ["seed.yaml"]


def test_sweep_keeps_what_is_not_a_dead_save(tmp_path: Path) -> None:
    ns = fileio.pid_namespace()
    dead = dead_pid()
    names = {
        f".a.yaml.gmemtui-{dead}-{ns}.abcd_123.tmp": False,
        f".b.yaml.gmemtui-{os.getppid()}-{ns}.abcd_123.tmp": True,  # its writer is alive
        f".c.yaml.gmemtui-{dead}-{ns + 1}.abcd_123.tmp": True,  # another PID namespace
        ".d.yaml.abcd_123.tmp": True,  # not ours to judge
        f"e.yaml.gmemtui-{dead}-{ns}.tmp": True,
    }
    for name in names:
        (tmp_path / name).write_text("x")
    (tmp_path / f".f.gmemtui-{dead}-{ns}.abcd_123.tmp").mkdir()  # a directory is never removed
    removed = fileio.sweep_temp_files(str(tmp_path))
    assert removed == [str(tmp_path / n) for n, keep in names.items() if not keep]
    assert {n: (tmp_path / n).exists() for n in names} == names
    assert (tmp_path / f".f.gmemtui-{dead}-{ns}.abcd_123.tmp").is_dir()


def test_a_save_names_its_temporary_file_for_the_sweep(tmp_path: Path, monkeypatch) -> None:
    seen: list[str] = []
    real = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    fileio.atomic_write(str(tmp_path / "x.yaml"), "a: 1\n")
    assert len(seen) == 1 and fileio._TEMP_RE.fullmatch(seen[0])
    assert seen[0].startswith(f".x.yaml.gmemtui-{os.getpid()}-{fileio.pid_namespace()}.")
