"""What KVM really installed: binary stats (``pages_4k/2m/1g``), per mapping from tracefs, and
whether the host supplied a huge page behind an address (pagemap + kpageflags).

The trace uses a tracing *instance* of its own (``instances/gmemtui-PID-NS``): its ring buffer, event
enables and pid filter are private, so no global tracing setting is touched, and removing the
instance (rmdir) undoes everything. Where tracefs is not mounted, it is mounted *detached*
(``fsopen``/``fsmount``): the mount exists only as a file descriptor of this process, so it dies
with the process, even by SIGKILL. Only on a kernel without the new mount API (before 5.2) is it
mounted on a temporary directory ``gmemtui-tracefs-PID-NS-*``. A run killed outright can leave its
instance (instances are kernel state) and that directory; every run sweeps those of dead PIDs first
(``sweep_leftovers``, docs/kvm-check-cleanup.md).
"""

from __future__ import annotations

import ctypes
import os
import re
import tempfile
from dataclasses import dataclass

from gmemtui.formats.fileio import pid_alive, pid_namespace

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]

EVENT = "kvmmmu/kvm_mmu_set_spte"
_LINE = re.compile(r"kvm_mmu_set_spte: gfn ([0-9a-f]+) spte [0-9a-f]+ \(\S*\) level (\d+)")
KPF_THP = 22  # include/uapi/linux/kernel-page-flags.h


@dataclass(frozen=True)
class Mapping:
    """One leaf mapping KVM installed: ``level`` 1 = base page (x86 PG_LEVEL_4K), 2 = next size ..."""

    gfn: int
    level: int


class TraceUnavailable(Exception):
    pass


MOUNT_PREFIX = "gmemtui-tracefs-"
INSTANCE_PREFIX = "gmemtui-"
MNT_DETACH = 2
# The new mount API (Linux 5.2): the syscall numbers are the same on every architecture.
_SYS_FSOPEN, _SYS_FSCONFIG, _SYS_FSMOUNT = 430, 431, 432
_FSOPEN_CLOEXEC = _FSMOUNT_CLOEXEC = 1
_FSCONFIG_CMD_CREATE = 6
_libc.syscall.restype = ctypes.c_long


def _detached_tracefs() -> int:
    """A tracefs mount attached nowhere, as an fd (-1 if this kernel or its seccomp policy refuses)."""
    fs = _libc.syscall(_SYS_FSOPEN, b"tracefs", _FSOPEN_CLOEXEC)
    if fs < 0:
        return -1
    try:
        if _libc.syscall(_SYS_FSCONFIG, fs, _FSCONFIG_CMD_CREATE, None, None, 0) != 0:
            return -1
        mnt = _libc.syscall(_SYS_FSMOUNT, fs, _FSMOUNT_CLOEXEC, 0)
        return int(mnt) if mnt >= 0 else -1
    finally:
        os.close(fs)


def own_tag() -> str:
    """``PID-NS``: this process and its PID namespace (a PID means nothing in another namespace,
    and tracefs instances are seen by every container of the machine)."""
    return f"{os.getpid()}-{pid_namespace()}"


def _leftover_pid(name: str, prefix: str) -> int | None:
    """The PID of ``prefix + PID-NS[-...]`` if that process of this PID namespace is gone (or is
    this one, which has not made it yet: a dead process had the same PID), else None. A name of
    another namespace is never a leftover to this run (its process may be alive)."""
    rest = name[len(prefix):] if name.startswith(prefix) else ""
    parts = rest.split("-")
    if not all(p.isascii() and p.isdigit() for p in parts[:2]):
        return None
    if len(parts) == 1 and prefix != INSTANCE_PREFIX:
        return None
    pid = int(parts[0][:10])
    if len(parts) > 1 and int(parts[1][:24]) != pid_namespace() or not 0 < pid <= 0x3FFFFFFF:
        return None  # (``gmemtui-PID``, of versions before the namespace tag, is judged by its PID)
    return pid if pid == os.getpid() or not pid_alive(pid) else None


def sweep_instances(root: str) -> list[str]:
    """Remove the tracing instances ``gmemtui-PID-NS`` of dead processes; the names removed."""
    removed = []
    try:
        names = os.listdir(os.path.join(root, "instances"))
    except OSError:
        return removed
    for name in names:
        if _leftover_pid(name, INSTANCE_PREFIX) is None:
            continue
        inst = os.path.join(root, "instances", name)
        try:
            with open(os.path.join(inst, "events", EVENT, "enable"), "w") as f:
                f.write("0")
        except OSError:
            pass
        try:
            os.rmdir(inst)
            removed.append(name)
        except OSError:
            pass
    return removed


def sweep_mount_dirs(tmp: str | None = None) -> list[str]:
    """Unmount and remove the temporary tracefs mount points of dead gmemtui processes."""
    tmp = tmp or tempfile.gettempdir()
    removed = []
    try:
        names = os.listdir(tmp)
    except OSError:
        return removed
    for name in names:
        if _leftover_pid(name, MOUNT_PREFIX) is None:
            continue
        path = os.path.join(tmp, name)
        while _libc.umount2(path.encode(), MNT_DETACH) == 0:  # mounted more than once: all of them
            pass
        try:
            os.rmdir(path)
            removed.append(path)
        except OSError:
            pass
    return removed


