"""``gmemtui report`` end to end on 32,763 slots + 10,000 private ranges (issue 3). Not a test.

Writes the layout of ``bench_core.many()`` (valid: every range 4K-aligned, checked before writing)
as YAML in two shapes, then times the real command in a subprocess, wall clock, best of N:

- ``flow``: one line per slot and range (``- {slot: 0, gpa: 0x0, ...}``), 42,779 lines;
- ``block``: what ``gmemtui convert`` / the TUI save writes (``yaml_dump``), 272,128 lines.

Run: ``.venv/bin/python benchmarks/bench_report.py [--repeat N] [--keep DIR]``. Target: < 1 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_core import many, valid

from gmemtui.core.model import Layout
from gmemtui.formats.yaml_dump import dump_yaml

GMEMTUI = Path(sys.executable).parent / "gmemtui"
FORMS = (("text", []), ("--json", ["--json"]), ("--markdown", ["--markdown"]))


def flow_yaml(layout: Layout) -> str:
    """The layout with one flow mapping per line (files, slots, private ranges)."""
    plat = layout.platform
    out = [
        f'name: "{layout.name}"',
        f"arch: {layout.arch}",
        f"policy: {layout.policy}",
        f"host_max_page: {plat.name_of(layout.host_max_page)}",
        f"private_max_page: {plat.name_of(layout.private_max_page)}",
        "guest_memfd:",
    ]
    out += [f"  - {{id: {f.id}, max_page: {plat.name_of(f.max_page)}}}" for f in layout.files]
    out.append("slots:")
    out += [
        f"  - {{slot: {s.slot}, gpa: {s.gpa:#x}, size: {s.size:#x}, ua: {s.ua:#x}, "
        f"guest_memfd: {s.gmem}, offset: {s.offset:#x}}}"
        for s in layout.slots
    ]
    out.append("private:")
    out += [f"  - {{gpa: {r.gpa:#x}, size: {r.size:#x}}}" for r in layout.private or ()]
    return "\n".join(out) + "\n"


def wall(cmd: list[str], repeat: int) -> float:
    """Best wall time of ``repeat`` runs (the least disturbed by other jobs on the machine)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return min(times)


def stages(path: Path) -> list[tuple[str, float]]:
    """Where one ``report`` goes, in this process (CPU seconds, GC paused as the command does)."""
    from gmemtui.commands.jsonout import dumps_indented
    from gmemtui.commands.report import format_markdown, format_text
    from gmemtui.commands.report_dict import report_dict
    from gmemtui.commands.report_json import report_json
    from gmemtui.commands.textfmt import Painter
    from gmemtui.core.coverage import compute
    from gmemtui.core.gcpause import paused_gc
    from gmemtui.core.validate import check_layout
    from gmemtui.formats.yaml_load import compose, load_yaml

    text = path.read_text()
    out = []

    def timed(label: str, fn):
        t = time.process_time()
        value = fn()
        out.append((label, time.process_time() - t))
        return value

    with paused_gc():
        timed("YAML compose (libyaml)", lambda: compose(text, str(path)))
        layout = timed("load_yaml (compose + read + check)", lambda: load_yaml(text, str(path)))
        timed("  of which check_layout", lambda: check_layout(layout, str(path)))
        cov = timed("compute()", lambda: compute(layout))
        timed("report_dict + dumps_indented (same bytes)",
              lambda: dumps_indented(report_dict(layout, str(path), cov)))
        timed("--json: report_json", lambda: report_json(layout, str(path), cov))
        timed("text: format_text", lambda: format_text(layout, str(path), Painter(False), None, cov))
        timed("--markdown: format_markdown", lambda: format_markdown(layout, str(path), None, cov))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", help="write the YAML files into this directory and keep them")
    args = ap.parse_args()

    layout = valid(many())
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(args.keep or tmp)
        where.mkdir(parents=True, exist_ok=True)
        files = {"flow": where / "many-flow.yaml", "block": where / "many-block.yaml"}
        files["flow"].write_text(flow_yaml(layout))
        files["block"].write_text(dump_yaml(layout))
        t_pass = wall([sys.executable, "-c", "pass"], args.repeat)
        print(f"32,763 slots + 10,000 private ranges: `gmemtui report` wall, best of {args.repeat}")
        print(f"(python -c pass: {t_pass * 1e3:.0f} ms)")
        print(f"{'YAML':<6} {'lines':>8}  " + "  ".join(f"{label:>10}" for label, _ in FORMS))
        for shape, path in files.items():
            lines = path.read_text().count("\n")
            cells = [wall([str(GMEMTUI), "report", *opts, str(path)], args.repeat) for _, opts in FORMS]
            print(f"{shape:<6} {lines:>8}  " + "  ".join(f"{t:>8.2f} s" for t in cells))
        print("\nin-process stages, flow YAML (CPU):")
        for label, t in stages(files["flow"]):
            print(f"  {label:<40} {t * 1e3:8.0f} ms")
    print("target: < 1 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
