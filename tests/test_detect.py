"""Format detection (``formats.detect``): the literal-word pre-checks and the linear trace scan answer
what the plain regexes of docs/formats.md answer, on texts built from the words that matter."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gmemtui.formats.detect import is_dump, is_trace

TRACE_EVENT_RE = re.compile(r"kvm_set_user_memory\b.*?(?:Slot#|\bslot=)")
DUMP_RE = re.compile(r'^(?:FlatView #[0-9]|[ \t]*AS "memory", root: )', re.MULTILINE)

WORDS = ["kvm_set_user_memory", "kvm_set_user_memory_x", "Slot#", "slot=", "xslot=", " ", "\t", "\n", "\r",
         "FlatView #", "FlatView #1", "0", "a", 'AS "memory", root: ', 'AS "memory", root:',
         'AS "KVM-SMRAM", root: ', "slots:", "- gpa: 0x0", "#", "\u2028", "\x85"]
texts = st.lists(st.sampled_from(WORDS), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_detection_agrees_with_the_plain_regexes(text: str) -> None:
    assert is_trace(text) == (TRACE_EVENT_RE.search(text) is not None)
    assert is_dump(text) == (DUMP_RE.search(text) is not None)


def test_each_format_is_seen_and_yaml_is_neither() -> None:
    assert is_trace("123@1.5:kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x1000 ua=0x0 ret=0\n")
    assert is_trace("kvm_set_user_memory AddrSpace#0 Slot#1 flags=0x0\n")
    assert not is_trace("kvm_set_user_memory\nSlot#1\n"), "the slot field must be on the event's line"
    assert is_dump("FlatView #0\n AS \"memory\", root: system\n") and is_dump('  AS "memory", root: x\n')
    assert not is_dump('x AS "memory", root: system\n'), "anchored at the start of a line"
    yaml_text = "slots:\n  - {slot: 0, gpa: 0, size: 2M, ua: 0x7f0000000000}\n"
    assert not is_trace(yaml_text) and not is_dump(yaml_text)
