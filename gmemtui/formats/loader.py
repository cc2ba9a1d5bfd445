"""Read FILE, a YAML layout, a QEMU trace or a QEMU monitor dump (detected by content, not name)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from gmemtui.core.errors import InputError
from gmemtui.core.model import Layout, Overrides

# An event line: the event name followed on the same line by a Slot# or slot= field (docs/formats.md).
TRACE_EVENT_RE = re.compile(r"kvm_set_user_memory\b.*?(?:Slot#|\bslot=)")


@dataclass(frozen=True)
class Loaded:
    """A layout and where it came from; for a trace, every state of its replay too."""

    layout: Layout
    path: str
    text: str
    kind: str  # "yaml", "trace" or "dump" (info mtree -f)
    states: tuple = ()  # trace.TraceState values, one per line that changed something


_EVENT_NAME_RE = re.compile(r"kvm_set_user_memory\b")
_SLOT_FIELD_RE = re.compile(r"Slot#|\bslot=")


def is_trace(text: str) -> bool:
    """``TRACE_EVENT_RE.search(text)``, in linear time: only the first event name of a line is
    followed by the rest of that line (a line repeating the name would make the regex quadratic)."""
    pos = 0
    while True:
        m = _EVENT_NAME_RE.search(text, pos)
        if m is None:
            return False
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        if _SLOT_FIELD_RE.search(text, m.end(), end):
            return True
        pos = end + 1


STDIN = "-"  # FILE "-": standard input, read to its end (docs/commands.md)
STDIN_LABEL = "<stdin>"  # how errors name it: "<stdin>:12: ..."


def read_text(path: str) -> str:
    try:
        data = sys.stdin.buffer.read() if path == STDIN else Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from None
    return data.decode("utf-8", errors="replace")


def load(path: str, overrides: Overrides | None = None, text: str | None = None) -> Loaded:
    """Load a layout or trace file; overrides (command-line values) replace the file's settings."""
    overrides = overrides or Overrides()
    if text is None:
        text = read_text(path)
    label = STDIN_LABEL if path == STDIN else path
    if is_trace(text):
        from gmemtui.formats.trace import load_trace

        replay = load_trace(text, label, overrides)
        return Loaded(overrides.apply(replay.layout), path, text, "trace", replay.states)
    from gmemtui.formats.mtree import is_dump

    if is_dump(text):
        from gmemtui.formats.mtree import load_dump

        return Loaded(load_dump(text, label, overrides), path, text, "dump")
    from gmemtui.formats.yaml_load import load_yaml

    return Loaded(overrides.apply(load_yaml(text, label)), path, text, "yaml")


def default_layout_path() -> str:
    """The seed layout, shipped as package data so ``gmemtui`` works outside the checkout."""
    return str(Path(__file__).resolve().parent.parent / "data" / "qemu-snp-seed.yaml")