def sweep_leftovers() -> list[str]:
    """What runs killed outright (SIGKILL) left: their tracing instances and temporary mount points.

    Cheap: two directory listings and, where tracefs is not mounted, a detached mount that is gone
    when this returns. The names removed are returned (check prints them).
    """
    removed = sweep_mount_dirs()
    root = _tracefs_mount()
    fd = -1
    if root is None:
        fd = _detached_tracefs()
        if fd < 0:
            return removed
        root = f"/proc/self/fd/{fd}"
    try:
        return removed + sweep_instances(root)
    finally:
        if fd >= 0:
            os.close(fd)


def _tracefs_mount() -> str | None:
    """Where tracefs is mounted, not counting another gmemtui's temporary mount (it may vanish)."""
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and parts[2] == "tracefs" and MOUNT_PREFIX not in parts[1]:
                    return parts[1]
    except OSError:
        pass
    return None


class SpteTrace:
    """Records ``kvmmmu:kvm_mmu_set_spte`` of this process in a private tracing instance."""

    def __init__(self, frames: int) -> None:
        self._mounted: str | None = None
        self._mount_fd = -1
        self.instance: str | None = None
        root = _tracefs_mount()
        try:
            if root is None:
                self._mount_fd = _detached_tracefs()
                if self._mount_fd >= 0:
                    root = f"/proc/self/fd/{self._mount_fd}"
            if root is None:
                root = tempfile.mkdtemp(prefix=f"{MOUNT_PREFIX}{own_tag()}-")
                if _libc.mount(b"nodev", root.encode(), b"tracefs", 0, None) != 0:
                    err = ctypes.get_errno()
                    os.rmdir(root)
                    raise TraceUnavailable(f"cannot mount tracefs: {os.strerror(err)}")
                self._mounted = root
            if not os.path.exists(os.path.join(root, "events", EVENT)):
                raise TraceUnavailable("tracefs has no kvmmmu:kvm_mmu_set_spte event")
            sweep_instances(root)
            inst = os.path.join(root, "instances", f"{INSTANCE_PREFIX}{own_tag()}")
            try:
                os.mkdir(inst)
            except OSError as e:
                raise TraceUnavailable(f"cannot create a tracing instance: {e.strerror}") from None
            self.instance = inst
            # ~48 bytes per event in the ring buffer; all of them may land on one CPU
            kb = max(2048, frames * 64 // 1024 + 1024)
            self._write("buffer_size_kb", str(kb))
            self._write("set_event_pid", str(os.getpid()))
            self._write(f"events/{EVENT}/enable", "1")
        except BaseException:
            self.close()
            raise

    def _write(self, name: str, value: str) -> None:
        assert self.instance is not None
        with open(os.path.join(self.instance, name), "w") as f:
            f.write(value)

    def read(self) -> tuple[list[Mapping], bool]:
        """The mappings recorded so far, in order, and whether events were lost."""
        assert self.instance is not None
        self._write(f"events/{EVENT}/enable", "0")
        out: list[Mapping] = []
        lost = False
        with open(os.path.join(self.instance, "trace")) as f:
            for line in f:
                m = _LINE.search(line)
                if m:
                    out.append(Mapping(int(m.group(1), 16), int(m.group(2))))
                elif "LOST" in line and "EVENTS" in line:
                    lost = True
        return out, lost

    def close(self) -> None:
        if self.instance is not None:
            try:
                self._write(f"events/{EVENT}/enable", "0")
            except OSError:
                pass
            try:
                os.rmdir(self.instance)
            except OSError:
                pass
            self.instance = None
        if self._mounted is not None:
            if _libc.umount2(self._mounted.encode(), 0) != 0:
                _libc.umount2(self._mounted.encode(), MNT_DETACH)  # busy: detach now, freed when unused
            try:
                os.rmdir(self._mounted)
            except OSError:
                pass
            self._mounted = None
        if self._mount_fd >= 0:
            os.close(self._mount_fd)  # the detached mount goes with its last fd
            self._mount_fd = -1

    def __enter__(self) -> SpteTrace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HostPages:
    """Whether the host backs a virtual address range with one huge page (a THP), read from
    /proc/self/pagemap (pfn) and /proc/kpageflags (KPF_THP): KVM's ``host_pfn_mapping_level`` can
    only map what the host mapped."""

    def __init__(self) -> None:
        try:
            self._pagemap = os.open("/proc/self/pagemap", os.O_RDONLY)
        except OSError:
            self._pagemap = -1
        try:
            self._flags = os.open("/proc/kpageflags", os.O_RDONLY)
        except OSError:
            self._flags = -1

    @property
    def available(self) -> bool:
        return self._pagemap >= 0 and self._flags >= 0

    def huge(self, va: int, size: int, base: int = 4096) -> bool | None:
        """True if ``[va, va+size)`` is one THP, False if not, None if it cannot be told."""
        if not self.available:
            return None
        n = size // base
        raw = os.pread(self._pagemap, 8 * n, (va // base) * 8)
        if len(raw) < 8 * n:
            return None
        first = int.from_bytes(raw[:8], "little")
        if not first >> 63:
            return False  # not present
        pfn = first & ((1 << 55) - 1)
        if pfn == 0:
            return None  # pfns hidden (no CAP_SYS_ADMIN)
        if pfn % n:
            return False
        last = int.from_bytes(raw[-8:], "little")
        if not last >> 63 or (last & ((1 << 55) - 1)) != pfn + n - 1:
            return False
        flags = os.pread(self._flags, 8, pfn * 8)
        return len(flags) == 8 and bool(int.from_bytes(flags, "little") >> KPF_THP & 1)

    def close(self) -> None:
        for fd in (self._pagemap, self._flags):
            if fd >= 0:
                os.close(fd)
        self._pagemap = self._flags = -1
