"""The fast path of a trace replay (gmemtui.formats.trace_fast) against the plain path it stands in for.

``Replayer(fast=False)`` replays every line through ``replay_lines``, one event line at a time; the
fast path reads QEMU 9.1's accepted lines with one regex and hands every other line to that same
plain path. Whatever the text -- random, mutated, CRLF, a last line without its newline, bad lines
in the middle of a piece, pieces cut at any line, chunks cut anywhere -- both give the same states
(line, text, layout with its notes and files) and the same ``FILE:LINE:`` error.
"""

from __future__ import annotations

from contextlib import contextmanager
from itertools import product
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_trace_fuzz import REAL_LINES, mutated_line

from gmemtui.core.errors import InputError
from gmemtui.core.model import Layout, Overrides
from gmemtui.formats import trace, trace_fast
from gmemtui.formats.trace import Replayer, load_trace
from gmemtui.formats.trace_lines import FAST_91_RE, LineError, fast_fields, parse_set
from gmemtui.formats.trace_stream import TraceStream

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


PERTURBATIONS = [  # one value that sends a line to the plain path, or that both paths read alike
    ("as_", "1"), ("as_", "2"), ("as_", "01"), ("as_", "00"),
    ("slot", "32763"), ("slot", "32764"), ("slot", "99999"), ("slot", "100000"), ("slot", "007"),
    ("flags", "0x8"), ("flags", "0x14"), ("flags", "0x04"), ("flags", "0X4"), ("flags", "4"),
    ("flags", "0x4"), ("flags", "0x0"), ("flags", "0x3"),
    ("gpa", "0x1234"), ("gpa", f"{(1 << 52) - 0x1000:#x}"), ("gpa", "0xFFE00000"), ("gpa", "0x00200000"),
    ("gpa", "0x" + "0" * 40),
    ("size", "0x00"), ("size", "0x000"), ("size", "0x1001"), ("size", "0X200000"), ("size", "2097152"),
    ("size", f"{1 << 52:#x}"), ("size", "0x00200000"), ("size", "-0x1000"),
    ("ua", "0x1001"), ("ua", f"{(1 << 64) - 0x1000:#x}"), ("ua", f"{1 << 64:#x}"), ("ua", "0x7F0000000000"),
    ("fd", "-1"), ("fd", "-2"), ("fd", "0"), ("fd", "2147483647"), ("fd", "2147483648"), ("fd", "4294967295"),
    ("fd", "019"),
    ("off", "0x1"), ("off", f"{(1 << 64) - 0x1000:#x}"), ("off", "0x0000"), ("off", "0x200000"),
    ("ret", "-22"), ("ret", "00"), ("ret", "-0"), ("ret", "01"), ("ret", "0x0"), ("ret", "1"),
    ("suffix", " "), ("suffix", "\t\r"), ("suffix", " x"), ("suffix", " ret=0"), ("suffix", "\x0b"),
    ("suffix", "\u00a0"), ("suffix", "\x1c"), ("suffix", "é"),
    ("prefix", "4242@1700000000.123456:"), ("prefix", "> "), ("prefix", "kvm_set_user_memory "),
    ("prefix", "kvm_convert_memory start "), ("prefix", "xkvm_set_user_memory "),
]


def line91(slot: int, gm: bool, size: int, flags: int | None = None, /, **changed: str) -> str:
    """A QEMU 9.1 line KVM accepted, as QEMU prints it (the fast path's), with ``changed`` values."""
    gpa = slot << 32
    f = {"as_": "0", "slot": str(slot), "flags": f"{flags if flags is not None else 4 * gm:#x}",
         "gpa": f"{gpa:#x}", "size": f"{size:#x}", "ua": f"{0x7F0000000000 + gpa:#x}",
         "fd": str(19 + slot % 3 if gm else -1), "off": f"{gpa & 0xFFFFFFFF:#x}", "ret": "0", "prefix": "",
         "suffix": ""}
    f.update(changed)
    return (f"{f['prefix']}kvm_set_user_memory AddrSpace#{f['as_']} Slot#{f['slot']} flags={f['flags']} "
            f"gpa={f['gpa']} size={f['size']} ua={f['ua']} guest_memfd={f['fd']} "
            f"guest_memfd_offset={f['off']} ret={f['ret']}{f['suffix']}")


@st.composite
def fast_line(draw: st.DrawFn) -> str:
    """A line of the fast path's, with at most one value changed: to one the plain path refuses or reads
    alike, or that KVM refused."""
    gm = draw(st.booleans())
    changed = dict(draw(st.lists(st.sampled_from(PERTURBATIONS), max_size=1)))
    return line91(draw(st.integers(0, 6)), gm, draw(st.sampled_from([0, 0, 0x200000, 0x1000, 0x40000000])),
                  draw(st.sampled_from([4, 5, 6, 7] if gm else [0, 1, 2, 3])), **changed)


