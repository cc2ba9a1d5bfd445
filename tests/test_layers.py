"""The layers of the package (docs/architecture.md): import-linter's contracts from pyproject.toml,
and no import cycle between modules (TYPE_CHECKING imports included: a widget names its container
through a protocol, not by importing it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "importlinter.cli"]
    return subprocess.run(cmd + ["--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_import_contracts_kept() -> None:
    r = _lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Contracts: 4 kept, 0 broken." in r.stdout


@pytest.mark.parametrize("module, bad_import", [
    ("gmemtui/core/rules.py", "from gmemtui.formats import yaml_load"),   # core reaching up
    ("gmemtui/formats/trace.py", "import textual"),                        # Textual below the TUI
    ("gmemtui/commands/report.py", "from gmemtui.tui import app"),         # a command importing the TUI
    ("gmemtui/tui/live.py", "from gmemtui.commands import report"),        # the TUI calling a command
])
def test_a_bad_import_breaks_a_contract(tmp_path: Path, module: str, bad_import: str) -> None:
    """The contracts are not vacuous: the same check on a copy with one bad import fails."""
    copy = tmp_path / "repo"
    copy.mkdir()
    (copy / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    subprocess.run(["cp", "-r", str(ROOT / "gmemtui"), str(copy / "gmemtui")], check=True)
    target = copy / module
    target.write_text(target.read_text() + f"\n{bad_import}  # noqa\n")
    r = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.'); "
                        "from importlinter.cli import lint_imports_command; lint_imports_command()",
                        "--no-cache"], cwd=copy, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0, r.stdout
    assert "BROKEN" in r.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    adj = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(adj):
        if root in index:
            continue
        work = [(root, iter(adj[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(adj[w])))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_no_import_cycles() -> None:
    graph = grimp.build_graph("gmemtui", exclude_type_checking_imports=False)
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "cyc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyc import b\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyc import a\n")
    (pkg / "c.py").write_text("from cyc import a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        graph = grimp.build_graph("cyc", exclude_type_checking_imports=False, cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert _cycles(graph) == [["cyc.a", "cyc.b"]]
