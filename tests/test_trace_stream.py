"""A trace read while it is written (gmemtui.formats.trace_stream): chunks cut anywhere give the states
of the whole text; an incomplete last line waits for its newline; a bad line is a warning, not the end."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import layouts
from test_trace_roundtrip import trace_of

from gmemtui.core.model import Layout, Overrides
from gmemtui.formats.trace import load_trace
from gmemtui.formats.trace_stream import TraceStream

ROOT = Path(__file__).resolve().parent.parent
TRACES = sorted((ROOT / "layouts").glob("*.trace")) + [ROOT / "layouts" / "lkml-gmem-hugepage-thread.txt"]
GOOD = ("1@1.0:kvm_set_user_memory AddrSpace#0 Slot#{s} flags=0x0 gpa={g:#x} size=0x200000 "
        "ua=0x7f0000000000 guest_memfd=-1 guest_memfd_offset=0x0 ret=0\n")


def states_of(states) -> list[tuple[int, int, str, Layout]]:
    return [(s.index, s.line, s.text, s.layout) for s in states]


def stream_in(pieces: list[str | bytes], close: bool = True) -> TraceStream:
    stream = TraceStream("t.trace")
    for p in pieces:
        stream.feed(p)
    if close:
        stream.close()
    return stream


def cut(text: str, points: list[int]) -> list[str]:
    bounds = [0, *sorted(set(points)), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_shipped_traces_line_by_line_give_the_states_of_the_file(path: Path) -> None:
    text = path.read_text()
    want = load_trace(text, "t.trace")
    stream = stream_in(text.splitlines(keepends=True))
    assert len(stream.states) == len(want.states) > 1
    assert states_of(stream.states) == states_of(want.states)
    assert stream.layout == want.layout


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), path=st.sampled_from(TRACES))
def test_chunks_cut_anywhere_give_the_same_states(data: st.DataObject, path: Path) -> None:
    text = path.read_text()
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=40))
    stream = stream_in(cut(text, points))
    assert states_of(stream.states) == states_of(load_trace(text, "t.trace").states)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=layouts(), data=st.data())
def test_random_traces_cut_anywhere_even_inside_a_character(layout: Layout, data: st.DataObject) -> None:
    text = "# ünïcödé comment: cut inside a character\n" + trace_of(layout)
    raw = text.encode()
    points = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    bounds = [0, *sorted(set(points)), len(raw)]
    stream = stream_in([raw[a:b] for a, b in zip(bounds, bounds[1:], strict=False)])
    want = load_trace(text, "t.trace")
    assert states_of(stream.states) == states_of(want.states)


def test_states_grow_as_lines_arrive_and_a_partial_line_waits() -> None:
    stream = TraceStream("t.trace")
    assert len(stream.states) == 1 and stream.layout.slots == ()  # state 0 only: the empty layout
    up = stream.feed(GOOD.format(s=1, g=0))
    assert up.new_states == 1 and len(stream.states) == 2
    line = GOOD.format(s=2, g=0x200000)
    up = stream.feed(line[:40])
    assert not up and len(stream.states) == 2 and stream.pending == line[:40]
    up = stream.feed(line[40:-1])  # everything but the newline: still waiting
    assert not up and len(stream.states) == 2
    up = stream.feed("\n")
    assert up.new_states == 1 and stream.pending == ""
    assert [s.slot for s in stream.layout.slots] == [1, 2]
    assert stream.states[2].line == 2 and stream.states[2].text == line.rstrip("\n")
    assert stream.states is stream.states  # one growing object: the TUI keeps its reference


def test_a_last_line_without_newline_counts_at_the_end_of_input() -> None:
    stream = TraceStream("t.trace")
    stream.feed(GOOD.format(s=1, g=0) + GOOD.format(s=2, g=0x200000).rstrip("\n"))
    assert len(stream.states) == 2
    up = stream.close()
    assert up.new_states == 1 and len(stream.layout.slots) == 2
    with pytest.raises(ValueError):
        stream.feed("more")


def test_a_bad_line_is_a_warning_with_its_line_number_and_later_lines_apply() -> None:
    bad = "1@1.0:kvm_set_user_memory AddrSpace#0 Slot#3 flags=0x0 gpa=0x1234 size=0x200000 ua=0x0 ret=0\n"
    stream = TraceStream("t.trace")
    stream.feed("# header\n" + GOOD.format(s=1, g=0))
    up = stream.feed(bad)
    assert up.new_states == 0 and len(up.warnings) == 1
    w = up.warnings[0]
    assert w.line == 3 and w.message.startswith("line 3: ") and "gpa" in w.message
    up = stream.feed(GOOD.format(s=2, g=0x200000))
    assert up.new_states == 1 and not up.warnings
    assert [s.slot for s in stream.layout.slots] == [1, 2]
    assert stream.layout.slots[1].line == 4
    assert w in stream.layout.notes  # the newest state lists it, like any note of the trace
    assert w in stream.states[1].layout.notes  # state 1 was in force when line 3 came ...
    assert w not in stream.states[0].layout.notes  # ... state 0 ended before it


def test_whole_file_loading_still_refuses_the_bad_line() -> None:
    from gmemtui.core.errors import InputError

    bad = "kvm_set_user_memory AddrSpace#0 Slot#3 flags=0x0 gpa=0x1234 size=0x200000 ua=0x0 ret=0\n"
    with pytest.raises(InputError) as e:
        load_trace(GOOD.format(s=1, g=0) + bad, "t.trace")
    assert str(e.value).startswith("t.trace:2: ")


def test_growth_updates_earlier_states_like_the_whole_file_would() -> None:
    """A file's size and the explicit attributes are facts of the whole trace: they reach back."""
    gm = ("kvm_set_user_memory AddrSpace#0 Slot#{s} flags=0x4 gpa={g:#x} size=0x200000 ua={g:#x} "
          "guest_memfd=7 guest_memfd_offset={g:#x} ret=0\n")
    lines = [gm.format(s=0, g=0), gm.format(s=1, g=0x400000),
             "kvm_convert_memory start 0x0 size 0x200000 private_to_shared\n"]
    stream = TraceStream("t.trace")
    stream.feed(lines[0])
    assert stream.states[1].layout.files[0].size == 0x200000 and stream.states[1].layout.private is None
    stream.feed(lines[1] + lines[2])
    assert stream.states[1].layout.files[0].size == 0x600000
    assert stream.states[1].layout.private is not None
    assert states_of(stream.states) == states_of(load_trace("".join(lines), "t.trace").states)


