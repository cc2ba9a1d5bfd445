"""The canonical entry lists of a layout read by regex, without building a YAML node per value.

At KVM's limit a layout has 32,763 slots and thousands of private ranges, written the way
``yaml_dump`` writes them (one ``key: value`` per line) or one flow mapping per line. Composing them
with libyaml costs nodes, marks and a resolver call per value; reading them line by line costs what
the regex engine and ``int()`` cost. This module only *cuts* such lists out of the text:

- ``cut`` finds a top-level ``slots:`` / ``private:`` key line followed by a run of entries in one
  of the canonical shapes (known keys in ``yaml_dump``'s order, each at most once; plain decimal or
  hex numbers; flags as ``[names]`` or a number; a name double-quoted without escapes or a plain
  word; printable ASCII comments at line ends; spaces only). The skeleton is the text with each run
  replaced by as many empty lines, so every other line keeps its number.
- ``yaml_load`` composes the skeleton with the exact path and accepts the cut only if each key it
  cut after is a top-level key of a block mapping on that line whose value is null there -- so
  nothing after a run (an odd entry, a continuation line) belonged to the list, and the text before
  it was read as YAML reads it. Then ``entries`` turns each run into slots or private ranges with the
  fast path's own checks (``yaml_fast.checked_slot``); any entry those decline sends the whole file
  to the exact path, which words the ``FILE:LINE`` message.

So this reader never writes a message, and what it accepts is what the exact path would read:
tests/test_yaml_lines.py compares both on random layouts and on mutated texts.
"""

from __future__ import annotations

import re
from functools import lru_cache, reduce
from itertools import accumulate, repeat
from operator import add, or_

from gmemtui.core.model import FLAG_NAMES, KVM_MEM_GUEST_MEMFD
from gmemtui.core.platform import Platform
from gmemtui.formats.yaml_fast import KNOWN_FLAG_BITS, new_private, new_slot

_NUM = r"(0[xX][0-9a-fA-F]{1,16}|[1-9][0-9]{0,18}|0)"  # the spellings parse_int_text takes at once
_END = r"(?:[ ]+(?:#[ -~]*)?)?\n"  # spaces, a comment of printable ASCII, the end of the line
_FLAG = "(?:" + "|".join(FLAG_NAMES) + ")"
_FLAGS = rf"(\[\]|\[{_FLAG}(?:,[ ]{_FLAG})*\]|0[xX][0-9a-fA-F]{{1,16}}|[1-9][0-9]{{0,18}}|0)"
# double-quoted without an escape or a line break, or plain: in a flow mapping one word that cannot be
# anything else; in a block one a letter starts and a non-space ends, without '#' or ':' (a comment, a
# mapping) -- YAML reads such a scalar as its own text, a null word aside (``_name``)
_QUOTED = r'"[ !#-\[\]-~]*"'
_NAME = rf"({_QUOTED}|[A-Za-z_][A-Za-z0-9_.-]*)"
_BLOCK_NAME = rf'({_QUOTED}|[A-Za-z_](?:[ -"$-9;-~]*[!-"$-9;-~])?)'
_SEP = r"[ ]*,[ ]+"  # between the pairs of a flow mapping
# (key, value pattern, required) in yaml_dump's order: the only order a canonical entry has
_SLOT_KEYS = (("slot", _NUM, True), ("as", _NUM, False), ("name", _NAME, False), ("gpa", _NUM, True),
              ("size", _NUM, True), ("ua", _NUM, False), ("flags", _FLAGS, False),
              ("guest_memfd", _NUM, False), ("offset", _NUM, False))
_PRIVATE_KEYS = (("gpa", _NUM, True), ("size", _NUM, True))
_KEY_LINE = r"^{}:(?:[ ]+(?:#[ -~]*)?)?\n"  # the key alone on its line (compiled on first use)
_ENTRY_START = r"( *)- (\{?)"
_NULLS = frozenset(("null", "Null", "NULL"))  # plain words YAML reads as null (never a name here)


def _block(indent: str, keys: tuple) -> str:
    """One entry as ``- key: value`` lines, the keys under the first one."""
    first, *rest = keys
    out = rf"{indent}- {first[0]}:[ ]+{first[1]}{_END}"
    for key, value, required in rest:
        value = _BLOCK_NAME if value == _NAME else value
        line = rf"{indent}  {key}:[ ]+{value}{_END}"
        out += line if required else f"(?:{line})?"
    return out


def _flow(indent: str, keys: tuple) -> str:
    """One entry as a flow mapping on a line of its own."""
    first, *rest = keys
    out = rf"{indent}- \{{[ ]*{first[0]}:[ ]+{first[1]}"
    for key, value, required in rest:
        pair = rf"{_SEP}{key}:[ ]+{value}"
        out += pair if required else f"(?:{pair})?"
    return out + rf"[ ]*\}}{_END}"


@lru_cache(maxsize=32)
def _entry_re(what: str, indent: str, flow: bool) -> re.Pattern[str]:
    keys = _SLOT_KEYS if what == "slots" else _PRIVATE_KEYS
    return re.compile((_flow if flow else _block)(indent, keys))


class Run:
    """The entries of one list: ``text[start:end]``, in one shape; ``key_line`` is the 0-based line
    of the key the list belongs to, where the skeleton must show that key with a null value. (A
    plain class: a dataclass would cost a millisecond of start-up.)"""

    __slots__ = ("what", "start", "end", "key_line", "flow", "values")

    def __init__(self, what: str, start: int, end: int, key_line: int, flow: bool,
                 values: list[tuple[str, ...]]) -> None:
        self.what = what  # "slots" or "private"
        self.start, self.end, self.key_line, self.flow = start, end, key_line, flow
        self.values = values  # the captured texts of each entry, in file order ('': key absent)


