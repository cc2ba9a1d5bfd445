"""Every arch of the platform table (docs/architectures.md): ladders, units and alignment from the base
page, the rules' applicability per arch, ``--arch`` what-ifs, and the closed form against the
brute-force reference on random layouts of every arch (base pages of 4K, 16K and 64K; ladders whose
sizes are not powers of 512 apart), frame-exact and reason by reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from reference import Reference, reference_runs
from strategies import any_arch_layouts, layouts

from gmemtui.cli import main
from gmemtui.core.coverage import Coverage, compute
from gmemtui.core.errors import InputError
from gmemtui.core.model import GmemFile, Layout, Overrides, PrivateRange, Slot
from gmemtui.core.platform import ARM64_4K, ARM64_16K, ARM64_64K, PLATFORMS, RISCV64, X86_64
from gmemtui.core.rules import REASON_CODES
from gmemtui.core.units import fmt_size, parse_size
from gmemtui.formats.loader import load
from gmemtui.formats.yaml_dump import dump_yaml
from gmemtui.formats.yaml_load import load_yaml
from gmemtui.kvm.flavour import host_arch

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "layouts" / "qemu-snp-seed.yaml")
TRACE = str(ROOT / "layouts" / "qemu-snp-seed.trace")
K, M, G = 1 << 10, 1 << 20, 1 << 30


def runs_of(cov: Coverage) -> dict:
    return {sc.slot.key: [(r.gpa, r.size, r.page, r.private, r.reason) for r in sc.runs] for sc in cov.slots}


def check_invariants(layout: Layout, cov: Coverage) -> None:
    plat = layout.platform
    base = plat.base.bytes
    for sc in cov.slots:
        assert sc.runs[0].gpa == sc.slot.gpa and sc.runs[-1].end == sc.slot.end
        for a, b in zip(sc.runs, sc.runs[1:], strict=False):
            assert a.end == b.gpa and (a.page, a.private, a.reason) != (b.page, b.private, b.reason)
        for r in sc.runs:
            assert r.gpa % base == 0 and r.size % base == 0 and r.page in plat.names
            assert r.reason is None or r.reason in REASON_CODES
            assert (r.reason is None) == (r.page == plat.largest.name)
        assert list(sc.bytes) == list(plat.names) and sum(sc.bytes.values()) == sc.slot.size


# -- the closed form against the reference, every arch ------------------------------------------------

M2 = 2 * M
# Boundaries a random search reaches late, fixed (docs/rules.md; tests/test_rule_boundaries.py has more)
BOUNDARY_EXAMPLES = (
    # two private ranges that touch exactly and together fill one 2M block: one range, 2M private
    Layout(slots=(Slot(slot=0, gpa=G, size=2 * M2, ua=G, gmem=1),), files=(GmemFile(id=1),),
           private=(PrivateRange(G, M), PrivateRange(G + M, M))),
    # whole-binding on the shared frames of an mmap slot; aligned offset, size off by one frame
    Layout(slots=(Slot(slot=0, gpa=G, size=2 * M2 + 4 * K, ua=G, gmem=1),),
           files=(GmemFile(id=1, mmap=True),), private=(), policy="whole-binding"),
    # platform-cap exactly at its cap; folio-cap at the same size reports first
    Layout(slots=(Slot(slot=0, gpa=G, size=2 * M2, ua=G, gmem=1),), files=(GmemFile(id=1, max_page=4 * K),),
           private_max_page=4 * K),
    # 64K base page, a 512M block exactly, a guest_memfd-only slot under mainline next to it
    Layout(slots=(Slot(slot=0, gpa=512 * M, size=512 * M, ua=512 * M),
                  Slot(slot=1, gpa=G, size=M, ua=G, gmem=1)),
           files=(GmemFile(id=1, max_page=512 * M),), arch="arm64-64k", policy="mainline",
           host_max_page=512 * M, private_max_page=512 * M),
)


def _with_examples(test):
    for lay in BOUNDARY_EXAMPLES:
        test = example(lay)(test)
    return test


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(any_arch_layouts())
@_with_examples
def test_every_arch_matches_reference_frame_exact(layout: Layout) -> None:
    cov = compute(layout)
    check_invariants(layout, cov)
    event(layout.arch)
    for sc in cov.slots:
        for r in sc.runs:
            event(f"{layout.arch} {r.page} {r.reason}")
    assert runs_of(cov) == reference_runs(layout)
    ref = Reference(layout)
    for sc in cov.slots:
        for r in sc.runs:
            g = r.gpa >> layout.platform.base_shift
            assert r.mappable == ref.mappable(sc.slot.as_, sc.slot.slot, g)


# -- the table ------------------------------------------------------------------------------------------

def test_ladders() -> None:
    assert {a: p.names for a, p in PLATFORMS.items()} == {
        "x86_64": ("4K", "2M", "1G"), "arm64-4k": ("4K", "2M", "1G"), "arm64-16k": ("16K", "32M"),
        "arm64-64k": ("64K", "512M"), "riscv64": ("4K", "2M", "1G")}
    for plat in PLATFORMS.values():
        for p in plat.ladder:
            assert parse_size(p.name) == p.bytes and fmt_size(p.bytes) == p.name
            assert plat.page(p.name.lower() + "iB") is p and plat.page(p.bytes) is p
    assert ARM64_16K.frames(ARM64_16K.largest) == 2048 and ARM64_64K.frames(ARM64_64K.largest) == 8192
    assert [p.second.name for p in (X86_64, ARM64_16K, ARM64_64K, RISCV64)] == ["2M", "32M", "512M", "2M"]
    assert not ARM64_4K.memory_attributes and ARM64_4K.gmem_only and not ARM64_4K.private_cap
    assert RISCV64.memory_attributes and not RISCV64.private_cap and X86_64.private_cap


def test_defaults_are_the_second_rung() -> None:
    text = ("arch: arm64-16k\nguest_memfd: [{id: 1}]\n"
            "slots:\n  - {slot: 0, gpa: 0, size: 64M, guest_memfd: 1}\n")
    lay = load_yaml(text, "t.yaml")
    assert lay.host_max_page == 32 * M and lay.files[0].max_page == 32 * M
    assert lay.private_max_page == 32 * M  # unused: no vendor cap on arm64
    assert load_yaml("arch: arm64-64k\nslots: [{slot: 0, gpa: 0, size: 1G}]\n", "t").host_max_page == 512 * M


def test_sizes_print_and_parse_with_the_ladder(capsys: pytest.CaptureFixture[str]) -> None:
    text = ("arch: arm64-64k\nhost_max_page: 512MiB\nguest_memfd: [{id: 1, max_page: 64k}]\n"
            "slots:\n  - {slot: 0, gpa: 512M, size: \"1G\", ua: 0x7f0020000000, guest_memfd: 1}\n")
    lay = load_yaml(text, "t.yaml")
    assert (lay.host_max_page, lay.files[0].max_page) == (512 * M, 64 * K)
    out = dump_yaml(lay)
    assert "host_max_page: 512M" in out and "max_page: 64K" in out and "private_max_page" not in out
    assert load_yaml(out, "dump.yaml") == lay


# -- errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,line,message", [
    ("arch: arm64-64k\nslots:\n  - slot: 0\n    gpa: 0x1000\n    size: 64K\n", 4,
     "gpa 0x1000 is not a multiple of 64 KiB"),
    ("arch: arm64-64k\nslots:\n  - slot: 0\n    gpa: 0x10000\n    size: 0x11000\n", 5,
     "size 0x11000 is not a multiple of 64 KiB"),
    ("arch: arm64-16k\nslots:\n  - {slot: 0, gpa: 0, size: 16K, ua: 0x7f0000001000}\n", 3,
     "ua 0x7f0000001000 is not a multiple of 16 KiB"),
    ("arch: arm64-4k\nslots:\n  - {slot: 0, gpa: 0, size: 2M}\nprivate:\n  - {gpa: 0, size: 4K}\n", 4,
     "private: arm64-4k has no memory attributes"),
    ("arch: arm64-64k\nslots:\n  - {slot: 0, gpa: 0, size: 64K}\nprivate: []\n", 4,
     "private: arm64-64k has no memory attributes"),
    ("arch: arm64-64k\nprivate_max_page: 512M\nslots:\n  - {slot: 0, gpa: 0, size: 64K}\n", 2,
     "private_max_page: arm64-64k has no vendor cap"),
    ("arch: riscv64\nprivate_max_page: 2M\nslots:\n  - {slot: 0, gpa: 0, size: 64K}\n", 2,
     "private_max_page: riscv64 has no vendor cap"),
    ("arch: arm64-64k\nhost_max_page: 2M\nslots:\n  - {slot: 0, gpa: 0, size: 64K}\n", 2,
     "host_max_page 2M is not a page size of arm64-64k (64K, 512M)"),
    ("arch: arm64-16k\nslots:\n  - {slot: 0, as: 1, gpa: 0, size: 16K}\n", 3,
     "as 1 is not an address space of arm64-16k (must be 0)"),
])
def test_arch_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as e:
        load_yaml(text, "t.yaml")
    assert (e.value.path, e.value.line) == ("t.yaml", line), str(e.value)
    assert message in e.value.message, str(e.value)


def test_arch_override_checks_alignment_with_file_and_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "x86.yaml"
    path.write_text("name: x\nslots:\n  - slot: 0\n    gpa: 0x201000\n    size: 2M\n")
    assert main(["report", str(path)]) == 0
    capsys.readouterr()
    assert main(["report", str(path), "--arch", "arm64-64k"]) == 2
    err = capsys.readouterr().err
    assert err == f"{path}:4: gpa 0x201000 is not a multiple of 64 KiB\n"
    # a private list is refused at its line when looked at as arm64
    path.write_text("slots:\n  - {slot: 0, gpa: 0, size: 2M}\nprivate:\n  - {gpa: 0, size: 2M}\n")
    assert main(["report", str(path), "--arch", "arm64-4k"]) == 2
    assert capsys.readouterr().err.startswith(f"{path}:3: private: arm64-4k has no memory attributes")


def test_arch_override_on_a_trace_and_bad_caps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", TRACE, "--arch", "arm64-64k"]) == 2
    assert "is a QEMU trace, and those are x86_64" in capsys.readouterr().err
    dump = sorted((ROOT / "layouts").glob("qemu-*/*.mtree"))[0]
    assert main(["report", str(dump), "--arch", "arm64-4k"]) == 2
    assert "is a QEMU monitor dump, and those are x86_64" in capsys.readouterr().err
    text = Path(TRACE).read_text()  # given as text (stdin, the TUI's follow mode): the same
    with pytest.raises(InputError, match="QEMU trace"):
        load("-", Overrides(arch="riscv64"), text=text)
    assert main(["report", TRACE, "--arch", "x86_64"]) == 0
    capsys.readouterr()
    assert main(["report", SEED, "--arch", "arm64-64k", "--host-max-page", "2M"]) == 2
    assert capsys.readouterr().err == ("gmemtui: --host-max-page: 0x200000 bytes is not a page size of "
                                       "arm64-64k (64K, 512M)\n")
    assert main(["report", SEED, "--arch", "riscv64", "--private-max-page", "2M"]) == 2
    assert "riscv64 has no vendor cap" in capsys.readouterr().err
    with pytest.raises(InputError):
        Overrides(arch="sparc").apply(load(SEED).layout)


# -- the rules per arch ---------------------------------------------------------------------------------

def test_seed_as_arm64_64k(capsys: pytest.CaptureFixture[str]) -> None:
    """The same YAML as a 64K-page arm64 host maps it: page sizes move rung for rung, no attributes."""
    assert main(["report", SEED, "--arch", "arm64-64k", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["arch"], doc["page_sizes"], doc["host_max_page"], doc["private_max_page"]) == (
        "arm64-64k", ["64K", "512M"], "512M", None)
    runs = [r for s in doc["slots"] for r in s["runs"]]
    assert not any(r["private"] for r in runs)  # no memory attributes: nothing is private
    s5 = next(s for s in doc["slots"] if s["slot"] == 5)
    # slot 5 is guest_memfd-only on arm64: the file decides (folio 512M), not the host page; but gpa
    # 0x100000 and ua 0x7f24afd00000 differ mod 512M, so 64K throughout
    assert {(r["page"], r["reason"]) for r in s5["runs"]} == {("64K", "slot-edge"), ("64K", "ua-misaligned")}
    assert main(["report", SEED, "--arch", "arm64-64k", "--policy", "mainline", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["total"]["bytes"] == {"64K": 2 * G, "512M": 0}


def test_arm64_guest_memfd_slots_are_guest_memfd_only() -> None:
    def lay(arch: str, policy: str) -> Layout:
        slot = Slot(slot=0, gpa=G, size=G, ua=0x7F0040000000, gmem=1)
        return Layout(slots=(slot,), files=(GmemFile(id=1, max_page=G),), arch=arch, policy=policy,
                      host_max_page=2 * M)

    # x86: private (default attributes), folio 1G decides: 1G. arm64-4k: shared, but the file decides
    # too (not host_max_page 2M): 1G under per-range, the base page under mainline
    for arch in ("x86_64", "arm64-4k"):
        (run,) = compute(lay(arch, "per-range")).slots[0].runs
        assert (run.page, run.private) == ("1G", arch == "x86_64")
    (run,) = compute(lay("arm64-4k", "mainline")).slots[0].runs
    assert (run.page, run.private, run.reason) == ("4K", False, "gmem-4k-only")
    # riscv64 has attributes but no vendor cap: a 4K private_max_page changes nothing
    r = Layout(slots=(Slot(slot=0, gpa=G, size=G, ua=G, gmem=1),), files=(GmemFile(id=1, max_page=G),),
               arch="riscv64", private_max_page=4 * K)
    (run,) = compute(r).slots[0].runs
    assert (run.page, run.private) == ("1G", True)


def test_host_arch() -> None:
    assert host_arch("x86_64") == "x86_64" and host_arch("riscv64") == "riscv64"
    assert [host_arch("aarch64", n * K) for n in (4, 16, 64)] == ["arm64-4k", "arm64-16k", "arm64-64k"]
    assert host_arch("s390x") is None


def test_check_kvm_skips_another_arch(capsys: pytest.CaptureFixture[str]) -> None:
    for arch in ("arm64-4k", "arm64-64k", "riscv64"):
        if arch == host_arch():
            continue
        assert main(["check", SEED, "--kvm", "--arch", arch]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[-1] == f"check --kvm: skipped: the layout is {arch}, this host is {host_arch()}"


def test_explain_names_the_arch_kernel_functions(capsys: pytest.CaptureFixture[str]) -> None:
    from gmemtui.core.rules import RULE_BY_CODE, source_for

    assert main(["explain", str(ROOT / "layouts" / "teach-arm64-64k.yaml"), "0x80000000", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    fail = next(c for c in doc["checks"] if not c["ok"])
    assert fail["code"] == "ua-misaligned" and "fault_supports_stage2_huge_mapping" in fail["source"]
    assert "gmem_abort" in source_for(RULE_BY_CODE["gmem-4k-only"], "arm64-16k")
    assert "fault_supports_gstage_huge_mapping" in source_for(RULE_BY_CODE["slot-edge"], "riscv64")
    rule = RULE_BY_CODE["folio-cap"]
    assert source_for(rule, "x86_64") == source_for(rule, "arm64-4k") == rule.source


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(tuple(PLATFORMS)).flatmap(lambda a: layouts(arch=a, big=True, max_slots=3)),
       st.randoms(use_true_random=False))
def test_every_arch_big_layouts_match_reference_sampled(layout: Layout, rnd) -> None:
    """Slots of 1..4 largest pages (up to 2 GiB of 64K frames): the reference at both ends of every
    run, their neighbours, every largest-size boundary's neighbours and random frames."""
    cov = compute(layout)
    check_invariants(layout, cov)
    ref = Reference(layout)
    sh = layout.platform.base_shift
    top = layout.platform.frames(layout.platform.largest)
    for sc in cov.slots:
        s = sc.slot
        B, E = s.gpa >> sh, s.end >> sh
        frames = {B, E - 1, *(rnd.randrange(B, E) for _ in range(20))}
        for r in sc.runs:
            for x in (r.gpa >> sh, r.end >> sh):
                frames.update((x - 1, x))
        for x in range(B - B % top + top, E, top):
            frames.update((x - 1, x))
        for g in sorted(f for f in frames if B <= f < E):
            run = next(r for r in sc.runs if r.gpa >> sh <= g < r.end >> sh)
            assert (run.page, run.private, run.reason) == ref.verdict(s.as_, s.slot, g), hex(g << sh)


def test_saving_refuses_a_layout_shown_as_another_arch() -> None:
    from gmemtui.formats.yaml_save import save_text

    text = "slots:\n  - {slot: 0, gpa: 0, size: 1G}\n"
    old = load_yaml(text, "t.yaml", "arm64-64k")
    assert old.arch == "arm64-64k" and old.host_max_page == 512 * M
    with pytest.raises(ValueError, match="the file is x86_64 and the layout is shown as arm64-64k"):
        save_text(text, old, old.with_slot(0, size=512 * M))
    same = load_yaml("arch: arm64-64k\n" + text, "t.yaml")
    assert "size: 512M" in save_text("arch: arm64-64k\n" + text, same, same.with_slot(0, size=512 * M))
