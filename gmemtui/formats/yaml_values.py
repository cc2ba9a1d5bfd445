"""Reading one node of a YAML layout into a value, with the message that names what is wrong.

Numbers are read from the node's own text, not from YAML's resolvers (``0777`` is not octal here,
``"2G"`` is a size); each helper raises ``NodeProblem`` carrying the node, so the reader can turn it
into ``FILE:LINE: ...``. ``gmemtui.formats.yaml_load`` reads whole layouts with these, and the
tour's lesson files reuse them.
"""

from __future__ import annotations

import re

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gmemtui.core.model import FLAG_NAMES, KVM_MEM_GUEST_MEMFD, POLICIES, POLICY_ALIASES, POLICY_NAMES
from gmemtui.core.platform import Platform
from gmemtui.core.units import parse_size
from gmemtui.core.validate import multiple_problem, page_problem

TOP_KEYS = ("name", "arch", "policy", "host_max_page", "private_max_page", "guest_memfd", "slots", "private")
SLOT_KEYS = ("slot", "as", "name", "gpa", "size", "ua", "flags", "guest_memfd", "offset")
FILE_KEYS = ("id", "size", "max_page", "mmap")
PRIVATE_KEYS = ("gpa", "size")

# Defaults by rung (docs/formats.md): host_max_page and a file's max_page are the second rung (THP is
# PMD-sized: 2M on x86, 32M / 512M on arm64 with 16K / 64K pages), private_max_page the largest.
# The names below are x86's values, kept for code that imported them; the loader uses the rungs.
DEFAULT_HOST_MAX_PAGE = "2M"
DEFAULT_PRIVATE_MAX_PAGE = "1G"
DEFAULT_FILE_MAX_PAGE = "2M"

NULL_TAG = "tag:yaml.org,2002:null"
_STRICT_INT_RE = re.compile(r"^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*)$")
_LEADING_ZERO_RE = re.compile(r"^0[0-9_]+$")
# The usual spellings, below 2^64 by their length: decided by one match (the rest take the long way)
_PLAIN_INT_RE = re.compile(r"0[xX][0-9a-fA-F]{1,16}|[1-9][0-9]{0,18}|0")
_FLAG_BITS = {**FLAG_NAMES, "guest_memfd": KVM_MEM_GUEST_MEMFD}


class NodeProblem(Exception):
    """One problem at one line; collected, the first in file order is raised."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "nothing"
    return shown(node.value)


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def scalar_text(node: Node, what: str, expected: str) -> str:
    if not isinstance(node, ScalarNode) or node.tag == NULL_TAG:
        raise NodeProblem(line_of(node), f"{what}: expected {expected}, got {describe(node)}")
    return node.value.strip()


MAX_VALUE = 1 << 64  # every address, size, offset and id of the uAPI fits a __u64
_MAX_TEXT = 80  # a longer number cannot be below MAX_VALUE (and int() refuses 4300+ digits)


def shown(text: str) -> str:
    """The user's text quoted for a message, shortened if long."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _bounded(text: str, value: int) -> int:
    if value >= MAX_VALUE:
        raise ValueError(f"{shown(text)} is too large (more than 64 bits)")
    return value


def parse_int_text(text: str) -> int:
    """A non-negative integer as written: decimal, 0x/0o/0b, underscores; a leading 0 is refused."""
    if _PLAIN_INT_RE.fullmatch(text):
        return int(text, 0)
    if len(text) > _MAX_TEXT:
        raise ValueError(f"{shown(text)} is too large (more than 64 bits)")
    if _LEADING_ZERO_RE.match(text):
        raise ValueError(
            f"{shown(text)} has a leading zero (octal in YAML 1.1): write {text.lstrip('0_') or '0'} or 0o..."
        )
    if not _STRICT_INT_RE.match(text) or text.endswith("_") or "__" in text:
        raise ValueError(f"{shown(text)} is not a non-negative integer")
    return _bounded(text, int(text.replace("_", ""), 0))


def parse_bytes_text(text: str) -> int:
    """An address or size: an integer as above or a "2G"/"512MiB"/"4k" string (powers of 1024)."""
    if _PLAIN_INT_RE.fullmatch(text):
        return int(text, 0)
    if _LEADING_ZERO_RE.match(text) or _STRICT_INT_RE.match(text) or len(text) > _MAX_TEXT:
        return parse_int_text(text)  # also raises the leading-zero and too-large messages
    try:
        value = parse_size(text)
    except ValueError:
        raise ValueError(
            f'{shown(text)} is not a byte count (write an integer, 0x..., or a size like "2G")'
        ) from None
    return _bounded(text, value)


def as_int(node: Node, what: str) -> int:
    text = scalar_text(node, what, "an integer")
    try:
        return parse_int_text(text)
    except ValueError as e:
        raise NodeProblem(line_of(node), f"{what}: {e}") from None


def as_bytes(node: Node, what: str) -> int:
    text = scalar_text(node, what, 'an integer or a size like "2G"')
    try:
        return parse_bytes_text(text)
    except ValueError as e:
        raise NodeProblem(line_of(node), f"{what}: {e}") from None


