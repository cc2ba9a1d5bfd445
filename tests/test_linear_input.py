"""Hostile input cannot make a parser or detector quadratic (issue: a 400 KB line took minutes).

Nothing here is timed: the sizes are ones a quadratic scan would take minutes on (40,000 event names
on one line cost 7 minutes before the fix), so a regression shows as a test that never ends.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gmemtui.cli import main
from gmemtui.core.errors import InputError
from gmemtui.formats.loader import is_trace, load

VALID = "kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x0 gpa=0x0 size=0x100000 ua=0x7f0000000000 ret=0"
# The detector as it was specified (and as it used to run): one backtracking search.
SPECIFIED_RE = re.compile(r"kvm_set_user_memory\b.*?(?:Slot#|\bslot=)")


@pytest.mark.parametrize("n", [4_000, 40_000, 100_000])
def test_reproducer_is_one_line_error(tmp_path, capsys, n):
    path = tmp_path / "x.txt"
    path.write_text("kvm_set_user_memory " * n + "\n")
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{path}:1: ")


@pytest.mark.parametrize("line", [
    "kvm_set_user_memory " * 50_000,
    "kvm_convert_memory " * 50_000,
    "kvm_convert_memory x" * 50_000 + "kvm_set_user_memory slot=",
    "kvm_set_user_memory prose " * 50_000 + "kvm_convert_memory start=0x0 size=0x1000 shared_to_private",
])
def test_prose_lines_after_an_event_are_linear(tmp_path, capsys, line):
    """The trace parser's per-line scan for an event name after prose is linear too."""
    path = tmp_path / "t.txt"
    path.write_text(f"{VALID}\n{line}\n")
    code = main(["report", "--json", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 2)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith(f"{path}:2: ")
    else:
        assert '"slots"' in out


TOKENS = ["kvm_set_user_memory", "kvm_convert_memory", " ", "_", "x", "Slot#", "slot=", "start=", "start ",
          "size=", "0x1000", "\n", "=", "#", "AddrSpace#0", "kvm_"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6), st.integers(2_000, 20_000))
def test_repeated_tokens_finish(tmp_path_factory, tokens, repeat):
    """Any run of repeated tokens loads or is refused with FILE:LINE, and detection agrees with the spec."""
    text = VALID + "\n" + "".join(tokens) * repeat
    path = str(tmp_path_factory.mktemp("rep") / "t.txt")
    try:
        load(path, text=text)
    except InputError as e:
        assert str(e).startswith(f"{path}:")
    small = "".join(tokens) * 3
    assert is_trace(small) == (SPECIFIED_RE.search(small) is not None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["kvm_set_user_memory", "Slot#", "slot=", "aslot=", " ", "\n", "x", "_"]),
                max_size=30).map("".join))
def test_detection_matches_the_specified_regex(text):
    assert is_trace(text) == (SPECIFIED_RE.search(text) is not None)
