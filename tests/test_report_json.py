"""``report_json`` (what ``report --json`` prints) is json.dumps(report_dict, indent=2) byte for byte."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import big_layouts, layouts

from gmemtui.commands.report_dict import report_dict
from gmemtui.commands.report_json import report_json
from gmemtui.core.model import Overrides
from gmemtui.formats.loader import load

ROOT = Path(__file__).resolve().parent.parent
_names = st.none() | st.text(alphabet=st.sampled_from('ab"\\\n{}[],: é\U0001f600\ud800'), max_size=8)


def same(layout, file: str | None = "random.yaml") -> None:
    assert report_json(layout, file) == json.dumps(report_dict(layout, file), indent=2)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(layouts(), big_layouts()), st.data())
def test_same_bytes_as_json_dumps(layout, data: st.DataObject) -> None:
    """Random layouts, with hostile slot names, every flag mask and odd file names."""
    slots = tuple(replace(s, name=data.draw(_names), flags=data.draw(st.integers(0, 3)))
                  for s in layout.slots)
    same(replace(layout, slots=slots, name=data.draw(_names) or ""), data.draw(_names))


@pytest.mark.parametrize("path", sorted((ROOT / "layouts").glob("*.yaml")), ids=lambda p: p.name)
def test_same_bytes_on_every_layout_file(path: Path) -> None:
    same(load(str(path), Overrides()).layout, str(path))


def test_empty_layout() -> None:
    same(replace(load(str(ROOT / "layouts" / "qemu-snp-seed.yaml"), Overrides()).layout, slots=()))


@pytest.mark.parametrize("name", ["qemu-snp-seed.yaml", "teach-mixed-attributes.yaml"])
def test_command_prints_the_document_and_one_newline(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``report --json`` writes the text and its newline apart (no 26 MB ``text + "\\n"`` copy):
    stdout is still exactly the document followed by one newline."""
    from gmemtui.cli import main

    path = ROOT / "layouts" / name
    assert main(["report", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert out == json.dumps(report_dict(load(str(path), Overrides()).layout, str(path)), indent=2) + "\n"
