"""Read FILE, a YAML layout or a QEMU trace (detected by content, not name), into a Layout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gmemtui.core.errors import InputError
from gmemtui.core.model import Layout, Overrides

# An event line: the event name followed on the same line by a Slot# or slot= field (docs/formats.md).
# Matched in two linear steps, never as one ``name.*?field`` search: that pattern backtracks over
# every name on a line without the field, quadratic in the line (a hang on hostile input).
EVENT_NAME_RE = re.compile(r"kvm_set_user_memory\b")
SLOT_FIELD_RE = re.compile(r"Slot#|\bslot=")


@dataclass(frozen=True)
class Loaded:
    """A layout and where it came from; for a trace, every state of its replay too."""

    layout: Layout
    path: str
    text: str  # a YAML file's text (what the TUI's save rewrites); "" for a trace
    kind: str  # "yaml" or "trace"
    states: tuple = ()  # trace.TraceState values, one per line that changed something


def is_trace(text: str) -> bool:
    """True if some line has the event name followed later on that line by a slot field.

    Only the first name of a line needs testing: a later one sees a suffix of the same rest of the
    line. Each line is looked at once, so the cost is linear in the text whatever it holds.
    """
    pos = 0
    search_name, search_field, find = EVENT_NAME_RE.search, SLOT_FIELD_RE.search, text.find
    while (m := search_name(text, pos)) is not None:
        end = find("\n", m.end())
        if end < 0:
            end = len(text)
        if search_field(text, m.end(), end) is not None:
            return True
        pos = end
    return False


def read_text(path: str) -> str:
    try:
        data = Path(path).read_bytes()
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
    if is_trace(text):
        from gmemtui.formats.trace import load_trace

        replay = load_trace(text, path, overrides)
        # the text is not kept: the states keep the lines that changed something (memory follows the
        # changes, not the size of the trace)
        return Loaded(overrides.apply(replay.layout), path, "", "trace", replay.states)
    from gmemtui.formats.yaml_load import load_yaml

    return Loaded(overrides.apply(load_yaml(text, path)), path, text, "yaml")


def default_layout_path() -> str:
    """The seed layout, shipped as package data so ``gmemtui`` works outside the checkout."""
    return str(Path(__file__).resolve().parent.parent / "data" / "qemu-snp-seed.yaml")
