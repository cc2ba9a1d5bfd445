"""Fuzzing the YAML loader: whatever the text, a Layout or one InputError line, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmemtui.core import coverage
from gmemtui.core.errors import InputError
from gmemtui.core.validate import check_layout, layout_warnings
from gmemtui.formats.yaml_load import load_yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [p.read_text() for p in sorted((ROOT / "layouts").glob("*.yaml"))]
ONE_LINE = re.compile(r"^[^\n]+:\d+: [^\n]+$")

# pieces that poke at YAML's and the loader's corners
TOKENS = [
    "0777", "1:30", "0x", "0x_", "2G", "2.5G", "-1", "~", "null", "''", "[", "]", "{", "}", ",", ":",
    "- ", "&a ", "*a", "*b", "!!binary ", "!!python/object:os.system ", "\t", "\x00", "\ufeff", "\r",
    "? ", "|", ">", "#", "'", '"', "<<: *a", "true", "yes", "1e9", "0b2", "0o8", "1_", "__", "4k",
    "99999999999999999999999999", "32764", "0x1_0000_0000", "%YAML 1.1\n", "---\n", "...\n",
    "slot: ", "gpa: ", "size: ", "ua: ", "flags: ", "guest_memfd: ", "offset: ", "as: ", "id: ",
    "max_page: ", "mmap: ", "private: ", "policy: ", "arch: ", "host_max_page: ", "\n", "\n  ", "\n    ",
    "0x" + "f" * 5000, "9" * 5000, "9" * 5000 + "G", "0xfffffffffffff000", "0x10000000000000000",
]  # fmt: skip


def check(text: str) -> None:
    try:
        layout = load_yaml(text, "fuzz.yaml")
    except InputError as e:
        assert ONE_LINE.match(str(e)), repr(str(e))
        assert e.line is not None and e.line >= 1
        return
    # what loads is valid, has line numbers, and the rest of the pipeline takes it
    check_layout(layout, "fuzz.yaml")
    assert all(s.line >= 1 for s in layout.slots)
    layout_warnings(layout)
    cov = coverage.compute(layout)
    assert all(sum(sc.bytes.values()) == sc.slot.size for sc in cov.slots)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text(text):
    check(text)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS) | st.text(max_size=4), max_size=40))
def test_random_token_soup(tokens):
    check("".join(tokens))


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(SHIPPED))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "replace_line", "swap", "dup", "token_at_value"]))
        lines = text.split("\n")
        if kind == "delete" and text:
            i = draw(st.integers(0, len(text) - 1))
            j = draw(st.integers(i, min(len(text), i + 40)))
            text = text[:i] + text[j:]
        elif kind == "insert":
            i = draw(st.integers(0, len(text)))
            text = text[:i] + draw(st.sampled_from(TOKENS) | st.text(max_size=6)) + text[i:]
        elif kind == "replace_line":
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = draw(st.text(max_size=20) | st.sampled_from(TOKENS))
            text = "\n".join(lines)
        elif kind == "swap":
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif kind == "dup":
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "\n".join(lines)
        else:  # replace the value after some `key: ` with a token
            spots = [m.end() for m in re.finditer(r": ", text)]
            if spots:
                i = draw(st.sampled_from(spots))
                end = text.find("\n", i)
                end = len(text) if end == -1 else end
                text = text[:i] + draw(st.sampled_from(TOKENS)) + text[end:]
    return text


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_shipped_layouts(text):
    check(text)


def test_deep_nesting_is_an_input_error():
    check("slots: " + "[" * 5000 + "]" * 5000 + "\n")
    check("a: &a [*a, *a]\nslots: *a\n")
