"""Cost of the closed-form core (issue 3). Not a test: it prints a table; figures go in README.md.

Run: ``.venv/bin/python benchmarks/bench_core.py [--repeat N]``.

1. Cost vs size: one layout shape (QEMU's split: low RAM, two ROM slots, RAM below and above 4G on
   one guest_memfd, with a private list that leaves unaligned shared holes) at 64 MiB, 1 TiB and
   64 TiB of RAM. compute() must cost the same: the ratio to the 64 MiB time stays within 1.1.
2. Scale: 32,763 slots (every x86 user slot id but one) plus 10,000 private ranges: compute()
   and the ``report --json`` document (report_dict + json.dumps), target under 1 s; the whole
   command on this layout written as YAML is timed by ``bench_report.py``.
3. ``gmemtui report <seed>`` wall time next to ``python -c "import yaml"``.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

from gmemtui.core.coverage import compute
from gmemtui.core.model import GmemFile, Layout, PrivateRange, Slot

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "gmemtui" / "data" / "qemu-snp-seed.yaml"
PLAT = Layout(slots=()).platform
K4 = PLAT.base.bytes
M2 = PLAT.ladder[1].bytes
TOP = PLAT.largest.bytes
MIB = 1 << 20


def best(fn, repeat: int, cpu: bool = False) -> float:
    """Best time of ``repeat`` calls, in seconds (the least disturbed run); wall or this process's CPU."""
    clock = time.process_time if cpu else time.perf_counter
    times = []
    for _ in range(repeat):
        t = clock()
        fn()
        times.append(clock() - t)
    return min(times)