class Cut:
    __slots__ = ("skeleton", "runs")

    def __init__(self, skeleton: str, runs: tuple[Run, ...]) -> None:
        self.skeleton, self.runs = skeleton, runs


def _run(text: str, what: str) -> Run | None:
    key = re.compile(_KEY_LINE.format(what), re.M).search(text)
    if key is None:
        return None
    start = key.end()
    head = re.compile(_ENTRY_START).match(text, start)
    if head is None:
        return None
    flow = head.group(2) == "{"
    values = []
    pos = start
    for m in _entry_re(what, head.group(1), flow).finditer(text, start):
        if m.start() != pos:  # something else between two entries: the run ends here
            break
        values.append(m.groups(""))
        pos = m.end()
    if not values:
        return None
    return Run(what, start, pos, text.count("\n", 0, key.start()), flow, values)


def cut(text: str) -> Cut | None:
    """The skeleton and the runs cut out of it, or None if there is no canonical run to cut."""
    runs = sorted((r for r in (_run(text, "slots"), _run(text, "private")) if r is not None),
                  key=lambda r: r.start)
    if not runs or (len(runs) == 2 and runs[0].end > runs[1].start):
        return None
    pieces, pos = [], 0
    for r in runs:
        pieces += [text[pos:r.start], "\n" * text.count("\n", r.start, r.end)]
        pos = r.end
    pieces.append(text[pos:])
    return Cut("".join(pieces), tuple(runs))


def _flags(text: str) -> int:
    if text[0] != "[":
        return int(text, 0)
    mask = 0
    for name in text[1:-1].split(", ") if text != "[]" else ():
        mask |= FLAG_NAMES[name]
    return mask


def _name(text: str) -> str | None | bool:
    """The name's value (None: no name); False for a plain word YAML reads as null."""
    if not text:
        return None
    if text[0] == '"':
        return text[1:-1]
    return False if text in _NULLS else text


def _ints(column: tuple[str, ...], absent: int | None) -> list:
    """The numbers of a column of captures ('' where the key is absent: ``absent``)."""
    if "" not in column:
        return list(map(int, column, repeat(0)))
    return [int(t, 0) if t else absent for t in column]


def _lines(first: int, steps: list[int]) -> list[int]:
    return list(accumulate(steps[:-1], initial=first))


def entries(run: Run, first_line: int, plat: Platform) -> list | None:
    """The slots or private ranges of ``run`` (the first on line ``first_line``, 1-based), or None if
    an entry is not plainly valid (the exact path reads the file and says why).

    Column by column (one ``map`` per key, each distinct flags or name text read once), then the
    checks of ``yaml_fast.checked_slot`` / ``checked_private`` over whole columns."""
    n = len(run.values)
    cols = list(zip(*run.values, strict=True))
    base = plat.base.bytes - 1
    limit = 1 << plat.gpa_bits
    if run.what == "private":
        gpa, size = _ints(cols[0], None), _ints(cols[1], None)
        if (reduce(or_, gpa, 0) | reduce(or_, size, 0)) & base or 0 in size \
                or max(map(add, gpa, size)) > limit:
            return None
        lines = range(first_line, first_line + n * (1 if run.flow else 2), 1 if run.flow else 2)
        return list(map(new_private, gpa, size, lines))
    sid, as_, name, gpa, size, ua, flags, gmem, offset = cols
    gpas, sizes = _ints(gpa, None), _ints(size, None)
    uas = _ints(ua, None)
    if None in uas:  # ua defaults to gpa
        uas = [g if u is None else u for u, g in zip(uas, gpas, strict=True)]
    ids, spaces, gmems, offsets = _ints(sid, None), _ints(as_, 0), _ints(gmem, None), _ints(offset, None)
    texts = {t: _flags(t) if t else 0 for t in set(flags)}
    names = {t: _name(t) for t in set(name)}
    if (
        max(ids) > plat.max_slot_id
        or max(spaces) >= plat.address_spaces
        or (reduce(or_, gpas, 0) | reduce(or_, sizes, 0) | reduce(or_, uas, 0)
            | reduce(or_, filter(None, offsets), 0)) & base
        or 0 in sizes
        or max(map(add, gpas, sizes)) > limit
        or any(v & ~KNOWN_FLAG_BITS for v in texts.values())
        or False in names.values()
    ):
        return None
    masks = list(map(texts.__getitem__, flags))
    unbound = zip(gmems, offsets, masks, strict=True) if None in gmems else ()
    if any(g is None and (o is not None or m & KVM_MEM_GUEST_MEMFD) for g, o, m in unbound):
        return None  # an offset or flag 4 without guest_memfd
    if run.flow:
        lines: range | list[int] = range(first_line, first_line + n)
    else:
        steps = [3] * n
        for col in (as_, name, ua, flags, gmem, offset):
            missing = col.count("")
            if missing != n:
                steps = list(map(add, steps, map(bool, col))) if missing else [s + 1 for s in steps]
        lines = _lines(first_line, steps)
    return list(map(new_slot, ids, gpas, sizes, uas, spaces, masks, gmems, offsets,
                    map(names.__getitem__, name), lines))
