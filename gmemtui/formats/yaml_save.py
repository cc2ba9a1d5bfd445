"""Save an edited layout back into the user's YAML text, changing only what changed (docs/formats.md).

A round trip through a YAML library would lose comments, key order and number style, so this
splices: the original text is composed (nodes keep the character index of every scalar), each
changed value is replaced in place in the style it was written in (hex stays hex with the same
``_`` grouping, decimal stays decimal, ``"2G"`` stays a size with a suffix, quotes stay), and a key
the original did not have is added as a new line of its mapping (or ``, key: value`` in a flow
mapping ``{...}``). Everything else is byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gmemtui.core.model import FLAG_NAMES, KVM_MEM_GUEST_MEMFD, GmemFile, Layout, Slot
from gmemtui.core.platform import DEFAULT_ARCH, Platform
from gmemtui.core.units import fmt_size
from gmemtui.formats.yaml_values import FILE_KEYS, SLOT_KEYS, TOP_KEYS, is_null, parse_int_text

_HEX_RE = re.compile(r"^0([xX])([0-9a-fA-F_]+)$")
_OCT_BIN_RE = re.compile(r"^0([oObB])([0-7_]+)$")
_DEC_RE = re.compile(r"^([0-9][0-9_]*)$")
_SUFFIX_RE = re.compile(r"^[0-9][0-9_]*\s*([kmgtpKMGTP])(i?[bB])?$")
_SHIFTS = {"K": 10, "M": 20, "G": 30, "T": 40, "P": 50}


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str
    order: int  # keeps insertions at one position in key order


def _group(digits: str, like: str) -> str:
    """Digits grouped with ``_`` as in ``like`` (the old digits): same group width from the right."""
    if "_" not in like:
        return digits
    width = len(like.rsplit("_", 1)[1]) or 4
    groups = []
    while digits:
        groups.append(digits[-width:])
        digits = digits[:-width]
    return "_".join(reversed(groups))


def fmt_int_like(old: str | None, value: int, address: bool) -> str:
    """``value`` in the style of the old scalar text ``old`` (None: absent or null)."""
    text = (old or "").strip()
    m = _HEX_RE.match(text)
    if m:
        old_digits = m.group(2)
        bare = old_digits.replace("_", "")
        digits = f"{value:x}"
        if any(c in "ABCDEF" for c in bare):
            digits = digits.upper()
        if len(bare) > 1 and bare.startswith("0"):
            digits = digits.rjust(len(bare), "0")
        return f"0{m.group(1)}{_group(digits, old_digits)}"
    m = _OCT_BIN_RE.match(text)
    if m:
        digits = f"{value:o}" if m.group(1) in "oO" else f"{value:b}"
        return f"0{m.group(1)}{_group(digits, m.group(2))}"
    m = _SUFFIX_RE.match(text)
    if m:
        return _fmt_suffix(value, m.group(1), m.group(2) or "")
    if _DEC_RE.match(text) and not (text == "0" and address):
        return _group(str(value), text)
    return hex(value)


def _fmt_suffix(value: int, letter: str, tail: str) -> str:
    """A size with a binary suffix (keeping the old letter case and ``iB``/``B``), or hex if awkward."""
    exact = fmt_size(value)
    if value and exact[-1] in _SHIFTS and int(exact[:-1]) < 10000:
        unit = exact[-1].lower() if letter.islower() else exact[-1]
        return f"{exact[:-1]}{unit}{tail}"
    return hex(value)


def fmt_page_like(old: str | None, value: int, plat: Platform) -> str:
    """A page size: the ladder's name (``2M``) unless the old text was a plain integer."""
    text = (old or "").strip()
    if _HEX_RE.match(text) or _DEC_RE.match(text) or _OCT_BIN_RE.match(text):
        return fmt_int_like(text, value, address=False)
    name = plat.name_of(value)
    m = re.match(r"^[0-9]+\s*([a-zA-Z])(i?[bB])?$", text)
    if m:
        return f"{name[:-1]}{name[-1].lower() if m.group(1).islower() else name[-1]}{m.group(2) or ''}"
    return name


