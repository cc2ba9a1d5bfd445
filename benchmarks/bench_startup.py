"""Start-up: the TUI's cold start to first paint, and ``gmemtui report``'s start-up (issue 5).

Run: ``.venv/bin/python benchmarks/bench_startup.py [--runs N]``. Not a test: it prints a table.

* ``tui first paint (tmux)``: the real ``gmemtui`` console script in a 140x45 tmux pane, from
  spawning the process until ``capture-pane`` shows the slot table and the explain panel (polled
  every few ms, so a few ms of resolution). Skipped without tmux.
* ``tui first paint (headless)``: a fresh interpreter that imports the app, loads the seed layout
  and runs ``GmemApp`` headless; the time from spawning it until the app's first ``auto_pilot``
  call (the screen is composed and painted once), with the import of the TUI shown apart.
* ``gmemtui report``: the console script on the seed layout, next to its floors, a bare interpreter
  (``python -c pass``) and ``python -c "import yaml"``, with and without ``.pyc`` files.

Every case runs interleaved with the others (``harness.py``): medians with min/max, CPU beside wall,
each beside its floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Case, Sample, clean_env, command, interleave, table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "layouts" / "qemu-snp-seed.yaml"
BIN = Path(sys.executable).parent
GMEMTUI = BIN / "gmemtui"

HEADLESS = r"""
import sys, time
t0 = time.monotonic()
from gmemtui.formats.loader import load
from gmemtui.tui.app import GmemApp
t1 = time.monotonic()
app = GmemApp(load(sys.argv[1]), path_opened=True)

async def first(pilot):
    print(f"{t0} {t1} {time.monotonic()}", flush=True)
    app.exit()

app.run(headless=True, size=(140, 45), auto_pilot=first)
"""


def tmux_first_paint(path: Path = SEED, marks: tuple[str, ...] = ("pc.ram", "slot-edge"),
                     extra_env: dict[str, str] | None = None) -> float:
    return tmux_first_paint_cpu(path, marks, extra_env).wall


def _cpu_of(pid: str) -> float:
    """User + system CPU seconds of a running process so far (Linux ``/proc``; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def tmux_first_paint_cpu(path: Path = SEED, marks: tuple[str, ...] = ("pc.ram", "slot-edge"),
                         extra_env: dict[str, str] | None = None) -> Sample:
    """Wall time to first paint in tmux, and the app's own CPU time by then (the pane's process, read
    from ``/proc`` when the marks appear: 10 ms resolution, tmux's CPU not included)."""
    sock = f"gmemtui-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "NO_COLOR")}
    env.update(extra_env or {})
    env["TERM"] = "xterm-256color"

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, env=env).stdout

    socket_path = ""
    try:
        t0 = time.monotonic()
        tmux("new-session", "-d", "-s", "b", "-x", "140", "-y", "45", f"{GMEMTUI} {path}")
        shown = tmux("display-message", "-p", "#{socket_path} #{pane_pid}").strip()
        socket_path, _, pid = shown.rpartition(" ")
        deadline = t0 + 60
        while time.monotonic() < deadline:
            screen = tmux("capture-pane", "-p", "-t", "b")
            if all(m in screen for m in marks):
                return Sample(time.monotonic() - t0, _cpu_of(pid))
            time.sleep(0.003)
        raise RuntimeError("gmemtui never painted")
    finally:
        tmux("kill-server")
        if socket_path:
            Path(socket_path).unlink(missing_ok=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--kvm-limit", action="store_true",
                    help="instead: the TUI's first paint on 32,763 slots + 10,000 ranges vs report --json")
    ap.add_argument("--baseline", metavar="CHECKOUT",
                    help="with --kvm-limit: also run report --json and the TUI from another checkout of the "
                         "package (e.g. a `git worktree` of an older commit), in the same rounds")
    args = ap.parse_args()
    if args.kvm_limit:
        return kvm_limit(args.runs, args.baseline)
    empty = tempfile.mkdtemp(prefix="gmemtui-nopyc-")
    # Without .pyc: nothing is read from or written to a bytecode cache, so every module (the
    # standard library's too) is compiled on every run; what a machine with
    # PYTHONDONTWRITEBYTECODE=1 and an editable install pays for the project's own modules.
    nopyc = clean_env(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=empty)
    env = clean_env()
    py, seed, gm = sys.executable, str(SEED), str(GMEMTUI)
    cases = [
        Case("python -c pass", command([py, "-c", "pass"], env)),
        Case("python -c 'import yaml'", command([py, "-c", "import yaml"], env), "python -c pass"),
        Case("gmemtui report SEED", command([gm, "report", seed], env, str(ROOT)), "python -c 'import yaml'"),
        Case("gmemtui report --json SEED", command([gm, "report", "--json", seed], env, str(ROOT)),
             "python -c 'import yaml'"),
        Case("no .pyc: python -c 'import yaml'", command([py, "-c", "import yaml"], nopyc), "python -c pass"),
        Case("no .pyc: gmemtui report SEED", command([gm, "report", seed], nopyc, str(ROOT)),
             "no .pyc: python -c 'import yaml'"),
        Case("tui first paint, headless", command([py, "-c", HEADLESS, seed], env, str(ROOT)),
             "python -c pass"),
    ]
    if shutil.which("tmux"):
        cases.append(Case("tui first paint, real terminal (tmux)", tmux_sample, "python -c pass"))
    try:
        interleave(cases, args.runs)
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    print(table(cases, "start-up"))
    return 0


def kvm_limit(runs: int, baseline: str | None = None) -> int:
    """First paint of the TUI in tmux on the 32,763-slot YAML, beside ``report --json`` of the same
    file (the target: at most 1.3 times) and the YAML load alone (the floor of both)."""
    from bench_core import many, valid

    from gmemtui.formats.yaml_dump import dump_yaml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kvm-limit.yaml"
        path.write_text(dump_yaml(valid(many())))
        env = clean_env()
        load = f"from gmemtui.formats.loader import load; load({str(path)!r})"
        cases = [
            Case("load the YAML (python -c)", command([sys.executable, "-c", load], env)),
            Case("gmemtui report --json", command([str(GMEMTUI), "report", "--json", str(path)], env),
                 "load the YAML (python -c)"),
        ]
        if shutil.which("tmux"):
            cases.append(Case("tui first paint (tmux)",
                              lambda: tmux_first_paint_cpu(path, ("32763 slots", "explain")),
                              "gmemtui report --json"))
        if baseline:  # the same console script importing the package from the other checkout
            base_env = {"PYTHONPATH": str(Path(baseline).resolve())}
            cases.append(Case("baseline: gmemtui report --json",
                              command([str(GMEMTUI), "report", "--json", str(path)], clean_env(**base_env)),
                              "load the YAML (python -c)"))
            if shutil.which("tmux"):
                cases.append(Case("baseline: tui first paint (tmux)",
                                  lambda: tmux_first_paint_cpu(path, ("32763 slots", "explain"), base_env),
                                  "baseline: gmemtui report --json"))
        interleave(cases, runs)
    print(table(cases, "32,763 slots + 10,000 private ranges"))
    return 0


def tmux_sample() -> Sample:
    """Wall time to first paint in tmux; CPU is not separable from tmux's own, so it is left NaN."""
    return Sample(tmux_first_paint(), float("nan"))


if __name__ == "__main__":
    raise SystemExit(main())
