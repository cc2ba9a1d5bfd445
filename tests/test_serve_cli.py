"""``gmemtui serve`` without a browser: the command each browser tab runs, bad input before serving,
a clear line where textual-serve is missing, and no Textual import in the serving process."""

from __future__ import annotations

import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest

from gmemtui.cli import build_parser, main
from gmemtui.tui.serve import app_command


def args(*argv: str) -> Namespace:
    return build_parser("serve").parse_args(["serve", *argv])


def test_defaults_bind_to_localhost() -> None:
    a = args()
    assert (a.host, a.port, a.tour, a.file) == ("localhost", 8000, None, None)


def test_the_command_of_each_browser_session() -> None:
    py = sys.executable
    assert app_command(args()) == f"{py} -m gmemtui"
    assert app_command(args("layouts/q35-4g.yaml")) == f"{py} -m gmemtui layouts/q35-4g.yaml"
    assert app_command(args("--tour")) == f"{py} -m gmemtui tour"
    assert app_command(args("--tour", "my lessons")) == f"{py} -m gmemtui tour 'my lessons'"


def test_bad_input_is_reported_before_serving(tmp_path: Path, capsys) -> None:
    assert main(["serve", "--port", "70000"]) == 2
    assert capsys.readouterr().err == "gmemtui: --port: not a TCP port: '70000'\n"
    assert main(["serve", "--tour", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"gmemtui: {tmp_path}: no lesson files (*.yaml) in it\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text("slots:\n  - {slot: 0, gpa: 0x1, size: 4K}\n")
    assert main(["serve", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"{bad}:2: ")


def test_without_textual_serve_one_line_says_how_to_install(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)  # import fails as if absent
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == (
        "gmemtui: serve needs textual-serve: pip install 'gmemtui[web]' (or pip install textual-serve)\n")


def test_serving_never_imports_textual() -> None:
    pytest.importorskip("textual_serve")
    code = ("import sys, gmemtui.cli as c; import gmemtui.tui.serve as s; "
            "import textual_serve.server; print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