OTHER = [
    "kvm_convert_memory start 0x0 size 0x200000 shared_to_private",
    "kvm_convert_memory start 0x200000 size 0x1000 private_to_shared",
    "kvm_convert_memory start 0x1234 size 0x1000 private_to_shared",  # bad
    "kvm_set_user_memory AddrSpace#0 Slot#5 flags=0x2 gpa=0xc0000 size=0x20000 ua=0x7f2575000000 ret=0",
    "kvm_set_user_memory Slot#65539 flags=0x2 gpa=0xc0000 size=0x20000 ua=0x7f2575000000 ret=0",
    "kvm_set_user_memory AddrSpace#0 Slot#3 flags=0x0 gpa=0x0 size=0x2000",  # cut
    "qemu: kvm_set_user_memory is traced (prose)",
    "prose naming kvm_set_user_memory before kvm_set_user_memory AddrSpace#0 Slot#9 flags=0x0 gpa=0x0 "
    "size=0x200000 ua=0x7f0000000000 guest_memfd=-1 guest_memfd_offset=0x0 ret=0",
    "kvm_set_user_memoryé AddrSpace#0 Slot#1 flags=0x0 gpa=0x0 size=0x200000 ua=0x0 guest_memfd=-1 "
    "guest_memfd_offset=0x0 ret=0",
    "",
    "x" * 30,
]

LINE = fast_line() | fast_line() | fast_line() | st.sampled_from(OTHER) | mutated_line() \
    | st.sampled_from(REAL_LINES) | st.text(max_size=30).filter(lambda t: "\n" not in t)


@st.composite
def traces(draw: st.DrawFn) -> str:
    lines = draw(st.lists(LINE, min_size=1, max_size=40))
    eol = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    return eol.join(lines) + draw(st.sampled_from([eol, ""]))  # "": a last line without its newline


def pieces_of(text: str, cuts: list[int]) -> list[tuple[str, int]]:
    """``text`` as pieces of whole lines (cut after the newlines numbered ``cuts``), each with its line."""
    ends = [i + 1 for i, c in enumerate(text) if c == "\n"]
    bounds = sorted({0, len(text), *(ends[c % len(ends)] for c in cuts if ends)})
    out = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        out.append((text[a:b], text.count("\n", 0, a) + 1))
    return out


def facts(layout: Layout) -> tuple:
    """A layout with the line numbers its equality leaves out (a file's first line names it in messages)."""
    return (layout, [(f.id, f.line) for f in layout.files], [(x.slot, x.line) for x in layout.slots],
            [(w.message, w.line) for w in layout.notes])


def outcome(pieces: list[tuple[str, int]], fast: bool, strict: bool, track: bool, caching: bool = True):
    """Everything a replay gives, or its error: the states in order and backwards (the checkpoints'
    path), and the checkpoints themselves (memory is bounded the same way on both paths).
    ``caching``: False as after a long run of distinct lines (the fast path's second loop)."""
    r = Replayer("t.trace", Overrides(), strict=strict, track=track, fast=fast)
    r.caching = caching
    try:
        for text, line in pieces:
            r.feed(text, line)
    except InputError as e:
        return ("error", str(e))
    states = r.states()
    forward = [(s.index, s.line, s.text, facts(s.layout)) for s in states]
    backward = [states.layout(i) for i in range(len(states) - 1, -1, -1)]
    checkpoints = [(c.state, list(c.keys), list(c.made), c.los, c.his) for c in r.checkpoints]
    return ("ok", forward, backward[::-1] == [s[3][0] for s in forward], checkpoints)


@contextmanager
def parse_cache(size: int):
    """A parse cache this small, so that both caches fill, clear and switch off within a test."""
    with mock.patch.object(trace, "PARSE_CACHE", size), mock.patch.object(trace_fast, "PARSE_CACHE", size):
        yield


@SETTINGS
@given(text=traces(), cuts=st.lists(st.integers(0, 1000), max_size=5), strict=st.booleans(),
       track=st.booleans(), cache=st.sampled_from([1 << 16, 2, 5, 0]))
def test_fast_path_equals_plain_path(text: str, cuts: list[int], strict: bool, track: bool,
                                     cache: int) -> None:
    """cache 0: no parse cache from the start; 2 and 5: caches that fill, clear and may switch off."""
    with parse_cache(cache or 1 << 16):
        args = {"strict": strict, "track": track, "caching": cache > 0}
        want = outcome([(text, 1)], fast=False, **args)
        assert outcome(pieces_of(text, cuts), fast=True, **args) == want
        assert outcome([(text, 1)], fast=True, **args) == want


def test_each_changed_value_alike() -> None:
    """Every value of PERTURBATIONS on a create and on a delete, with and without guest_memfd, the
    cache on and off, strict and not: the line between two the fast path takes."""
    for name, value in PERTURBATIONS:
        for gm, size, caching, strict in product((False, True), (0, 0x200000), (True, False), (True, False)):
            text = "\n".join([line91(1, gm, 0x200000), line91(1, gm, size, **{name: value}),
                              line91(2, gm, 0x200000), line91(1, gm, 0), OTHER[1]]) + "\n"
            args = {"strict": strict, "track": True, "caching": caching}
            want = outcome([(text, 1)], fast=False, **args)
            assert outcome([(text, 1)], fast=True, **args) == want, (name, value, gm, size, caching, strict)


