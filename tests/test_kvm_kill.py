"""A ``check --kvm --levels`` killed outright (SIGKILL) leaves nothing the next run does not remove
(docs/kvm-check-cleanup.md): no tracefs mount, no tracing instance, nothing in the temporary folder.

The real command runs on the real /dev/kvm and is killed at several points of its life; what is left
is read from /proc/mounts, the tracing instances (through a detached tracefs mount of the test's
own) and the temporary folder, before and after the next run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gmemtui.formats import fileio
from gmemtui.kvm import levels

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "layouts" / "qemu-snp-seed.yaml")

pytestmark = pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="no usable /dev/kvm")


@pytest.fixture(scope="module")
def instances() -> Iterator[Path]:
    """The tracing instances directory, seen through a tracefs mount of this test only."""
    root = levels._tracefs_mount()
    fd = -1
    if root is None:
        fd = levels._detached_tracefs()
        if fd < 0:
            pytest.skip("tracefs cannot be mounted here (needs CAP_SYS_ADMIN and Linux 5.2)")
        root = f"/proc/self/fd/{fd}"
    if not os.path.exists(os.path.join(root, "events", levels.EVENT)):
        pytest.skip("tracefs has no kvmmmu:kvm_mmu_set_spte event")
    yield Path(root) / "instances"
    if fd >= 0:
        os.close(fd)


@pytest.fixture(scope="module")
def many_slots(tmp_path_factory) -> str:
    """300 slots of 4 MiB: a run takes a few seconds, the guest most of it."""
    path = tmp_path_factory.mktemp("kill") / "many.yaml"
    lines = ["name: many slots", "slots:"]
    for i in range(300):
        lines.append(f"  - {{slot: {i}, gpa: {i * 0x400000:#x}, size: 0x400000, "
                     f"ua: {0x7F0000000000 + i * 0x400000:#x}}}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def gmemtui(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gmemtui", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def mine(instances: Path, pid: int) -> list[str]:
    return [n for n in os.listdir(instances) if n.startswith(f"gmemtui-{pid}-") or n == f"gmemtui-{pid}"]


def leftovers(pid: int) -> list[str]:
    """Every trace of ``pid`` outside tracefs: mounts and entries of the temporary folder. (Only its
    own: other gmemtui runs on this machine, older versions too, may have a mount right now.)"""
    with open("/proc/mounts") as f:
        mounts = [line for line in f if f"{levels.MOUNT_PREFIX}{pid}-" in line]
    tmp = [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(f"{levels.MOUNT_PREFIX}{pid}-")]
    return mounts + tmp


def wait_for(cond, proc: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if cond():
            return True
        time.sleep(0.005)
    return False


# when to kill: seconds after the start, or after the tracing instance appeared
POINTS = [("start", 0.05), ("start", 0.3), ("instance", 0.0), ("instance", 0.4), ("instance", 1.2)]


@pytest.mark.parametrize("when,delay", POINTS, ids=[f"{w}+{d}s" for w, d in POINTS])
def test_sigkill_leaves_nothing_after_the_next_run(instances: Path, many_slots: str, when: str,
                                                   delay: float) -> None:
    proc = gmemtui("check", many_slots, "--kvm", "--levels")
    try:
        if when == "instance":
            assert wait_for(lambda: mine(instances, proc.pid), proc), "the run made no tracing instance"
        time.sleep(delay)
        assert proc.poll() is None, "the run ended before the kill: make the layout bigger"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    dead = proc.pid
    assert leftovers(dead) == []  # the tracefs mount was detached: it died with the process
    if when == "instance":
        assert mine(instances, dead), "killed while tracing: its instance is still there (kernel state)"
    nxt = gmemtui("check", SEED, "--kvm")
    assert nxt.wait(timeout=120) == 0
    assert mine(instances, dead) == []
    assert leftovers(dead) == []


def test_sigterm_cleans_up_before_exiting(instances: Path, many_slots: str) -> None:
    proc = gmemtui("check", many_slots, "--kvm", "--levels")
    try:
        assert wait_for(lambda: mine(instances, proc.pid), proc), "the run made no tracing instance"
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    assert mine(instances, proc.pid) == [] and leftovers(proc.pid) == []


def dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_sweep_removes_only_dead_processes_of_this_namespace(instances: Path) -> None:
    ns = fileio.pid_namespace()
    dead = dead_pid()
    names = {
        f"gmemtui-{dead}-{ns}": False,  # dead, this namespace: swept (event enabled, as a kill leaves it)
        f"gmemtui-{dead}": False,  # the name of versions before the namespace tag
        f"gmemtui-{os.getppid()}-{ns}": True,  # alive
        f"gmemtui-{dead}-{ns + 1}": True,  # another PID namespace: its process may be alive
        "gmemtui-other-tool": True,
    }
    try:
        for name in names:
            os.mkdir(instances / name)
        with open(instances / f"gmemtui-{dead}-{ns}" / "events" / levels.EVENT / "enable", "w") as f:
            f.write("1")
        removed = levels.sweep_instances(str(instances.parent))
        assert sorted(removed) == sorted(n for n, keep in names.items() if not keep)
        assert {n: (instances / n).exists() for n in names} == names
    finally:
        for name in names:
            if (instances / name).exists():
                os.rmdir(instances / name)


def test_the_next_run_says_what_it_removed(instances: Path) -> None:
    import io

    from gmemtui.commands.check import check_kvm
    from gmemtui.formats.loader import load

    name = f"gmemtui-{dead_pid()}-{fileio.pid_namespace()}"
    os.mkdir(instances / name)
    out = io.StringIO()
    try:
        assert check_kvm(load(SEED).layout, out=out) == 0
    finally:
        if (instances / name).exists():
            os.rmdir(instances / name)
    assert f"kvm: removed what a run killed earlier left: {name}\n" in out.getvalue()


def test_sweep_unmounts_a_dead_run_s_temporary_mount_point(tmp_path: Path) -> None:
    """The fallback of kernels without fsmount: a mount point in the temporary folder, named with the PID."""
    ns = fileio.pid_namespace()
    dead = dead_pid()
    stale = tmp_path / f"{levels.MOUNT_PREFIX}{dead}-{ns}-abcd1234"
    alive = tmp_path / f"{levels.MOUNT_PREFIX}{os.getppid()}-{ns}-abcd1234"
    stale.mkdir()
    alive.mkdir()
    if levels._libc.mount(b"nodev", str(stale).encode(), b"tracefs", 0, None) != 0:
        pytest.skip("cannot mount tracefs here")
    try:
        assert levels.sweep_mount_dirs(str(tmp_path)) == [str(stale)]
        with open("/proc/mounts") as f:
            assert str(stale) not in f.read()
        assert not stale.exists() and alive.exists()
    finally:
        levels._libc.umount2(str(stale).encode(), levels.MNT_DETACH)
