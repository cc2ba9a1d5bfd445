"""The YAML path at KVM's slot limit, side by side with the parsers it could use (issue 13). Not a test.

One file (32,763 slots + 10,000 private ranges, ``bench_report``'s flow or block shape), every case
in the same interleaved rounds (``harness.interleave``), CPU time of this thread, GC paused in each
case as ``load_yaml`` pauses it:

- ``yaml.load (CSafeLoader)``: PyYAML's C loader building Python values, no marks kept;
- ``yaml.compose (libyaml)``: what ``load_yaml`` starts from, nodes with marks (its null-only resolver);
- ``yaml.parse events (libyaml)``: the C parser's events with marks, no nodes;
- ``fast_yaml.safe_load`` (fastyaml-rs, Rust) and ``ryml.parse_in_arena`` (rapidyaml, C++: a tree
  in C++ memory, no Python values at all), when installed -- measured only, not dependencies;
- ``load_yaml``: the whole loader (the line reader of ``yaml_lines`` where the file is canonical, else
  compose and read into the model; then ``check_layout``), and ``load_yaml`` by the exact path alone
  (the whole file composed, as before the line reader);
- ``json.dumps(report)``: the ``report --json`` document, compact (the C encoder), the output's floor;
- the floor: the fastest parser's load + ``json.dumps``, one after the other;
- ``gmemtui report --json``: the real command, wall clock, in a subprocess; with ``--before TREE``
  (a checkout of an older commit, e.g. ``git archive``) the same command of that tree beside it,
  both run as ``python -S`` with the tree first on the path (the editable install would win otherwise).

Run: ``.venv/bin/python benchmarks/bench_yaml.py [--rounds N] [--shape flow|block] [--file F]
[--before TREE]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import sysconfig
import tempfile
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from bench_core import many, valid
from bench_report import flow_yaml
from harness import Case, command, in_process, interleave, table

from gmemtui.commands.report_dict import report_dict
from gmemtui.core.coverage import compute
from gmemtui.core.gcpause import paused_gc
from gmemtui.formats import yaml_load
from gmemtui.formats.yaml_dump import dump_yaml
from gmemtui.formats.yaml_load import compose, load_yaml

GMEMTUI = Path(sys.executable).parent / "gmemtui"
REPO = Path(__file__).resolve().parent.parent
MAIN = "import sys; from gmemtui.cli import main; sys.exit(main())"


@contextmanager
def exact_path():
    """``load_yaml`` without the line reader: the whole file composed."""
    with mock.patch.object(yaml_load, "_by_lines", lambda *a: None):
        yield


def tree_command(tree: Path, path: Path) -> list[str]:
    """``gmemtui report --json`` of the code in ``tree``, ahead of the editable install."""
    site = sysconfig.get_paths()["purelib"]
    return ["env", f"PYTHONPATH={tree}:{site}", sys.executable, "-S", "-c", MAIN,
            "report", "--json", str(path)]


def gc_paused(fn):
    """``fn()`` with the GC paused, its result dropped inside the pause: a tree freed after the pause
    would be timed with a full collection over it (~400 ms at this size), which ``load_yaml`` avoids."""

    def run():
        with paused_gc():
            fn()

    return run


def cases(path: Path, before: Path | None = None) -> list[Case]:
    import yaml

    text = path.read_text()
    data = text.encode()
    layout = load_yaml(text, str(path))
    doc = report_dict(layout, str(path), compute(layout))
    out = [
        Case("yaml.load (CSafeLoader)",
             in_process(gc_paused(lambda: yaml.load(text, Loader=yaml.CSafeLoader)))),
        Case("yaml.compose (libyaml)", in_process(gc_paused(lambda: compose(text, str(path))))),
        Case("yaml.parse events (libyaml)",
             in_process(gc_paused(lambda: sum(1 for _ in yaml.parse(text, Loader=yaml.CSafeLoader))))),
    ]
    fastest, load = "yaml.load (CSafeLoader)", lambda: yaml.load(text, Loader=yaml.CSafeLoader)
    for module, name, call in (("fast_yaml", "fast_yaml.safe_load (Rust)", lambda m: m.safe_load(text)),
                               ("ryml", "ryml.parse_in_arena (C++, no values)",
                                lambda m: m.parse_in_arena(data))):
        try:
            m = importlib.import_module(module)
        except ImportError:
            print(f"({module} not installed: {name} not measured)")
            continue
        out.append(Case(name, in_process(gc_paused(lambda m=m, call=call: call(m)))))
        if module == "fast_yaml":
            fastest, load = name, (lambda m=m: m.safe_load(text))

    def exact() -> None:
        with exact_path():
            load_yaml(text, str(path))

    def floor() -> None:
        load()
        json.dumps(doc)

    out += [
        # GC paused around each, as `gmemtui report` pauses it for the whole command: a collection
        # when load_yaml's own pause ends would walk this process's other data (the document)
        Case("load_yaml (gmemtui)", in_process(gc_paused(lambda: load_yaml(text, str(path)))), floor=fastest),
        Case("load_yaml, exact path only", in_process(gc_paused(exact)), floor=fastest),
        Case("json.dumps(report) (C encoder)", in_process(gc_paused(lambda: json.dumps(doc)))),
        Case("floor: fastest load + json.dumps", in_process(gc_paused(floor))),
        Case("gmemtui report --json (wall)", command([str(GMEMTUI), "report", "--json", str(path)]),
             floor="floor: fastest load + json.dumps"),
        Case("same, python -S", command(tree_command(REPO, path)), floor="floor: fastest load + json.dumps"),
    ]
    if before is not None:
        out.append(Case("before: python -S", command(tree_command(before, path)),
                        floor="floor: fastest load + json.dumps"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--shape", choices=("flow", "block"), default="flow")
    ap.add_argument("--file", help="an existing YAML layout instead of the generated one")
    ap.add_argument("--before", type=Path, help="a source tree of an older commit to run beside")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.file:
            path = Path(args.file)
        else:
            layout = valid(many())
            path = Path(tmp) / f"many-{args.shape}.yaml"
            path.write_text(flow_yaml(layout) if args.shape == "flow" else dump_yaml(layout))
        all_cases = cases(path, args.before)
        interleave(all_cases, args.rounds)
        lines = path.read_text().count("\n")
        print(table(all_cases, f"YAML path, {path.name} ({lines:,} lines)"))
    print("target: report --json < 1 s wall, <= 2x the fastest parser's load + json.dumps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
