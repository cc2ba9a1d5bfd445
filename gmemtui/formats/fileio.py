"""Writing files safely: atomically (docs/formats.md, saving) and never over an existing file unasked
(docs/commands.md, convert)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from gmemtui.core.errors import InputError


def atomic_write(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old file or the new one, never half.

    A temporary file in the same directory (so ``os.replace`` is a rename within one filesystem)
    is written, fsynced, given the old file's mode, and renamed over the target; the directory is
    fsynced so the rename survives a crash. On any failure the old file is untouched and the
    temporary file removed. A symlink is followed: its target is replaced, the link stays.
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(target) or "."
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def write_new(path: str, text: str, force: bool) -> None:
    """Write ``path`` atomically; refuse to overwrite an existing file unless ``force``."""
    if os.path.lexists(path) and not force:
        raise InputError(f"{path} exists (use --force)")
    try:
        atomic_write(path, text)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
