"""``gmemtui convert`` as a user runs it (subprocess): stdout, -o, no overwrite without --force."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gmemtui.core.model import Overrides
from gmemtui.formats.loader import load
from gmemtui.formats.yaml_load import load_yaml

ROOT = Path(__file__).resolve().parent.parent
SEED_TRACE = ROOT / "layouts" / "qemu-snp-seed.trace"
SEED_MAIL = ROOT / "layouts" / "lkml-gmem-hugepage-thread.txt"


def gmemtui(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gmemtui", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=60)


def test_convert_to_stdout_loads_back_equal() -> None:
    p = gmemtui("convert", str(SEED_MAIL))
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert p.stdout.startswith("# Converted by `gmemtui convert` from")
    assert load_yaml(p.stdout, "out.yaml") == load(str(SEED_MAIL)).layout


def test_convert_output_file_and_overwrite_rules(tmp_path: Path) -> None:
    out = tmp_path / "seed.yaml"
    p = gmemtui("convert", str(SEED_TRACE), "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    first = out.read_text()
    assert load_yaml(first, str(out)) == load(str(SEED_TRACE)).layout

    p = gmemtui("convert", str(SEED_TRACE), "-o", str(out), "--policy", "whole-binding")
    assert p.returncode == 2
    assert p.stderr == f"gmemtui: {out} exists (use --force)\n"
    assert out.read_text() == first  # untouched

    p = gmemtui("convert", str(SEED_TRACE), "-o", str(out), "--policy", "whole-binding", "--force",
                "--gmem-max-page", "1G")
    assert p.returncode == 0, p.stderr
    again = load_yaml(out.read_text(), str(out))
    assert again == load(str(SEED_TRACE), Overrides(policy="whole-binding", gmem_max_page=1 << 30)).layout
    assert again.policy == "whole-binding"
    assert [p.name for p in tmp_path.iterdir()] == ["seed.yaml"]  # no temporary file left behind


def test_convert_a_yaml_layout(tmp_path: Path) -> None:
    out = tmp_path / "copy.yaml"
    src = ROOT / "layouts" / "qemu-snp-seed.yaml"
    assert gmemtui("convert", str(src), "-o", str(out)).returncode == 0
    assert load_yaml(out.read_text(), str(out)) == load(str(src)).layout


def test_convert_a_bad_trace_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.trace"
    bad.write_text("# excerpt\nkvm_set_user_memory AddrSpace#0 Slot#1 flags=0x4 gpa=0x0 size=0x1000 "
                   "ua=0x0 guest_memfd=-1 guest_memfd_offset=0x0 ret=0\n")
    p = gmemtui("convert", str(bad), "-o", str(tmp_path / "x.yaml"))
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and p.stderr.startswith(f"{bad}:2: ")
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_report_reads_the_seed_mail() -> None:
    p = gmemtui("report", str(SEED_MAIL))
    assert p.returncode == 0, p.stderr
    assert "slot 5" in p.stdout
