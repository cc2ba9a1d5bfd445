"""``gmemtui suggest`` as a user runs it (subprocess): text, Markdown, JSON, ``-o`` and ``--all``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gmemtui.core.model import Overrides
from gmemtui.formats.loader import load
from gmemtui.formats.yaml_load import load_yaml

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "layouts" / "qemu-snp-seed.yaml"
SEED_TRACE = ROOT / "layouts" / "qemu-snp-seed.trace"
WB = ("--policy", "whole-binding")


def gmemtui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gmemtui", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})


def test_seed_text_and_markdown_name_the_split() -> None:
    p = gmemtui("suggest", SEED, *WB)
    assert p.returncode == 0, p.stderr
    assert "1. split slot 5 at 0x200000: +2046M at 2M" in p.stdout
    assert "offset" not in p.stdout.split("nothing helps")[0]
    md = gmemtui("suggest", SEED, *WB, "--markdown")
    assert md.returncode == 0
    assert "- split slot 5 at 0x200000: +2046M at 2M (cost: 1 slot more" in md.stdout
    assert max(len(line) for line in md.stdout.splitlines()) <= 80


def test_seed_json_is_the_documented_shape() -> None:
    p = gmemtui("suggest", SEED, *WB, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert set(doc) == {"file", "policy", "suggestions", "unfixable"}
    assert doc["policy"] == "whole-binding"
    (s,) = doc["suggestions"]
    assert {"as", "slot", "kind", "changes", "gained", "lost", "cost", "layout_changes"} <= set(s)
    assert (s["as"], s["slot"], s["kind"]) == (0, 5, "split")
    assert s["gained"] == {"2M": 2046 << 20} and s["lost"] == {}
    assert s["changes"]["at"] == [0x200000] and len(s["changes"]["parts"]) == 2
    assert s["layout_changes"][0]["op"] == "split"
    assert {(u["slot"], u["reason"]) for u in doc["unfixable"]} == {(0, "slot-edge"), (3, "slot-edge"),
                                                                     (4, "slot-edge")}


def test_output_keeps_comments_and_diff_confirms_the_gain(tmp_path: Path) -> None:
    out = tmp_path / "split.yaml"
    p = gmemtui("suggest", SEED, *WB, "-o", out)
    assert p.returncode == 0, p.stderr
    text, original = out.read_text(), SEED.read_text()
    comments = [line.split("#", 1)[1] for line in original.splitlines() if "#" in line]
    assert comments and all(c in text for c in comments)  # every comment survives
    assert "split from slot 5 by gmemtui suggest" in text
    assert "policy: per-range" in text  # the command line's --policy is not written into the file
    d = gmemtui("diff", SEED, out, *WB, "--json")
    doc = json.loads(d.stdout)
    assert {k: v for k, v in doc["gained"].items() if v} == {"2M": 2046 << 20}
    assert not any(doc["lost"].values()) and doc["only_old"] == doc["only_new"] == []


def test_output_is_never_overwritten_without_force(tmp_path: Path) -> None:
    out = tmp_path / "new.yaml"
    out.write_text("keep me\n")
    p = gmemtui("suggest", SEED, *WB, "-o", out)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip() == f"gmemtui: {out} exists (use --force)"
    assert out.read_text() == "keep me\n"
    p = gmemtui("suggest", SEED, *WB, "-o", out, "--force")
    assert p.returncode == 0 and "slot: 1" in out.read_text()


def test_output_from_a_trace_is_a_fresh_yaml(tmp_path: Path) -> None:
    out = tmp_path / "from-trace.yaml"
    p = gmemtui("suggest", SEED_TRACE, *WB, "-o", out)
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    assert text.startswith("# Written by `gmemtui suggest` from")
    new = load_yaml(text, str(out))
    old = load(str(SEED_TRACE), Overrides(policy="whole-binding")).layout
    assert len(new.slots) == len(old.slots) + 1
    assert sorted(s.gpa for s in new.slots if s.gmem == 19) == [0, 0x100000, 0x200000]


def test_all_gain_equals_the_diff_of_the_written_layout(tmp_path: Path) -> None:
    out = tmp_path / "all.yaml"
    p = gmemtui("suggest", ROOT / "layouts" / "teach-offset-misaligned.yaml", "--all", "--json", "-o", out,
                "--gmem-max-page", "1G")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["all"]["suggestions"] and doc["all"]["lost"] == {}
    d = json.loads(gmemtui("diff", ROOT / "layouts" / "teach-offset-misaligned.yaml", out, "--json",
                           "--gmem-max-page", "1G").stdout)
    assert {k: v for k, v in d["gained"].items() if v} == doc["all"]["gained"]
    assert "wrote" in p.stderr  # the JSON on stdout stays clean


def test_bad_input_is_one_line() -> None:
    p = gmemtui("suggest", ROOT / "no-such.yaml")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    p = gmemtui("suggest", SEED, "--json", "--markdown")
    assert p.returncode == 2 and p.stderr.startswith("gmemtui: ")
