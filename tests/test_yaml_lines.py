"""The line reader (gmemtui/formats/yaml_lines.py) gives exactly what the exact path gives, or declines.

``load_yaml`` first tries to cut the canonical entry lists out of the text; the exact path composes
the whole file. For random layouts written by ``yaml_dump`` and in flow form, and for those texts
mutated in the ways YAML hides meaning (quotes, comments, anchors, tags, tabs, duplicate keys, odd
indentation, multi-document, CRLF, BOM, odd line breaks), both must give the same Layout -- lines of
every slot, range and file included -- or the same one-line error. And the usual files must take
the line reader (else it would be correct by never answering).
"""

from __future__ import annotations

import random
import re
from contextlib import contextmanager
from dataclasses import replace
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmemtui.core.errors import InputError
from gmemtui.core.model import GmemFile, Layout, PrivateRange, Slot, flag_names
from gmemtui.core.platform import PLATFORMS
from gmemtui.formats import yaml_dump, yaml_lines, yaml_load
from gmemtui.formats.yaml_dump import dump_yaml
from tests.strategies import any_arch_layouts

PATH = "t.yaml"
NAMES = ["ram", "pc.ram", "q r", "null", "Null", "~", "é", 'a"b', "x\\y", "", "12", "true", "a#b", "- x",
         "pc.ram below the VGA window", "isa-bios (alias of pc.bios)", "a: b", "a #b", "a:b", "x ", "[a]",
         "{a}", "a,b", "yes", "? x", "*a", "&a", "!t", "%x", "@x", "`x", "a'b", "NULL", "nul l", "a  b"]


@contextmanager
def _exact_only():
    with mock.patch.object(yaml_load, "_by_lines", lambda *a: None):
        yield


def _outcome(text: str, arch: str | None) -> tuple:
    """What loading gives, lines included: the values of every slot, range and file, or the error."""
    try:
        layout = yaml_load.load_yaml(text, PATH, arch)
    except InputError as e:
        return ("error", str(e))
    parts = (layout.slots, layout.private or (), layout.files)
    return ("layout", layout, [[(type(x), vars(x)) for x in p] for p in parts])


def _both(text: str, arch: str | None = None) -> bool:
    """Assert the two paths agree on ``text``; whether the line reader answered."""
    with _exact_only():
        exact = _outcome(text, arch)
    assert _outcome(text, arch) == exact, text
    return yaml_load._by_lines(text, PATH, arch) is not None


def _named(layout: Layout, rng: random.Random) -> Layout:
    """Names on some slots, from two of ``NAMES`` (so one odd name is often the only one)."""
    pool = rng.sample(NAMES, 2)
    slots = tuple(replace(s, name=rng.choice(pool)) if rng.random() < 0.4 else s for s in layout.slots)
    return replace(layout, slots=slots, name=rng.choice([None, *NAMES]))


def _unquoted(text: str, rng: random.Random) -> str:
    """Some double-quoted names written plain, whatever they hold (YAML may read them otherwise)."""
    return re.sub(r'name: "((?:[^"\\\n]|\\.)*)"',
                  lambda m: f"name: {m.group(1)}" if rng.random() < 0.5 else m.group(0), text)


def _unescaped(name: str) -> bool:
    """Whether PyYAML writes ``name`` double-quoted without an escape."""
    return name.isascii() and name.isprintable() and '"' not in name and "\\" not in name


def _num(rng: random.Random, value: int) -> str:
    return rng.choice([hex(value), str(value), hex(value).upper().replace("0X", "0x")])


def _flow_text(layout: Layout, rng: random.Random) -> str:
    """The layout with one flow mapping per slot and range, optional keys and spellings drawn."""
    head = dump_yaml(layout).split("\nslots:")[0] + "\n"
    indent = rng.choice(["", "  ", "    "])
    out = [head, "slots:" + rng.choice(["", "   # the slots"]) + "\n"]
    for s in layout.slots:
        pairs = [f"slot: {_num(rng, s.slot)}"]
        if s.as_ or rng.random() < 0.5:
            pairs.append(f"as: {s.as_}")
        if s.name is not None:
            plain = [s.name] if s.name.isalpha() else []
            pairs.append(f"name: {rng.choice([yaml_dump._str(s.name), *plain])}")
        pairs += [f"gpa: {_num(rng, s.gpa)}", f"size: {_num(rng, s.size)}"]
        if s.ua != s.gpa or rng.random() < 0.5:
            pairs.append(f"ua: {_num(rng, s.ua)}")
        if s.flags or rng.random() < 0.5:
            pairs.append("flags: " + rng.choice([f"[{', '.join(flag_names(s.flags))}]", str(s.flags)]))
        if s.gmem is not None:
            pairs += [f"guest_memfd: {s.gmem}", f"offset: {_num(rng, s.offset)}"]
        sep = rng.choice([", ", ",  ", " , "])
        out.append(f"{indent}- {{{sep.join(pairs)}}}" + rng.choice(["", "  # c", " #"]) + "\n")
    if layout.private is not None:
        out.append("private:\n" if layout.private else "private: []\n")
        for r in layout.private:
            out.append(f"{indent}- {{gpa: {_num(rng, r.gpa)}, size: {_num(rng, r.size)}}}\n")
    return "".join(out)


