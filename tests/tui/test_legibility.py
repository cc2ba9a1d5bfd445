"""Legibility of the map in both themes (docs/tui.md): page-size colours keep a WCAG contrast of at
least 3:1 against the bar's background, the selection has a hue of its own, the base page's glyph is
the densest."""

from __future__ import annotations

import pytest
from textual.color import Color

from gmemtui.tui import palette
from gmemtui.tui.app import GmemApp
from gmemtui.tui.widgets.gpa_bar import GpaBar

from .conftest import SIZE


def test_contrast_formula() -> None:
    assert palette.contrast(Color(0, 0, 0), Color(255, 255, 255)) == pytest.approx(21)
    assert palette.contrast(Color(18, 18, 18), Color(18, 18, 18)) == pytest.approx(1)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_page_colours_contrast_with_the_bar_background(seed, theme: str) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=SIZE) as pilot:
        app.theme = theme
        await pilot.pause()
        variables = app.theme_variables
        background = Color.parse(variables["background"])
        bar = app.query_one("#gpa-0", GpaBar)
        shown = bar.base().bgcolor  # what the bar is really drawn on
        assert shown is not None and Color.from_rich_color(shown) == background
        for k in range(len(seed.layout.platform.ladder)):
            colour = palette.colour(variables, k)
            assert palette.contrast(colour, background) >= 3.0, (theme, k, colour.hex)
            assert Color.from_rich_color(bar.page_styles[k].color) == colour  # the bar uses it
        selected = palette.selected_colour(variables)
        assert palette.contrast(selected, background) >= 3.0
        # the selection's hue is none of the page sizes' (the old orange line read as 4K)
        for k in range(len(seed.layout.platform.ladder)):
            assert selected != palette.colour(variables, k)
            assert abs(selected.hsl.h - palette.colour(variables, k).hsl.h) > 0.05


def test_the_base_page_glyph_is_the_densest() -> None:
    shade = {"█": 4, "▓": 3, "▒": 2, "░": 1}
    densities = [shade[palette.glyph(k)] for k in range(palette.MAX_SIZES)]
    assert densities == sorted(densities, reverse=True) and densities[0] == max(shade.values())