def _mixed() -> str:
    """Every kind of line, a few of each, some lines repeating (cache hits), CRLF on one."""
    gm = ("4242@1.5:kvm_set_user_memory AddrSpace#0 Slot#{s} flags=0x4 gpa={g:#x} size={z:#x} "
          "ua=0x7f0000000000 guest_memfd={fd} guest_memfd_offset={g:#x} ret=0")
    lines = [gm.format(s=1, g=0, z=0x200000, fd=7), "prose", gm.format(s=1, g=0, z=0, fd=7),
             gm.format(s=2, g=0x400000, z=0x200000, fd=8) + "\r", OTHER[0], gm.format(s=1, g=0, z=0, fd=7),
             gm.format(s=1, g=0x1234, z=0x200000, fd=7), OTHER[3], gm.format(s=1, g=0, z=0x200000, fd=7),
             gm.format(s=3, g=0x800000, z=0x200000, fd=99), OTHER[6], gm.format(s=3, g=0x800000, z=0, fd=99)]
    return "\n".join(lines) + "\nprose without newline"


def test_pieces_cut_at_every_line() -> None:
    text = _mixed()
    for strict in (False, True):
        want = outcome([(text, 1)], fast=False, strict=strict, track=True)
        for cut in range(text.count("\n") + 1):
            assert outcome(pieces_of(text, [cut]), fast=True, strict=strict, track=True) == want, cut
    assert want == ("error", "t.trace:7: gpa 0x1234 is not a multiple of 4 KiB")


def test_chunks_cut_at_every_position() -> None:
    """A live trace (TraceStream, fast path) cut anywhere: the plain path's states and warnings."""
    text = _mixed()
    want = outcome([(text, 1)], fast=False, strict=False, track=True)
    for cut in range(len(text) + 1):
        stream = TraceStream("t.trace")
        stream.feed(text[:cut])
        stream.feed(text[cut:].encode())
        stream.close()
        got = [(s.index, s.line, s.text, facts(s.layout)) for s in stream.states]
        assert ("ok", got, True) == want[:3], cut


def test_canonical_lines_take_the_fast_path() -> None:
    """Not a single QEMU 9.1 line that KVM accepted goes to the plain path (else the tests above would
    compare the plain path with itself); a change keeps no parsed event, only its line."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_trace import distinct, remap

    for text, repeats in ((distinct(2999), False), (remap(2999), True)):  # remap: 5 + 6k lines end unmapped
        r = Replayer("t.trace", Overrides(), track=False)
        with mock.patch.object(r, "replay_lines", side_effect=AssertionError("plain path")), parse_cache(256):
            r.feed(text)
        assert len(r.log) == 2999 and set(r.log.event) == {-1} and len(r.log.key) == 0
        assert r.caching == repeats and len(r.fast_cache) <= 256  # distinct lines: the cache switched off
        assert r.states()[-1].layout == load_trace(text, "t.trace").layout


@SETTINGS
@given(line=fast_line())
def test_a_fast_change_reads_its_fields_again_as_the_parser_did(line: str) -> None:
    m = FAST_91_RE.search(line)
    if m is None or m.group(1) is None:
        return
    try:
        event = parse_set(line[m.start() + len("kvm_set_user_memory"):m.end()])
    except LineError:  # a line the fast path hands over
        return
    assert event is not None
    key, as_, slot, flags, gpa, size, ua, fd, off, ret = event
    if ret == 0:
        assert fast_fields(line, m.start()) == (key, flags, gpa, size, ua, fd, off)


def test_long_traces_checkpoint_alike() -> None:
    """Thousands of changes, every 97th line through the plain path (``ret=00`` is read as 0 there):
    the same checkpoints on both paths, and the same states from them, the cache on or off."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_trace import distinct, remap

    for text in (distinct(2999), remap(2999)):
        lines = text.splitlines(keepends=True)
        for i in range(0, len(lines), 97):
            lines[i] = lines[i].replace("ret=0", "ret=00")
        text = "".join(lines)
        for caching in (True, False):
            runs = []
            for fast in (True, False):
                r = Replayer("t.trace", Overrides(), fast=fast)
                r.caching = caching
                r.feed(text)
                states = r.states()
                picked = [states[i] for i in (1, 500, 1234, 2000, 2998, 2999, 1500, 7)]
                runs.append(([(c.state, list(c.keys), list(c.made), c.los, c.his) for c in r.checkpoints],
                             [(s.index, s.line, s.text, facts(s.layout)) for s in picked]))
            assert runs[0] == runs[1]
            assert len(runs[0][0]) > 5
