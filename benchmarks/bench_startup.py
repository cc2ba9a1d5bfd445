"""Start-up: the TUI's cold start to first paint, and ``gmemtui report``'s start-up (issue 5).

Run: ``.venv/bin/python benchmarks/bench_startup.py [--runs N]``. Not a test: it prints a table.

* ``tui first paint (tmux)``: the real ``gmemtui`` console script in a 140x45 tmux pane, from
  spawning the process until ``capture-pane`` shows the slot table and the explain panel (polled
  every few ms, so a few ms of resolution). Skipped without tmux.
* ``tui first paint (headless)``: a fresh interpreter that imports the app, loads the seed layout
  and runs ``GmemApp`` headless; the time from spawning it until the app's first ``auto_pilot``
  call (the screen is composed and painted once), with the import of the TUI shown apart.
* ``gmemtui report``: the console script on the seed layout, next to its floors, a bare interpreter
  (``python -c pass``) and ``python -c "import yaml"``, with and without ``.pyc`` files: none at all
  (every module, the standard library's too, compiled on every run), and none of the project's
  (``PYTHONDONTWRITEBYTECODE=1`` with a fresh copy of the package: what an editable install costs on a
  machine that sets it). ``gmemtui --help`` too, which builds every command's parser.
* ``--versus DIR``: the same ``gmemtui`` cases for another checkout (DIR with its own ``.venv``, e.g.
  main's) in the same rounds: before/after figures that do not depend on the machine's load.
* ``--report-only``: without the TUI cases.
* ``--instructions``: instead of times, the instructions each command executes, counted by valgrind:
  a machine's load changes times, not these counts.

Every case runs interleaved with the others (``harness.py``): medians with min/max, CPU beside wall,
each beside its floor.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import NamedTuple

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


class Spec(NamedTuple):
    """A command to measure: what it is compared with, and how it runs."""

    name: str
    argv: list[str]
    env: dict[str, str]
    floor: str | None = None


def report_specs(label: str, script: Path, package: Path, fresh: Path, env: dict[str, str],
                 nopyc: dict[str, str]) -> list[Spec]:
    """``gmemtui report`` and friends, run by the console script ``script`` of ``package``'s checkout.

    ``fresh``: a copy of the package without ``__pycache__``, put first on the path with
    ``PYTHONDONTWRITEBYTECODE=1``: the project's modules compiled on every run, the rest from .pyc."""
    gm, seed, floor = str(script), str(SEED), "python -c 'import yaml'"
    shutil.copytree(package, fresh / "gmemtui", ignore=shutil.ignore_patterns("__pycache__"))
    no_own_pyc = clean_env(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(fresh))
    return [
        Spec(f"{label}gmemtui report SEED", [gm, "report", seed], env, floor),
        Spec(f"{label}gmemtui report --json SEED", [gm, "report", "--json", seed], env, floor),
        Spec(f"{label}gmemtui --help", [gm, "--help"], env, floor),
        Spec(f"{label}no .pyc: gmemtui report SEED", [gm, "report", seed], nopyc, "no .pyc: " + floor),
        Spec(f"{label}no project .pyc: gmemtui report SEED", [gm, "report", seed], no_own_pyc, floor),
    ]


def instructions(spec: Spec) -> int:
    """Instructions the command executes, counted by valgrind (callgrind): unlike times, the same on
    a loaded machine as on an idle one. One run first writes the .pyc files where they are written."""
    env = dict(spec.env, PYTHONHASHSEED="0")
    subprocess.run(spec.argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *spec.argv],
                       env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = re.search(r"Collected : (\d+)", r.stderr)
    if m is None:
        raise RuntimeError(f"valgrind gave no count for {spec.name}: {r.stderr[-500:]}")
    return int(m.group(1))


def instruction_table(specs: list[Spec]) -> str:
    counts = {s.name: instructions(s) for s in specs}
    width = max(map(len, counts))
    lines = [f"{'case':{width}}  {'instructions':>14}  vs floor"]
    for s in specs:
        ratio = f"{counts[s.name] / counts[s.floor]:5.2f}x  {s.floor}" if s.floor else ""
        lines.append(f"{s.name:{width}}  {counts[s.name] / 1e6:12.1f} M  {ratio}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--kvm-limit", action="store_true",
                    help="instead: the TUI's first paint on 32,763 slots + 10,000 ranges vs report --json")
    ap.add_argument("--versus", type=Path, metavar="DIR",
                    help="another checkout (with its .venv) whose gmemtui runs in the same rounds")
    ap.add_argument("--report-only", action="store_true", help="leave out the TUI's first paint")
    ap.add_argument("--instructions", action="store_true",
                    help="instead of times: instructions executed, under valgrind (the TUI left out)")
    ap.add_argument("--baseline", metavar="CHECKOUT",
                    help="with --kvm-limit: also run report --json and the TUI from another checkout of the "
                         "package (e.g. a `git worktree` of an older commit), in the same rounds")
    args = ap.parse_args()
    if args.kvm_limit:
        return kvm_limit(args.runs, args.baseline)
    tmp = Path(tempfile.mkdtemp(prefix="gmemtui-startup-"))
    empty = tmp / "empty"
    empty.mkdir()
    # Without .pyc: nothing is read from or written to a bytecode cache, so every module (the
    # standard library's too) is compiled on every run.
    nopyc = clean_env(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(empty))
    env = clean_env()
    py, seed = sys.executable, str(SEED)
    specs = [
        Spec("python -c pass", [py, "-c", "pass"], env),
        Spec("python -c 'import yaml'", [py, "-c", "import yaml"], env, "python -c pass"),
        Spec("no .pyc: python -c 'import yaml'", [py, "-c", "import yaml"], nopyc, "python -c pass"),
    ]
    try:
        specs += report_specs("", GMEMTUI, ROOT / "gmemtui", tmp / "this", env, nopyc)
        if args.versus:
            other = args.versus.resolve()
            specs += report_specs("versus: ", other / ".venv" / "bin" / "gmemtui", other / "gmemtui",
                                  tmp / "versus", env, nopyc)
        if args.instructions:
            print(instruction_table(specs))
            return 0
        cases = [Case(s.name, command(s.argv, s.env, str(ROOT)), s.floor) for s in specs]
        if not args.report_only:
            headless = command([py, "-c", HEADLESS, seed], env, str(ROOT))
            cases.append(Case("tui first paint, headless", headless, "python -c pass"))
            if shutil.which("tmux"):
                cases.append(Case("tui first paint, real terminal (tmux)", tmux_sample, "python -c pass"))
        interleave(cases, args.runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
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
