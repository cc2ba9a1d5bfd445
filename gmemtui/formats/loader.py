"""Read FILE, a YAML layout, a QEMU trace or a QEMU monitor dump (detected by content, not name:
``detect``); only the reader of the format found is imported."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from gmemtui.core.errors import InputError
from gmemtui.core.model import Layout, Overrides
from gmemtui.formats.detect import is_dump, is_trace


@dataclass(frozen=True)
class Loaded:
    """A layout and where it came from; for a trace, every state of its replay too."""

    layout: Layout
    path: str
    text: str  # the file's text (what the TUI's save rewrites); "" for a trace
    kind: str  # "yaml", "trace" or "dump" (info mtree -f)
    states: tuple = ()  # trace.TraceState values, one per line that changed something


STDIN = "-"  # FILE "-": standard input, read to its end (docs/commands.md)
STDIN_LABEL = "<stdin>"  # how errors name it: "<stdin>:12: ..."


CHUNK = 1 << 22  # bytes read at a time: a trace is replayed as it is read


@contextlib.contextmanager
def _os_errors(path: str) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from None


def read_text(path: str) -> str:
    with _os_errors(path):
        if path == STDIN:
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    return data.decode("utf-8", errors="replace")


def _pieces(f: io.BufferedIOBase, path: str) -> Iterator[tuple[str, int]]:
    """The text of ``f`` in pieces of whole lines (about CHUNK bytes), each with its first line's
    number. A piece ends at a newline, which is never inside a UTF-8 sequence, so the pieces decode
    to exactly what the whole file decodes to."""
    rest, line = b"", 1
    while True:
        with _os_errors(path):
            block = f.read(CHUNK)
        data = rest + block if rest else block
        if block:
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            data, rest = data[:cut], data[cut:]
        if data:
            text = data.decode("utf-8", errors="replace")
            data = b""
            yield text, line
            line += text.count("\n")
        if not block:
            return


def _converts_memory(path: str) -> bool:
    """Whether the regular file mentions kvm_convert_memory (then the trace replays attributes), in
    a pass that holds one chunk."""
    word = b"kvm_convert_memory"
    try:
        with open(path, "rb") as f:
            tail = b""
            while block := f.read(CHUNK):
                if word in tail + block[: len(word)] or word in block:
                    return True
                tail = block[-len(word):]
    except OSError:
        return True
    return False


def _read(path: str, label: str, overrides: Overrides) -> Loaded | str:
    """A trace replayed as it is read, so memory is what the replay keeps plus one chunk (a
    gigabyte log with a few events in it costs megabytes); anything else: its whole text."""
    if path == STDIN:
        return read_text(path)
    with _os_errors(path):
        f = open(path, "rb")
    with f:
        mode = os.fstat(f.fileno()).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):  # /dev/zero would be read for ever
            raise InputError(f"{path}: is a device (give a file, a pipe or -)")
        pieces = _pieces(f, path)
        before: list[tuple[str, int]] = []  # the pieces up to the first event line that matter
        skipped = False
        for piece in pieces:
            if is_trace(piece[0]):  # a per-line test: no piece boundary can hide an event line
                before.append(piece)
                break
            # before the first event line only conversions change anything; a regular file's other
            # pieces are dropped (read again if it is not a trace), a pipe's kept
            if before and stat.S_ISREG(mode) and "kvm_convert_memory" not in piece[0]:
                skipped = True
            else:
                before.append(piece)
        else:
            return read_text(path) if skipped else "".join(text for text, _ in before)
        from gmemtui.formats.trace import load_trace_pieces

        x86_only(overrides, label, "a QEMU trace")

        def all_pieces() -> Iterator[tuple[str, int]]:
            while before:
                yield before.pop(0)
            yield from pieces

        track = _converts_memory(path) if stat.S_ISREG(mode) else True  # a pipe cannot be read twice
        replay = load_trace_pieces(all_pieces(), label, overrides, track=track)
    # the text is not kept: the states keep the lines that changed something
    return Loaded(overrides.apply(replay.layout), path, "", "trace", replay.states)


def x86_only(overrides: Overrides, label: str, what: str) -> None:
    """Traces and monitor dumps come from QEMU's x86 machines: ``--arch`` cannot make them another."""
    from gmemtui.formats.trace_lines import PLATFORM

    if overrides.arch not in (None, PLATFORM.arch):
        raise InputError(f"--arch {overrides.arch}: {label} is {what}, and those are {PLATFORM.arch} "
                         "(convert it to YAML to look at it as another arch)")


def load(path: str, overrides: Overrides | None = None, text: str | None = None) -> Loaded:
    """Load a layout or trace file; overrides (command-line values) replace the file's settings."""
    overrides = overrides or Overrides()
    label = STDIN_LABEL if path == STDIN else path
    if text is None:
        read = _read(path, label, overrides)
        if isinstance(read, Loaded):
            return read
        text = read
    if is_trace(text):
        from gmemtui.formats.trace import load_trace

        x86_only(overrides, label, "a QEMU trace")
        replay = load_trace(text, label, overrides)
        # the text is not kept: the states keep the lines that changed something (memory follows the
        # changes, not the size of the trace)
        return Loaded(overrides.apply(replay.layout), path, "", "trace", replay.states)
    if is_dump(text):
        from gmemtui.formats.mtree import load_dump

        x86_only(overrides, label, "a QEMU monitor dump")

        return Loaded(load_dump(text, label, overrides), path, text, "dump")
    from gmemtui.formats.yaml_load import load_yaml

    return Loaded(overrides.apply(load_yaml(text, label, overrides.arch)), path, text, "yaml")


def default_layout_path() -> str:
    """The seed layout, shipped as package data so ``gmemtui`` works outside the checkout."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "data",
                        "qemu-snp-seed.yaml")
