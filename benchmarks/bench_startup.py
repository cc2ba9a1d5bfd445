"""Start-up: the TUI's cold start to first paint, and ``gmemtui report``'s start-up (issue 5).

Run: ``.venv/bin/python benchmarks/bench_startup.py [--runs N]``. Not a test: it prints a table.

* ``tui first paint (tmux)``: the real ``gmemtui`` console script in a 140x45 tmux pane, from
  spawning the process until ``capture-pane`` shows the slot table and the explain panel (polled
  every few ms, so a few ms of resolution). Skipped without tmux.
* ``tui first paint (headless)``: a fresh interpreter that imports the app, loads the seed layout
  and runs ``GmemApp`` headless; the time from spawning it until the app's first ``auto_pilot``
  call (the screen is composed and painted once), with the import of the TUI shown apart.
* ``gmemtui report``: the console script on the seed layout, next to a bare interpreter
  (``python -c pass``) and ``python -c "import yaml"`` for scale.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

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


def tmux_first_paint() -> float:
    sock = f"gmemtui-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "NO_COLOR")}
    env["TERM"] = "xterm-256color"

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, env=env).stdout

    socket_path = ""
    try:
        t0 = time.monotonic()
        tmux("new-session", "-d", "-s", "b", "-x", "140", "-y", "45", f"{GMEMTUI} {SEED}")
        socket_path = tmux("display-message", "-p", "#{socket_path}").strip()
        deadline = t0 + 60
        while time.monotonic() < deadline:
            screen = tmux("capture-pane", "-p", "-t", "b")
            if "pc.ram" in screen and "slot-edge" in screen:
                return time.monotonic() - t0
            time.sleep(0.003)
        raise RuntimeError("gmemtui never painted")
    finally:
        tmux("kill-server")
        if socket_path:
            Path(socket_path).unlink(missing_ok=True)


def headless_first_paint() -> tuple[float, float]:
    t_spawn = time.monotonic()
    out = subprocess.run([sys.executable, "-c", HEADLESS, str(SEED)], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split()
    t0, t1, t2 = (float(x) for x in out[-3:])
    return t2 - t_spawn, t1 - t0


def wall(cmd: list[str]) -> float:
    t0 = time.monotonic()
    subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT)
    return time.monotonic() - t0


def row(title: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(f"{title:44} {statistics.median(ms):9.1f} {min(ms):9.1f} {max(ms):9.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    n = args.runs
    wall([str(GMEMTUI), "report", str(SEED)])  # warm the file cache and the .pyc files
    print(f"start-up, {n} runs each, ms")
    print(f"{'what':44} {'median':>9} {'min':>9} {'max':>9}")
    if shutil.which("tmux"):
        row("tui first paint, real terminal (tmux)", [tmux_first_paint() for _ in range(n)])
    headless = [headless_first_paint() for _ in range(n)]
    row("tui first paint, headless (spawn to paint)", [h[0] for h in headless])
    row("  of which: import gmemtui.tui.app", [h[1] for h in headless])
    row("gmemtui report layouts/qemu-snp-seed.yaml", [wall([str(GMEMTUI), "report", str(SEED)])
                                                      for _ in range(n)])
    row("python -c pass", [wall([sys.executable, "-c", "pass"]) for _ in range(n)])
    row("python -c 'import yaml'", [wall([sys.executable, "-c", "import yaml"]) for _ in range(n)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
