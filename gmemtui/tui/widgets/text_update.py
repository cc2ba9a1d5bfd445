"""Update a ``Static`` with new text, skipping the work a drag step does not need.

``Static.update`` lays out the whole screen every time (the text's height might change): on every
mouse move of a drag that is most of a frame. The summary and explain panel keep their number of
lines while an edge moves, so a layout is asked for only when the height can change: a different
number of lines, or a line too wide for the widget (it wraps).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static


def _lines(text: Text, width: int) -> int | None:
    """Lines the text takes at this width, or None if one of them wraps (then only a layout knows)."""
    lines = text.plain.split("\n")
    if width <= 0 or any(cell_len(line) > width for line in lines):
        return None
    return len(lines)


def set_text(widget: Static, text: Text) -> None:
    old: Text | None = getattr(widget, "_gmem_text", None)
    if old is not None and old == text:
        return
    width = widget.content_region.width if widget.is_mounted else 0
    n = _lines(text, width)
    layout = old is None or n is None or n != _lines(old, width)
    widget._gmem_text = text  # type: ignore[attr-defined]
    widget.update(text, layout=layout)
