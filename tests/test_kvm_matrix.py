"""The memslot validation matrix of docs/kvm-check.md, against the real kernel:
for every case, gmemtui's predicted answer (gmemtui/kvm/predict.py) equals the kernel's errno."""

from __future__ import annotations

import errno
import os

import pytest

from gmemtui.kvm import uapi
from gmemtui.kvm.apply import host_model
from gmemtui.kvm.flavour import detect
from gmemtui.kvm.predict import FileInfo, KernelModel, Region, create_guest_memfd
from gmemtui.kvm.vm import Kvm, Vm, errno_name

pytestmark = pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="no usable /dev/kvm")

M = 1 << 20
G = 1 << 30
FILE_SIZE = 16 * M
LD, RO, GM = uapi.KVM_MEM_LOG_DIRTY_PAGES, uapi.KVM_MEM_READONLY, uapi.KVM_MEM_GUEST_MEMFD
HOST = object()  # "ua = the test's own host memory (+ua_off)"


def S(slot: int = 0, gpa: int = G, size: int = 2 * M, flags: int = 0, ua: object = HOST, ua_off: int = 0,
      fd: object = None, offset: int = 0, v1: bool = False) -> dict:
    return dict(slot=slot, gpa=gpa, size=size, flags=flags, ua=ua, ua_off=ua_off, fd=fd, offset=offset, v1=v1)


# name -> steps; every step is checked (prediction == kernel), not only the last
CASES: dict[str, list[dict]] = {
    "gpa unaligned": [S(gpa=G + 0x800)],
    "size unaligned": [S(size=2 * M + 0x800)],
    "ua unaligned": [S(ua_off=0x800)],
    "4K aligned, not 2M aligned": [S(gpa=G + 0x1000, size=0x5000, ua_off=0x3000)],
    "delete empty slot": [S(size=0)],
    "delete existing slot": [S(), S(size=0)],
    "gpa overlap": [S(), S(slot=1, gpa=G + M)],
    "gpa overlap, other flags": [S(flags=RO), S(slot=1, gpa=G - M, flags=LD)],
    "touching slots": [S(), S(slot=1, gpa=G + 2 * M)],
    "two slots share one ua": [S(), S(slot=1, gpa=2 * G)],
    "slot id 32763": [S(slot=32763)],
    "slot id 32764": [S(slot=32764)],
    "slot id 32767": [S(slot=32767)],
    "address space 1": [S(slot=0x10000)],
    "flag 0x8": [S(flags=0x8)],
    "flag 1<<31": [S(flags=1 << 31)],
    "guest_memfd through v1": [S(flags=GM, fd="g", v1=True)],
    "log_dirty": [S(flags=LD)],
    "readonly": [S(flags=RO)],
    "log_dirty+readonly": [S(flags=LD | RO)],
    "move": [S(), S(gpa=2 * G)],
    "move onto another": [S(), S(slot=1, gpa=2 * G), S(slot=1, gpa=G + M)],
    "resize": [S(), S(size=4 * M)],
    "change ua": [S(), S(ua_off=2 * M)],
    "toggle readonly": [S(), S(flags=RO)],
    "toggle log_dirty on and off": [S(), S(flags=LD), S()],
    "identical re-set": [S(), S()],
    "end at 2^52": [S(gpa=(1 << 52) - 2 * M, ua=1 << 40)],
    "end at 2^52 + 4K": [S(gpa=(1 << 52) - 2 * M + 0x1000, ua=1 << 40)],
    "gpa 2^52": [S(gpa=1 << 52, ua=1 << 40)],
    "gpa wraps": [S(gpa=(1 << 64) - M, ua=1 << 40)],
    "2^31 pages": [S(size=(1 << 31) * 4096, ua=1 << 40, gpa=0)],
    # (2^31-1 pages is accepted too, but makes shadow-paging KVM allocate ~16 GiB of rmaps: not run)
    "ua beyond user VA": [S(ua=1 << 47)],
    "ua + size ends at TASK_SIZE_MAX": [S(ua=(1 << 47) - 4096 - 2 * M)],
    "ua + size ends 4K past TASK_SIZE_MAX": [S(ua=(1 << 47) - 2 * M)],
    "kernel ua": [S(ua=0xFFFF_8000_0000_0000)],
    "unmapped ua": [S(ua=1 << 40)],
    "ua 0": [S(ua=0)],
    "guest_memfd": [S(flags=GM, fd="g")],
    "guest_memfd + readonly": [S(flags=GM | RO, fd="g")],
    "guest_memfd + log_dirty": [S(flags=GM | LD, fd="g")],
    "guest_memfd offset 0x800": [S(flags=GM, fd="g", offset=0x800)],
    "guest_memfd offset 0x1000": [S(flags=GM, fd="g", offset=0x1000)],
    "binding beyond file by 4K": [S(flags=GM, fd="g", offset=FILE_SIZE - 2 * M + 0x1000)],
    "binding ends at file size": [S(flags=GM, fd="g", offset=FILE_SIZE - 2 * M)],
    "binding offset wraps": [S(flags=GM, fd="g", offset=(1 << 64) - M)],
    "binding offset >= 2^63": [S(flags=GM, fd="g", offset=1 << 63)],
    "overlapping bindings": [S(flags=GM, fd="g"), S(slot=1, gpa=2 * G, flags=GM, fd="g", offset=M)],
    "identical bindings": [S(flags=GM, fd="g"), S(slot=1, gpa=2 * G, flags=GM, fd="g")],
    "disjoint bindings": [S(flags=GM, fd="g"), S(slot=1, gpa=2 * G, flags=GM, fd="g", offset=2 * M)],
    "rebind after delete": [S(flags=GM, fd="g"), S(size=0), S(slot=1, gpa=2 * G, flags=GM, fd="g")],
    "guest_memfd slot move": [S(flags=GM, fd="g"), S(gpa=2 * G, flags=GM, fd="g")],
    "guest_memfd slot resize": [S(flags=GM, fd="g"), S(size=4 * M, flags=GM, fd="g")],
    "guest_memfd slot identical": [S(flags=GM, fd="g"), S(flags=GM, fd="g")],
    "guest_memfd slot drops the flag": [S(flags=GM, fd="g"), S()],
    "guest_memfd fd not open": [S(flags=GM, fd="closed")],
    "guest_memfd fd /dev/null": [S(flags=GM, fd="null")],
    "another VM's guest_memfd": [S(flags=GM, fd="other")],
}