def qemu_shape(ram: int) -> Layout:
    """QEMU q35 SEV-SNP-like split of ``ram`` bytes; the same slots and ranges at every size."""
    half = ram // 2
    above = max(4 * TOP, -(-half // TOP) * TOP)  # RAM above 4G: at 4 GiB, or above the low half
    slots = (
        Slot(slot=0, gpa=0, size=0xC0000, ua=0x7F24AFC00000, gmem=19, offset=0),
        Slot(slot=3, gpa=0xC0000, size=0x20000, ua=0x7F2575000000, gmem=33, flags=2),
        Slot(slot=4, gpa=0xE0000, size=0x20000, ua=0x7F2575400000, gmem=31, flags=2),
        Slot(slot=5, gpa=0x100000, size=half - 0x100000, ua=0x7F24AFD00000, gmem=19, offset=0x100000),
        Slot(slot=6, gpa=above, size=half, ua=0x7F24AFC00000 + TOP * 8, gmem=19, offset=half),
    )
    # private everywhere except 3 shared holes of 20K per big slot, unaligned, at fractions of its size
    private: list[PrivateRange] = [PrivateRange(0, 0x100000)]
    for s in slots[3:]:
        cur = s.gpa
        for i in range(1, 4):
            hole = s.gpa + (s.size // 4) * i // K4 * K4 + 3 * K4
            private.append(PrivateRange(cur, hole - cur))
            cur = hole + 5 * K4
        private.append(PrivateRange(cur, s.end - cur))
    files = (GmemFile(id=19, size=ram, max_page=TOP), GmemFile(id=33, max_page=M2),
             GmemFile(id=31, max_page=M2))
    return Layout(slots=slots, files=files, private=tuple(private), name=f"qemu shape {ram:#x}")


def many(slots_n: int = 32763, ranges_n: int = 10000) -> Layout:
    """``slots_n`` slots of 64 MiB + 12K each on 8 files (unaligned ends), ``ranges_n`` private ranges."""
    size = 64 * MIB + 3 * K4
    stride = 128 * MIB
    slots = []
    offsets = [0] * 8
    for i in range(slots_n):
        fid = i % 8
        slots.append(Slot(slot=i, gpa=i * stride, size=size, ua=(1 << 40) + i * stride + (i % 3) * M2,
                          gmem=fid, offset=offsets[fid]))
        offsets[fid] += size + (i % 5) * K4
    files = tuple(GmemFile(id=f, max_page=M2 if f % 2 else TOP) for f in range(8))
    step = slots_n * stride // ranges_n // K4 * K4
    half = step // 2 // K4 * K4
    private = tuple(PrivateRange(i * step + (i % 7) * K4, half + (i % 11) * K4) for i in range(ranges_n))
    return Layout(slots=tuple(slots), files=files, private=private, name="32763 slots")


def plain(slots_n: int = 32763) -> Layout:
    """``slots_n`` slots without guest_memfd and without a private list (a non-CoCo VM)."""
    size = 64 * MIB + 3 * K4
    return Layout(slots=tuple(Slot(slot=i, gpa=i * 128 * MIB, size=size, ua=(1 << 40) + i * 128 * MIB)
                              for i in range(slots_n)), name="plain")


def valid(layout: Layout) -> Layout:
    from gmemtui.core.validate import check_layout

    check_layout(layout, "bench")
    return layout


def report_json(layout: Layout, indent: int | None = None) -> str | None:
    try:
        from gmemtui.commands.report_dict import report_dict
    except ImportError:
        return None
    return json.dumps(report_dict(layout, "bench.yaml"), indent=indent)


def wall(cmd: list[str], repeat: int) -> float:
    return best(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL), repeat)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    r = args.repeat

    print(f"1. cost vs size (same shape; CPU time, best of {r * 10})")
    print(f"   {'RAM':>8}  {'runs':>5}  {'compute()':>10}  {'ratio':>6}")
    sizes = (("64 MiB", 64 * MIB), ("1 TiB", 1 << 40), ("64 TiB", 64 << 40))
    lays = [valid(qemu_shape(ram)) for _, ram in sizes]
    times = [float("inf")] * len(lays)
    for _ in range(r * 10):  # interleaved, so a burst of load hits every size alike
        for i, lay in enumerate(lays):
            times[i] = min(times[i], best(lambda lay=lay: compute(lay), 1, cpu=True))
    ratios = [t / times[0] for t in times]
    for (label, _), lay, t, ratio in zip(sizes, lays, times, ratios, strict=True):
        nruns = sum(len(sc.runs) for sc in compute(lay).slots)
        print(f"   {label:>8}  {nruns:>5}  {t * 1e6:>8.0f} µs  {ratio:>6.2f}")
    print(f"   max ratio {max(ratios):.2f} (target <= 1.1)")

    n = max(3, r // 5)
    print(f"\n2. 32,763 slots + 10,000 private ranges (CPU time, best of {n})")
    lay = valid(many())
    nruns = sum(len(sc.runs) for sc in compute(lay).slots)
    print(f"   runs {nruns}")
    print(f"   compute()                          {best(lambda: compute(lay), n, cpu=True) * 1e3:8.1f} ms")
    if report_json(lay) is not None:
        t_json = best(lambda: report_json(lay), n, cpu=True)
        print(f"   report_dict + json.dumps           {t_json * 1e3:8.1f} ms")
        t_json = best(lambda: report_json(lay, indent=2), n, cpu=True)
        print(f"   report_dict + json.dumps(indent=2) {t_json * 1e3:8.1f} ms")
        from gmemtui.commands.jsonout import dumps_indented
        from gmemtui.commands.report_dict import report_dict
        from gmemtui.core.gcpause import paused_gc

        with paused_gc():  # as `gmemtui report` runs
            t_json = best(lambda: dumps_indented(report_dict(lay, "bench.yaml")), n, cpu=True)
        print(f"   the same with dumps_indented, GC paused {t_json * 1e3:5.1f} ms   (same bytes)")
        from gmemtui.commands.report_json import report_json as fast_json

        with paused_gc():
            t_json = best(lambda: fast_json(lay, "bench.yaml", compute(lay)), n, cpu=True)
        print(f"   compute + report_json, GC paused   {t_json * 1e3:8.1f} ms   (--json; target < 1000 ms)")
        gc.disable()
        try:
            t_json = best(lambda: report_json(lay), n, cpu=True)
        finally:
            gc.enable()
        print(f"   the same, GC paused throughout     {t_json * 1e3:8.1f} ms")
    else:
        print("   gmemtui.commands.report missing: compute() only")
    lay = valid(plain())
    print(f"   32,763 plain slots, compute()      {best(lambda: compute(lay), n, cpu=True) * 1e3:8.1f} ms")

    print(f"\n3. `gmemtui report <seed>` vs `python -c \"import yaml\"` (wall, best of {r})")
    gm = Path(sys.executable).parent / "gmemtui"
    t_yaml = wall([sys.executable, "-c", "import yaml"], r)
    t_pass = wall([sys.executable, "-c", "pass"], r)
    print(f"   python -c pass            {t_pass * 1e3:8.1f} ms")
    print(f"   python -c 'import yaml'   {t_yaml * 1e3:8.1f} ms")
    if gm.exists() and SEED.exists():
        t_rep = wall([str(gm), "report", str(SEED)], r)
        t_json = wall([str(gm), "report", "--json", str(SEED)], r)
        print(f"   gmemtui report            {t_rep * 1e3:8.1f} ms   ratio {t_rep / t_yaml:.2f}")
        print(f"   gmemtui report --json     {t_json * 1e3:8.1f} ms   ratio {t_json / t_yaml:.2f}")
    else:
        print("   gmemtui script or seed layout missing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
