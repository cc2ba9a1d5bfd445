"""Fuzzing the trace parser: whatever the text, a layout or one ``FILE:LINE: message`` InputError."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmemtui.core import coverage
from gmemtui.core.errors import InputError
from gmemtui.core.model import Overrides
from gmemtui.formats.loader import is_trace, load
from gmemtui.formats.trace import load_trace
from gmemtui.formats.trace_lines import LineError, check_set, parse_by_name, parse_set

ROOT = Path(__file__).resolve().parent.parent
REAL_LINES = sorted({
    line
    for p in (ROOT / "layouts").glob("*.trace")
    for line in p.read_text().splitlines()
    if "kvm_set_user_memory" in line or "kvm_convert_memory" in line
})
ODD_VALUES = ["", "-1", "0x", "0X10", "0x1001", "4294967295", "0xffffffff", "0xffffffffffffffffffff", "1e3",
              "-0x0", "٣", "0x٣", "18446744073709551615", "999999999999999999999999", "0x7fffffff", "12abc",
              "0x1000,", "None", "=", "#", "\u2028", "\x85", "\x00", "9" * 5000, "0x" + "f" * 40]
HEADS = ["", "kvm_set_user_memory Slot#", "kvm_convert_memory start "]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(text: str) -> None:
    """Never an exception but InputError; that one a single FILE:LINE line; else every state builds."""
    try:
        replay = load_trace(text, "f.trace", Overrides())
    except InputError as e:
        message = str(e)
        assert re.fullmatch(r"f\.trace:[0-9]+: [^\n\r]+", message), message
        assert e.line is not None and 1 <= e.line <= text.count("\n") + 1
        assert len(message.splitlines()) == 1, message
        return
    for state in replay.states:
        coverage.compute(state.layout)
    if is_trace(text):  # the loader agrees (it detects the trace by content)
        assert load("f.trace", Overrides(), text=text).layout == replay.layout
    else:  # ... and where it sees no event line, neither does the parser
        assert replay.layout.slots == () and not replay.layout.notes


@SETTINGS
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    check(text)


@SETTINGS
@given(st.binary(max_size=400), st.sampled_from(HEADS))
def test_random_bytes_after_an_event_name(data: bytes, head: str) -> None:
    check(head + data.decode("utf-8", errors="replace"))


@st.composite
def mutated_line(draw: st.DrawFn) -> str:
    line = draw(st.sampled_from(REAL_LINES))
    for _ in range(draw(st.integers(0, 3))):
        tokens = line.split(" ")
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["drop", "dup", "value", "insert", "truncate", "swap"]))
        if op == "drop":
            del tokens[i]
        elif op == "dup":
            tokens.insert(i, tokens[i])
        elif op == "value":
            name, sep, _ = tokens[i].partition("=") if "=" in tokens[i] else tokens[i].partition("#")
            tokens[i] = name + (sep or "=") + draw(st.sampled_from(ODD_VALUES) | st.text(max_size=6))
        elif op == "insert":
            at = draw(st.integers(0, len(tokens[i])))
            tokens[i] = tokens[i][:at] + draw(st.text(max_size=3)) + tokens[i][at:]
        elif op == "truncate":
            tokens = tokens[: i + 1]
        else:
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        line = " ".join(tokens)
    return draw(st.sampled_from(["", "> ", "> > ", "77@3.25:", "[ 1.0] "])) + line


@SETTINGS
@given(st.lists(mutated_line() | st.sampled_from(REAL_LINES), min_size=1, max_size=8))
def test_mutated_real_lines(lines: list[str]) -> None:
    check("\n".join(lines))


def test_the_real_lines_alone_parse() -> None:
    assert len(REAL_LINES) > 40
    for line in REAL_LINES:
        check(line)


def _outcome(parse) -> tuple[str, object]:
    try:
        return ("ok", parse())
    except LineError as e:
        return ("bad", str(e))


ADDR = st.integers(0, 1 << 53) | st.integers(0, 1 << 41).map(lambda x: x << 12)


@SETTINGS
@given(form=st.sampled_from(["9.1", "upm", "9.0", "8.2"]), as_=st.integers(0, 3),
       slot=st.integers(0, 1 << 18),
       flags=st.integers(0, 9), gpa=ADDR, size=ADDR | st.just(0), ua=ADDR, fd=st.integers(-2, 1 << 32),
       off=ADDR, ret=st.sampled_from([0, 0, 0, -22, 1]))
def test_fast_paths_equal_the_by_name_parser(form: str, as_: int, slot: int, flags: int, gpa: int, size: int,
                                             ua: int, fd: int, off: int, ret: int) -> None:
    head = f" AddrSpace#{as_}" if form != "8.2" else ""
    common = f"{head} Slot#{slot} flags={flags:#x} gpa={gpa:#x} size={size:#x} ua={ua:#x}"
    tail = {
        "9.1": f"{common} guest_memfd={fd} guest_memfd_offset={off:#x} ret={ret}",
        "upm": f"{common} ret={ret} restricted_fd={fd} restricted_offset={off:#x}",
        "9.0": f"{common} ret={ret}",
        "8.2": f"{common} ret={ret}",
    }[form]
    assert _outcome(lambda: parse_set(tail)) == _outcome(lambda: check_set(*parse_by_name(tail)))
