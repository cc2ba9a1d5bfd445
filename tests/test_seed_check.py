"""docs/rules.md seed check, exactly: slot 5 of the QEMU SNP layout of the seed thread.

The layout is built from the model (the trace lines of layouts/lkml-gmem-hugepage-thread.txt),
then the shipped seed files (YAML and trace) must give the same runs once they exist.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from reference import Reference

from gmemtui.core.coverage import Coverage, compute
from gmemtui.core.model import KVM_MEM_READONLY, GmemFile, Layout, Overrides, Slot

ROOT = Path(__file__).resolve().parent.parent
SEED_FILES = [
    ROOT / "gmemtui" / "data" / "qemu-snp-seed.yaml",
    ROOT / "layouts" / "qemu-snp-seed.yaml",
    ROOT / "layouts" / "qemu-snp-seed.trace",
]

SEED = Layout(
    slots=(
        Slot(slot=0, gpa=0x0, size=0xC0000, ua=0x7F24AFC00000, gmem=19, offset=0x0),
        Slot(slot=3, gpa=0xC0000, size=0x20000, ua=0x7F2575000000, flags=KVM_MEM_READONLY, gmem=33),
        Slot(slot=4, gpa=0xE0000, size=0x20000, ua=0x7F2575400000, flags=KVM_MEM_READONLY, gmem=31),
        Slot(slot=5, gpa=0x100000, size=0x7FF00000, ua=0x7F24AFD00000, gmem=19, offset=0x100000),
    ),
    # fd 19's size: the end of its furthest binding (slot 0 first covered all 2 GiB)
    files=(GmemFile(id=19, size=0x80000000, max_page=1 << 21), GmemFile(id=33, max_page=1 << 21),
           GmemFile(id=31, max_page=1 << 21)),
    policy="per-range",
    host_max_page=1 << 21,
    private_max_page=1 << 30,
)

PER_RANGE = [
    (0x100000, 0x100000, "4K", True, "slot-edge"),
    (0x200000, 0x40000000 - 0x200000, "2M", True, "slot-edge"),
    (0x40000000, 0x40000000, "2M", True, "ua-misaligned"),
]
WHOLE_BINDING = [
    (0x100000, 0x100000, "4K", True, "slot-edge"),
    (0x200000, 0x80000000 - 0x200000, "4K", True, "whole-binding"),
]


def runs(cov: Coverage, key: tuple[int, int] = (0, 5)) -> list[tuple]:
    return [(r.gpa, r.size, r.page, r.private, r.reason) for r in cov.slot(key).runs]


def all_runs(cov: Coverage) -> dict[tuple[int, int], list[tuple]]:
    return {sc.slot.key: runs(cov, sc.slot.key) for sc in cov.slots}


def test_seed_per_range() -> None:
    cov = compute(SEED)
    assert runs(cov) == PER_RANGE
    assert cov.slot((0, 5)).bytes == {"4K": 0x100000, "2M": 0x7FE00000, "1G": 0}


def test_seed_whole_binding_every_frame_4k() -> None:
    cov = compute(replace(SEED, policy="whole-binding"))
    assert runs(cov) == WHOLE_BINDING
    assert cov.slot((0, 5)).bytes == {"4K": 0x7FF00000, "2M": 0, "1G": 0}


def test_seed_small_slots() -> None:
    """Slots 0, 3 and 4 are smaller than 2M: every frame is 4K for slot-edge, private (guest_memfd)."""
    for policy in ("per-range", "whole-binding", "4k-only"):
        cov = compute(replace(SEED, policy=policy))
        for sid, gpa, size in ((0, 0, 0xC0000), (3, 0xC0000, 0x20000), (4, 0xE0000, 0x20000)):
            assert runs(cov, (0, sid)) == [(gpa, size, "4K", True, "slot-edge")]


@pytest.mark.parametrize("policy", ["per-range", "whole-binding", "4k-only"])
def test_seed_reference_agrees_at_sampled_frames(policy: str) -> None:
    """The brute-force reference at every run boundary ±1 and at random frames of slot 5."""
    layout = replace(SEED, policy=policy)
    cov = compute(layout)
    ref = Reference(layout)
    rnd = random.Random(5)
    sc = cov.slot((0, 5))
    B, E = sc.slot.gpa >> 12, sc.slot.end >> 12
    frames = {rnd.randrange(B, E) for _ in range(300)}
    for r in sc.runs:
        frames.update({(r.gpa >> 12) + d for d in (-1, 0, 1)} | {(r.end >> 12) + d for d in (-1, 0, 1)})
    for g in sorted(x for x in frames if B <= x < E):
        want = ref.verdict(0, 5, g)
        got = next((r.page, r.private, r.reason) for r in sc.runs if r.gpa <= g << 12 < r.end)
        assert got == want, hex(g << 12)
    if policy == "4k-only":
        assert runs(cov) == [(0x100000, 0x100000, "4K", True, "slot-edge"),
                             (0x200000, 0x7FE00000, "4K", True, "gmem-4k-only")]


@pytest.mark.parametrize("path", SEED_FILES, ids=[p.name if p.parent.name != "data" else "data/" + p.name
                                                 for p in SEED_FILES])
def test_seed_file_gives_the_same_runs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not written yet")
    from gmemtui.formats.loader import load

    for policy in ("per-range", "whole-binding"):
        layout = load(str(path), Overrides(policy=policy)).layout
        got = compute(layout)
        assert all_runs(got) == all_runs(compute(replace(SEED, policy=policy)))
        assert runs(got) == (PER_RANGE if policy == "per-range" else WHOLE_BINDING)
