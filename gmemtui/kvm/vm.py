"""A throwaway VM: /dev/kvm, one VM fd, guest_memfd files, memslots and the host memory behind them.

Everything is owned by a ``contextlib.ExitStack``: closing the ``Vm`` closes every fd and unmaps
every mapping it made, whatever failed on the way (the kernel then frees the VM and its files).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
from dataclasses import dataclass

from gmemtui.kvm import uapi

PROT_READ, PROT_WRITE = 1, 2
MAP_PRIVATE, MAP_ANONYMOUS, MAP_NORESERVE = 0x02, 0x20, 0x4000
MADV_HUGEPAGE, MADV_NOHUGEPAGE = 14, 15
MADV_POPULATE_READ, MADV_POPULATE_WRITE = 22, 23
MAP_FAILED = ctypes.c_void_p(-1).value

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


DEVICE = "/dev/kvm"


class KvmUnavailable(Exception):
    """/dev/kvm is absent, not permitted, or lacks what is needed: ``check`` skips with this line."""


def _ioctl(fd: int, request: int, arg: object = 0) -> int:
    return fcntl.ioctl(fd, request, arg)


def ioctl_errno(fd: int, request: int, arg: object = 0) -> int:
    """The ioctl's errno (0 on success), for calls whose failure is an answer, not an accident."""
    try:
        fcntl.ioctl(fd, request, arg)
    except OSError as e:
        return e.errno or errno.EIO
    return 0


def errno_name(code: int) -> str:
    return "OK" if code == 0 else errno.errorcode.get(code, str(code))


