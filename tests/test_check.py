"""``gmemtui check FILE [--kvm [--levels]]``: validation, the CLI path (subprocess), skipping without
KVM, and that a disagreement really gives exit 1."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gmemtui.cli import main
from gmemtui.commands.check import check_kvm
from gmemtui.core.model import KVM_MEM_READONLY, GmemFile, Layout, Slot

HAS_KVM = os.access("/dev/kvm", os.R_OK | os.W_OK)
needs_kvm = pytest.mark.skipif(not HAS_KVM, reason="no usable /dev/kvm")
ROOT = Path(__file__).resolve().parent.parent
M = 1 << 20

GOOD = """\
name: check test
guest_memfd:
  - id: 7
    size: 16M
slots:
  - slot: 0
    gpa: 0x0
    size: 640K
  - slot: 1
    gpa: 0x100000
    size: 7M
    ua: 0x7f0000100000
  - slot: 2
    gpa: 0x1000000
    size: 8M
    guest_memfd: 7
    offset: 0x0
  - slot: 3
    gpa: 0x2000000
    size: 2M
    guest_memfd: 7
    offset: 8M
    flags: [readonly]
"""


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gmemtui", "check", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_validate_only(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    f = tmp_path / "good.yaml"
    f.write_text(GOOD)
    assert main(["check", str(f)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out
    assert f"{f}:18: warning:" in out and "readonly" in out  # the docs/formats.md warning, with its line


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("slots:\n  - slot: 0\n    gpa: 0x800\n    size: 4K\n")
    assert main(["check", str(f), "--kvm"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{f}:3:") and len(err.strip().splitlines()) == 1


def test_skips_without_kvm(monkeypatch: pytest.MonkeyPatch) -> None:
    from gmemtui.kvm import vm

    monkeypatch.setattr(vm, "DEVICE", "/nonexistent/kvm")
    out = io.StringIO()
    assert check_kvm(Layout(slots=(Slot(0, 0, M, 0),)), levels=True, out=out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "skipped" in lines[0] and "/nonexistent/kvm" in lines[0]


@needs_kvm
def test_cli_kvm_subprocess(tmp_path: Path) -> None:
    f = tmp_path / "good.yaml"
    f.write_text(GOOD)
    p = cli(str(f), "--kvm")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "kernel and gmemtui agree" in p.stdout
    # slot 3: gmemtui warns, this kernel rejects guest_memfd + READONLY, and gmemtui predicted it
    line = next(x for x in p.stdout.splitlines() if x.split()[:2] == ["0", "3"])
    assert "EINVAL   EINVAL   agree" in line and "rejects guest_memfd with READONLY" in line
    if "memory attributes no" in p.stdout:  # private memory named even without --levels
        assert "no KVM_CAP_MEMORY_ATTRIBUTES" in p.stdout


@needs_kvm
def test_cli_kvm_levels_subprocess(tmp_path: Path) -> None:
    f = tmp_path / "good.yaml"
    f.write_text(GOOD)
    p = cli(str(f), "--kvm", "--levels", "--memory-limit", "64M")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "levels:" in p.stdout and "stats: pages_1g=0" in p.stdout
    assert "cannot show: private memory" in p.stdout  # no KVM_CAP_MEMORY_ATTRIBUTES here


@needs_kvm
def test_shipped_layouts_agree() -> None:
    for f in sorted((ROOT / "layouts").glob("*.yaml")):
        p = cli(str(f), "--kvm", "--levels", "--memory-limit", "64M")
        assert p.returncode == 0, f"{f}:\n{p.stdout}{p.stderr}"


@needs_kvm
def test_address_space_1_is_not_checkable() -> None:
    out = io.StringIO()
    layout = Layout(slots=(Slot(0, 0, M, 0), Slot(0, 0, M, 0, as_=1)))
    assert check_kvm(layout, out=out) == 0
    text = out.getvalue()
    assert "not checkable: address space 1 needs KVM_CAP_MULTI_ADDRESS_SPACE" in text


@needs_kvm
def test_slot_disagreement_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """If gmemtui predicted OK where the kernel says EINVAL, check reports it and exits 1."""
    from gmemtui.kvm import predict

    monkeypatch.setattr(predict.KernelModel, "predict", lambda self, r: predict.OK)
    slot = Slot(0, 0, 2 * M, 0, flags=KVM_MEM_READONLY, gmem=1)
    layout = Layout(slots=(slot,), files=(GmemFile(1, 2 * M),))
    out = io.StringIO()
    assert check_kvm(layout, out=out) == 1
    assert "DISAGREE" in out.getvalue()


@needs_kvm
def test_levels_disagreement_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """If gmemtui predicted 4K where KVM installs 2M, --levels reports it and exits 1."""
    from dataclasses import replace

    from gmemtui.core.coverage import compute
    from gmemtui.kvm import observe

    monkeypatch.setattr(observe, "compute", lambda lay: compute(replace(lay, host_max_page=4096)))
    out = io.StringIO()
    assert check_kvm(Layout(slots=(Slot(0, 1 << 30, 8 * M, 1 << 30),)), levels=True, out=out) == 1
    assert "kernel 2M, gmemtui 4K" in out.getvalue()


def test_skips_when_not_permitted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """/dev/kvm that cannot be opened (simulated: EACCES) is one line and exit 0."""
    from gmemtui.kvm import vm

    dev = tmp_path / "kvm"
    dev.write_text("")
    monkeypatch.setattr(vm, "DEVICE", str(dev))
    real_open = os.open

    def denied(path: str, flags: int, *a: object) -> int:
        if path == str(dev):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *a)

    monkeypatch.setattr(vm.os, "open", denied)
    out = io.StringIO()
    assert check_kvm(Layout(slots=(Slot(0, 0, M, 0),)), levels=True, out=out) == 0
    assert out.getvalue().splitlines() == [f"check --kvm: skipped: {dev}: permission denied "
                                           "(run as root or join the kvm group)"]


@needs_kvm
def test_skips_without_a_needed_capability(monkeypatch: pytest.MonkeyPatch) -> None:
    from gmemtui.kvm import uapi, vm

    real = vm.Kvm.cap
    monkeypatch.setattr(vm.Kvm, "cap", lambda self, cap, fd=None: 0 if cap == uapi.KVM_CAP_GUEST_MEMFD
                        else real(self, cap, fd))
    out = io.StringIO()
    layout = Layout(slots=(Slot(0, 0, 2 * M, 0, gmem=1),), files=(GmemFile(1, 2 * M),))
    assert check_kvm(layout, levels=True, out=out) == 0
    assert out.getvalue().splitlines() == ["check --kvm: skipped: this KVM lacks KVM_CAP_GUEST_MEMFD"]