# what YAML reads differently from how it looks, and the loader's own corners
TOKENS = [
    '"', "'", "&a ", "*a", "!!int ", "!!str ", "!foo ", "\t", "# c", " #c", "#", "---\n", "...\n", "\r\n",
    "\r", "\ufeff", "\x85", "\u2028", "? ", "null", "~", "[", "]", "{", "}", ", ", ": ", ":", "-", "- ",
    "0", "00", "x", "_", "\\", "é", " ", "  ", "\n", "\n  ", "\n    ", "slot: 1", "gpa: 0x1000", "size: 0",
    "as: 1", "name: a", "flags: [readonly]", "ua: 0x1000", "offset: 0x0", "guest_memfd: 0", "bogus: 1",
    "slots:", "private:", "|\n", ">\n", "<<: *a", "0x", "2G", "1_0", "0o7", "%YAML 1.1\n---\n", "\x00",
]  # fmt: skip


SPOTS = re.compile(r"#|: |, |- |(?=\n)|\{|\[")


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(1, 3))):
        lines = text.split("\n")
        kind = draw(st.sampled_from(["insert", "insert", "at", "at", "at", "delete", "dup", "indent", "swap",
                                     "crlf", "bom", "tab", "no-eol"]))
        if kind == "at":  # where meaning hides: after a comment sign, a key, a comma, a dash; at a line end
            spots = [m.end() for m in SPOTS.finditer(text)]
            if spots:
                i = draw(st.sampled_from(spots))
                text = text[:i] + draw(st.sampled_from(TOKENS) | st.text(max_size=2)) + text[i:]
        elif kind == "insert":
            i = draw(st.integers(0, len(text)))
            text = text[:i] + draw(st.sampled_from(TOKENS) | st.text(max_size=3)) + text[i:]
        elif kind == "delete" and text:
            i = draw(st.integers(0, len(text) - 1))
            text = text[:i] + text[draw(st.integers(i + 1, min(len(text), i + 8))):]
        elif kind == "dup":  # a duplicate key, entry or list
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "\n".join(lines)
        elif kind == "indent":
            i = draw(st.integers(0, len(lines) - 1))
            n = draw(st.integers(-2, 3))
            lines[i] = " " * n + lines[i] if n > 0 else lines[i][-n:]
            text = "\n".join(lines)
        elif kind == "swap":
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif kind == "crlf":
            text = text.replace("\n", "\r\n")
        elif kind == "bom":
            text = "\ufeff" + text
        elif kind == "tab":
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = lines[i].replace("  ", "\t", 1)
            text = "\n".join(lines)
        else:
            text = text.rstrip("\n")
    return text


ARCHES = st.sampled_from([None, *PLATFORMS])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_arch_layouts(max_slots=6), st.randoms(use_true_random=False), ARCHES)
def test_dumped_layouts_read_alike(layout: Layout, rng: random.Random, arch: str | None) -> None:
    layout = _named(layout, rng)
    text = dump_yaml(layout)
    answered = _both(text, arch)
    _both(_unquoted(text, rng), arch)
    if arch is None and all(s.name is None or _unescaped(s.name) for s in layout.slots):
        assert answered, text  # what yaml_dump writes takes the line reader


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_arch_layouts(max_slots=6), st.randoms(use_true_random=False), ARCHES)
def test_flow_layouts_read_alike(layout: Layout, rng: random.Random, arch: str | None) -> None:
    _both(_flow_text(_named(layout, rng), rng), arch)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), any_arch_layouts(max_slots=5), st.randoms(use_true_random=False), ARCHES)
def test_mutated_layouts_read_alike(data: st.DataObject, layout: Layout, rng: random.Random,
                                    arch: str | None) -> None:
    layout = _named(layout, rng)
    text = _unquoted(dump_yaml(layout), rng) if rng.random() < 0.5 else _flow_text(layout, rng)
    _both(data.draw(mutated(text)), arch)


