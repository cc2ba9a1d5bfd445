"""``gmemtui explain``: every reason code (teaching layouts), holes, both address spaces, GPA forms,
and a property test: explain's verdict equals report's run and the brute-force reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import Reference
from strategies import layouts

from gmemtui.cli import main
from gmemtui.commands.explain import explain_dict, format_text
from gmemtui.commands.report_dict import report_dict
from gmemtui.commands.textfmt import Painter
from gmemtui.core.model import GmemFile, Layout, Slot
from gmemtui.core.platform import DEFAULT_ARCH, PLATFORMS
from gmemtui.core.rules import RULE_BY_CODE, RULES
from gmemtui.formats.loader import load

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "layouts" / "qemu-snp-seed.yaml")
# one teaching layout per reason code, and one per arch other than the default (teach-arm64-64k ...)
TEACH = sorted(p for p in (ROOT / "layouts").glob("teach-*.yaml")
               if p.stem.removeprefix("teach-") not in PLATFORMS)
TEACH_ARCH = sorted(p for p in (ROOT / "layouts").glob("teach-*.yaml")
                    if p.stem.removeprefix("teach-") in PLATFORMS)
M = 1 << 20
G = 1 << 30


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["explain", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def explain_json(capsys: pytest.CaptureFixture[str], *argv: str, rc: int = 0) -> dict:
    got, out, err = cli(capsys, *argv, "--json")
    assert got == rc, err
    return json.loads(out)


def test_teaching_layouts_cover_every_reason() -> None:
    codes = {p.stem.removeprefix("teach-") for p in TEACH}
    assert codes == set(RULE_BY_CODE), "one teaching layout per reason code"
    arches = {p.stem.removeprefix("teach-") for p in TEACH_ARCH}
    assert arches == set(PLATFORMS) - {DEFAULT_ARCH}, "one teaching layout per other arch"


@pytest.mark.parametrize("path", TEACH, ids=lambda p: p.stem)
def test_explain_each_reason_code(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = path.stem.removeprefix("teach-")
    doc = report_dict(load(str(path)).layout)
    as_, run = next((s["as"], r) for s in doc["slots"] for r in s["runs"] if r["reason"] == code)
    gpa = run["gpa"] + run["size"] // 2 // 4096 * 4096
    got = explain_json(capsys, str(path), hex(gpa), "--as", str(as_))
    assert (got["page"], got["reason"], got["private"]) == (run["page"], code, run["private"])
    names = doc["page_sizes"]
    above = names[names.index(run["page"]) + 1]
    first_fail = next(c for c in got["checks"] if not c["ok"])
    assert (first_fail["page"], first_fail["code"]) == (above, code)
    rule = RULE_BY_CODE[code]
    assert (first_fail["source"], first_fail["plain"]) == (rule.source, rule.plain)
    assert all(c["ok"] for c in got["checks"] if names.index(c["page"]) <= names.index(run["page"]))
    rc, text, _ = cli(capsys, str(path), hex(gpa), "--as", str(as_))
    assert rc == 0
    line = next(x for x in text.splitlines() if "← the reason" in x)
    assert "FAIL" in line and code in line
    assert RULE_BY_CODE[code].plain in text and RULE_BY_CODE[code].source in text


def test_seed_numbers_at_1g(capsys: pytest.CaptureFixture[str]) -> None:
    doc = explain_json(capsys, SEED, "0x40000000")
    got = (doc["slot"]["slot"], doc["page"], doc["reason"], doc["private"])
    assert got == (5, "2M", "ua-misaligned", True)
    assert doc["file_offset"] == 0x40000000 and doc["frame"] == 0x40000
    run = {"gpa": 0x40000000, "size": G, "page": "2M", "private": True, "reason": "ua-misaligned"}
    assert doc["run"] == run
    ua = next(c for c in doc["checks"] if c["page"] == "1G" and c["code"] == "ua-misaligned")
    assert ua["ok"] is False
    assert ua["numbers"] == "gpa 0x100000 vs ua 0x7f24afd00000 mod 1G: 0x100000 ≠ 0x2fd00000"
    assert ua["block"] == [0x40000000, 0x80000000]
    # every applicable rule at every size above 4K, in the order of docs/rules.md;
    # rule 5 (host-page) is for shared frames
    applicable = [r.code for r in RULES if r.code != "host-page"]
    assert [c["code"] for c in doc["checks"]] == applicable * 2
    assert [c["page"] for c in doc["checks"]] == ["2M"] * 10 + ["1G"] * 10


def test_seed_head_and_whole_binding(capsys: pytest.CaptureFixture[str]) -> None:
    head = explain_json(capsys, SEED, "0x150000")
    assert (head["page"], head["reason"]) == ("4K", "slot-edge")
    edge = head["checks"][1]
    assert edge["numbers"] == "2M block [0x0, 0x200000) sticks out of slot [0x100000, 0x80000000)"
    wb = explain_json(capsys, SEED, "0x40000000", "--policy", "whole-binding")
    assert (wb["page"], wb["reason"]) == ("4K", "whole-binding")
    check = next(c for c in wb["checks"] if c["code"] == "whole-binding" and c["page"] == "2M")
    assert check["numbers"] == "offset 0x100000 size 0x7ff00000 mod 2M: 0x100000, 0x100000"


@pytest.mark.parametrize("text", ["0x40000000", "1073741824", "1G", "1GiB", "0x4000_0000"])
def test_gpa_forms(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = explain_json(capsys, SEED, text)
    assert doc["gpa"] == G and doc["slot"]["slot"] == 5


def test_bad_gpa(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, SEED, "lots")
    assert rc == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("gmemtui: not a GPA: 'lots'")


def test_hole_names_nearest_slots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "holes.yaml"
    f.write_text(
        "slots:\n"
        "  - {slot: 7, gpa: 0x0, size: 1M, name: low}\n"
        "  - {slot: 2, gpa: 4M, size: 2M, name: mid}\n"
        "  - {slot: 9, gpa: 1G, size: 2M}\n"
        "  - {slot: 1, as: 1, gpa: 2M, size: 2M, name: smram}\n"
    )
    doc = explain_json(capsys, str(f), "2M", rc=1)
    assert doc["slot"] is None
    assert (doc["below"]["slot"], doc["above"]["slot"]) == (7, 2)
    assert [s["slot"] for s in doc["in_other_as"]] == [1]
    rc, out, _ = cli(capsys, str(f), "0x300000")
    assert rc == 1
    assert "in no slot of address space 0 (a hole)" in out
    assert "nearest below: slot 7 low [0x0, 0x100000) 1M" in out
    assert "nearest above: slot 2 mid [0x400000, 0x600000) 2M" in out
    assert "address space 1 has slot 1 smram [0x200000, 0x400000) 2M here (try --as 1)" in out
    # beyond every slot; and below every slot
    doc = explain_json(capsys, str(f), "2G", rc=1)
    assert (doc["below"]["slot"], doc["above"]) == (9, None)
    doc = explain_json(capsys, str(f), "0x0", "--as", "1", rc=1)
    assert (doc["below"], doc["above"]["slot"]) == (None, 1)


def test_both_address_spaces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the same GPA in AS 0 (ua congruent: 2M) and AS 1 (SMM, ua off by 4K: 4K ua-misaligned)
    f = tmp_path / "smm.yaml"
    f.write_text(
        "slots:\n"
        "  - {slot: 0, as: 0, gpa: 0x0, size: 8M, ua: 0x7f0000000000}\n"
        "  - {slot: 0, as: 1, gpa: 0x0, size: 8M, ua: 0x7f0000001000}\n"
    )
    a0 = explain_json(capsys, str(f), "4M", "--as", "0")
    a1 = explain_json(capsys, str(f), "4M", "--as", "1")
    assert (a0["as"], a0["page"], a0["reason"]) == (0, "2M", "slot-edge")
    assert (a1["as"], a1["page"], a1["reason"]) == (1, "4K", "ua-misaligned")
    check = next(c for c in a1["checks"] if c["code"] == "ua-misaligned" and c["page"] == "2M")
    assert check["numbers"] == "gpa 0x0 vs ua 0x7f0000001000 mod 2M: 0x0 ≠ 0x1000"
    shared = next(c for c in a0["checks"] if c["code"] == "host-page" and c["page"] == "1G")
    assert shared["ok"] is False and shared["numbers"] == "1G > host_max_page 2M"


def test_text_has_no_colour_when_painter_off() -> None:
    doc = explain_dict(load(SEED).layout, 0, G, "seed.yaml")
    plain = format_text(doc, Painter(False))
    assert "\x1b[" not in plain and "\x1b[" in format_text(doc, Painter(True))
    assert plain.splitlines()[0].startswith("GPA 0x40000000 · AS 0 · frame 0x40000 · slot 5 pc.ram")
    assert "page 2M · not 1G: ua-misaligned" in plain


@st.composite
def layout_and_gpa(draw: st.DrawFn) -> tuple[Layout, int, int]:
    layout = draw(layouts())
    s = draw(st.sampled_from(layout.slots))
    g = draw(st.integers(s.gpa >> 12, (s.end >> 12) - 1) | st.sampled_from([s.gpa >> 12, (s.end >> 12) - 1]))
    return layout, s.as_, (g << 12) + draw(st.sampled_from([0, 0xFFF]))


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(layout_and_gpa())
def test_explain_agrees_with_report_and_reference(case: tuple[Layout, int, int]) -> None:
    layout, as_, gpa = case
    doc = explain_dict(layout, as_, gpa)
    rep = report_dict(layout)
    slot = next(s for s in rep["slots"] if s["as"] == as_ and s["gpa"] <= gpa < s["gpa"] + s["size"])
    run = next(r for r in slot["runs"] if r["gpa"] <= gpa < r["gpa"] + r["size"])
    assert doc["slot"]["slot"] == slot["slot"]
    assert (doc["page"], doc["private"], doc["reason"]) == (run["page"], run["private"], run["reason"])
    assert doc["run"] == run
    ref = Reference(layout).verdict(as_, slot["slot"], gpa >> 12)
    assert ref == (doc["page"], doc["private"], doc["reason"])
    names = rep["page_sizes"]
    fails = [c for c in doc["checks"] if not c["ok"]]
    if doc["reason"] is None:
        assert not fails
    else:
        assert (fails[0]["page"], fails[0]["code"]) == (names[names.index(doc["page"]) + 1], doc["reason"])


def test_hole_between_model_slots() -> None:
    layout = Layout(slots=(Slot(1, 0, 2 * M, 0), Slot(2, 8 * M, 2 * M, 8 * M, gmem=5)), files=(GmemFile(5),))
    doc = explain_dict(layout, 0, 4 * M)
    assert doc["slot"] is None and doc["below"]["slot"] == 1 and doc["above"]["slot"] == 2
    assert doc["above"]["guest_memfd"] == 5 and doc["in_other_as"] == []


def test_smm_address_space_of_a_real_trace(capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / "layouts" / "i440fx-smm.trace"
    if not path.exists():
        pytest.skip("no SMM trace")
    layout = load(str(path)).layout
    smm = [s for s in layout.slots if s.as_ == 1]
    assert smm, "the i440fx trace has address space 1 (SMM) slots"
    s = smm[0]
    doc = explain_json(capsys, str(path), hex(s.gpa), "--as", "1")
    assert (doc["as"], doc["slot"]["slot"], doc["slot"]["as"]) == (1, s.slot, 1)
    run = next(r for sc in report_dict(layout)["slots"] if (sc["as"], sc["slot"]) == (1, s.slot)
               for r in sc["runs"] if r["gpa"] <= s.gpa < r["gpa"] + r["size"])
    assert (doc["page"], doc["reason"]) == (run["page"], run["reason"])
