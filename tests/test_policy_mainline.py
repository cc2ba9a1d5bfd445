"""Policy ``mainline`` and its alias ``4k-only`` (docs/rules.md): read alike everywhere, named with what
each policy models in the text outputs, bare in JSON, and a file's own word survives a save."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import layouts

from gmemtui.cli import main
from gmemtui.core.coverage import compute
from gmemtui.core.model import POLICIES, Layout, Overrides, canonical_policy, policy_title
from gmemtui.formats.yaml_load import load_yaml
from gmemtui.formats.yaml_save import save_text

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "layouts" / "qemu-snp-seed.yaml")
TEXT_4K_ONLY = (
    "# a file of 2025\nname: old\npolicy: 4k-only   # what mainline does\n"
    "guest_memfd: [{id: 1}]\nslots:\n  - {slot: 0, gpa: 0x200000, size: 4M, guest_memfd: 1}\n"
)


def test_alias_is_read_as_mainline() -> None:
    assert canonical_policy("4k-only") == "mainline" and canonical_policy("per-range") == "per-range"
    assert load_yaml(TEXT_4K_ONLY, "t.yaml").policy == "mainline"
    assert Layout(slots=(), policy="4k-only").policy == "mainline"
    assert Overrides(policy="4k-only").apply(Layout(slots=())).policy == "mainline"
    assert POLICIES == ("per-range", "whole-binding", "mainline")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_mainline_and_4k_only_give_identical_coverage(layout: Layout) -> None:
    a = compute(replace(layout, policy="mainline"))
    b = compute(replace(layout, policy="4k-only"))
    assert [sc.runs for sc in a.slots] == [sc.runs for sc in b.slots]


def test_file_with_4k_only_saves_unchanged() -> None:
    old = load_yaml(TEXT_4K_ONLY, "t.yaml")
    assert save_text(TEXT_4K_ONLY, old, old) == TEXT_4K_ONLY
    # another edit leaves the policy's word as the file wrote it
    moved = old.with_slot(0, gpa=0x400000)
    out = save_text(TEXT_4K_ONLY, old, moved)
    assert "policy: 4k-only   # what mainline does" in out and "gpa: 0x400000" in out
    # changing the policy away and back writes the canonical name
    out = save_text(TEXT_4K_ONLY, old, old.with_settings(policy="per-range"))
    assert "policy: per-range   #" in out


@pytest.mark.parametrize("word", ["mainline", "4k-only"])
def test_command_line_accepts_both(word: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", SEED, "--policy", word, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["policy"] == "mainline"  # JSON keeps the bare (canonical) name
    private = [r for s in doc["slots"] for r in s["runs"] if r["private"]]
    assert {r["page"] for r in private} == {"4K"}
    assert "gmem-4k-only" in {r["reason"] for r in private}


@pytest.mark.parametrize("policy", POLICIES)
def test_text_markdown_explain_name_what_the_policy_models(policy: str, capsys) -> None:
    title = policy_title(policy)
    assert title.startswith(policy + " (") and title.endswith(")")
    assert main(["report", SEED, "--policy", policy]) == 0
    assert f"policy {title}" in capsys.readouterr().out
    assert main(["report", SEED, "--policy", policy, "--markdown"]) == 0
    md = " ".join(capsys.readouterr().out.split())  # the line wraps at 80 columns
    assert f"policy `{policy}` {title[len(policy) + 1:]}" in md
    assert main(["explain", SEED, "0x40000000", "--policy", policy]) == 0
    assert f"policy {title}" in capsys.readouterr().out


def test_titles() -> None:
    assert policy_title("4k-only") == "mainline (Linux 6.8–7.0)"
    assert policy_title("per-range") == "per-range (posted patches)"
    assert policy_title("whole-binding") == "whole-binding (Sep 2023 patch)"
