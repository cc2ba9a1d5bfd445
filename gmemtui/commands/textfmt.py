"""Plain-text helpers for the CLI: colour on/off, ANSI styles, page-size bars, percentages, tables.

Plain ANSI on purpose: the non-TUI commands must start fast, so no rich and no textual here.
Colour follows https://no-color.org: any non-empty ``NO_COLOR`` turns it off, and so does a stdout
that is not a terminal (a pipe, a file, CI logs). ``--markdown`` output never carries colour.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from itertools import groupby
from typing import TextIO

# One glyph per ladder size, by index (base page first), so a bar reads without colour: the base
# page, the bad news, is the densest. The TUI uses these very glyphs (gmemtui.tui.palette); the ladder
# itself is data (gmemtui.core.platform), this only picks a glyph.
GLYPHS = ("█", "▓", "▒", "░")
HOLE = " "
# Okabe-Ito colour-blind-safe hues in 256-colour ANSI, by ladder index: vermillion, sky blue,
# bluish green, yellow.
PAGE_COLOURS = (166, 75, 36, 220)
# Frames KVM cannot map at all (rule 6, no-guest-memfd): a bar index below every page size (so a
# cell that holds some shows them), its own glyph and colour (yellow, as in the TUI).
NOT_MAPPABLE = -1
NOT_MAPPABLE_GLYPH = "╳"
NOT_MAPPABLE_COLOUR = 185

RESET = "\x1b[0m"
BOLD = "1"
DIM = "2"
RED = "31"
GREEN = "32"
YELLOW = "33"


def use_colour(stream: TextIO | None = None) -> bool:
    """Whether to write ANSI codes to ``stream`` (stdout by default): a TTY and no NO_COLOR."""
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    stream = sys.stdout if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Painter:
    """Applies ANSI styles when colour is on, and is the identity when it is off."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, *codes: str) -> str:
        if not self.colour or not codes or not text:
            return text
        return f"\x1b[{';'.join(codes)}m{text}{RESET}"

    def page(self, text: str, index: int) -> str:
        """Text in the colour of the ladder size with this index (or ``NOT_MAPPABLE``)."""
        if index == NOT_MAPPABLE:
            return self(text, f"38;5;{NOT_MAPPABLE_COLOUR}")
        return self(text, f"38;5;{PAGE_COLOURS[index % len(PAGE_COLOURS)]}")

    def glyph(self, index: int, count: int = 1) -> str:
        glyph = NOT_MAPPABLE_GLYPH if index == NOT_MAPPABLE else GLYPHS[index % len(GLYPHS)]
        return self.page(glyph * count, index)


def glyph_legend(names: Sequence[str], paint: Painter, unmappable: bool = False) -> str:
    """``█ 4K  ▓ 2M  ▒ 1G`` (and ``╳ not mappable`` where a layout has such frames)."""
    items = [f"{paint.glyph(i)} {name}" for i, name in enumerate(names)]
    if unmappable:
        items.append(f"{paint.glyph(NOT_MAPPABLE)} not mappable")
    return "  ".join(items)


def bar_cells(start: int, size: int, runs: Sequence[tuple[int, int, int]], width: int) -> list[int | None]:
    """Ladder index per cell of a ``width``-cell bar over ``[start, start+size)``.

    ``runs`` are ``(gpa, size, ladder index)`` sorted by gpa. A cell covering several sizes shows the
    smallest, so a 1M 4K head of a 2G slot is still visible; a cell with no run is a hole (None).
    Cost is linear in runs plus cells, never in bytes.
    """
    cells: list[int | None] = [None] * width
    if size <= 0 or width <= 0:
        return cells
    for gpa, rsize, idx in runs:
        lo = max(gpa, start) - start
        hi = min(gpa + rsize, start + size) - start
        if hi <= lo:
            continue
        c0 = lo * width // size
        c1 = min(width, -(-hi * width // size))
        first_full = -(-lo * width // size)  # cells wholly inside [lo, hi): set without comparing
        last_full = hi * width // size
        if first_full < last_full:
            cells[first_full:last_full] = [idx] * (last_full - first_full)
        for c in {c0, c1 - 1}:
            if c0 <= c < c1 and (c < first_full or c >= last_full):
                old = cells[c]
                cells[c] = idx if old is None else min(old, idx)
    return cells


def render_bar(cells: Sequence[int | None], paint: Painter) -> str:
    """One glyph per cell, painted per stretch of equal cells (fewer ANSI codes)."""
    out: list[str] = []
    for idx, stretch in groupby(cells):
        n = len(list(stretch))
        out.append(HOLE * n if idx is None else paint.glyph(idx, n))
    return "".join(out)


def pct(part: int, whole: int) -> str:
    """A percentage that never rounds a non-zero share to 0 % or a partial one to 100 %.

    ``-`` for nothing, ``100%`` for all; else as few decimals (up to 4) as keep it honest.
    """
    if part == 0 or whole == 0:
        return "-"
    if part == whole:
        return "100%"
    value = 100 * part / whole
    for decimals in range(0, 5):
        text = f"{value:.{decimals}f}"
        if 0 < float(text) < 100 and (decimals > 0 or value >= 1):
            return f"{text}%"
    return "<0.0001%" if value < 50 else ">99.9999%"


def gpa_range(lo: int, hi: int) -> str:
    return f"[{lo:#x}, {hi:#x})"


def truncate(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    return text[: width - 1] + "…"


def md_escape(text: str) -> str:
    return text.replace("|", "\\|") if "|" in text else text


def md_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int] = (),
    max_width: int = 80,
    flex: int | None = None,
) -> list[str]:
    """A GitHub pipe table padded to fixed width, so it reads as plain text in a mail too.

    ``right``: column indexes aligned right (numbers). If the table is wider than ``max_width``,
    column ``flex`` (e.g. a name) is truncated to fit.
    """
    cells = [[md_escape(h) for h in headers]] + [[md_escape(c) for c in r] for r in rows]
    widths = [max(3, *(len(r[i]) for r in cells)) for i in range(len(headers))]
    total = sum(widths) + 3 * len(widths) + 1
    if flex is not None and total > max_width:
        widths[flex] = max(3, widths[flex] - (total - max_width))
        cells = [[truncate(c, widths[flex]) if i == flex else c for i, c in enumerate(r)] for r in cells]

    justify = [str.rjust if i in right else str.ljust for i in range(len(widths))]

    def line(r: Sequence[str]) -> str:
        return "| " + " | ".join([j(c, w) for j, c, w in zip(justify, r, widths, strict=True)]) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2))
                          for i, w in enumerate(widths)) + "|"
    return [line(cells[0]), rule] + [line(r) for r in cells[1:]]


def wrap(text: str, width: int = 80, first: str = "", rest: str | None = None) -> list[str]:
    """Wrap a line for mail at spaces (a long word stays whole); ``rest`` indents the next lines."""
    import textwrap

    rest = " " * len(first) if rest is None else rest
    return textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first]
