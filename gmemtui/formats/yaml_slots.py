"""Save a layout whose slots were split into the user's YAML text, comments and formatting kept.

``yaml_save.save_text`` rewrites the values that changed but never adds a slot. A split (``gmemtui
suggest``, the TUI's suggestion panel) keeps the slot's id on its first part and adds the others:
this writes the changed values with ``save_text``, then inserts each new slot right after the entry
of the slot it was cut from, in that entry's style (block or flow mapping, indentation, number
style of each key), with a comment naming where it came from. The result is read back and must load
as the new layout; if it does not (a layout written in a shape this cannot follow), a ValueError.
"""

from __future__ import annotations

from dataclasses import replace

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gmemtui.core.model import Layout, Slot
from gmemtui.formats.yaml_load import load_yaml
from gmemtui.formats.yaml_save import fmt_int_like, save_text

Key = tuple[int, int]


def _pairs(node: MappingNode) -> dict[str, Node]:
    return {k.value: v for k, v in node.value if isinstance(k, ScalarNode)}


def _text(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def _key_of(node: MappingNode) -> Key | None:
    p = _pairs(node)
    try:
        return (int(_text(p.get("as")) or "0", 0), int(_text(p.get("slot")) or "", 0))
    except ValueError:
        return None


def _entries(text: str, slot: Slot, like: MappingNode) -> list[tuple[str, str]]:
    """The keys of a new slot entry, formatted like the entry it was cut from."""
    p = _pairs(like)

    def num(key: str, value: int, address: bool) -> str:
        return fmt_int_like(_text(p.get(key)), value, address)

    out = [("slot", str(slot.slot))]
    if "as" in p or slot.as_:
        out.append(("as", str(slot.as_)))
    if slot.name is not None:
        out.append(("name", yaml.safe_dump(slot.name, default_style='"', width=1 << 30).strip()
                    .removesuffix("...").strip()))
    out += [("gpa", num("gpa", slot.gpa, True)), ("size", num("size", slot.size, False)),
            ("ua", num("ua", slot.ua, True))]
    flags = p.get("flags")
    if flags is not None:
        out.append(("flags", text[flags.start_mark.index:flags.end_mark.index].strip()))
    if slot.gmem is not None:
        out.append(("guest_memfd", str(slot.gmem)))
        out.append(("offset", num("offset", slot.offset, True)))
    return out


def _block(text: str, node: MappingNode, pairs: list[tuple[str, str]], comment: str, eol: str) -> str:
    ls = text.rfind("\n", 0, node.start_mark.index) + 1
    prefix = text[ls:node.start_mark.index]  # e.g. "  - "
    if prefix.strip() != "-":
        raise ValueError("a slot entry not written as '- key: value' lines")
    indent = " " * len(prefix)
    lines = [f"{prefix}{pairs[0][0]}: {pairs[0][1]}   # {comment}"]
    lines += [f"{indent}{k}: {v}" for k, v in pairs[1:]]
    return eol.join(lines) + eol


def _flow(text: str, node: MappingNode, pairs: list[tuple[str, str]], comment: str, eol: str) -> str:
    ls = text.rfind("\n", 0, node.start_mark.index) + 1
    prefix = text[ls:node.start_mark.index]
    if prefix.strip() != "-":
        raise ValueError("a slot entry not on a line of its own")
    body = ", ".join(f"{k}: {v}" for k, v in pairs)
    return f"{prefix}{{{body}}}   # {comment}{eol}"


def save_split(original_text: str, old: Layout, new: Layout) -> str:
    """The original text with the changed values rewritten and every new slot (a key of ``new`` not in
    ``old``) added after the slot it was cut from (the old slot whose range holds it)."""
    old_keys = {s.key for s in old.slots}
    kept = replace(new, slots=tuple(s for s in new.slots if s.key in old_keys))
    text = save_text(original_text, old, kept)
    added = [s for s in new.slots if s.key not in old_keys]
    if not added:
        return text
    origin: dict[Key, list[Slot]] = {}
    for s in sorted(added, key=lambda s: s.gpa):
        parent = next((o for o in old.slots if o.as_ == s.as_ and o.gpa <= s.gpa < o.end), None)
        if parent is None:
            raise ValueError(f"slot {s.slot} is not part of a slot of the original")
        origin.setdefault(parent.key, []).append(s)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    slots = _pairs(root).get("slots") if isinstance(root, MappingNode) else None
    if not isinstance(slots, SequenceNode) or slots.flow_style:
        raise ValueError("the slots are not a block list")
    eol = "\r\n" if "\r\n" in text else "\n"
    inserts: list[tuple[int, str]] = []
    for node in slots.value:
        key = _key_of(node) if isinstance(node, MappingNode) else None
        if key not in origin:
            continue
        last = node.value[-1][1] if node.value else node
        nl = text.find("\n", node.end_mark.index - 1 if node.flow_style else last.end_mark.index)
        pos = len(text) if nl == -1 else nl + 1
        chunk = ""
        for s in origin[key]:
            pairs = _entries(text, s, node)
            comment = f"split from slot {key[1]} by gmemtui suggest"
            chunk += (_flow if node.flow_style else _block)(text, node, pairs, comment, eol)
        if nl == -1:
            chunk = eol + chunk
        inserts.append((pos, chunk))
    for pos, chunk in sorted(inserts, reverse=True):
        text = text[:pos] + chunk + text[pos:]
    back = load_yaml(text, "suggested layout")
    if _canon(back) != _canon(new):
        raise ValueError("the written layout does not read back as the suggested one")
    return text


def _canon(layout: Layout) -> tuple:
    """A layout's value with slot order ignored (YAML order is the file's, not the model's)."""
    return (replace(layout, slots=(), notes=()), sorted(layout.slots, key=lambda s: s.key))