def test_overrides_apply_to_every_state() -> None:
    stream = TraceStream("t.trace", Overrides(policy="whole-binding"))
    stream.feed(GOOD.format(s=1, g=0))
    assert all(s.layout.policy == "whole-binding" for s in stream.states)


def test_problems_of_the_newest_state_come_and_go() -> None:
    """An overlap a whole-file load refuses is reported for the newest state, until a line removes it."""
    stream = TraceStream("t.trace")
    stream.feed(GOOD.format(s=1, g=0) + GOOD.format(s=2, g=0x100000))
    assert stream.problems() == ["t.trace:2: slot 2 [0x100000, 0x300000) overlaps slot 1 [0x0, 0x200000) "
                                 "in address space 0"]
    stream.feed(GOOD.format(s=2, g=0x200000))  # QEMU moves it
    assert stream.problems() == []


BAD_LINES = [
    "kvm_set_user_memory AddrSpace#0 Slot#3 flags=0x0 gpa=0x1234 size=0x200000 ua=0x0 ret=0\n",
    "kvm_set_user_memory AddrSpace#0 Slot#3 flags=0x0 gpa=0x0 size=0x2000\n",  # cut: no ua, no ret
    "kvm_set_user_memory Slot#4 flags=0x40 gpa=0x0 size=0x200000 ua=0x0 ret=0\n",
    "kvm_convert_memory start 0x1000 size 0x0 shared_to_private\n",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), path=st.sampled_from(TRACES))
def test_bad_lines_anywhere_cut_anywhere_same_states_and_warnings(data: st.DataObject, path: Path) -> None:
    # a file whose last line has no newline (the shipped mail) would join a bad line appended after it
    lines = [ln if ln.endswith("\n") else ln + "\n" for ln in path.read_text().splitlines(keepends=True)]
    for bad in data.draw(st.lists(st.sampled_from(BAD_LINES), min_size=1, max_size=4)):
        lines.insert(data.draw(st.integers(0, len(lines))), bad)
    text = "".join(lines)
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=30))
    whole, pieces = stream_in([text]), stream_in(cut(text, points))
    assert states_of(pieces.states) == states_of(whole.states)
    bad = [w for w in whole.layout.notes if w.as_ is None and w.slot is None]
    assert [w.line for w in bad] == [i + 1 for i, ln in enumerate(lines) if ln in BAD_LINES]
    assert all(w.message.startswith(f"line {w.line}: ") for w in bad)
    # the good lines still give the trace's states: the bad ones only add warnings
    def shape(layout: Layout) -> list[tuple]:  # a slot without its line number (bad lines shift them)
        return [(s.as_, s.slot, s.gpa, s.size, s.ua, s.flags, s.gmem, s.offset) for s in layout.slots]

    good = stream_in([path.read_text()]).states
    assert [shape(s.layout) for s in whole.states] == [shape(s.layout) for s in good]
