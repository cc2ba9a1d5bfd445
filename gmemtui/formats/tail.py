"""Bytes added to a growing file, or written into a pipe, since the last look; never blocking.

``gmemtui --follow FILE`` tails the file QEMU logs to (``-D FILE``): a regular file has no "wait for
data" (select/epoll say it is always readable), so it is polled, and a read that returns nothing
only means "nothing new yet". ``gmemtui -`` reads a pipe: its descriptor is made non-blocking, so a
look returns what is buffered and the app never hangs on a quiet QEMU; an empty read there means the
writer closed it (the end of the input). A file that shrinks was truncated (QEMU opened its ``-D``
file again when it restarted): the tail says so and starts again from the top.
"""

from __future__ import annotations

import os
import stat

from gmemtui.core.errors import InputError

CHUNK = 1 << 16
LIMIT = 4 << 20  # at most this much per look, so the app stays responsive behind `cat huge.trace |`


class Tail:
    """One input: ``read()`` returns the new bytes (``b""``: nothing new), or None at the end of a pipe."""

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name
        mode = os.fstat(fd).st_mode
        self.is_file = stat.S_ISREG(mode)
        if not self.is_file:
            os.set_blocking(fd, False)
        self.offset = 0  # bytes of a regular file read so far
        self.truncated = False  # set by a read that found the file shorter than what was read
        self.ended = False

    @classmethod
    def open(cls, path: str) -> Tail:
        """Open ``path`` to follow it. A named pipe (``mkfifo``) is opened the way ``cat`` does,
        waiting for its writer: opened without waiting, it would read as ended before QEMU started."""
        try:
            fifo = stat.S_ISFIFO(os.stat(path).st_mode)
            fd = os.open(path, os.O_RDONLY | (0 if fifo else os.O_NONBLOCK))
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except OSError as e:
            raise InputError(f"{path}: {e.strerror}") from None
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.close(fd)
            raise InputError(f"{path}: is a directory")
        return cls(fd, path)

    def fileno(self) -> int:
        return self.fd

    def read(self, limit: int = LIMIT) -> bytes | None:
        if self.ended:
            return None
        self.truncated = False
        if self.is_file and os.fstat(self.fd).st_size < self.offset:
            os.lseek(self.fd, 0, os.SEEK_SET)
            self.offset = 0
            self.truncated = True
        parts: list[bytes] = []
        got = 0
        while got < limit:
            try:
                data = os.read(self.fd, min(CHUNK, limit - got))
            except BlockingIOError:
                break
            if not data:
                if not self.is_file:  # the writer closed the pipe
                    self.ended = True
                    if not parts:
                        return None
                break
            parts.append(data)
            got += len(data)
        self.offset += got
        return b"".join(parts)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
