"""What KVM really installed: binary stats (``pages_4k/2m/1g``), per mapping from tracefs, and
whether the host supplied a huge page behind an address (pagemap + kpageflags).

The trace uses a tracing *instance* of its own (``instances/gmemtui-PID``): its ring buffer, event
enables and pid filter are private, so no global tracing setting is touched, and removing the
instance (rmdir) undoes everything. tracefs is mounted on a temporary directory of this process
only when it is not mounted elsewhere (another gmemtui's temporary mount does not count: it may
vanish), and unmounted after (detached if something still holds it).
"""

from __future__ import annotations

import ctypes
import os
import re
import tempfile
from dataclasses import dataclass

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
MNT_DETACH = 2


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
        self.instance: str | None = None
        root = _tracefs_mount()
        try:
            if root is None:
                root = tempfile.mkdtemp(prefix=MOUNT_PREFIX)
                if _libc.mount(b"nodev", root.encode(), b"tracefs", 0, None) != 0:
                    err = ctypes.get_errno()
                    os.rmdir(root)
                    raise TraceUnavailable(f"cannot mount tracefs: {os.strerror(err)}")
                self._mounted = root
            if not os.path.exists(os.path.join(root, "events", EVENT)):
                raise TraceUnavailable("tracefs has no kvmmmu:kvm_mmu_set_spte event")
            inst = os.path.join(root, "instances", f"gmemtui-{os.getpid()}")
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