def fmt_bool_like(old: str | None, value: bool) -> str:
    word = "true" if value else "false"
    text = (old or "").strip()
    if text.isupper() and len(text) > 1:
        return word.upper()
    if text[:1].isupper():
        return word.capitalize()
    return word


class _Splicer:
    """Collects replacements and insertions against the original text, then applies them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.eol = "\r\n" if "\r\n" in text else "\n"
        self.edits: list[_Edit] = []

    def replace(self, node: ScalarNode, new_inner: str) -> None:
        """Replace a scalar's text, keeping its quotes."""
        start, end = node.start_mark.index, node.end_mark.index
        if node.style in ("'", '"'):
            new = f"{node.style}{new_inner}{node.style}"
        else:
            new = new_inner
            if start == end and start > 0 and self.text[start - 1] == ":":
                new = " " + new  # `key:` with an empty (null) value
        self.edits.append(_Edit(start, end, new, len(self.edits)))

    def replace_node(self, node: Node, new: str) -> None:
        self.edits.append(_Edit(node.start_mark.index, node.end_mark.index, new, len(self.edits)))

    def insert(self, mapping: MappingNode, key: str, value: str, known: tuple[str, ...]) -> None:
        """Add ``key: value`` to a mapping, after the last present key that precedes it in ``known``."""
        text = self.text
        pairs = [(k, v) for k, v in mapping.value if isinstance(k, ScalarNode)]
        if mapping.flow_style:
            close = mapping.end_mark.index - 1
            while close > 0 and text[close] != "}":
                close -= 1
            before = close - 1
            while before > 0 and text[before].isspace():
                before -= 1
            sep = " " if text[before] in ",{" else ", "
            if text[before] == "{":
                sep = ""
            if any(e.start == close and e.end == close for e in self.edits):
                sep = ", "  # a second key inserted at the same brace
            self.edits.append(_Edit(close, close, f"{sep}{key}: {value}", len(self.edits)))
            return
        indent = " " * pairs[0][0].start_mark.column if pairs else ""
        rank = known.index(key)
        anchor = None
        for k, v in pairs:
            if k.value in known and known.index(k.value) < rank:
                anchor = v
        if anchor is None and pairs:
            first = pairs[0][0]
            ls = text.rfind("\n", 0, first.start_mark.index) + 1
            if text[ls : first.start_mark.index].strip() == "":
                self.edits.append(_Edit(ls, ls, f"{indent}{key}: {value}{self.eol}", len(self.edits)))
                return
        if anchor is None:
            anchor = pairs[-1][1]
        end = anchor.end_mark.index
        ls = text.rfind("\n", 0, end) + 1
        if text[ls:end].strip() == "":  # a block collection or block scalar ends at a line start
            self.edits.append(_Edit(ls, ls, f"{indent}{key}: {value}{self.eol}", len(self.edits)))
            return
        nl = text.find("\n", end)
        if nl == -1:
            nl = len(text)
        elif nl > 0 and text[nl - 1] == "\r":
            nl -= 1
        self.edits.append(_Edit(nl, nl, f"{self.eol}{indent}{key}: {value}", len(self.edits)))

    def apply(self) -> str:
        out: list[str] = []
        pos = 0
        for e in sorted(self.edits, key=lambda e: (e.start, e.end, e.order)):
            if e.start < pos:
                raise ValueError("overlapping edits")  # a bug, not bad input
            out.append(self.text[pos : e.start])
            out.append(e.text)
            pos = e.end
        out.append(self.text[pos:])
        return "".join(out)


def _pairs(mapping: MappingNode) -> dict[str, Node]:
    return {k.value: v for k, v in mapping.value if isinstance(k, ScalarNode)}


def _seq_items(node: Node | None) -> Iterator[Node]:
    if isinstance(node, SequenceNode):
        yield from node.value


def _text(node: Node | None) -> str | None:
    if node is None or is_null(node) or not isinstance(node, ScalarNode):
        return None
    return node.value


