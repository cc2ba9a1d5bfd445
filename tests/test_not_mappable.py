"""Rule 6 frames (private, in a slot without guest_memfd) are *not mappable*: KVM maps them at no size
(a private access exits to userspace). Every output says so; ``bytes`` still counts them under the base
page so that it sums to the slot's size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from reference import Reference
from strategies import layouts

from gmemtui.cli import main
from gmemtui.commands.explain import explain_dict
from gmemtui.core.coverage import compute
from gmemtui.core.model import Layout
from gmemtui.formats.loader import load
from gmemtui.tui import palette

ROOT = Path(__file__).resolve().parent.parent
TEACH = str(ROOT / "layouts" / "teach-no-guest-memfd.yaml")
SEED = str(ROOT / "layouts" / "qemu-snp-seed.yaml")
M = 1 << 20


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_mappable_matches_reference(layout: Layout) -> None:
    ref = Reference(layout)
    for sc in compute(layout).slots:
        s = sc.slot
        for r in sc.runs:
            for g in {r.gpa >> 12, (r.end >> 12) - 1}:
                assert r.mappable == ref.mappable(s.as_, s.slot, g)
            if not r.mappable:
                assert r.page == layout.platform.names[0] and r.private
        assert sc.unmappable == sum(r.size for r in sc.runs if not r.mappable)


def test_teaching_layout_counts_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    cov = compute(load(TEACH).layout)
    assert cov.unmappable == 2 * M and cov.total["4K"] == 2 * M  # counted under the base page too
    assert main(["report", TEACH, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    runs = [r for s in doc["slots"] for r in s["runs"]]
    assert [r.get("mappable") for r in runs] == [None, None, False, None]  # only on such runs
    bad = runs[2]
    assert (bad["gpa"], bad["size"], bad["page"], bad["private"]) == (0x400000, 2 * M, "4K", True)
    assert any("not mappable" in w["message"] for w in doc["warnings"])
    # a layout without such frames: no run carries the field
    assert main(["report", SEED, "--json"]) == 0
    assert "mappable" not in capsys.readouterr().out


def test_text_and_markdown_say_not_mappable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", TEACH]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.strip().startswith("[0x400000, 0x600000)"))
    assert "NOT MAPPABLE" in line
    assert "╳ not mappable" in out and "╳" * 8 in out  # legend and bar glyph
    assert "not mappable 2M (20%), counted as base page" in out  # total
    assert "warnings (1)" in out
    assert main(["report", TEACH, "--markdown"]) == 0
    md = capsys.readouterr().out
    assert "| NOT MAPPABLE (no guest_memfd)" in md and "**Not mappable:** 2M (20%)" in md
    assert main(["report", SEED]) == 0
    assert "mappable" not in capsys.readouterr().out.lower()


def test_explain_says_not_mappable(capsys: pytest.CaptureFixture[str]) -> None:
    layout = load(TEACH).layout
    assert explain_dict(layout, 0, 0x400000)["mappable"] is False
    assert explain_dict(layout, 0, 0x200000)["mappable"] is True
    assert main(["explain", TEACH, "0x401000"]) == 0
    assert "NOT MAPPABLE (counted as 4K)" in capsys.readouterr().out
    assert main(["explain", TEACH, "0x201000"]) == 0
    assert "NOT MAPPABLE" not in capsys.readouterr().out


def test_palette_has_its_own_glyph_and_colour() -> None:
    assert palette.glyph(palette.NOT_MAPPABLE) not in palette.GLYPHS + (palette.MIXED, palette.HOLE)
    cols = palette.colours({})
    assert cols[palette.NOT_MAPPABLE] not in cols[: palette.MAX_SIZES]
    assert palette.colours({palette.NOT_MAPPABLE_VARIABLE: "#123456"})[-1].hex == "#123456"
