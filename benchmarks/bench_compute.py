"""``compute()`` and the ``report --json`` document at 32,763 slots, this checkout against another
commit, in the same interleaved rounds (issue 13). Not a test: it prints a table.

Run: ``.venv/bin/python benchmarks/bench_compute.py [--before REF] [--rounds N]``.

``--before REF`` (default ``main``) is extracted with
``git archive`` into a temporary directory. Each round runs one child process per tree, in a shuffled
order; a child builds ``bench_core.many()`` (32,763 slots + 10,000 private ranges), warms up, and
reports the thread CPU of one ``compute()``, one ``report_json`` and the write of its text to
``/dev/null`` (GC paused, as ``gmemtui report`` runs). The floor, measured in the same children:
``json.dumps`` (C encoder, compact) of the ``report_dict`` of the same coverage. And what the TUI's
start needs: ``compute()`` with every slot's ``Run`` objects made. Both columns of
the table are that thread CPU time (the children are timed inside, not from outside).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import Case, Sample, table

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/benchmarks"]
from bench_core import many
from gmemtui.commands.report_dict import report_dict
from gmemtui.commands.report_json import report_json
from gmemtui.core.coverage import compute
from gmemtui.core.gcpause import paused_gc

with open(sys.argv[1] + "/gmemtui/commands/report.py") as src:
    split = 'sys.stdout.write("\\n")' in src.read()  # the text and its newline written apart
lay = many()
report_json(lay, "bench.yaml", compute(lay))  # warm: imports, caches
out = {}
with paused_gc():
    t0 = time.thread_time(); cov = compute(lay); t1 = time.thread_time()
    text = report_json(lay, "bench.yaml", cov); t2 = time.thread_time()
    with open(os.devnull, "w") as f:  # as the tree's ``report`` writes it
        if split:
            f.write(text)
            f.write("\n")
        else:
            f.write(text + "\n")
    t3 = time.thread_time()
    d = report_dict(lay, "bench.yaml", cov); t4 = time.thread_time()
    json.dumps(d); t5 = time.thread_time()
    del cov, d, text
    t6 = time.thread_time(); cov = compute(lay)
    if hasattr(cov, "make_runs"):  # Run objects made lazily: make them all, as the TUI's start does
        cov.make_runs()
    t7 = time.thread_time()
out = {"compute, every Run made (the TUI's start)": t7 - t6, "compute": t1 - t0,
       "report_json": t2 - t1, "write": t3 - t2,
       "compute + report_json + write": t3 - t0, "json.dumps alone (floor)": t5 - t4}
print(json.dumps(out))
"""
STAGES = ("compute", "compute, every Run made (the TUI's start)",
          "report_json", "write", "compute + report_json + write", "json.dumps alone (floor)")


def tree(ref: str, where: Path) -> Path:
    """The package and benchmarks of ``ref`` under ``where``."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "gmemtui", "benchmarks"],
                          check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=data, check=True)
    return where


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="main", help="the commit to compare with (default: main)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": tree(args.before, Path(tmp)), "after": ROOT}
        cases = {(v, s): Case(f"{v}: {s}", lambda: Sample(0, 0),
                              floor=f"before: {s}" if v == "after" else None)
                 for s in STAGES for v in trees}
        rng = random.Random(0)
        order = list(trees)
        for r in range(args.rounds + 1):  # the first round warms the disk cache and is dropped
            rng.shuffle(order)
            for v in order:
                res = json.loads(subprocess.run([sys.executable, "-c", CHILD, str(trees[v])], check=True,
                                                capture_output=True, text=True).stdout)
                if r:
                    for s in STAGES:
                        cases[v, s].samples.append(Sample(res[s], res[s]))
        title = f"compute and report --json at 32,763 slots, before = {args.before}"
        print(table(list(cases.values()), title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