class _Writer:
    def __init__(self, text: str, plat: Platform) -> None:
        self.sp = _Splicer(text)
        self.plat = plat

    def put(self, mapping: MappingNode, key: str, known: tuple[str, ...], value: str | None) -> None:
        """Set ``key`` (present or not) to the already formatted ``value`` (None: null)."""
        node = _pairs(mapping).get(key)
        if node is None:
            if value is not None:
                self.sp.insert(mapping, key, value, known)
        elif value is None:
            if not is_null(node):
                self.sp.replace_node(node, "null")
        elif isinstance(node, ScalarNode):
            self.sp.replace(node, value)
        else:
            self.sp.replace_node(node, value)

    def number(
        self, mapping: MappingNode, key: str, known: tuple[str, ...], value: int, address: bool
    ) -> None:
        self.put(mapping, key, known, fmt_int_like(_text(_pairs(mapping).get(key)), value, address))

    def page(self, mapping: MappingNode, key: str, known: tuple[str, ...], value: int) -> None:
        self.put(mapping, key, known, fmt_page_like(_text(_pairs(mapping).get(key)), value, self.plat))

    def flags(self, mapping: MappingNode, old: Slot, new: Slot) -> None:
        node = _pairs(mapping).get("flags")
        names = [n for n, bit in FLAG_NAMES.items() if new.flags & bit]
        if isinstance(node, SequenceNode):
            self._flag_list(mapping, node, names)
            return
        if node is None or is_null(node):
            if names:
                self.put(mapping, "flags", SLOT_KEYS, "[" + ", ".join(names) + "]")
            return
        old_text = _text(node) or "0"
        try:
            old_mask = parse_int_text(old_text.strip())
        except ValueError:
            old_mask = 0
        mask = new.flags
        if new.gmem is not None and old_mask & KVM_MEM_GUEST_MEMFD:
            mask |= KVM_MEM_GUEST_MEMFD
        if mask != old_mask:
            self.put(mapping, "flags", SLOT_KEYS, fmt_int_like(old_text, mask, address=False))

    def _flag_list(self, mapping: MappingNode, node: SequenceNode, names: list[str]) -> None:
        sp = self.sp
        items = list(node.value)
        if [_text(i) for i in items] == names:
            return
        if node.flow_style or not items:
            sp.replace_node(node, "[" + ", ".join(names) + "]")
            return
        if not names:
            # `flags:` then block items: from the end of the key to the last item becomes ` []`
            key = next(k for k, v in mapping.value if v is node)
            last = items[-1]
            sp.edits.append(_Edit(key.end_mark.index + 1, last.end_mark.index, " []", len(sp.edits)))
            return
        for item, name in zip(items, names, strict=False):
            if _text(item) != name:
                if isinstance(item, ScalarNode):
                    sp.replace(item, name)
                else:
                    sp.replace_node(item, name)
        text = sp.text
        for item in items[len(names) :]:  # drop whole lines of removed items
            ls = text.rfind("\n", 0, item.start_mark.index) + 1
            nl = text.find("\n", item.end_mark.index)
            sp.edits.append(_Edit(ls, len(text) if nl == -1 else nl + 1, "", len(sp.edits)))
        if len(names) > len(items):
            last = items[-1]
            dash_ls = text.rfind("\n", 0, last.start_mark.index) + 1
            prefix = text[dash_ls : last.start_mark.index]  # e.g. "      - "
            nl = text.find("\n", last.end_mark.index)
            pos = len(text) if nl == -1 else (nl - 1 if nl > 0 and text[nl - 1] == "\r" else nl)
            extra = "".join(f"{sp.eol}{prefix}{n}" for n in names[len(items) :])
            sp.edits.append(_Edit(pos, pos, extra, len(sp.edits)))

    def slot(self, mapping: MappingNode, old: Slot, new: Slot) -> None:
        p = _pairs(mapping)
        for key in ("gpa", "size"):
            if getattr(old, key) != getattr(new, key):
                self.number(mapping, key, SLOT_KEYS, getattr(new, key), address=key == "gpa")
        ua_node = p.get("ua")
        if ua_node is None or is_null(ua_node):
            if new.ua != new.gpa:  # absent means ua = gpa: write it only when that no longer holds
                self.number(mapping, "ua", SLOT_KEYS, new.ua, address=True)
        elif old.ua != new.ua:
            self.number(mapping, "ua", SLOT_KEYS, new.ua, address=True)
        if old.flags != new.flags or (old.gmem is None) != (new.gmem is None):
            self.flags(mapping, old, new)
        if old.gmem != new.gmem:
            if new.gmem is None:
                self.put(mapping, "guest_memfd", SLOT_KEYS, None)
            else:
                self.number(mapping, "guest_memfd", SLOT_KEYS, new.gmem, address=False)
        off_node = p.get("offset")
        off_present = off_node is not None and not is_null(off_node)
        if new.gmem is None:
            if off_present:
                self.put(mapping, "offset", SLOT_KEYS, None)
        elif off_present:
            if old.gmem is None or old.offset != new.offset:
                self.number(mapping, "offset", SLOT_KEYS, new.offset, address=True)
        elif new.offset != 0:
            self.number(mapping, "offset", SLOT_KEYS, new.offset, address=True)

    def file(self, mapping: MappingNode, old: GmemFile, new: GmemFile) -> None:
        if old.size != new.size:
            if new.size is None:
                self.put(mapping, "size", FILE_KEYS, None)
            else:
                self.number(mapping, "size", FILE_KEYS, new.size, address=False)
        if old.max_page != new.max_page:
            self.page(mapping, "max_page", FILE_KEYS, new.max_page)
        if old.mmap != new.mmap:
            self.put(mapping, "mmap", FILE_KEYS, fmt_bool_like(_text(_pairs(mapping).get("mmap")), new.mmap))


