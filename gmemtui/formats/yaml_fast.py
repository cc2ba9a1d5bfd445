"""The fast path of the YAML loader: well-formed slots and private ranges read in one pass per entry.

A layout at KVM's limit has 32,763 slots and thousands of private ranges, and nearly every entry is
plain: known keys once each, values written as plain integers, aligned, in range. For such an
entry ``fast_slot`` / ``fast_private`` read the mapping node's children directly (one dict, one
regex per number, one bitmask for the base-page multiples of every address at once) and build the
model value. Anything else -- a null, a size like ``"2G"``, an unknown flag, an unknown key, a value out of
range, a misaligned address -- returns None, and the detailed reader in ``yaml_load`` reads the entry
again and words the ``FILE:LINE`` message. So the fast path never writes a message: the text of
every error and warning stays the detailed reader's.

Measured on 32,763 slots + 10,000 private ranges (benchmarks/README.md, "The YAML path"): reading
the composed nodes into the model went from 470 to 233 ms CPU (flow file), 649 to 342 ms (block).
"""

from __future__ import annotations

import re

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gmemtui.core.model import FLAG_NAMES, KVM_MEM_GUEST_MEMFD, PrivateRange, Slot
from gmemtui.core.platform import Platform

STR_TAG = "tag:yaml.org,2002:str"
# The usual spellings of a number below 2^64 (as yaml_load's own fast test): decided by one match
_PLAIN_INT = re.compile(r"0[xX][0-9a-fA-F]{1,16}|[1-9][0-9]{0,18}|0").fullmatch
# The keys whose value is a plain number, and the keys the fast path reads at all
_SLOT_NUMBERS = frozenset(("slot", "as", "gpa", "size", "ua", "guest_memfd", "offset"))
_SLOT_TEXTS = frozenset(("name", "flags"))
_PRIVATE_NUMBERS = frozenset(("gpa", "size"))
KNOWN_FLAG_BITS = sum(FLAG_NAMES.values()) | KVM_MEM_GUEST_MEMFD


def _flags(node: Node) -> int | None:
    """``[log_dirty, readonly]`` by name, or a plain integer of known bits; otherwise None."""
    if type(node) is SequenceNode:
        mask = 0
        for item in node.value:
            if type(item) is not ScalarNode or item.tag != STR_TAG or item.value not in FLAG_NAMES:
                return None
            mask |= FLAG_NAMES[item.value]
        return mask
    if type(node) is ScalarNode and node.tag == STR_TAG and _PLAIN_INT(node.value):
        value = int(node.value, 0)
        return value if not value & ~KNOWN_FLAG_BITS else None
    return None


def _values(node: Node, numbers: frozenset[str], texts: frozenset[str] = frozenset()) -> dict | None:
    """One pass over a mapping's children: ``numbers`` keys as ints (plain spellings only), ``texts``
    keys as their string, ``flags`` as ``_flags`` reads it. None if a key is unknown or repeated, a
    value null, a list where a scalar belongs, or a number spelled otherwise."""
    if type(node) is not MappingNode:
        return None
    values: dict = {}
    for k, v in node.value:
        if type(k) is not ScalarNode or k.value in values:
            return None
        key = k.value
        if key == "flags" and "flags" in texts:
            flags = _flags(v)
            if flags is None:
                return None
            values[key] = flags
        elif type(v) is not ScalarNode or v.tag != STR_TAG:
            return None
        elif key in numbers:
            if not _PLAIN_INT(v.value):
                return None
            values[key] = int(v.value, 0)
        elif key in texts:
            values[key] = v.value
        else:
            return None
    return values


def checked_slot(plat: Platform, line: int, slot: int, gpa: int, size: int, *, ua: int | None = None,
                 as_: int = 0, flags: int = 0, gmem: int | None = None, offset: int | None = None,
                 name: str | None = None) -> Slot | None:
    """The slot of these values (``None`` for an absent key), or None if the detailed reader would
    find anything wrong with them.

    Checks what the detailed reader checks (``slot_id_problem``, ``as_problem``, ``multiple_problem``
    of gpa/size/ua/offset, size 0, ``range_problem``, offset or flag 4 without guest_memfd, the
    flags ``as_flags`` knows), as plain tests."""
    if ua is None:
        ua = gpa
    if (
        not 0 <= slot <= plat.max_slot_id
        or not 0 <= as_ < plat.address_spaces
        or (gpa | size | ua | (offset or 0)) & (plat.base.bytes - 1)
        or size == 0
        or gpa + size > 1 << plat.gpa_bits
        or flags & ~KNOWN_FLAG_BITS
        or (gmem is None and (offset is not None or flags & KVM_MEM_GUEST_MEMFD))
    ):
        return None
    return new_slot(slot, gpa, size, ua, as_, flags, gmem, offset, name, line)


def new_slot(slot: int, gpa: int, size: int, ua: int, as_: int, flags: int, gmem: int | None,
             offset: int | None, name: str | None, line: int) -> Slot:
    """``Slot(...)`` of checked values (flag 4 dropped: it follows ``gmem``) at a third of the cost:
    the frozen ``__init__`` sets each field through ``object.__setattr__``; this fills ``__dict__``
    at once (same value, equality and hash; tests/test_yaml_lines.py compares them)."""
    s = _new(Slot)
    s.__dict__.update(slot=slot, gpa=gpa, size=size, ua=ua, as_=as_, flags=flags & ~KVM_MEM_GUEST_MEMFD,
                      gmem=gmem, offset=offset or 0, name=name, line=line)
    return s


def new_private(gpa: int, size: int, line: int) -> PrivateRange:
    r = _new(PrivateRange)
    r.__dict__.update(gpa=gpa, size=size, line=line)
    return r


_new = object.__new__


def checked_private(plat: Platform, line: int, gpa: int, size: int) -> PrivateRange | None:
    """The private range ``[gpa, gpa + size)``, or None if the detailed reader would refuse it."""
    if (gpa | size) & (plat.base.bytes - 1) or size == 0 or gpa + size > 1 << plat.gpa_bits:
        return None
    return new_private(gpa, size, line)


def fast_slot(node: Node, plat: Platform) -> Slot | None:
    """The slot of a well-formed mapping (see the module docstring), or None: read it in detail."""
    n = _values(node, _SLOT_NUMBERS, _SLOT_TEXTS)
    if n is None or "slot" not in n or "gpa" not in n or "size" not in n:
        return None
    return checked_slot(plat, node.start_mark.line + 1, n["slot"], n["gpa"], n["size"], ua=n.get("ua"),
                        as_=n.get("as", 0), flags=n.get("flags", 0), gmem=n.get("guest_memfd"),
                        offset=n.get("offset"), name=n.get("name"))


def fast_private(node: Node, plat: Platform) -> PrivateRange | None:
    """The private range of a well-formed ``{gpa, size}`` mapping, or None: read it in detail."""
    n = _values(node, _PRIVATE_NUMBERS)
    if n is None or len(n) != 2:
        return None
    return checked_private(plat, node.start_mark.line + 1, n["gpa"], n["size"])
