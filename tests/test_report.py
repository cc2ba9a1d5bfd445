"""``gmemtui report``: the docs/commands.md JSON schema, the text and markdown forms, --state, overrides."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from reference import reference_runs
from strategies import layouts

from gmemtui.cli import main
from gmemtui.commands.report import format_markdown, format_text, report_dict
from gmemtui.commands.textfmt import Painter, bar_cells, md_table, pct, render_bar, use_colour
from gmemtui.core.model import Layout
from gmemtui.formats.loader import load

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "layouts" / "qemu-snp-seed.yaml")
SPLIT = str(ROOT / "layouts" / "qemu-snp-seed-split.yaml")
SEED_MAIL = ROOT / "layouts" / "lkml-gmem-hugepage-thread.txt"
ANSI = re.compile(r"\x1b\[")
M = 1 << 20
G = 1 << 30


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def report_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    rc, out, err = run_cli(capsys, "report", *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


def check_schema(doc: dict, layout: Layout) -> None:
    """The invariants docs/commands.md states for ``report --json``."""
    names = list(layout.platform.names)
    assert list(doc) == ["file", "name", "arch", "policy", "host_max_page", "private_max_page", "page_sizes",
                         "total", "slots", "warnings"]
    assert doc["page_sizes"] == names
    assert doc["name"] == layout.name
    assert sorted(doc["total"]) == ["bytes", "size"] and list(doc["total"]["bytes"]) == names
    keys = [(s["as"], s["gpa"]) for s in doc["slots"]]
    assert keys == sorted(keys) and len(doc["slots"]) == len(layout.slots)
    total = dict.fromkeys(names, 0)
    for s in doc["slots"]:
        assert list(s) == ["as", "slot", "name", "gpa", "size", "ua", "flags", "guest_memfd", "offset",
                           "bytes", "runs"]
        assert list(s["bytes"]) == names and sum(s["bytes"].values()) == s["size"]
        assert all(isinstance(f, str) for f in s["flags"])
        pos = s["gpa"]
        prev = None
        for r in s["runs"]:
            # "mappable": false only on runs of private frames in a slot without guest_memfd (rule 6)
            unmappable = r["private"] and s["guest_memfd"] is None
            assert list(r) == ["gpa", "size", "page", "private", "reason"] + ["mappable"] * unmappable
            if unmappable:
                assert r["mappable"] is False and r["page"] == names[0]
            assert r["gpa"] == pos and r["size"] > 0 and r["page"] in names
            here = (r["page"], r["private"], r["reason"])
            assert here != prev, "adjacent runs must differ in page, attribute or reason"
            prev = here
            pos += r["size"]
            total[r["page"]] += r["size"]
        assert pos == s["gpa"] + s["size"], "runs cover the slot exactly"
    assert doc["total"]["bytes"] == total
    assert doc["total"]["size"] == sum(s.size for s in layout.slots)
    for w in doc["warnings"]:
        assert list(w) == ["as", "slot", "line", "message"] and w["message"]


def test_seed_json_schema_and_spec_runs(capsys: pytest.CaptureFixture[str]) -> None:
    doc = report_json(capsys, SEED)
    check_schema(doc, load(SEED).layout)
    assert doc["file"] == SEED and doc["policy"] == "per-range"
    assert (doc["host_max_page"], doc["private_max_page"]) == ("2M", "1G")
    assert doc["total"] == {"size": 2 * G, "bytes": {"4K": 2 * M, "2M": 2 * G - 2 * M, "1G": 0}}
    s5 = next(s for s in doc["slots"] if s["slot"] == 5)
    assert (s5["gpa"], s5["size"], s5["ua"], s5["guest_memfd"], s5["offset"]) == (
        0x100000, 0x7FF00000, 0x7F24AFD00000, 19, 0x100000)
    assert [(r["gpa"], r["size"], r["page"], r["private"], r["reason"]) for r in s5["runs"]] == [
        (0x100000, 0x100000, "4K", True, "slot-edge"),
        (0x200000, 0x40000000 - 0x200000, "2M", True, "slot-edge"),
        (0x40000000, 0x40000000, "2M", True, "ua-misaligned"),
    ]
    s3 = next(s for s in doc["slots"] if s["slot"] == 3)
    assert s3["flags"] == ["readonly"]
    assert {(w["as"], w["slot"]) for w in doc["warnings"]} == {(0, 3), (0, 4)}
    assert all(isinstance(w["line"], int) for w in doc["warnings"])


def test_seed_whole_binding_slot5_all_4k(capsys: pytest.CaptureFixture[str]) -> None:
    doc = report_json(capsys, SEED, "--policy", "whole-binding")
    assert doc["policy"] == "whole-binding"
    s5 = next(s for s in doc["slots"] if s["slot"] == 5)
    assert [(r["gpa"], r["page"], r["reason"]) for r in s5["runs"]] == [
        (0x100000, "4K", "slot-edge"), (0x200000, "4K", "whole-binding")]
    assert s5["bytes"] == {"4K": 0x7FF00000, "2M": 0, "1G": 0}


def test_non_gmem_slot_has_null_binding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "plain.yaml"
    f.write_text("slots:\n  - {slot: 1, gpa: 0x0, size: 4M, flags: [log_dirty]}\n")
    doc = report_json(capsys, str(f))
    s = doc["slots"][0]
    got = (s["name"], s["guest_memfd"], s["offset"], s["flags"], s["ua"])
    assert got == (None, None, None, ["log_dirty"], 0)
    assert doc["name"] is None
    assert s["runs"] == [{"gpa": 0, "size": 4 * M, "page": "4K", "private": False, "reason": "log-dirty"}]


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_report_dict_matches_reference_and_schema(layout: Layout) -> None:
    doc = report_dict(layout, "x.yaml")
    check_schema(doc, layout)
    ref = reference_runs(layout)
    for s in doc["slots"]:
        got = [(r["gpa"], r["size"], r["page"], r["private"], r["reason"]) for r in s["runs"]]
        assert got == ref[(s["as"], s["slot"])]


def test_text_report_on_seed(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run_cli(capsys, "report", SEED)
    assert rc == 0
    assert not ANSI.search(out), "captured stdout is not a TTY: no colour"
    assert "QEMU q35 SEV-SNP, 2 GiB (seed thread)" in out.splitlines()[0]
    assert "policy per-range (posted patches) · host_max_page 2M · private_max_page 1G" in out
    assert "AS 0 slot 5  pc.ram" in out
    assert "guest_memfd 19 @ 0x100000" in out
    assert re.search(r"\[0x40000000, 0x80000000\)\s+1G\s+2M\s+private\s+not 1G: ua-misaligned", out)
    assert re.search(r"\[0x100000, 0x200000\)\s+1M\s+4K\s+private\s+not 2M: slot-edge", out)
    bar = next(line.strip() for line in out.splitlines() if line.strip().startswith("█▓"))
    assert len(bar) == 64 and bar.count("█") == 1 and set(bar) == {"█", "▓"}
    assert "4K 1M (0.05%) · 2M 2046M (99.95%) · 1G 0" in out
    assert "total 2G in 4 slots: 4K 2M (0.1%) · 2M 2046M (99.9%) · 1G 0" in out
    assert "warnings (2):" in out and "readonly" in out


def test_text_report_coloured_when_painter_on() -> None:
    layout = load(SEED).layout
    coloured = format_text(layout, SEED, Painter(True))
    plain = format_text(layout, SEED, Painter(False))
    assert ANSI.search(coloured) and not ANSI.search(plain)
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


SHIPPED = sorted(str(p) for p in (ROOT / "layouts").iterdir() if p.suffix in (".yaml", ".trace"))


@pytest.mark.parametrize("path", SHIPPED)
def test_markdown_fits_80_columns_no_colour(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run_cli(capsys, "report", path, "--markdown")
    assert rc == 0
    assert not ANSI.search(out)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert out.startswith("### gmemtui report")
    assert "| as:slot |" in out and "why not larger" in out


def test_markdown_seed_rows() -> None:
    md = format_markdown(load(SEED).layout, "seed.yaml")
    assert "| 0:5     |   0x100000 |    1M | 4K   | private | not 2M: slot-edge     |" in md
    assert "| 0:5     | 0x40000000 |    1G | 2M   | private | not 1G: ua-misaligned |" in md
    assert re.search(r"\| total\s+\|\s+2M 0\.1% \|\s+2046M 99\.9% \|\s+- \|", md)


def test_overrides_and_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    doc = report_json(capsys, SEED, "--private-max-page", "4K")
    assert doc["private_max_page"] == "4K" and doc["total"]["bytes"]["2M"] == 0
    rc, out, err = run_cli(capsys, "report", SEED, "--host-max-page", "8K")
    assert rc == 2 and out == "" and err.startswith("gmemtui: ") and len(err.splitlines()) == 1


def test_bad_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("slots:\n  - {slot: 1, gpa: 0x0, size: 0x1001}\n")
    rc, out, err = run_cli(capsys, "report", str(f))
    assert rc == 2 and out == "" and len(err.splitlines()) == 1 and err.startswith(f"{f}:2:")
    rc, _, err = run_cli(capsys, "report", str(tmp_path / "missing.yaml"))
    assert rc == 2 and err.startswith("gmemtui: ")


def test_state_on_yaml_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_cli(capsys, "report", SEED, "--state", "1")
    assert rc == 2 and out == "" and err.startswith("gmemtui: --state 1: ") and "not a trace" in err


def test_state_of_trace(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("gmemtui.formats.trace")
    loaded = load(str(SEED_MAIL))
    n = len(loaded.states)
    assert n >= 2
    rc, out, err = run_cli(capsys, "report", str(SEED_MAIL), "--state", str(n))
    assert rc == 2 and err.strip() == f"gmemtui: --state {n}: {SEED_MAIL} has states 0..{n - 1}"
    last = report_json(capsys, str(SEED_MAIL), "--state", str(n - 1))
    final = report_json(capsys, str(SEED_MAIL))
    assert last["slots"] == final["slots"]
    # the first line of the seed trace makes slot 0 cover all 2 GiB at offset 0: all 2M
    first = next(i for i, st in enumerate(loaded.states) if st.layout.slots)
    doc = report_json(capsys, str(SEED_MAIL), "--state", str(first))
    assert [(s["slot"], s["size"]) for s in doc["slots"]] == [(0, 2 * G)]
    assert doc["total"]["bytes"]["2M"] == 2 * G


# --- textfmt ---------------------------------------------------------------------------------------


def test_bar_cells_smallest_size_wins_and_holes() -> None:
    # 2G slot: a 1M 4K head, then 2M; the head takes one cell, not zero
    cells = bar_cells(0x100000, 0x7FF00000, [(0x100000, 0x100000, 0), (0x200000, 0x7FE00000, 1)], 64)
    assert cells[0] == 0 and cells[1:] == [1] * 63
    # a span with a hole in the middle
    cells = bar_cells(0, 100, [(0, 25, 2), (75, 25, 1)], 4)
    assert cells == [2, None, None, 1]
    assert render_bar(cells, Painter(False)) == "▒  ▓"
    # a run smaller than a cell inside a bigger one still shows
    cells = bar_cells(0, 1000, [(0, 500, 1), (500, 1, 0), (501, 499, 1)], 10)
    assert cells == [1, 1, 1, 1, 1, 0, 1, 1, 1, 1]


def test_pct_never_rounds_to_0_or_100() -> None:
    assert pct(0, 10) == "-" and pct(10, 10) == "100%"
    assert pct(1, 2048) == "0.05%" and pct(2047, 2048) == "99.95%"
    assert pct(1, 3) == "33%" and pct(1, 10**9) == "<0.0001%"
    assert pct(2, 2048) == "0.1%"


def test_md_table_truncates_flex_column() -> None:
    lines = md_table(["a", "name", "n"], [["1", "x" * 100, "7"]], right=(2,), flex=1)
    assert all(len(line) == 80 for line in lines)
    assert lines[1].endswith("----:|") and "…" in lines[2]


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_use_colour_follows_no_color_and_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert use_colour(_Stream(True)) is True
    assert use_colour(_Stream(False)) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(_Stream(True)) is False
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: an empty value does not disable colour
    assert use_colour(_Stream(True)) is True
