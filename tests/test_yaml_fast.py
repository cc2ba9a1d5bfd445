"""The loader's fast path (gmemtui/formats/yaml_fast.py) agrees with the detailed reader.

The fast path may only decline (None: the detailed reader reads the entry and words the message);
whenever it answers, the answer must be the detailed reader's, line included. Random entries built
from valid and invalid spellings check that on every arch, and the usual shapes must take it.
"""

from __future__ import annotations

import random

import pytest

from gmemtui.core.platform import PLATFORMS
from gmemtui.formats import yaml_load
from gmemtui.formats.yaml_fast import fast_private, fast_slot

SLOT_VALUES = {
    "slot": ["0", "5", "32763", "32764", "32766", "32767", "-1", "0x10", "010", "1_0", "~", "[1]", "+3"],
    "as": ["0", "1", "2", "~"],
    "gpa": ["0", "0x20000", "0x40000", "0x1000", "0x1001", "4096", "2G", "0x4000", "0x10000",
            "0xfffffffff000", "0x10000000000000", '"0x2000"', "0xFFFFFFFFFFFFF000", " 0x1000"],
    "size": ["0x40000", "0x30000", "0", "0x1000", "0x200000", "1M", "0x3000", "0x10000", "0x20000",
             "{a: 1}", "00"],
    "ua": ["0x30000", "0x1000", "0x1234", "~", "0x7f0000000000", "0xffffffffffff0000", "0x10000"],
    "flags": ["[]", "[readonly]", "[log_dirty, readonly]", "[guest_memfd]", "1", "3", "4", "8", "~",
              "[bogus]", "[~]"],
    "guest_memfd": ["0", "3", "~", "0x1"],
    "offset": ["0x30000", "0", "0x1000", "0x800", "0x10000", "~"],
    "name": ["ram", '"q r"', "~", "12", "[a]"],
    "bogus": ["1"],
}


def _entry(rng: random.Random, values: dict[str, list[str]], required: tuple[str, ...]) -> str:
    keys = [k for k in values if k in required or rng.random() < 0.5]
    if rng.random() < 0.05:
        keys.append(rng.choice(keys))  # a duplicate key
    rng.shuffle(keys)
    lines = [f"{k}: {rng.choice(values[k])}" for k in keys]
    return "# an entry\n\n" + "\n".join(lines) + "\n"  # starts on line 3


def _node(text: str):
    return yaml_load.compose(text, "t.yaml")


@pytest.mark.parametrize("arch", sorted(PLATFORMS))
def test_fast_slot_answers_only_what_the_detailed_reader_answers(arch: str) -> None:
    plat = PLATFORMS[arch]
    rng = random.Random(arch)
    answered = 0
    for _ in range(3000):
        text = _entry(rng, SLOT_VALUES, ("slot", "gpa", "size"))
        node = _node(text)
        fast = fast_slot(node, plat)
        if fast is None:
            continue
        answered += 1
        reader = yaml_load._Reader(plat, [], plat)
        detailed = reader.slot_in_detail(node)
        assert reader.errors == [], text
        assert fast == detailed, text
        assert fast.line == detailed.line == 3
    assert answered > 10  # the valid spellings above do reach the fast path


@pytest.mark.parametrize("arch", sorted(PLATFORMS))
def test_fast_private_answers_only_what_the_detailed_reader_answers(arch: str) -> None:
    plat = PLATFORMS[arch]
    rng = random.Random(arch)
    values = {k: SLOT_VALUES[k] for k in ("gpa", "size", "bogus")}
    answered = 0
    for _ in range(600):
        text = _entry(rng, values, ("gpa", "size"))
        node = _node(text)
        fast = fast_private(node, plat)
        if fast is None:
            continue
        answered += 1
        reader = yaml_load._Reader(plat, [], plat)
        detailed = reader.private_in_detail(node)
        assert reader.errors == [], text
        assert fast == detailed and fast.line == detailed.line == 3, text
    assert answered > 30


@pytest.mark.parametrize("text", [
    "slot: 1\ngpa: 0x100000\nsize: 0x200000\n",
    "{slot: 0, gpa: 0x0, size: 0x4003000, ua: 0x10000000000, guest_memfd: 0, offset: 0x0}\n",
    "slot: 2\nas: 1\ngpa: 0\nsize: 4096\nua: 0x7f0000000000\nflags: [readonly]\nname: ram\n",
    "slot: 3\ngpa: 0x1000\nsize: 0x1000\nflags: 4\nguest_memfd: 2\noffset: 0x2000\n",
])
def test_usual_slots_take_the_fast_path(text: str) -> None:
    assert fast_slot(_node(text), PLATFORMS["x86_64"]) is not None


def test_null_set_is_pyyamls_null_pattern() -> None:
    """The resolver looks plain scalars up in ``_NULLS``; PyYAML's own regex is the reference."""
    for text in ["", "~", "null", "Null", "NULL", "nULL", "none", "None", "~~", " null", "null ", "0", "-"]:
        assert (text in yaml_load._NULLS) == bool(yaml_load._NULL_RE.match(text)), repr(text)
