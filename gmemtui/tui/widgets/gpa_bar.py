"""The GPA bar of one address space: hex axis, slots coloured by page size, the attribute row
(private or shared), slot labels."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.style import Style
from textual.strip import Strip

from gmemtui.core.facts import Attributes
from gmemtui.core.model import Slot
from gmemtui.tui import attributes
from gmemtui.tui.attributes import index_of, patch_attribute_cells
from gmemtui.tui.axis import Axis
from gmemtui.tui.labels import label_cells, label_signature
from gmemtui.tui.live import changed_positions
from gmemtui.tui.piece_runs import PieceRuns
from gmemtui.tui.widgets.bar import Bar, spans

if TYPE_CHECKING:
    from gmemtui.tui.widgets.map_host import MapHost


class GpaBar(Bar):
    """Logical rows: 0 GPA ticks, 1 the bar, 3 private/shared, 2 slot numbers (the selected slot
    underlined); shown in that order (``ROWS``)."""

    LABEL_ROW = 2
    ATTR_ROW = 3
    ROWS = (0, 1, 3, 2)

    def __init__(self, map_view: MapHost, as_: int, *, id: str | None = None) -> None:
        super().__init__(map_view, id=id, classes="gpa-bar")
        self.as_ = as_
        self._attrs: tuple[object, Attributes] | None = None
        # what the label and attribute rows were last worked out from: (axis, slots, width, label
        # token, attribute cells, private bounds)
        self._rows_from: tuple[Axis, Sequence[Slot], int, object, list[str | None],
                               tuple[int, ...] | None] | None = None

    def slots(self) -> Sequence[Slot]:
        return self.map.slots_of("as", self.as_)

    def intervals(self) -> list[tuple[int, int]]:
        return [(s.gpa, s.end) for s in self.slots()]

    def interval_count(self) -> int:
        return len(self.slots())

    def runs(self) -> PieceRuns:
        return self.map.runs_of("as", self.as_)

    def inputs(self) -> object:
        return self.map.group("as", self.as_), self.map.selected

    def row_inputs(self, axis: Axis, base: Style) -> dict[int, object]:
        # a drag step replaces one slot of the list: the label row is the same if that slot reads the
        # same to it (``label_signature``), the attribute row is patched over that slot's columns
        slots = self.slots()
        width = self.prepared_width  # row_inputs is called by _prepare
        private = self.attrs().bounds
        shift = self.map.current.platform.base_shift
        last = self._rows_from
        labels: object = None
        cells: list[str | None] | None = None
        if last is not None and last[0] is axis and last[2] == width:
            changed = [] if last[1] is slots else changed_positions(slots, last[1])
            if changed is not None:
                before = last[1]
                if all(label_signature(axis, slots[i], width) == label_signature(axis, before[i], width)
                       for i in changed):
                    labels = last[3]
                if last[5] is private:
                    cells = patch_attribute_cells(last[4], axis.bounds(), before, slots, changed, private,
                                                  shift) if changed else last[4]
        if labels is None:
            labels = object()  # a new token: the row is drawn again
        if cells is None:
            cells = attributes.attribute_cells(axis.bounds(), slots, private, shift)
        self._rows_from = (axis, slots, width, labels, cells, private)
        return {self.LABEL_ROW: (axis, base, self.map.accent, self.map.selected, labels),
                self.ATTR_ROW: (base, self.map.accent, cells)}

    def attrs(self) -> Attributes:
        private = self.map.current.private
        if self._attrs is None or self._attrs[0] is not private:
            self._attrs = (private, Attributes.of(self.map.current))
        return self._attrs[1]

    def draw_row(self, y: int, width: int) -> Strip:
        text = self.base_style
        if y == 0:
            return self.tick_strip(width, self.dim_style)
        if y == self.BAR_ROW:
            return self.bar_strip(width)
        if y == self.LABEL_ROW:
            return self._label_strip(width, text)
        if y == self.ATTR_ROW:
            return self._attr_strip(width)
        return Strip.blank(width, text)

    def _attr_strip(self, width: int) -> Strip:
        """Private frames as a heavy line, shared as a dashed one (docs/tui.md): visible without hover."""
        self._prepare()
        assert self._rows_from is not None
        cells = self._rows_from[4]  # computed (or patched) by row_inputs
        private, other = self.private_style, self.dim_style
        out = ((attributes.GLYPHS[c], private if c == attributes.PRIVATE else other) for c in cells)
        return Strip(spans(out), width).crop(0, width)

    def _label_strip(self, width: int, text: Style) -> Strip:
        """Slot numbers at their start columns; the selected slot's extent drawn as a line."""
        slots = self.slots()
        sel = -1
        key = self.map.selected
        where = self.map.current.positions.get(key) if key is not None and key[0] == self.as_ else None
        if where is not None:  # by bisection on its gpa (the bar's slots are sorted by gpa)
            gpa = self.map.current.slots[where].gpa
            j = bisect_left(index_of(slots).starts, gpa)
            sel = j if j < len(slots) and slots[j].slot == key[1] else -1  # type: ignore[index]
        chars, selected = label_cells(self.axis, slots, sel, width)
        sel_style = self.selected_style
        styles = [sel_style if on else text for on in selected]
        return Strip(spans(zip(chars, styles, strict=False)), width)

    def hit(self, x: int) -> tuple[tuple[int, int], str] | None:
        lo, hi = self.axis.cell(x)
        hi = max(hi, lo + 1)
        slots = self.slots()
        for s in slots:
            if lo <= s.gpa < hi:
                return s.key, "start"
        for s in slots:
            if lo < s.end <= hi:
                return s.key, "end"
        for s in slots:
            if s.gpa < hi and lo < s.end:
                return s.key, "slot"
        # a hole cell right beside an edge grabs that edge (edges are easier to catch)
        nlo, nhi = self.axis.cell(x + 1)
        for s in slots:
            if nlo <= s.gpa < max(nhi, nlo + 1):
                return s.key, "start"
        if x > 0:
            plo, phi = self.axis.cell(x - 1)
            for s in slots:
                if plo < s.end <= max(phi, plo + 1):
                    return s.key, "end"
        return None

    def frame_at(self, x: int) -> tuple[int, int] | None:
        """The first frame of a slot in column x, else the address of the hole there: the explain
        panel then says it is a hole instead of still explaining the last slot."""
        lo, hi = self.axis.cell(x)
        for s in self.slots():
            if s.gpa < max(hi, lo + 1) and lo < s.end:
                return self.as_, max(lo, s.gpa)
        return (self.as_, lo) if 0 <= lo else None
