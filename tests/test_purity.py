"""The core is pure: no module outside gmemtui/tui imports Textual (checked in a fresh interpreter)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import gmemtui

PKG_DIR = Path(gmemtui.__file__).parent


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages([str(PKG_DIR)], prefix="gmemtui."):
        if info.name.startswith("gmemtui.tui") or info.name == "gmemtui.__main__":
            continue
        names.append(info.name)
    return names


def test_core_modules_exist() -> None:
    names = core_modules()
    for must in ("gmemtui.core.rules", "gmemtui.core.coverage", "gmemtui.core.model",
                 "gmemtui.core.platform", "gmemtui.cli"):
        assert must in names


def test_core_imports_no_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"names = {core_modules()!r}\n"
        "for n in names: importlib.import_module(n)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(len(names), bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    count, bad = out.split(" ", 1)
    assert int(count) == len(core_modules())
    assert bad.strip() == "[]", f"core modules imported Textual: {bad}"