@pytest.fixture(scope="module")
def kvm():
    with Kvm() as k:
        yield k


def run_case(kvm: Kvm, steps: list[dict]) -> list[tuple[str, str, str]]:
    """(what gmemtui predicts, what the kernel says, why) for each step, on a fresh VM."""
    flav = detect(kvm)
    with Vm(kvm) as vm, Vm(kvm) as other, open("/dev/null", "rb") as null:
        fds = {"g": vm.create_guest_memfd(FILE_SIZE), "other": other.create_guest_memfd(FILE_SIZE),
               "null": null.fileno(), "closed": 9999}
        infos = {"g": FileInfo("gmem", FILE_SIZE), "other": FileInfo("other-vm"),
                 "null": FileInfo("not-gmem"), "closed": FileInfo("closed")}
        host = vm.map_host(8 * M, 0, 2 * M, True)
        model = KernelModel(host_model(flav, infos))
        out = []
        for st in steps:
            ua = host.addr + st["ua_off"] if st["ua"] is HOST else st["ua"]
            r = Region(st["slot"], st["flags"], st["gpa"], st["size"], ua, st["fd"], st["offset"], st["v1"])
            pred = model.predict(r)
            if r.v1:
                got = vm.set_region1(r.slot, r.flags, r.gpa, r.size, ua)
            else:
                fd = fds.get(r.fd, 0) if r.fd else 0
                got = vm.set_region2(r.slot, r.flags, r.gpa, r.size, ua, fd, r.offset)
            if got == 0:
                model.record(r)
            # a verdict covering several kernels (EINVAL/EEXIST) agrees with any of them
            out.append((errno_name(got) if pred.agrees(got) else pred.name, errno_name(got), pred.why))
        return out


@pytest.mark.parametrize("name", list(CASES))
def test_matrix_case(kvm: Kvm, name: str) -> None:
    results = run_case(kvm, CASES[name])
    for i, (pred, got, why) in enumerate(results):
        assert pred == got, f"{name} step {i}: gmemtui {pred} ({why}), kernel {got}"


def test_matrix_covers_every_answer(kvm: Kvm) -> None:
    """The matrix exercises OK, EINVAL, EEXIST and EBADF (not only the easy answers)."""
    seen = {got for name in ("gpa overlap", "guest_memfd fd not open", "slot id 32764", "log_dirty")
            for _, got, _ in run_case(kvm, CASES[name])}
    assert {"OK", "EINVAL", "EEXIST", "EBADF"} <= seen


@pytest.mark.parametrize("size,flags", [(2 * M, 0), (2 * M, 1), (2 * M, 2), (2 * M, 3), (2 * M, 4),
                                        (2 * M, 1 << 63), (0, 0), (2 * M + 0x800, 0), (1 << 40, 0),
                                        ((1 << 63) - 4096, 0)])
def test_create_guest_memfd(kvm: Kvm, size: int, flags: int) -> None:
    flav = detect(kvm)
    pred = create_guest_memfd(size, flags, flav.caps.get("GUEST_MEMFD_FLAGS", 0))
    with Vm(kvm) as vm:
        try:
            vm.create_guest_memfd(size, flags)
            got = 0
        except OSError as e:
            got = e.errno or errno.EIO
    assert pred.name == errno_name(got), pred.why
