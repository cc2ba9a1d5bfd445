"""``gmemtui convert FILE [-o OUT] [--force]``: a trace's final layout (or any layout) as YAML.

The YAML loads back to an equal layout (``layout_yaml.load_yaml``), so ``report`` on either gives the
same coverage. Without ``-o`` it goes to stdout; a file is written atomically and never over an
existing one without ``--force``.
"""

from __future__ import annotations

import argparse
import sys

from gmemtui.commands.options import overrides_from
from gmemtui.core.model import Overrides
from gmemtui.core.units import fmt_size
from gmemtui.formats.loader import load
from gmemtui.formats.yaml_dump import dump_yaml


def header(path: str, kind: str, states: int, overrides: Overrides) -> str:
    lines = [f"Converted by `gmemtui convert` from {path}"]
    if kind == "trace":
        lines.append(
            f"(a QEMU kvm_set_user_memory trace: its state after the last line; {states - 1} lines changed "
            "the layout)."
        )
        lines.append("Each slot's name is the trace line that made it; file sizes are the end of the")
        lines.append("furthest binding any line of the trace made (docs/formats.md).")
    elif kind == "dump":
        lines.append("(a QEMU monitor dump, `info mtree -f` [+ `info ramblock`]: one slot per KVM-marked")
        lines.append("ram/rom range, numbered in line order; ua from the RAMBlock's HVA where the dump")
        lines.append("gives it, else assumed; log_dirty and guest_memfd are not in a dump:")
        lines.append("docs/monitor-dumps.md).")
    given = [
        f"--{k.replace('_', '-')} {v}" for k, v in (
            ("policy", overrides.policy),
            ("host_max_page", overrides.host_max_page and fmt_size(overrides.host_max_page)),
            ("private_max_page", overrides.private_max_page and fmt_size(overrides.private_max_page)),
            ("gmem_max_page", overrides.gmem_max_page and fmt_size(overrides.gmem_max_page)),
        ) if v is not None
    ] + (["--gmem-mmap"] if overrides.gmem_mmap else [])
    if given:
        lines.append(f"Command-line overrides applied: {' '.join(given)}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    overrides = overrides_from(args)
    loaded = load(args.file, overrides)
    text = dump_yaml(loaded.layout, header(args.file, loaded.kind, len(loaded.states), overrides))
    if args.output is None:
        sys.stdout.write(text)
        return 0
    _write(args.output, text, args.force)
    return 0


def _write(path: str, text: str, force: bool) -> None:
    from gmemtui.formats.fileio import write_new

    write_new(path, text, force)
