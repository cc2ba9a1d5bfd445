"""``json.dumps(obj, indent=2)``, byte for byte, with the C encoder doing most of the work.

CPython's C encoder only writes compact JSON; ``indent`` switches ``json`` to its pure-Python
encoder, which costs ~0.9 s for the 95,000 runs of a 32,763-slot ``report --json``. Two facts
make the C encoder usable here:

- a raw newline is always structure (inside a string it is escaped as ``\\n``), so a subtree
  encoded at indent level 0 becomes the same subtree at a deeper level by indenting every line;
- a *flat* container (only scalar values) encoded with the item separator ``",\\n" + indent`` is
  its indented form except for the line breaks after the opening and before the closing bracket.

- in a list of non-empty flat dicts (the runs of a slot), encoded in one call with the item
  separator of the dicts' keys, ``"}," + newline`` only occurs between two dicts, and there it
  needs the list's shallower indentation instead.

So containers of containers are walked here; every flat container, and every list of flat dicts,
is one C call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from json.encoder import c_make_encoder  # None without the _json C module

_SCALARS = frozenset((str, int, float, bool, type(None)))
# what json writes for the common scalars (floats, subclasses ... go through json.dumps itself)
_encode_str = json.encoder.encode_basestring_ascii  # the C function when _json is there
encode_str = _encode_str  # a str as ``json.dumps`` writes it (ASCII, quoted)
_SCALAR_TEXT = {
    str: _encode_str,
    int: int.__repr__,
    bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null",
}


@lru_cache(maxsize=64)
def flat_encoder(inner: str) -> Callable[[object], str]:
    """Compact JSON with the item separator ``"," + inner`` (newline and spaces).

    The C encoder is made once per indentation and called directly: ``JSONEncoder.encode`` makes a
    new one on every call, which costs more than encoding a small dict (two calls per slot).
    Without cycle check: flat containers and lists of them cannot hold a cycle.
    """
    encoder = json.JSONEncoder(separators=("," + inner, ": "))
    if c_make_encoder is None:
        return encoder.encode
    c_encode = c_make_encoder(None, encoder.default, _encode_str, None, ": ", "," + inner,
                              False, False, True)  # sort_keys, skipkeys, allow_nan as json.dumps
    return lambda obj: "".join(c_encode(obj, 0))


def _is_flat(values) -> bool:
    return _SCALARS.issuperset(map(type, values))


def dumps_indented(obj: object) -> str:
    """Exactly ``json.dumps(obj, indent=2)``; TypeError for what JSON cannot hold (no cycle check)."""
    out: list[str] = []
    _encode(obj, "\n", out)
    return "".join(out)


def _encode(obj: object, ind: str, out: list[str]) -> None:
    """Append ``obj`` as ``json.dumps(obj, indent=2)`` writes it where a line starts with ``ind``."""
    kind = type(obj)
    text_of = _SCALAR_TEXT.get(kind)
    if text_of is not None:
        out.append(text_of(obj))
        return
    if kind is not dict and kind is not list:
        out.append(json.dumps(obj, indent=2).replace("\n", ind))  # scalars, tuples, subclasses...
        return
    if not obj:
        out.append("{}" if kind is dict else "[]")
        return
    inner = ind + "  "
    values = obj.values() if kind is dict else obj
    if _is_flat(values):
        text = flat_encoder(inner)(obj)
        out.append(f"{text[0]}{inner}{text[1:-1]}{ind}{text[-1]}")
        return
    if kind is list and all(type(v) is dict and v and _is_flat(v.values()) for v in obj):
        keys = inner + "  "
        text = flat_encoder(keys)(obj)  # '[{"a": 1,<keys>"b": 2},<keys>{"a": 3 ...}]'
        body = text[2:-2].replace("}," + keys + "{", f"{inner}}},{inner}{{{keys}")
        out.append(f"[{inner}{{{keys}{body}{inner}}}{ind}]")
        return
    if kind is dict:
        out.append("{")
        items = obj.items()
    else:
        out.append("[")
        items = ((None, value) for value in obj)
    sep = inner
    for key, value in items:
        if kind is dict:
            out.append(f"{sep}{_KEYS.get(key) or _key(key)}: ")
        else:
            out.append(sep)
        text_of = _SCALAR_TEXT.get(type(value))
        if text_of is not None:  # inline: most values of a slot are scalars
            out.append(text_of(value))
        else:
            _encode(value, inner, out)
        sep = "," + inner
    out.append(ind + ("}" if kind is dict else "]"))


_KEYS: dict[object, str] = {}  # str key -> its JSON text; a report repeats ~20 keys 32,763 times


def _key(key: object) -> str:
    """A dict key as JSON writes it (non-string keys become strings, as in ``json.dumps``)."""
    if type(key) is str:
        text = _encode_str(key)
        if len(_KEYS) < 1024:
            _KEYS[key] = text
        return text
    text = json.dumps({key: None})  # raises TypeError for keys JSON cannot hold, as json.dumps does
    return text[1 : text.rindex(":")]
