"""What a file is, by content (docs/formats.md): a QEMU trace, a QEMU monitor dump, else YAML.

Detection runs on every load, so it stays off the start-up path of the common case: each test first
looks for a literal word its pattern cannot match without, and compiles its regexes only when that
word is there (a YAML layout compiles none). The readers themselves are imported by the loader only
for the format found.
"""

from __future__ import annotations

import re
from functools import cache

# A trace event line: the event name followed on the same line by a Slot# or slot= field, i.e.
# ``re.search(r"kvm_set_user_memory\b.*?(?:Slot#|\bslot=)", text)``, checked in linear time.
TRACE_EVENT = "kvm_set_user_memory"
# A monitor dump (``info mtree -f``): a line starting a FlatView, or listing the ``AS "memory"`` view.
FLATVIEW, AS_MEMORY = "FlatView #", 'AS "memory", root: '


@cache
def _trace_res() -> tuple[re.Pattern[str], re.Pattern[str]]:
    return re.compile(TRACE_EVENT + r"\b"), re.compile(r"Slot#|\bslot=")


@cache
def _dump_re() -> re.Pattern[str]:
    return re.compile(r'^(?:FlatView #[0-9]|[ \t]*AS "memory", root: )', re.MULTILINE)


def is_trace(text: str) -> bool:
    """A QEMU trace: some line has the event name followed by a slot field. Linear in the text: only
    the first event name of a line is followed by the rest of that line (the one-regex search would
    be quadratic on a line repeating the name)."""
    if TRACE_EVENT not in text:
        return False
    event_name, slot_field = _trace_res()
    pos = 0
    while True:
        m = event_name.search(text, pos)
        if m is None:
            return False
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        if slot_field.search(text, m.end(), end):
            return True
        pos = end + 1


def is_dump(text: str) -> bool:
    """A monitor dump: a line that starts a FlatView or lists ``AS "memory"`` (anchored per line)."""
    if FLATVIEW not in text and AS_MEMORY not in text:
        return False
    return _dump_re().search(text) is not None
