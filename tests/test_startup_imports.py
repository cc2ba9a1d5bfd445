"""What ``gmemtui report`` imports, in a fresh interpreter (benchmarks/README.md, start-up): only the
reader of the format it was given, no other command's modules, none of the heavy standard modules it
has no use for. A guard on start-up that counts modules, not milliseconds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "layouts" / "qemu-snp-seed.yaml")
DUMP = str(ROOT / "layouts" / "qemu-10.0" / "q35-4g.mtree")
TRACE = str(ROOT / "layouts" / "qemu-snp-seed.trace")

# Prints the exit code, whether the cyclic GC is enabled again, then every module imported.
PROBE = """
import contextlib, gc, io, sys
from gmemtui.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        rc = main(sys.argv[1:])
    except SystemExit as e:
        rc = e.code
print(rc, gc.isenabled(), *sorted(sys.modules))
"""

# The reader of each format (trace_lines, the x86 platform of traces and dumps, is shared).
READERS = {"yaml": {"gmemtui.formats.yaml_load", "yaml"},
           "dump": {"gmemtui.formats.mtree"},
           "trace": {"gmemtui.formats.trace", "gmemtui.formats.trace_states"}}
OTHER_COMMANDS = {"gmemtui.commands.explain", "gmemtui.commands.diff", "gmemtui.commands.convert",
                  "gmemtui.commands.check", "gmemtui.commands.suggest", "gmemtui.core.suggest",
                  "gmemtui.core.diff", "gmemtui.core.edit", "gmemtui.formats.yaml_save",
                  "gmemtui.formats.yaml_dump", "gmemtui.formats.lessons", "gmemtui.tui", "gmemtui.kvm"}
# json only for --json; difflib only to name a mistake; shutil (with bz2, lzma) and typing never.
HEAVY = {"json", "difflib", "shutil", "bz2", "lzma", "typing", "textual", "rich"}


def run(*argv: str) -> tuple[str, bool, set[str]]:
    """``gmemtui ARGV`` in a fresh interpreter: exit code, GC enabled after it, the modules imported."""
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout.split()
    return out[0], out[1] == "True", set(out[2:])


def among(modules: set[str], names: set[str]) -> set[str]:
    """The names in ``names`` that were imported (a package by any of its modules)."""
    return {n for n in names if any(m == n or m.startswith(n + ".") for m in modules)}


@pytest.mark.parametrize(("argv", "kind", "needs"), [
    (["report", SEED], "yaml", set()),
    (["report", "--markdown", SEED], "yaml", set()),
    (["report", "--json", SEED], "yaml", {"json"}),
    (["report", DUMP], "dump", set()),
    (["report", TRACE], "trace", set()),
], ids=["text", "markdown", "json", "dump", "trace"])
def test_report_imports_the_reader_of_its_format_only(argv: list[str], kind: str, needs: set[str]) -> None:
    rc, gc_enabled, modules = run(*argv)
    assert rc == "0" and gc_enabled, "it ran, and the GC paused for start-up runs again"
    assert among(modules, READERS[kind]) == READERS[kind]
    others = set().union(*(names for k, names in READERS.items() if k != kind))
    assert among(modules, others) == set(), "another format's reader"
    assert among(modules, OTHER_COMMANDS) == set(), "another command's modules"
    assert among(modules, HEAVY) == needs


def test_help_and_bad_arguments_import_no_reader_and_leave_the_gc_on() -> None:
    """``report --help`` and a bad option stop in the parser: no layout module, no YAML; the GC
    paused for start-up is enabled again (the pause ends on every way out)."""
    for argv, code in ((["report", "--help"], "0"), (["report", "--bogus", SEED], "2")):
        rc, gc_enabled, modules = run(*argv)
        assert (rc, gc_enabled) == (code, True)
        assert among(modules, {"yaml", "gmemtui.formats.loader", "gmemtui.commands.report"}) == set()


FREEZE_PROBE = """
import contextlib, gc, io, sys
from gmemtui.cli import main
sys.argv = ["gmemtui", *sys.argv[1:]]
with contextlib.redirect_stdout(io.StringIO()) as out:
    rc = main()
print(rc, gc.get_freeze_count() > 0, len(out.getvalue()))
"""


def test_only_the_program_freezes_its_objects_for_exit(capsys: pytest.CaptureFixture[str]) -> None:
    """``main()`` as the program (no argv: the process ends after it) freezes what is alive so the
    collection at exit skips it; ``main(argv)`` in a process that goes on (tests) never freezes."""
    import gc

    from gmemtui.cli import main

    before = gc.get_freeze_count()
    assert main(["report", SEED]) == 0 and "slot" in capsys.readouterr().out
    assert gc.get_freeze_count() == before
    rc, frozen, printed = subprocess.run([sys.executable, "-c", FREEZE_PROBE, "report", SEED],
                                         capture_output=True, text=True, cwd=ROOT, check=True).stdout.split()
    assert (rc, frozen) == ("0", "True") and int(printed) > 0
