"""Cost of ``suggest`` (issue 16). Not a test: it prints a table; figures go in README.md.

Run: ``.venv/bin/python benchmarks/bench_suggest.py [--rounds N]``.

1. Cost vs size: bench_core's QEMU shape (low RAM, two ROM slots, RAM below and above 4G on one
   guest_memfd, a private list with unaligned shared holes) at 64 MiB, 1 TiB and 64 TiB, under
   ``whole-binding`` (slot 5 gets Sean's split) and ``per-range``. ``suggest()`` must cost the same
   at every size: the suggestions are arithmetic on slot edges and congruences, never frames.
2. Scale: 32,763 slots + 10,000 private ranges (bench_core's ``many``: 64 MiB + 12K slots on 8 files
   with drifting offsets, so most slots get an ``offset`` suggestion under ``per-range``):
   ``suggest()``, ``combine()`` (``--all``) and ``compute()`` for scale; then ``gmemtui suggest
   --json`` end to end on the same layout written as YAML.

Every measurement is interleaved (one call of each case per round, so a burst of load from other
jobs hits every case alike) and reported as the median with min and max, wall time beside the
process's CPU time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench_core import K4, M2, many, qemu_shape

from gmemtui.core.coverage import compute
from gmemtui.core.model import Layout
from gmemtui.core.suggest import suggest
from gmemtui.core.suggest_apply import combine
from gmemtui.core.validate import check_layout

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20


def memfd_shape(ram: int) -> Layout:
    """The QEMU shape as QEMU 10 maps it with memory-backend-memfd: every ``ua`` 4K past a 2M boundary,
    2M folios. Every size gets the same suggestions (ua moves, Sean's split): the same work."""
    lay = qemu_shape(ram)
    return replace(lay, slots=tuple(replace(s, ua=s.ua + K4) for s in lay.slots),
                   files=tuple(replace(f, max_page=M2) for f in lay.files))


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def interleaved(cases: dict[str, Callable[[], object]], rounds: int) -> dict[str, tuple[list, list]]:
    out: dict[str, tuple[list, list]] = {k: ([], []) for k in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            w, c = timed(fn)
            out[name][0].append(w)
            out[name][1].append(c)
    return out


def fmt(values: list[float], unit: float, suffix: str) -> str:
    med = statistics.median(values)
    return f"{med / unit:8.2f} {suffix} ({min(values) / unit:.2f}-{max(values) / unit:.2f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()

    print(f"1. cost vs size: suggest() on one shape (median (min-max) of {args.rounds * 10} "
          "interleaved rounds)")
    sizes = (("64 MiB", 64 * MIB), ("1 TiB", 1 << 40), ("64 TiB", 64 << 40))
    cases = {}
    groups = [(shape, policy) for shape in ("qemu", "memfd") for policy in ("whole-binding", "per-range")]
    for shape, policy in groups:
        for label, ram in sizes:
            lay = replace((qemu_shape if shape == "qemu" else memfd_shape)(ram), policy=policy)
            check_layout(lay, "bench")
            kinds = sorted(s.title for s in suggest(lay).suggestions)
            print(f"   {shape} {policy:>13} {label:>7}: {len(kinds)} suggestion(s) {kinds}")
            cases[f"{shape} {policy} {label}"] = lambda lay=lay: suggest(lay)
    res = interleaved(cases, args.rounds * 10)
    print(f"   {'case':>28}  {'wall':>27}  {'CPU':>27}")
    for name, (w, c) in res.items():
        print(f"   {name:>28}  {fmt(w, 1e-6, 'µs')}  {fmt(c, 1e-6, 'µs')}")
    for shape, policy in groups:
        base = statistics.median(res[f"{shape} {policy} 64 MiB"][1])
        ratio = max(statistics.median(res[f"{shape} {policy} {label}"][1]) / base for label, _ in sizes)
        print(f"   {shape} {policy}: largest CPU ratio to 64 MiB {ratio:.2f}")

    n = max(3, args.rounds // 10)
    print(f"\n2. 32,763 slots + 10,000 private ranges (median (min-max) of {n} interleaved rounds)")
    big = many()
    check_layout(big, "bench")
    wb = replace(big, policy="whole-binding")
    found = {p: suggest(lay) for p, lay in (("per-range", big), ("whole-binding", wb))}
    for p, f in found.items():
        kinds: dict[str, int] = {}
        for s in f.suggestions:
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
        print(f"   {p}: {len(f.suggestions)} suggestions {kinds}, {len(f.unfixable)} unfixable entries")
    cases = {
        "compute()": lambda: compute(big),
        "suggest() per-range": lambda: suggest(big),
        "suggest() whole-binding": lambda: suggest(wb),
        "combine() per-range": lambda: combine(big, found["per-range"]),
    }
    res = interleaved(cases, n)
    print(f"   {'case':>24}  {'wall':>26}  {'CPU':>26}")
    for name, (w, c) in res.items():
        print(f"   {name:>24}  {fmt(w, 1, 's')}  {fmt(c, 1, 's')}")

    from gmemtui.formats.yaml_dump import dump_yaml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "many.yaml"
        path.write_text(dump_yaml(big))
        cmd = [sys.executable, "-m", "gmemtui", "suggest", str(path), "--json"]
        walls = []
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
            walls.append(time.perf_counter() - t)
        print(f"   {'gmemtui suggest --json':>24}  {fmt(walls, 1, 's')}  (wall, whole command)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