def as_aligned(node: Node, what: str, plat: Platform) -> int:
    value = as_bytes(node, what)
    problem = multiple_problem(what, value, plat)
    if problem:
        raise NodeProblem(line_of(node), problem)
    return value


def as_size(node: Node, what: str, plat: Platform, empty: str) -> int:
    value = as_aligned(node, what, plat)
    if value == 0:
        raise NodeProblem(line_of(node), f"{what} 0: {empty}")
    return value


def as_page(node: Node, what: str, plat: Platform, target: Platform | None = None) -> int:
    """A page size of ``plat``'s ladder; with ``target`` (``--arch``) moved to the same rung there."""
    value = _as_page(node, what, plat)
    return target.same_rung(value, plat) if target is not None and target is not plat else value


def _as_page(node: Node, what: str, plat: Platform) -> int:
    text = scalar_text(node, what, f"a page size ({', '.join(plat.names)})")
    try:
        value = plat.page(text).bytes
    except KeyError:
        try:
            value = parse_bytes_text(text)
        except ValueError:
            raise NodeProblem(
                line_of(node),
                f"{what}: {shown(text)} is not a page size of {plat.arch} ({', '.join(plat.names)})",
            ) from None
    problem = page_problem(what, value, plat)
    if problem:
        raise NodeProblem(line_of(node), problem)
    return value


def as_str(node: Node, what: str) -> str | None:
    if is_null(node):
        return None
    if not isinstance(node, ScalarNode):
        raise NodeProblem(line_of(node), f"{what}: expected a string, got {describe(node)}")
    return node.value


def as_choice(node: Node, what: str, choices: tuple[str, ...]) -> str:
    text = scalar_text(node, what, f"one of {', '.join(choices)}")
    if text not in choices:
        raise NodeProblem(line_of(node), f"unknown {what} {shown(text)} (known: {', '.join(choices)})")
    return text


def as_policy(node: Node) -> str:
    """A policy name; an alias (``4k-only``) is read as the policy it names (Layout keeps that)."""
    text = scalar_text(node, "policy", f"one of {', '.join(POLICY_NAMES)}")
    if text not in POLICY_NAMES:
        aliases = ", ".join(f"{a} = {c}" for a, c in POLICY_ALIASES.items())
        raise NodeProblem(line_of(node),
                          f"unknown policy {shown(text)} (known: {', '.join(POLICIES)}; {aliases})")
    return text


def as_bool(node: Node, what: str) -> bool:
    text = scalar_text(node, what, "true or false")
    if text.lower() not in ("true", "false"):
        raise NodeProblem(line_of(node), f"{what}: expected true or false, got {shown(text)}")
    return text.lower() == "true"


def as_flags(node: Node) -> int:
    """``[log_dirty, readonly]`` or the KVM mask as an integer (1, 2; 4 = guest_memfd)."""
    if isinstance(node, SequenceNode):
        mask = 0
        for item in node.value:
            text = scalar_text(item, "flags", "a flag name")
            if text not in FLAG_NAMES:
                close = _difflib().get_close_matches(text, list(FLAG_NAMES), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(FLAG_NAMES)}"
                if text == "guest_memfd":
                    hint = "bind a file with the slot's guest_memfd key"
                raise NodeProblem(line_of(item), f"unknown flag {shown(text)} ({hint})")
            mask |= FLAG_NAMES[text]
        return mask
    value = as_int(node, "flags") if not is_null(node) else 0
    unknown = value & ~sum(_FLAG_BITS.values())
    if unknown:
        raise NodeProblem(
            line_of(node), f"flags: unknown bits {hex(unknown)} (1 log_dirty, 2 readonly, 4 guest_memfd)"
        )
    return value


def mapping_items(node: Node, where: str, known: tuple[str, ...],
                  errors: list[NodeProblem]) -> dict[str, Node]:
    """A mapping's values by key, in file order; unknown and duplicate keys are errors."""
    if not isinstance(node, MappingNode):
        raise NodeProblem(line_of(node), f"{where}: expected a mapping, got {describe(node)}")
    out: dict[str, Node] = {}
    keys: dict[str, int] = {}
    for k, v in node.value:
        if not isinstance(k, ScalarNode):
            errors.append(NodeProblem(line_of(k), f"{where}: a key must be a plain word, got {describe(k)}"))
            continue
        key = k.value
        if key not in known:
            close = _difflib().get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
            errors.append(NodeProblem(line_of(k), f"unknown key {shown(key)} ({hint})"))
            continue
        if key in keys:
            errors.append(NodeProblem(line_of(k), f"duplicate key {shown(key)} (first on line {keys[key]})"))
            continue
        keys[key] = line_of(k)
        out[key] = v
    return out


def sequence_of(node: Node, what: str) -> list[Node]:
    if is_null(node):
        return []
    if not isinstance(node, SequenceNode):
        raise NodeProblem(line_of(node), f"{what}: expected a list, got {describe(node)}")
    return list(node.value)


def _difflib():
    import difflib  # only when a key is wrong and a nearest one is named

    return difflib
