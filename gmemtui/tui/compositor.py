"""A frame renders only the widgets under the regions that changed, not every widget between them.

Textual's compositor, for a partial update, asks every widget crossing the bounding box of the dirty
regions for its lines: during a drag the dirty rows are one file bar, a table row, the summary and
the explain panel, so every bar, the table and the scroll bar between them render each frame, and the
screen and the containers behind them too (about half of the 512-slot step). Only the cuts of a
line inside a dirty region are written to the terminal, and each cut shows the frontmost widget
covering it (a cut lies wholly inside or outside each widget); a widget that overlaps no dirty
region, or whose part of each is wholly inside one widget in front of it, owns none of those cuts,
so leaving it out writes the same bytes. ``tighten`` gives the screen's compositor that filter;
everything else is Textual's own code.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip


class TightCompositor(Compositor):
    """``Compositor`` whose partial updates render only the widgets overlapping a dirty region."""

    _update_regions: list[Region] | None = None

    def render_partial_update(self) -> ChopsUpdate | None:
        self._update_regions = list(self._dirty_regions)
        try:
            return super().render_partial_update()
        finally:
            self._update_regions = None

    def _get_renders(self, crop: Region | None = None) -> Iterable[tuple[Region, Region, list[Strip]]]:
        regions = self._update_regions
        if not crop or not regions:
            yield from super()._get_renders(crop)
            return
        front: list[Region] = []  # what the widgets before this one cover (they are in front of it)
        for widget, (region, clip) in self.visible_widgets.items():
            visible = region.intersection(clip)
            x, y, width, height = visible
            if not (width and height):
                continue
            hits = [h for h in (visible.intersection(r) for r in regions) if h.area]
            # rendered if part of a dirty region shows it: not wholly under one widget in front of it
            # (the containers behind a bar, the screen behind everything)
            if hits and not all(any(f.contains_region(h) for f in front) for h in hits):
                yield region, clip, widget.render_lines(Region(x - region.x, y - region.y, width, height))
            front.append(visible)


def tighten(screen: Screen) -> None:
    """Give ``screen`` the tight compositor (the same object: only its methods change)."""
    compositor = screen._compositor
    if type(compositor) is Compositor:
        compositor.__class__ = TightCompositor