def mmap_anon(size: int) -> int:
    addr = _libc.mmap(None, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    if addr in (None, MAP_FAILED):
        e = ctypes.get_errno()
        raise OSError(e, f"mmap of {size:#x} bytes: {os.strerror(e)}")
    return addr


def munmap(addr: int, size: int) -> None:
    _libc.munmap(addr, size)


def madvise(addr: int, size: int, advice: int) -> int:
    """0 or the errno (advice is best effort: an old kernel may not know POPULATE_*)."""
    if _libc.madvise(addr, size, advice) != 0:
        return ctypes.get_errno()
    return 0


class Kvm:
    """/dev/kvm, opened; ``cap`` asks KVM_CHECK_EXTENSION."""

    def __init__(self, path: str | None = None) -> None:
        path = path or DEVICE
        if not os.path.exists(path):
            raise KvmUnavailable(f"{path} does not exist (no KVM on this machine)")
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except PermissionError:
            raise KvmUnavailable(f"{path}: permission denied (run as root or join the kvm group)") from None
        except OSError as e:
            raise KvmUnavailable(f"{path}: {e.strerror}") from None
        try:
            version = _ioctl(self.fd, uapi.KVM_GET_API_VERSION)
        except OSError as e:
            self.close()
            raise KvmUnavailable(f"{path}: KVM_GET_API_VERSION failed: {e.strerror}") from None
        if version != uapi.KVM_API_VERSION:
            self.close()
            raise KvmUnavailable(f"{path}: KVM API version {version}, expected {uapi.KVM_API_VERSION}")

    def cap(self, cap: int, fd: int | None = None) -> int:
        try:
            return _ioctl(self.fd if fd is None else fd, uapi.KVM_CHECK_EXTENSION, cap)
        except OSError:
            return 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Kvm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class HostMapping:
    """Anonymous memory for one slot: ``addr`` is congruent with the layout's ua modulo ``align``."""

    base: int  # what mmap returned (unmapped on close)
    length: int
    addr: int  # the userspace_addr given to KVM
    size: int


class Vm:
    """A VM (``KVM_CREATE_VM`` type 0) and everything made for it."""

    def __init__(self, kvm: Kvm, vm_type: int = 0) -> None:
        self.kvm = kvm
        self._stack = contextlib.ExitStack()
        try:
            self.fd = _ioctl(kvm.fd, uapi.KVM_CREATE_VM, vm_type)
        except OSError as e:
            raise KvmUnavailable(f"KVM_CREATE_VM failed: {e.strerror}") from None
        self._stack.callback(os.close, self.fd)

    def cap(self, cap: int) -> int:
        """KVM_CHECK_EXTENSION on the VM fd (the answer for this VM type)."""
        return self.kvm.cap(cap, self.fd)

    def create_guest_memfd(self, size: int, flags: int = 0) -> int:
        """A guest_memfd fd (closed with the VM); raises OSError with the kernel's errno."""
        arg = uapi.kvm_create_guest_memfd(size=size, flags=flags)
        fd = _ioctl(self.fd, uapi.KVM_CREATE_GUEST_MEMFD, arg)
        self._stack.callback(os.close, fd)
        return fd

    def set_region2(self, slot: int, flags: int, gpa: int, size: int, ua: int,
                    guest_memfd: int = 0, offset: int = 0) -> int:
        """KVM_SET_USER_MEMORY_REGION2; the errno (0 = accepted)."""
        r = uapi.kvm_userspace_memory_region2(slot=slot, flags=flags, guest_phys_addr=gpa, memory_size=size,
                                              userspace_addr=ua, guest_memfd_offset=offset,
                                              guest_memfd=guest_memfd)
        return ioctl_errno(self.fd, uapi.KVM_SET_USER_MEMORY_REGION2, r)

    def set_region1(self, slot: int, flags: int, gpa: int, size: int, ua: int) -> int:
        r = uapi.kvm_userspace_memory_region(slot=slot, flags=flags, guest_phys_addr=gpa, memory_size=size,
                                             userspace_addr=ua)
        return ioctl_errno(self.fd, uapi.KVM_SET_USER_MEMORY_REGION, r)

    def map_host(self, size: int, ua: int, align: int, huge: bool) -> HostMapping:
        """Anonymous MAP_NORESERVE memory whose address is congruent with ``ua`` modulo ``align``,
        advised MADV_HUGEPAGE (THP allowed) or MADV_NOHUGEPAGE (host pages stay 4K)."""
        length = size + align
        base = mmap_anon(length)
        self._stack.callback(munmap, base, length)
        addr = base + ((ua - base) % align)
        madvise(addr, size, MADV_HUGEPAGE if huge else MADV_NOHUGEPAGE)
        return HostMapping(base, length, addr, size)

    def stats(self) -> dict[str, int]:
        """The VM's binary stats (KVM_GET_STATS_FD): name -> first value."""
        fd = _ioctl(self.fd, uapi.KVM_GET_STATS_FD)
        try:
            return read_stats(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Vm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def push(self, callback: object, *args: object) -> None:
        """Run ``callback(*args)`` when the VM closes (before earlier-registered cleanups)."""
        self._stack.callback(callback, *args)  # type: ignore[arg-type]


def read_stats(fd: int) -> dict[str, int]:
    """Parse a binary stats fd (Documentation/virt/kvm/api.rst, 4.133 KVM_GET_STATS_FD)."""
    hdr = uapi.kvm_stats_header.from_buffer_copy(os.pread(fd, ctypes.sizeof(uapi.kvm_stats_header), 0))
    dsize = ctypes.sizeof(uapi.kvm_stats_desc) + hdr.name_size
    descs = os.pread(fd, dsize * hdr.num_desc, hdr.desc_offset)
    out: dict[str, int] = {}
    for i in range(hdr.num_desc):
        raw = descs[i * dsize:(i + 1) * dsize]
        d = uapi.kvm_stats_desc.from_buffer_copy(raw)
        name = raw[ctypes.sizeof(uapi.kvm_stats_desc):].split(b"\0", 1)[0].decode()
        data = os.pread(fd, 8, hdr.data_offset + d.offset)
        out[name] = int.from_bytes(data, "little")
    return out