def _int_of(node: Node | None, default: int) -> int:
    text = _text(node)
    if text is None:
        return default
    return parse_int_text(text.strip())


def save_text(original_text: str, old: Layout, new: Layout) -> str:
    """The original YAML text with only the values that differ between ``old`` and ``new`` rewritten.

    ``old`` must be what ``original_text`` loads as. Slots are matched by ``(as, slot)`` and files by
    id; adding or removing slots or files, or changing the private list, arch or names, is not
    supported (ValueError).
    """
    if sorted(s.key for s in old.slots) != sorted(s.key for s in new.slots):
        raise ValueError("save_text cannot add or remove slots")
    if sorted(f.id for f in old.files) != sorted(f.id for f in new.files):
        raise ValueError("save_text cannot add or remove guest_memfd files")
    if old.private != new.private or old.arch != new.arch or old.name != new.name:
        raise ValueError("save_text only rewrites slot, file and policy values")
    try:  # the pure-Python loader: its marks index the str exactly (libyaml skips a BOM)
        root = yaml.compose(original_text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError) as e:
        raise ValueError(f"the original text is not YAML: {' '.join(str(e).split())}") from None
    if not isinstance(root, MappingNode):
        raise ValueError("the original text is not a YAML mapping")
    w = _Writer(original_text, new.platform)
    top = _pairs(root)
    file_arch = (_text(top.get("arch")) or "").strip() or DEFAULT_ARCH
    if file_arch != new.arch:  # looked at with --arch: its page sizes mean other things in the file
        raise ValueError(f"the file is {file_arch} and the layout is shown as {new.arch} (--arch): "
                         "write it to a new file instead")

    if old.policy != new.policy:
        w.put(root, "policy", TOP_KEYS, new.policy)
    for key in ("host_max_page", "private_max_page"):
        if getattr(old, key) != getattr(new, key):
            w.page(root, key, TOP_KEYS, getattr(new, key))

    new_slots = {s.key: s for s in new.slots}
    old_slots = {s.key: s for s in old.slots}
    for node in _seq_items(top.get("slots")):
        if not isinstance(node, MappingNode):
            continue
        p = _pairs(node)
        key = (_int_of(p.get("as"), 0), _int_of(p.get("slot"), -1))
        if key in old_slots and old_slots[key].slot == key[1]:
            a, b = old_slots[key], new_slots[key]
            if a.name != b.name:
                raise ValueError("save_text does not rename slots")
            if a != b:
                w.slot(node, a, b)
    new_files = {f.id: f for f in new.files}
    old_files = {f.id: f for f in old.files}
    for node in _seq_items(top.get("guest_memfd")):
        if not isinstance(node, MappingNode):
            continue
        fid = _int_of(_pairs(node).get("id"), -1)
        if fid in old_files and old_files[fid] != new_files[fid]:
            w.file(node, old_files[fid], new_files[fid])
    return w.sp.apply()
