"""Output files are replaced by rename only if they are regular files (or new): a device node, a FIFO,
a socket or a directory is refused with one line, exit 2, whatever --force says; a symlink keeps
pointing where it pointed and its target is replaced."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from gmemtui.cli import main
from gmemtui.formats.fileio import atomic_write

ROOT = Path(__file__).resolve().parent.parent
SEED_TRACE = str(ROOT / "layouts" / "qemu-snp-seed.trace")


def convert(out: Path, *extra: str) -> int:
    return main(["convert", SEED_TRACE, "-o", str(out), *extra])


def assert_refused(capsys, out: Path, kind: str) -> None:
    err = capsys.readouterr().err
    assert err == f"gmemtui: {out} is {kind}: only a regular file (or a new path) is written\n"


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_fifo_is_refused(capsys, fifo: Path, force: list[str]) -> None:
    assert convert(fifo, *force) == 2
    assert_refused(capsys, fifo, "a FIFO")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(fifo.parent) == ["fifo"]  # no temporary file left


def test_socket_is_refused(capsys, tmp_path: Path) -> None:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        assert convert(path, "--force") == 2
    assert_refused(capsys, path, "a socket")
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_directory_is_refused(capsys, tmp_path: Path) -> None:
    path = tmp_path / "dir"
    path.mkdir()
    assert convert(path, "--force") == 2
    assert_refused(capsys, path, "a directory")
    assert path.is_dir() and not any(path.iterdir())


@pytest.mark.parametrize("kind,mode,name", [
    ("a character device", stat.S_IFCHR, "null"),  # a copy of /dev/null, major 1 minor 3
    ("a character device", stat.S_IFCHR, "zero"),
])
def test_device_node_is_refused(capsys, tmp_path: Path, kind: str, mode: int, name: str) -> None:
    path = tmp_path / name
    try:
        os.mknod(path, mode | 0o666, os.makedev(1, 3 if name == "null" else 5))
    except PermissionError:
        pytest.skip("mknod needs CAP_MKNOD (run as root)")
    assert convert(path, "--force") == 2
    assert_refused(capsys, path, kind)
    assert stat.S_ISCHR(os.lstat(path).st_mode)


def test_symlink_to_fifo_is_refused(capsys, tmp_path: Path, fifo: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(fifo)
    assert convert(link, "--force") == 2
    assert_refused(capsys, link, "a FIFO")
    assert os.readlink(link) == str(fifo) and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_symlink_keeps_pointing_and_its_target_is_replaced(capsys, tmp_path: Path) -> None:
    target = tmp_path / "real.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "link.yaml"
    link.symlink_to("real.yaml")
    assert convert(link) == 2  # exists: --force needed, nothing touched
    assert capsys.readouterr().err == f"gmemtui: {link} exists (use --force)\n"
    assert convert(link, "--force") == 0
    assert os.readlink(link) == "real.yaml"
    assert target.read_text().startswith("# Converted by `gmemtui convert`")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["link.yaml", "real.yaml"]


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to("made.yaml")
    assert convert(link, "--force") == 0
    assert os.path.islink(link) and (tmp_path / "made.yaml").read_text().startswith("# Converted")


def test_new_and_regular_paths_are_written(tmp_path: Path) -> None:
    out = tmp_path / "new.yaml"
    assert convert(out) == 0
    first = out.read_text()
    assert convert(out, "--force", "--policy", "whole-binding") == 0
    assert out.read_text() != first


def test_atomic_write_refuses_a_fifo_too(fifo: Path) -> None:
    """The TUI saves an opened YAML file with atomic_write: the same rule holds there."""
    from gmemtui.core.errors import InputError

    with pytest.raises(InputError, match="is a FIFO"):
        atomic_write(str(fifo), "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