def test_plain_names_take_the_line_reader() -> None:
    names = ["pc.ram below the VGA window", "isa-bios (alias of pc.bios)", "a'b"]
    slots = tuple(Slot(slot=i, gpa=i << 21, size=1 << 21, ua=i << 21, name=n) for i, n in enumerate(names))
    text = _unquoted(dump_yaml(Layout(slots=slots)), random.Random(0)).replace('"', "")
    assert "name: pc.ram below the VGA window\n" in text
    assert _both(text)


@pytest.mark.parametrize("name", NAMES + ["a #b", "a\t#b", "a # b", "a:", "a: ", "ab  ", "a\\", "a'"])
def test_each_plain_name_reads_alike(name: str) -> None:
    for text in (f"slots:\n  - slot: 1\n    name: {name}\n    gpa: 0x1000\n    size: 0x1000\n",
                 f"slots:\n  - {{slot: 1, name: {name}, gpa: 0x1000, size: 0x1000}}\n"):
        _both(text)


def test_usual_shapes_take_the_line_reader() -> None:
    """Both shapes of bench_report's files, with a comment between the lists and odd but plain
    spellings, are read by lines and equal to the exact path, lines included."""
    slots = tuple(Slot(slot=i, gpa=i << 21, size=1 << 21, ua=(1 << 40) + (i << 21), gmem=i % 2,
                       offset=i << 21, flags=2 * (i % 3 == 0), name="ram" if i == 3 else None)
                  for i in range(20))
    layout = Layout(slots=slots, files=(GmemFile(0), GmemFile(1)),
                    private=tuple(PrivateRange(i << 22, 1 << 12) for i in range(5)))
    rng = random.Random(1)
    for text in (dump_yaml(layout), _flow_text(layout, rng), _flow_text(layout, rng) + "# the end\n",
                 dump_yaml(layout).replace("\nprivate:", "\n# ranges\n\nprivate:")):
        assert _both(text), text
        cut = yaml_lines.cut(text)
        assert cut is not None and {r.what for r in cut.runs} == {"slots", "private"}


@pytest.mark.parametrize("text", [
    "slots:\n  - {slot: 1, gpa: 0x1000, size: 0x1000}\n  - {slot: 2, gpa: 0x2000, size: 0x1000}\n",
    "slots:\n- slot: 1\n  gpa: 0x1000\n  size: 0x1000\n",
    "name: x\nslots:\n  - slot: 1\n    gpa: 0x1000\n    size: 0x1000\n    flags: [log_dirty, readonly]\n",
])
def test_small_canonical_files(text: str) -> None:
    assert _both(text)


@pytest.mark.parametrize("text", [
    # the list goes on after a comment line: those entries belong to it, so the cut is refused
    "slots:\n  - {slot: 1, gpa: 0x1000, size: 0x1000}\n  # c\n  - {slot: 2, gpa: 0x2000, size: 0x1000}\n",
    # a continuation line makes the last size a two-word string
    "slots:\n  - slot: 1\n    gpa: 0x1000\n    size: 0x1000\n     0x2000\n",
    # slots: inside a quoted scalar, then the real key
    'name: "a\nslots:\n  - {slot: 1, gpa: 0x1000, size: 0x1000}\n"\nslots: []\n',
    # a second document, a flow mapping at the top, a duplicate key
    "slots:\n  - {slot: 1, gpa: 0x1000, size: 0x1000}\n---\nslots: []\n",
    "{name: x,\nslots:\n  - {slot: 1, gpa: 0x1000, size: 0x1000}\n}\n",
    "slots:\n  - {slot: 1, gpa: 0x1000, size: 0x1000}\nslots:\n  - {slot: 2, gpa: 0x1000, size: 0x1000}\n",
    # values the fast checks refuse: the exact path words the message
    "slots:\n  - {slot: 1, gpa: 0x1001, size: 0x1000}\n",
    "slots:\n  - {slot: 1, name: null, gpa: 0x1000, size: 0x1000}\n",
    "slots:\n  - {slot: 1, gpa: 0x1000, size: 0x1000, flags: 4}\n",
])
def test_odd_files_are_read_exactly(text: str) -> None:
    assert not _both(text)


def test_new_slot_is_a_slot() -> None:
    from gmemtui.formats.yaml_fast import new_private, new_slot

    made = new_slot(5, 0x1000, 0x2000, 0x3000, 1, 6, 2, 0x4000, "n", 9)
    plain = Slot(slot=5, gpa=0x1000, size=0x2000, ua=0x3000, as_=1, flags=2, gmem=2, offset=0x4000,
                 name="n", line=9)
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert vars(made) == vars(plain) and list(vars(made)) == list(vars(plain))
    assert new_private(1, 2, 3) == PrivateRange(1, 2, line=3) and vars(new_private(1, 2, 3)) == {
        "gpa": 1, "size": 2, "line": 3}
