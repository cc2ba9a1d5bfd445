"""Fuzzing the real entry point, ``gmemtui.cli.main``, in-process: mutated layouts, traces and monitor
dumps under every command, and mutated argument vectors. Whatever the input: an exit code in
{0, 1, 2}, never a traceback, exactly one stderr line on exit 2, and ``FILE:LINE: ...`` when the
file's content is wrong.

``GMEMTUI_FUZZ_EXAMPLES=N`` sets the examples per test (default 40, about half a minute for the file);
tests/README.md shows the slower nightly-size run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gmemtui import cli

ROOT = Path(__file__).resolve().parent.parent
LAYOUTS = ROOT / "layouts"
YAMLS = {p.name: p.read_text() for p in sorted(LAYOUTS.glob("*.yaml"))}
TRACES = {p.name: p.read_text() for p in sorted(LAYOUTS.glob("*.trace"))}
TRACES["lkml-gmem-hugepage-thread.txt"] = (LAYOUTS / "lkml-gmem-hugepage-thread.txt").read_text()
TRACES |= {str(p.relative_to(LAYOUTS)): p.read_text() for p in sorted(LAYOUTS.glob("*/*.trace"))}
DUMPS = {str(p.relative_to(LAYOUTS)): p.read_text() for p in sorted(LAYOUTS.glob("**/*.mtree"))}

EXAMPLES = int(os.environ.get("GMEMTUI_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="GMEMTUI_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

COMMON = [
    "0", "-1", "0x", "0x1000", "2G", "٤K", "１", "2 M", "9" * 40, "0x" + "f" * 40, "~", "null", ":", "-", "#",
    "\t", "\r", "\x00", "\ufeff", "é", "'", '"', "[", "]", "{", "}", "\n", "\n\n", " ",
]
YAML_TOKENS = COMMON + [
    "slot: ", "gpa: ", "size: ", "ua: ", "flags: ", "guest_memfd: ", "offset: ", "as: ", "id: ", "max_page: ",
    "mmap: ", "private: ", "policy: ", "arch: ", "host_max_page: ", "- ", "&a ", "*a", "<<: *a", "0777",
    "1:30", "true", "whole-binding", "4k-only", "arm64-64k", "\n  - ", "\n    ", "---\n", "%YAML 1.1\n",
]
TRACE_TOKENS = COMMON + [
    "kvm_set_user_memory ", "kvm_convert_memory ", "Slot#", "slot=", "AddrSpace#1 ", "flags=0x4 ",
    "flags=0x8 ",
    "gpa=0x", "size=0x0 ", "size=0x200000 ", "ua=0x", "ret=0", "ret=-22", "guest_memfd=-1 ", "guest_memfd=7 ",
    "guest_memfd_offset=0x1000 ", "restricted_fd=", "start 0x0 size 0x1000 shared_to_private",
    "private_to_shared", "kvm_set_user_memory " * 50,
]


@st.composite
def mutated(draw: st.DrawFn, sources: dict[str, str], tokens: list[str]) -> str:
    """A shipped file with a few edits: lines dropped, doubled or swapped, tokens spliced in, a cut."""
    text = sources[draw(st.sampled_from(sorted(sources)))]
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["drop", "dup", "swap", "splice", "splice", "splice", "cut"]))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "drop" and len(lines) > 1:
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "splice":
            line = lines[i]
            a = draw(st.integers(0, len(line)))
            b = draw(st.integers(a, min(len(line), a + 12)))
            lines[i] = line[:a] + draw(st.sampled_from(tokens)) + line[b:]
        elif op == "cut":
            lines = lines[: i + 1]
            lines[-1] = lines[-1][: draw(st.integers(0, len(lines[-1])))]
    return "".join(lines)

DUMP_TOKENS = COMMON + [
    "FlatView #0\n", " AS \"memory\", root: system\n", "(prio 0, ram): ", "(prio 1, rom): ",
    "(prio 0, i/o): ", "0000000000000000-", "00000000000fffff", "ffffffffffffffff", " KVM",
    " @0000000000100000", "pc.ram", "pc.bios",
    "(qemu) info ramblock\n", "(qemu) info mtree -f\n", "    4 KiB", "  2 MiB", " 0x00007f5e03e00000", "  rw",
    "  ro", "/rom@etc/acpi/tables", "-0000000000000000 ", "(prio -1, ramd): ", "\n  ",
]

OPTION_VALUES = {
    "--policy": ["per-range", "whole-binding", "4k-only", "foo", "per"],
    "--host-max-page": ["2M", "4K", "1G", "2MiB", "3M", "-2M", "2 M", "x"],
    "--private-max-page": ["2M", "4K", "0"],
    "--gmem-max-page": ["2M", "1G", "٤K"],
}
FLAGS = ["--gmem-mmap", "--json", "--markdown", "--bogus", "--jsn", "-x", "--", "extra", "--force"]


@st.composite
def options(draw: st.DrawFn, extra: list[str]) -> list[str]:
    out: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            opt = draw(st.sampled_from(sorted(OPTION_VALUES)))
            out += [opt, draw(st.sampled_from(OPTION_VALUES[opt]))]
        else:
            out.append(draw(st.sampled_from(FLAGS + extra)))
    return out


# content errors about the file as a whole, with no line to name: FILE: what is wrong
WHOLE_FILE = ('no flat view of AS "memory"',)


@contextlib.contextmanager
def no_tui(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """``gmemtui [FILE]`` would start Textual: record that it would have, and return 0."""
    started: list[object] = []
    from gmemtui.tui import run

    monkeypatch.setattr(run, "main", lambda args: started.append(args) or 0)
    yield started


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as e:  # --help, --version
            code = e.code if isinstance(e.code, int) else 0
    return code, out.getvalue(), err.getvalue()


def assert_contract(code: int, err: str, content: str | None = None) -> None:
    """The CLI contract; ``content``: the file whose text was mutated under valid options."""
    event(f"exit {code}")
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        assert err.endswith("\n") and err.count("\n") == 1, repr(err)
        assert err.startswith("gmemtui: ") or re.match(r"^\S[^\n]*?(:\d+)?: ", err), repr(err)
        if content is not None and not err.startswith("gmemtui: --"):
            if not err.startswith(tuple(f"{content}: {m}" for m in WHOLE_FILE)):
                assert re.match(rf"^{re.escape(content)}:\d+: \S", err), repr(err)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gmemtui-fuzz-") as d:
        yield Path(d)


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return str(path)


@FUZZ
@given(text=mutated(YAMLS, YAML_TOKENS), command=st.sampled_from(["report", "explain", "convert", "check"]),
       json=st.booleans())
def test_mutated_layouts(folder: Path, text: str, command: str, json: bool) -> None:
    path = write(folder, "fuzz.yaml", text)
    argv = [command, path] + (["0x100000"] if command == "explain" else [])
    argv += ["--json"] if json and command in ("report", "explain") else []
    code, out, err = run(argv)
    assert_contract(code, err, content=path)
    if code == 0 and command == "convert":  # what converts loads back
        again = write(folder, "again.yaml", out)
        assert run(["report", again])[0] == 0


@FUZZ
@given(text=mutated(TRACES, TRACE_TOKENS), command=st.sampled_from(["report", "explain", "convert", "check"]),
       state=st.one_of(st.none(), st.integers(-2, 40)))
def test_mutated_traces(folder: Path, text: str, command: str, state: int | None) -> None:
    path = write(folder, "fuzz.trace", text)
    argv = [command, path] + (["0x100000"] if command == "explain" else [])
    if state is not None and command == "report":
        argv += ["--state", str(state)]
    code, _, err = run(argv)
    assert_contract(code, err, content=None if state is not None else path)


@FUZZ
@given(text=mutated(DUMPS, DUMP_TOKENS), command=st.sampled_from(["report", "explain", "convert", "check"]))
def test_mutated_monitor_dumps(folder: Path, text: str, command: str) -> None:
    path = write(folder, "fuzz.mtree", text)
    code, _, err = run([command, path] + (["0x100000"] if command == "explain" else []))
    assert_contract(code, err, content=path)


@FUZZ
@given(old=mutated(YAMLS, YAML_TOKENS), new=mutated(TRACES, TRACE_TOKENS), fail=st.booleans())
def test_mutated_diff(folder: Path, old: str, new: str, fail: bool) -> None:
    a, b = write(folder, "old.yaml", old), write(folder, "new.trace", new)
    code, _, err = run(["diff", a, b, "--json"] + (["--fail-on-loss"] if fail else []))
    assert_contract(code, err)
    if code == 2:
        assert err.startswith((f"{a}:", f"{b}:")), err


@FUZZ
@given(command=st.sampled_from(["report", "explain", "diff", "convert", "check", None, "repot", "frobnic"]),
       files=st.lists(st.sampled_from(["seed", "trace", "missing", "dir", ""]), max_size=3),
       opts=options(["--state", "--as", "2", "1", "-o", "--fail-on-loss", "--old-state", "--levels", "-h"]),
       gpa=st.sampled_from(["0", "0x100000", "1G", "0x", "٤K", "-5", "0x" + "f" * 40]))
def test_mutated_argument_vectors(folder: Path, monkeypatch_module, command, files, opts, gpa) -> None:
    names = {"seed": str(LAYOUTS / "qemu-snp-seed.yaml"), "trace": str(LAYOUTS / "qemu-snp-seed.trace"),
             "missing": str(folder / "missing.yaml"), "dir": str(folder), "": ""}
    argv = ([command] if command else []) + [names[f] for f in files]
    if command == "explain":
        argv.append(gpa)
    argv += opts
    for i, a in enumerate(argv):  # never write outside the test folder
        if a == "-o":
            argv[i + 1: i + 2] = [str(folder / "out.yaml")]
    with no_tui(monkeypatch_module):
        code, _, err = run(argv)
    assert_contract(code, err)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()
