"""Writing files safely: atomically (docs/formats.md, saving) and never over an existing file unasked
(docs/commands.md, convert).

Replace-by-rename is right for a regular file only: renamed over a device node, a FIFO or a socket
it would turn ``/dev/null`` into a regular file. So the target (after following symlinks, so a link
keeps pointing where it pointed) must be a regular file or not exist; anything else is refused
whatever ``--force`` says.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile

from gmemtui.core.errors import InputError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


class FileExists(InputError):
    """The output file exists and overwriting was not asked for (the TUI then asks)."""


def pid_namespace() -> int:
    """The inode of this process's PID namespace: a PID means something only within it."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temp_prefix(target: str) -> str:
    """Name prefix of the temporary file beside ``target``. It carries the PID and its namespace, so
    a sweep can tell a dead writer's leftover (SIGKILL during a save) from a live writer's file."""
    return f".{os.path.basename(target)}.gmemtui-{os.getpid()}-{pid_namespace()}."


# .NAME.gmemtui-PID-NS.XXXXXXXX.tmp, as tempfile.mkstemp names it with temp_prefix()
_TEMP_RE = re.compile(r"\..+\.gmemtui-([0-9]{1,10})-([0-9]{1,24})\.[a-z0-9_]{8}\.tmp", re.ASCII)


def sweep_temp_files(directory: str) -> list[str]:
    """Remove the temporary files of saves killed before their rename (by dead processes of this
    PID namespace) from ``directory``; the paths removed. The TUI runs it where it saves."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    ns = pid_namespace()
    for name in names:
        m = _TEMP_RE.fullmatch(name)
        if m is None or int(m.group(2)) != ns:
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and (pid == 0 or pid_alive(pid)):
            continue
        path = os.path.join(directory, name)
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
                removed.append(path)
        except OSError:
            pass
    return removed


def not_regular(path: str) -> str | None:
    """What ``path`` is (after symlinks) if it exists and is not a regular file, else None."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def refuse_special(path: str) -> None:
    kind = not_regular(path)
    if kind is not None:
        raise InputError(f"{path} is {kind}: only a regular file (or a new path) is written")


def atomic_write(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old file or the new one, never half.

    A temporary file in the same directory (so ``os.replace`` is a rename within one filesystem)
    is written, fsynced, given the old file's mode (and owner, where permitted), and renamed over
    the target; the directory is fsynced so the rename survives a crash. On any failure the old file
    is untouched and the temporary file removed. A symlink is followed: its target is replaced, the
    link stays. A target that exists and is not a regular file raises InputError, untouched.
    """
    refuse_special(path)
    target = os.path.realpath(path)
    directory = os.path.dirname(target) or "."
    owner = None
    try:
        st = os.stat(target)
        mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if owner is not None and owner != (os.getuid(), os.getgid()):
            with contextlib.suppress(OSError):
                os.chown(tmp, *owner)
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
    """Write ``path`` atomically; refuse to overwrite an existing file unless ``force``, and a
    directory, device, FIFO or socket always."""
    refuse_special(path)
    if os.path.lexists(path) and not force:
        raise FileExists(f"{path} exists (use --force)")
    try:
        atomic_write(path, text)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
