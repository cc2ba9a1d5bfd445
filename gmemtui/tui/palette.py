"""Page-size colours and glyphs of the map.

Colours are theme variables (``$gmem-page-0`` for the base page, ``$gmem-page-1`` for the next size,
...), so a theme may override them; the defaults are from the Okabe-Ito palette, which stays
distinguishable under the common colour-vision deficiencies (orange / sky blue / bluish green /
blue). Each size also has its own glyph, getting denser as pages grow, so the map reads without
colour (``NO_COLOR``); a cell where several sizes meet shows the smallest size's colour with the
``MIXED`` glyph.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from textual.color import Color

# Okabe & Ito (2008), "Color Universal Design": orange, sky blue, bluish green, blue
DEFAULT_COLOURS: tuple[str, ...] = ("#E69F00", "#56B4E9", "#009E73", "#0072B2")
GLYPHS: tuple[str, ...] = ("░", "▒", "▓", "█")
MIXED = "▚"
# on a slot-scale axis row: a boundary of ladder size 1 (2M), of size 2 or more (1G)
BOUNDARY: tuple[str, ...] = ("╷", "╷", "╻")
HOLE = " "
MAX_SIZES = len(GLYPHS)


def variable(k: int) -> str:
    """The theme variable holding ladder size k's colour."""
    return f"gmem-page-{k}"


def theme_defaults() -> dict[str, str]:
    """For ``App.get_theme_variable_defaults``: used where the theme sets no page colours."""
    return {variable(k): c for k, c in enumerate(DEFAULT_COLOURS)}


def glyph(k: int | None, mixed: bool = False) -> str:
    if k is None:
        return HOLE
    return MIXED if mixed else GLYPHS[min(k, MAX_SIZES - 1)]


def colour(variables: Mapping[str, str], k: int) -> Color:
    k = min(k, MAX_SIZES - 1)
    return Color.parse(variables.get(variable(k), DEFAULT_COLOURS[k]))


def styles(variables: Mapping[str, str], background: str | None = None) -> tuple[Style, ...]:
    """One rich Style per ladder index (glyph colour on the bar background)."""
    bg = Color.parse(background).rich_color if background else None
    return tuple(Style(color=colour(variables, k).rich_color, bgcolor=bg) for k in range(MAX_SIZES))


def legend(names: tuple[str, ...]) -> list[tuple[str, str, int | None]]:
    """(glyph, label, ladder index or None) rows for a legend: one per size, then mixed and hole."""
    rows: list[tuple[str, str, int | None]] = [(glyph(k), name, k) for k, name in enumerate(names)]
    rows.append((MIXED, "mixed: several sizes in one cell (colour of the smallest)", 0))
    rows.append((HOLE, "blank: a hole, no slot at these addresses", None))
    return rows
