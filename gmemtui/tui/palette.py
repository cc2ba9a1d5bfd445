"""Page-size colours and glyphs of the map.

Colours are theme variables (``$gmem-page-0`` for the base page, ``$gmem-page-1`` for the next size,
..., ``$gmem-selected`` for the selected slot's line), so a theme may override them; the defaults are
from the Okabe-Ito palette, which stays distinguishable under the common colour-vision deficiencies,
with a dark-background set (orange / sky blue / bluish green / blue) and a light-background set
(vermillion / blue / dark green / purple), each at least 3:1 (WCAG contrast) against its theme's
background (tested). Each size also has its own glyph, the base page (the bad news) the densest
and the largest page the lightest, so the map reads without colour (``NO_COLOR``); a cell where
several sizes meet shows the smallest size's colour with the ``MIXED`` glyph.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from textual.color import Color

from gmemtui.commands.textfmt import GLYPHS as text_glyphs

# Okabe & Ito (2008), "Color Universal Design": orange, sky blue, bluish green, blue
DEFAULT_COLOURS: tuple[str, ...] = ("#E69F00", "#56B4E9", "#009E73", "#0072B2")
# the same hues darkened for a light background: vermillion, blue, dark bluish green, purple
LIGHT_COLOURS: tuple[str, ...] = ("#C05000", "#0066A8", "#00745A", "#6A3D9A")
# the selected slot: reddish purple, a hue no page size uses
SELECTED = {"dark": "#CC79A7", "light": "#9E3D74"}
GLYPHS: tuple[str, ...] = text_glyphs  # the same glyphs as the text outputs: base page densest
MIXED = "▚"
# on a slot-scale axis row: a boundary of ladder size 1 (2M), of size 2 or more (1G)
BOUNDARY: tuple[str, ...] = ("╷", "╷", "╻")
HOLE = " "
MAX_SIZES = len(GLYPHS)
# Frames KVM cannot map at all (rule 6: private, in a slot without guest_memfd). Runs carry this
# index instead of a ladder index: it sorts below every size (a cell holding some shows them) and,
# as the last entry of ``styles()`` / the map's page colours, ``styles[-1]`` is its style.
NOT_MAPPABLE = -1
NOT_MAPPABLE_GLYPH = "╳"
# Okabe-Ito yellow (dark themes) and a dark olive of it (light themes): a hue no page size and not
# the selection use
NOT_MAPPABLE_COLOURS = {"dark": "#F0E442", "light": "#7A6A00"}
NOT_MAPPABLE_COLOUR = NOT_MAPPABLE_COLOURS["dark"]
NOT_MAPPABLE_VARIABLE = "gmem-not-mappable"


def variable(k: int) -> str:
    """The theme variable holding ladder size k's colour."""
    return f"gmem-page-{k}"


def theme_defaults(dark: bool = True) -> dict[str, str]:
    """For ``App.get_theme_variable_defaults``: used where the theme sets no page colours."""
    colours = DEFAULT_COLOURS if dark else LIGHT_COLOURS
    return {**{variable(k): c for k, c in enumerate(colours)},
            "gmem-selected": SELECTED["dark" if dark else "light"],
            NOT_MAPPABLE_VARIABLE: NOT_MAPPABLE_COLOURS["dark" if dark else "light"]}


def contrast(a: Color, b: Color) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21)."""

    def luminance(c: Color) -> float:
        def channel(v: int) -> float:
            s = v / 255
            return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def glyph(k: int | None, mixed: bool = False) -> str:
    if k is None:
        return HOLE
    if mixed:
        return MIXED
    return NOT_MAPPABLE_GLYPH if k == NOT_MAPPABLE else GLYPHS[min(k, MAX_SIZES - 1)]


def colour(variables: Mapping[str, str], k: int) -> Color:
    if k == NOT_MAPPABLE:
        return Color.parse(variables.get(NOT_MAPPABLE_VARIABLE, NOT_MAPPABLE_COLOUR))
    k = min(k, MAX_SIZES - 1)
    return Color.parse(variables.get(variable(k), DEFAULT_COLOURS[k]))


def colours(variables: Mapping[str, str]) -> tuple[Color, ...]:
    """Every ladder index's colour, then the not-mappable colour (so ``[NOT_MAPPABLE]`` finds it)."""
    return tuple(colour(variables, k) for k in range(MAX_SIZES)) + (colour(variables, NOT_MAPPABLE),)


def selected_colour(variables: Mapping[str, str]) -> Color:
    return Color.parse(variables.get("gmem-selected", SELECTED["dark"]))


def styles(variables: Mapping[str, str], background: str | None = None) -> tuple[Style, ...]:
    """One rich Style per ladder index, then not mappable's (glyph colour on the bar background)."""
    bg = Color.parse(background).rich_color if background else None
    return tuple(Style(color=c.rich_color, bgcolor=bg) for c in colours(variables))


def legend(names: tuple[str, ...]) -> list[tuple[str, str, int | None]]:
    """(glyph, label, ladder index or None) rows for a legend: one per size, then not mappable, mixed
    and hole."""
    rows: list[tuple[str, str, int | None]] = [(glyph(k), name, k) for k, name in enumerate(names)]
    rows.append((NOT_MAPPABLE_GLYPH, "not mappable: private frames in a slot without guest_memfd "
                 "(counted as the base page; a private access exits to userspace)", NOT_MAPPABLE))
    rows.append((MIXED, "mixed: several sizes in one cell (colour of the smallest)", 0))
    rows.append((HOLE, "blank: a hole, no slot at these addresses", None))
    return rows
