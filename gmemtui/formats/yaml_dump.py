"""Write a Layout as a commented docs/formats.md YAML file that ``layout_yaml.load_yaml`` reads back equal.

Written by hand, not with ``yaml.dump``, so the file reads like the hand-written layouts: hex
addresses, page-size names (``2M``), flags by name, one comment per slot saying where it came from
(for a trace: the line that made it), and the sizes in words. Strings go through PyYAML's emitter
(double-quoted), so any name survives the round trip.
"""

from __future__ import annotations

import yaml

from gmemtui.core.model import FLAG_NAMES, Layout, flag_names
from gmemtui.core.units import fmt_size

_INDENT = "  "
_COMMENT_COL = 34


def _str(value: str) -> str:
    """A YAML double-quoted scalar for ``value`` (escapes as PyYAML writes them)."""
    text = yaml.safe_dump(value, default_style='"', width=float("inf"), allow_unicode=False)
    return text.strip().removesuffix("...").strip()


def _page(layout: Layout, nbytes: int) -> str:
    try:
        return layout.platform.name_of(nbytes)
    except KeyError:  # not on the ladder: the loader will say so; keep the exact value
        return hex(nbytes)


def _line(text: str, comment: str | None = None) -> str:
    if not comment:
        return text
    return f"{text.ljust(_COMMENT_COL)} # {comment}"


def _comment_block(text: str) -> list[str]:
    return [f"# {line}".rstrip() for line in text.splitlines()] or ["#"]


def dump_yaml(layout: Layout, header: str | None = None) -> str:
    """The layout as YAML text; ``header`` (several lines allowed) becomes the leading comment."""
    out: list[str] = []
    if header:
        out += _comment_block(header)
    if layout.notes:
        out.append("#")
        out.append("# Warnings found while reading the input:")
        for w in layout.notes:
            where = f"line {w.line}: " if w.line else ""
            out += _comment_block(f"  {where}{w.message}")
    if out:
        out.append("")
    if layout.name is not None:
        out.append(f"name: {_str(layout.name)}")
    out.append(f"arch: {layout.arch}")
    out.append(f"policy: {layout.policy}")
    out.append(f"host_max_page: {_page(layout, layout.host_max_page)}")
    out.append(f"private_max_page: {_page(layout, layout.private_max_page)}")

    if layout.files:
        out.append("guest_memfd:")
        for f in layout.files:
            users = sorted({s.slot for s in layout.slots if s.gmem == f.id})
            if len(users) > 12:  # a comment line, not a list of thousands
                bound = f"bound by {len(users)} slots, {users[0]} to {users[-1]}"
            elif users:
                bound = f"bound by slot{'s' if len(users) > 1 else ''} {', '.join(map(str, users))}"
            else:
                bound = "no slot binds it"
            first = f"; first seen on line {f.line}" if f.line else ""
            out.append(_line(f"{_INDENT}- id: {f.id}", bound + first))
            if f.size is not None:
                out.append(_line(f"{_INDENT}  size: {f.size:#x}", fmt_size(f.size)))
            out.append(f"{_INDENT}  max_page: {_page(layout, f.max_page)}")
            if f.mmap:
                out.append(_line(f"{_INDENT}  mmap: true", "GUEST_MEMFD_FLAG_MMAP"))
    out.append("slots:" if layout.slots else "slots: []")
    for s in layout.slots:
        origin = f"from line {s.line} of the input" if s.line else None
        out.append(_line(f"{_INDENT}- slot: {s.slot}", origin))
        out.append(_line(f"{_INDENT}  as: {s.as_}", "SMM" if s.as_ == 1 else None))
        if s.name is not None:
            out.append(f"{_INDENT}  name: {_str(s.name)}")
        out.append(f"{_INDENT}  gpa: {s.gpa:#x}")
        out.append(_line(f"{_INDENT}  size: {s.size:#x}", f"{fmt_size(s.size)}, ends at {s.end:#x}"))
        out.append(f"{_INDENT}  ua: {s.ua:#x}")
        names = flag_names(s.flags)
        unknown = s.flags & ~sum(FLAG_NAMES.values())
        if unknown:  # not a valid layout, but write what it is rather than lose it
            out.append(f"{_INDENT}  flags: {s.flags:#x}")
        else:
            out.append(f"{_INDENT}  flags: [{', '.join(names)}]")
        if s.gmem is not None:
            out.append(f"{_INDENT}  guest_memfd: {s.gmem}")
            out.append(f"{_INDENT}  offset: {s.offset:#x}")
    if layout.private is not None:
        out.append("private:" if layout.private else "private: []   # nothing is private")
        for r in layout.private:
            out.append(_line(f"{_INDENT}- {{gpa: {r.gpa:#x}, size: {r.size:#x}}}", fmt_size(r.size)))
    return "\n".join(out) + "\n"
