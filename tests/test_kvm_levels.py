"""``check --levels`` against the real kernel: the page sizes KVM installs, per mapping (tracefs
``kvmmmu:kvm_mmu_set_spte``) and in the VM's stats, equal gmemtui's prediction on teaching-style
layouts; and random small layouts through ``--kvm --levels`` agree (hypothesis)."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmemtui.commands.check import check_kvm
from gmemtui.core.model import KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, GmemFile, Layout, Slot
from gmemtui.kvm.apply import apply_layout
from gmemtui.kvm.flavour import detect
from gmemtui.kvm.observe import LevelsReport, observe
from gmemtui.kvm.vm import Kvm

pytestmark = pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="no usable /dev/kvm")

K, M, G = 1 << 10, 1 << 20, 1 << 30


def run(layout: Layout, limit: int = G) -> LevelsReport:
    with Kvm() as kvm:
        flav = detect(kvm)
        applied = apply_layout(layout, kvm, flav)
        try:
            assert all(a.agree for a in applied.answers)
            return observe(layout, applied, flav, kvm.fd, limit)
        finally:
            applied.vm.close()


def assert_agrees(rep: LevelsReport) -> None:
    assert rep.ok, rep.message
    for lv in rep.slots:
        assert lv.disagreements == [], lv.disagreements[:5]
        assert lv.excused == 0, "the host supplied no THP"
    for name, (lo, hi) in rep.stats_expect.items():
        assert lo <= rep.stats.get(name, 0) <= hi, (name, rep.stats)


def seen(rep: LevelsReport, i: int = 0) -> dict:
    if not rep.trace:
        pytest.skip("tracefs kvmmmu:kvm_mmu_set_spte not available")
    lv = rep.slots[i]
    assert lv.unseen == 0
    return {k: v for k, v in lv.seen.items() if v}


def one(gpa: int = G, size: int = 8 * M, ua: int | None = None, **kw: object) -> Layout:
    return Layout(slots=(Slot(0, gpa, size, gpa if ua is None else ua, **kw),))  # type: ignore[arg-type]


# (layout, what KVM installs for slot 0 per page size)
TEACHING = {
    "aligned THP slot": (one(), {"2M": 8 * M}),
    "ua off by 4K": (one(ua=G + 4 * K), {"4K": 8 * M}),
    "unaligned edges": (one(gpa=G + 4 * K), {"4K": 2 * M, "2M": 6 * M}),
    "log_dirty": (one(flags=KVM_MEM_LOG_DIRTY_PAGES), {"4K": 8 * M}),
    "readonly (guest reads)": (one(flags=KVM_MEM_READONLY), {"2M": 8 * M}),
    "host pages 4K": (Layout(slots=one().slots, host_max_page=4 * K), {"4K": 8 * M}),
    "1 MiB slot": (one(size=M), {"4K": M}),
    "guest_memfd-only slot (mmap)": (
        Layout(slots=(Slot(0, G, 8 * M, G, gmem=1),), files=(GmemFile(1, 8 * M, mmap=True),)), {"4K": 8 * M}),
    "guest_memfd slot, shared through ua": (
        Layout(slots=(Slot(0, G, 8 * M, G, gmem=1),), files=(GmemFile(1, 8 * M),)), {"2M": 8 * M}),
}


@pytest.mark.parametrize("name", list(TEACHING))
def test_teaching_layout(name: str) -> None:
    layout, expected = TEACHING[name]
    rep = run(layout)
    assert_agrees(rep)
    assert rep.full
    assert seen(rep) == expected
    assert rep.slots[0].predicted == expected


def test_private_memory_is_named() -> None:
    layout, _ = TEACHING["guest_memfd slot, shared through ua"]
    rep = run(layout)
    assert any("KVM_CAP_MEMORY_ATTRIBUTES" in n for n in rep.notes)


def test_1g_is_named_and_checked_as_2m() -> None:
    """A 1G-capable slot: the guest cannot map 1G, so it is named and checked as 2M (bounded memory)."""
    layout = Layout(slots=(Slot(0, G, G, G),), host_max_page=G)
    rep = run(layout, limit=16 * M)
    assert_agrees(rep)
    assert not rep.full
    assert any("sizes above 2M" in n for n in rep.notes)
    assert rep.slots[0].touched <= 16 * M
    assert set(seen(rep)) == {"2M"}


def test_bounded_touches_decide_every_run() -> None:
    """64 MiB with unaligned edges under a 16 MiB limit: both ends of every run are touched."""
    layout = one(gpa=G + 4 * K, size=64 * M)
    rep = run(layout, limit=16 * M)
    assert_agrees(rep)
    assert not rep.full
    # head + tail at 4K; two guest pages at each end of the 2M run
    assert seen(rep) == {"4K": 2 * M, "2M": 4 * 2 * M}


def test_several_slots_in_one_vm() -> None:
    dirty = Slot(2, 16 * M, 4 * M, 16 * M + 4 * K, flags=KVM_MEM_LOG_DIRTY_PAGES)
    layout = Layout(slots=(Slot(0, 0, 640 * K, 0), Slot(1, M, 7 * M, M), dirty))
    rep = run(layout)
    assert_agrees(rep)
    assert seen(rep, 0) == {"4K": 640 * K}
    assert seen(rep, 1) == {"4K": M, "2M": 6 * M}
    assert seen(rep, 2) == {"4K": 4 * M}


def _maps_and_fds() -> tuple[int, int]:
    with open("/proc/self/maps") as f:
        maps = len(f.readlines())
    return maps, len(os.listdir("/proc/self/fd"))


def test_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """No fd, mapping, tracing instance or tracefs mount of this run survives it."""
    from gmemtui.kvm import levels
    from gmemtui.kvm import observe as obs

    made: list[tuple[str | None, str | None]] = []

    class Recording(levels.SpteTrace):
        def __init__(self, frames: int) -> None:
            super().__init__(frames)
            made.append((self.instance, self._mounted))

    monkeypatch.setattr(obs, "SpteTrace", Recording)
    before = _maps_and_fds()
    layout, _ = TEACHING["unaligned edges"]
    assert check_kvm(layout, levels=True, out=io.StringIO()) == 0
    assert _maps_and_fds() == before
    assert len(made) == 1
    instance, mounted = made[0]
    assert instance and not os.path.exists(instance)
    if mounted:
        with open("/proc/self/mounts") as f:
            assert mounted not in f.read()
        assert not os.path.exists(mounted)


# --- hypothesis: random small layouts (<= 64 MiB), valid or not, through --kvm --levels ---

@st.composite
def small_layouts(draw: st.DrawFn) -> Layout:
    n = draw(st.integers(1, 4))
    slots = []
    total = 0
    mmap = draw(st.booleans())
    fsize = draw(st.sampled_from([8 * M, 16 * M, 32 * M]))
    for i in range(n):
        size = draw(st.sampled_from([4 * K, 64 * K, M, 2 * M, 4 * M + 4 * K, 8 * M, 16 * M]))
        if total + size > 64 * M:
            break
        total += size
        gpa = draw(st.integers(0, 64)) * M + draw(st.sampled_from([0, 0, 4 * K, 512 * K]))
        ua = gpa + draw(st.sampled_from([0, 0, 4 * K, M, 2 * M, G]))
        flags = draw(st.sampled_from([0, 0, 0, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY]))
        gmem = draw(st.sampled_from([None, None, 1]))
        offset = draw(st.integers(0, 16)) * M + draw(st.sampled_from([0, 4 * K])) if gmem else 0
        sid = draw(st.sampled_from([i, i, 0, 32763]))
        slots.append(Slot(sid, gpa, size, ua, flags=flags, gmem=gmem, offset=offset))
    host = draw(st.sampled_from([2 * M, 2 * M, 4 * K]))
    files = (GmemFile(1, fsize, mmap=mmap),) if any(s.gmem for s in slots) else ()
    return Layout(slots=tuple(slots), files=files, host_max_page=host)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_layouts())
def test_random_small_layouts_agree(layout: Layout) -> None:
    out = io.StringIO()
    rc = check_kvm(layout, levels=True, limit=64 * M, out=out)
    assert rc == 0, out.getvalue()
    assert "disagree" not in out.getvalue().lower().replace("0 disagreement", "")


def test_missing_thp_is_named_not_a_disagreement(monkeypatch: pytest.MonkeyPatch) -> None:
    """The layout allows THP but the host gives none (simulated: MADV_NOHUGEPAGE): KVM maps 4K,
    pagemap/kpageflags show no huge page, so it is named, not counted."""
    from gmemtui.kvm import vm

    real = vm.Vm.map_host

    def no_thp(self: vm.Vm, size: int, ua: int, align: int, huge: bool) -> vm.HostMapping:
        return real(self, size, ua, align, False)

    monkeypatch.setattr(vm.Vm, "map_host", no_thp)
    out = io.StringIO()
    assert check_kvm(one(), levels=True, out=out) == 0, out.getvalue()
    assert "host supplied no huge page" in out.getvalue()
    assert "kernel 4K 8M" in out.getvalue()


def test_without_tracefs_compares_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    from gmemtui.kvm import levels
    from gmemtui.kvm import observe as obs

    def unavailable(frames: int) -> None:
        raise levels.TraceUnavailable("simulated")

    monkeypatch.setattr(obs, "SpteTrace", unavailable)
    layout, _ = TEACHING["unaligned edges"]
    rep = run(layout)
    assert not rep.trace and any("per-frame levels not available" in n for n in rep.notes)
    assert_agrees(rep)
    assert rep.stats["pages_2m"] == 3


def test_metadata_guard() -> None:
    """A 64 TiB layout is not applied under shadow paging (rmaps would need 128 GiB)."""
    from gmemtui.kvm.apply import metadata_problem

    with Kvm() as kvm:
        flav = detect(kvm)
    huge = Layout(slots=(Slot(0, 0, 64 << 40, 0),))
    if flav.tdp and flav.tdp_mmu == "Y":
        assert metadata_problem(huge, flav) is None
    else:
        assert "rmap" in (metadata_problem(huge, flav) or "")
        assert metadata_problem(one(), flav) is None


@pytest.mark.parametrize("advice,expected", [("huge", True), ("nohuge", False)])
def test_host_pages_tells_a_thp(advice: str, expected: bool) -> None:
    """HostPages must say True for a real THP, or a 2M-vs-4K difference would always be excused."""
    import ctypes

    from gmemtui.kvm import vm
    from gmemtui.kvm.levels import HostPages

    hp = HostPages()
    if not hp.available:
        pytest.skip("no /proc/kpageflags")
    length = 8 * M
    base = vm.mmap_anon(length)
    try:
        addr = base + (-base) % (2 * M)
        vm.madvise(addr, 2 * M, vm.MADV_HUGEPAGE if advice == "huge" else vm.MADV_NOHUGEPAGE)
        ctypes.memset(addr, 1, 2 * M)
        assert hp.huge(addr, 2 * M) is expected
    finally:
        vm.munmap(base, length)
        hp.close()
