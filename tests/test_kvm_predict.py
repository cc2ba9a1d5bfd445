"""gmemtui's memslot verdict model without a kernel (cases too costly or impossible to run here)."""

from __future__ import annotations

import errno

from gmemtui.kvm import uapi
from gmemtui.kvm.predict import FileInfo, Host, KernelModel, Region

M = 1 << 20


def test_page_count_limit() -> None:
    m = KernelModel(Host())
    assert m.predict(Region(0, 0, 0, ((1 << 31) - 1) * 4096, 1 << 40)).errno == 0
    assert m.predict(Region(0, 0, 0, (1 << 31) * 4096, 1 << 40)).errno == errno.EINVAL


def test_tdp_host_limits_gpa_to_maxphyaddr() -> None:
    """With TDP, kvm_mmu_max_gfn follows the host's MAXPHYADDR, not 52 bits."""
    r = Region(0, 0, (1 << 46) - 2 * M, 2 * M, 1 << 40)
    assert KernelModel(Host(max_gpa_bits=46)).predict(r).errno == 0
    far = Region(0, 0, 1 << 46, 2 * M, 1 << 40)
    assert KernelModel(Host(max_gpa_bits=46)).predict(far).errno == errno.EINVAL
    assert KernelModel(Host(max_gpa_bits=52)).predict(far).errno == 0


def test_second_address_space_with_smm() -> None:
    r = Region(1 << 16, 0, 0, 2 * M, 1 << 40)
    assert KernelModel(Host(address_spaces=1)).predict(r).errno == errno.EINVAL
    assert KernelModel(Host(address_spaces=2)).predict(r).errno == 0


def test_overlap_is_per_address_space_and_state_follows_record() -> None:
    m = KernelModel(Host(address_spaces=2))
    a = Region(0, 0, 0, 2 * M, 1 << 40)
    assert m.apply(a).errno == 0
    assert m.predict(Region(1, 0, M, 2 * M, 1 << 40)).errno == errno.EEXIST
    assert m.predict(Region(1 << 16 | 1, 0, M, 2 * M, 1 << 40)).errno == 0
    assert m.apply(Region(0, 0, 0, 0, 1 << 40)).errno == 0  # delete
    assert m.predict(Region(1, 0, M, 2 * M, 1 << 40)).errno == 0


def test_guest_memfd_readonly_names_the_spec_warning() -> None:
    m = KernelModel(Host(files={1: FileInfo("gmem", 4 * M)}))
    v = m.predict(Region(0, uapi.KVM_MEM_GUEST_MEMFD | uapi.KVM_MEM_READONLY, 0, 2 * M, 1 << 40, fd=1))
    assert v.errno == errno.EINVAL and "check_memory_region_flags" in v.why


def test_overlapping_binding_agrees_with_einval_and_eexist() -> None:
    """kvm_gmem_bind: -EINVAL up to 6.18, -EEXIST on newer kernels; both agree with the prediction."""
    from gmemtui.core.model import Slot
    from gmemtui.kvm.apply import SlotAnswer

    m = KernelModel(Host(files={1: FileInfo("gmem", 8 * M)}))
    g = uapi.KVM_MEM_GUEST_MEMFD
    assert m.apply(Region(0, g, 0, 4 * M, 1 << 40, fd=1, offset=0)).errno == 0
    v = m.predict(Region(1, g, 8 * M, 4 * M, 1 << 41, fd=1, offset=2 * M))
    assert "overlaps another binding" in v.why and v.name == "EINVAL/EEXIST"
    assert v.agrees(errno.EINVAL) and v.agrees(errno.EEXIST) and not v.agrees(0) and not v.agrees(errno.EBADF)
    slot = Slot(slot=1, gpa=8 * M, size=4 * M, ua=1 << 41, gmem=1, offset=2 * M)
    for kernel in (errno.EINVAL, errno.EEXIST):
        assert SlotAnswer(slot, v, kernel).agree
    assert not SlotAnswer(slot, v, 0).agree
    # a gpa overlap stays EEXIST only
    gpa = m.predict(Region(2, 0, M, M, 1 << 42))
    assert gpa.errno == errno.EEXIST and not gpa.agrees(errno.EINVAL)
