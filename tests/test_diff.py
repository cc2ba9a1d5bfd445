"""``gmemtui diff``: against a per-frame brute force on random pairs, renumbered slots, the seed pair,
per-side overrides, output forms and exit codes."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import reference_frames
from strategies import LADDER, layouts

from gmemtui.cli import main
from gmemtui.commands.diff import compare, diff_dict, format_markdown, format_text
from gmemtui.commands.textfmt import Painter
from gmemtui.core.model import POLICIES, Layout, Overrides
from gmemtui.formats.loader import load

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "layouts" / "qemu-snp-seed.yaml")
SPLIT = str(ROOT / "layouts" / "qemu-snp-seed-split.yaml")
SEED_MAIL = ROOT / "layouts" / "lkml-gmem-hugepage-thread.txt"
NAMES = ["4K", "2M", "1G"]
M = 1 << 20
G = 1 << 30


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["diff", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def diff_json(capsys: pytest.CaptureFixture[str], *argv: str, rc: int = 0) -> dict:
    got, out, err = cli(capsys, *argv, "--json")
    assert got == rc, err
    return json.loads(out)


# --- brute force -----------------------------------------------------------------------------------


def frames_by_gpa(layout: Layout) -> dict[tuple[int, int], tuple[str, str | None]]:
    """(as, gfn) -> (page, reason), from the per-frame reference (slot numbers dropped)."""
    frames = reference_frames(layout).items()
    return {(a, g): (page, reason) for (a, _slot, g), (page, _priv, reason) in frames}


def expand(ranges: list[dict], value=None) -> dict[tuple[int, int], object]:
    out: dict[tuple[int, int], object] = {}
    for r in ranges:
        for g in range(r["gpa"] >> 12, (r["gpa"] + r["size"]) >> 12):
            assert (r["as"], g) not in out, "ranges overlap"
            out[(r["as"], g)] = value(r) if value else True
    return out


def check_against_brute_force(old: Layout, new: Layout) -> dict:
    doc = diff_dict(compare(old, new), "old.yaml", "new.yaml")
    fo, fn = frames_by_gpa(old), frames_by_gpa(new)
    both = fo.keys() & fn.keys()
    want_changes = {k: (fo[k][0], fn[k][0], fn[k][1]) for k in both if fo[k][0] != fn[k][0]}
    assert expand(doc["changes"], lambda r: (r["old"], r["new"], r["reason"])) == want_changes
    assert set(expand(doc["only_old"])) == fo.keys() - fn.keys()
    assert set(expand(doc["only_new"])) == fn.keys() - fo.keys()
    lost = dict.fromkeys(NAMES, 0)
    gained = dict.fromkeys(NAMES, 0)
    for o, n, _r in want_changes.values():
        if NAMES.index(n) < NAMES.index(o):
            lost[o] += 4096
        else:
            gained[n] += 4096
    assert doc["lost"] == lost and doc["gained"] == gained
    # sorted by (as, gpa), maximal: touching neighbours differ in (old, new, reason)
    for key in ("changes", "only_old", "only_new"):
        lst = doc[key]
        assert [(c["as"], c["gpa"]) for c in lst] == sorted((c["as"], c["gpa"]) for c in lst)
        for a, b in zip(lst, lst[1:]):  # noqa: B905
            if a["as"] == b["as"] and a["gpa"] + a["size"] == b["gpa"]:
                assert key == "changes"
                assert (a["old"], a["new"], a["reason"]) != (b["old"], b["new"], b["reason"])
    for side, lay in (("old", old), ("new", new)):
        counts = dict.fromkeys(NAMES, 0)
        for page, _ in frames_by_gpa(lay).values():
            counts[page] += 4096
        assert doc[side]["total"] == {"size": sum(s.size for s in lay.slots), "bytes": counts}
        assert doc[side]["policy"] == lay.policy
    return doc


@st.composite
def pairs(draw: st.DrawFn) -> tuple[Layout, Layout]:
    old, new = draw(_pairs())
    return (new, old) if draw(st.booleans()) else (old, new)  # both directions: losses and gains


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[Layout, Layout]:
    old = draw(layouts(max_slots=3, max_frames=2000))
    kind = draw(st.sampled_from(["independent", "overrides", "overrides", "drop", "renumber"]))
    if kind == "independent":
        return old, draw(layouts(max_slots=3, max_frames=2000))
    if kind == "overrides":
        ov = Overrides(
            policy=draw(st.sampled_from(POLICIES)),
            host_max_page=draw(st.sampled_from(LADDER)),
            private_max_page=draw(st.sampled_from(LADDER)),
            gmem_max_page=draw(st.none() | st.sampled_from(LADDER)),
            gmem_mmap=draw(st.booleans()),
        )
        return old, ov.apply(old)
    if kind == "drop" and len(old.slots) > 1:
        i = draw(st.integers(0, len(old.slots) - 1))
        return old, replace(old, slots=old.slots[:i] + old.slots[i + 1:])
    used = {(s.as_, s.slot) for s in old.slots}
    slots = tuple(replace(s, slot=s.slot + 1 + max(k for _, k in used)) for s in old.slots)
    return old, replace(old, slots=slots)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(pairs())
def test_diff_matches_per_frame_brute_force(pair: tuple[Layout, Layout]) -> None:
    check_against_brute_force(*pair)


# --- the seed and its split ------------------------------------------------------------------------


def test_seed_per_range_vs_whole_binding(capsys: pytest.CaptureFixture[str]) -> None:
    args = (SEED, SEED, "--old-policy", "per-range", "--new-policy", "whole-binding")
    doc = diff_json(capsys, *args)
    assert doc["changes"] == [
        {"as": 0, "gpa": 0x200000, "size": 0x80000000 - 0x200000, "old": "2M", "new": "4K",
         "reason": "whole-binding"}]
    assert doc["lost"] == {"4K": 0, "2M": 0x7FE00000, "1G": 0}
    assert doc["gained"] == {"4K": 0, "2M": 0, "1G": 0}
    assert doc["only_old"] == [] and doc["only_new"] == []
    assert list(doc) == ["old", "new", "changes", "only_old", "only_new", "lost", "gained"]
    assert doc["old"] == {"file": SEED, "policy": "per-range",
                          "total": {"size": 2 * G, "bytes": {"4K": 2 * M, "2M": 2 * G - 2 * M, "1G": 0}}}
    assert doc["new"]["policy"] == "whole-binding" and doc["new"]["total"]["bytes"]["4K"] == 2 * G
    assert cli(capsys, *args, "--fail-on-loss")[0] == 1
    assert cli(capsys, *args)[0] == 0


def test_common_override_and_side_override(capsys: pytest.CaptureFixture[str]) -> None:
    # --policy applies to both sides; --new-policy wins on its side: the reverse direction gains
    doc = diff_json(capsys, SEED, SEED, "--policy", "whole-binding", "--new-policy", "per-range",
                    "--fail-on-loss")
    assert (doc["old"]["policy"], doc["new"]["policy"]) == ("whole-binding", "per-range")
    assert [(c["gpa"], c["old"], c["new"], c["reason"]) for c in doc["changes"]] == [
        (0x200000, "4K", "2M", "slot-edge"), (0x40000000, "4K", "2M", "ua-misaligned")]
    assert doc["gained"]["2M"] == 0x7FE00000 and not any(doc["lost"].values())
    # a bad per-side value names its option
    rc, _, err = cli(capsys, SEED, SEED, "--old-host-max-page", "8K")
    assert rc == 2 and err.startswith("gmemtui: --old-host-max-page")


def test_split_recovers_what_whole_binding_lost(capsys: pytest.CaptureFixture[str]) -> None:
    doc = diff_json(capsys, SEED, SPLIT, "--policy", "whole-binding", "--fail-on-loss")
    assert [(c["gpa"], c["size"], c["old"], c["new"], c["reason"]) for c in doc["changes"]] == [
        (0x200000, 0x40000000 - 0x200000, "4K", "2M", "slot-edge"),
        (0x40000000, 0x40000000, "4K", "2M", "ua-misaligned"),
    ]
    assert doc["gained"]["2M"] == 0x7FE00000 and not any(doc["lost"].values())
    # the split under whole-binding gives exactly what per-range gives the unsplit seed
    same = diff_json(capsys, SEED, SPLIT, "--old-policy", "per-range", "--new-policy", "whole-binding",
                     "--fail-on-loss")
    assert same["changes"] == [] and same["old"]["total"] == same["new"]["total"]


def renumbered_seed(tmp_path: Path) -> Path:
    text = Path(SEED).read_text()
    mapping = {"0": "11", "3": "30", "4": "2", "5": "7"}
    text = re.sub(r"(?m)^(\s*- slot: )(\d+)$", lambda m: m.group(1) + mapping[m.group(2)], text)
    out = tmp_path / "renumbered.yaml"
    out.write_text(text)
    return out


def test_renumbered_slots_show_no_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = renumbered_seed(tmp_path)
    assert sorted(s.slot for s in load(str(other)).layout.slots) == [2, 7, 11, 30]
    for policy in POLICIES:
        doc = diff_json(capsys, SEED, str(other), "--policy", policy, "--fail-on-loss")
        assert doc["changes"] == [] and doc["only_old"] == [] and doc["only_new"] == []
        assert not any(doc["lost"].values()) and not any(doc["gained"].values())
    rc, out, _ = cli(capsys, SEED, str(other))
    assert rc == 0 and "changes: none" in out and "No loss" in out


def test_only_old_and_only_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("slots:\n  - {slot: 0, gpa: 0x0, size: 8M}\n  - {slot: 1, as: 1, gpa: 0x0, size: 2M}\n")
    b.write_text("slots:\n  - {slot: 0, gpa: 2M, size: 8M}\n")
    # frames in one side only are not a loss: --fail-on-loss is about frames mapped in both
    doc = diff_json(capsys, str(a), str(b), "--fail-on-loss")
    assert doc["only_old"] == [{"as": 0, "gpa": 0, "size": 2 * M}, {"as": 1, "gpa": 0, "size": 2 * M}]
    assert doc["only_new"] == [{"as": 0, "gpa": 8 * M, "size": 2 * M}]
    # [2M, 8M): old 2M pages (one slot 0..8M), new: 2M..10M slot is 2M too; nothing changed there
    assert doc["changes"] == [] and not any(doc["lost"].values())
    doc = diff_json(capsys, str(a), str(b), "--new-host-max-page", "4K", "--fail-on-loss", rc=1)
    assert doc["changes"] == [{"as": 0, "gpa": 2 * M, "size": 6 * M, "old": "2M", "new": "4K",
                               "reason": "host-page"}]
    assert doc["lost"]["2M"] == 6 * M


def test_text_and_markdown_forms(capsys: pytest.CaptureFixture[str]) -> None:
    d = compare(load(SEED).layout, Overrides(policy="whole-binding").apply(load(SEED).layout))
    text = format_text(d, "before.yaml", "after.yaml", Painter(False))
    assert ("AS 0 [0x200000, 0x80000000) 2046 MiB  lost   2M → 4K  not 2M: whole-binding"
            "  (old slot 5; new slot 5)") in text
    assert "lost:   2M 2046 MiB" in text and "LOSS: 2046 MiB" in text and "\x1b[" not in text
    assert "\x1b[" in format_text(d, "before.yaml", "after.yaml", Painter(True))
    md = format_markdown(d, "before.yaml", "after.yaml")
    assert "\x1b[" not in md and max(len(x) for x in md.splitlines()) <= 80
    assert re.search(r"\| 0\s+\|\s+0x200000 \|\s+2046 MiB \| 2M\s+\| 4K\s+\| not 2M: whole-binding\s+\|", md)
    rc, out, _ = cli(capsys, SEED, SPLIT, "--markdown", "--policy", "whole-binding")
    assert rc == 0 and "\x1b[" not in out and max(len(x) for x in out.splitlines()) <= 80


def test_exit_codes_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, SEED, str(tmp_path / "missing.yaml"))
    assert rc == 2 and out == "" and err.startswith("gmemtui: ")
    rc, out, err = cli(capsys, SEED, SEED, "--old-state", "1")
    assert rc == 2 and "--old-state 1" in err and "not a trace" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("slots:\n  - {slot: 0, gpa: 0x0, size: 0}\n")
    rc, out, err = cli(capsys, str(bad), SEED, "--fail-on-loss")
    assert rc == 2 and err.startswith(f"{bad}:2:") and len(err.splitlines()) == 1


def test_two_states_of_one_trace(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("gmemtui.formats.trace")
    loaded = load(str(SEED_MAIL))
    first = next(i for i, s in enumerate(loaded.states) if s.layout.slots)  # slot 0 over all 2 GiB
    last = len(loaded.states) - 1
    mail = str(SEED_MAIL)
    doc = diff_json(capsys, mail, mail, "--old-state", str(first), "--new-state", str(last), "--fail-on-loss",
                    rc=1)
    # the split costs the first 2M block (slots 0, 3, 4 and the head of 5 are all 4K): 2M -> 4K
    assert [(c["gpa"], c["size"], c["old"], c["new"]) for c in doc["changes"]] == [(0, 2 * M, "2M", "4K")]
    assert doc["lost"]["2M"] == 2 * M


def test_1g_pages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "big.yaml"
    f.write_text("host_max_page: 1G\nslots:\n  - {slot: 0, gpa: 1G, size: 2G}\n"
                 "  - {slot: 1, gpa: 4G, size: 1G}\n")
    doc = diff_json(capsys, str(f), str(f), "--new-host-max-page", "2M", "--fail-on-loss", rc=1)
    change = {"as": 0, "old": "1G", "new": "2M", "reason": "host-page"}
    assert doc["changes"] == [{**change, "gpa": G, "size": 2 * G}, {**change, "gpa": 4 * G, "size": G}]
    assert doc["lost"] == {"4K": 0, "2M": 0, "1G": 3 * G}
    back = diff_json(capsys, str(f), str(f), "--old-host-max-page", "2M", "--fail-on-loss")
    assert back["gained"] == {"4K": 0, "2M": 0, "1G": 3 * G} and len(back["changes"]) == 2
