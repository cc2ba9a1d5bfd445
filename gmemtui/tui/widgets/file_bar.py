"""One guest_memfd file on its own offset axis: its bindings coloured by the page size of the frames
they back, so an unaligned binding (the seed's offset 0x100000) shows where its folios break."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from textual.strip import Strip

from gmemtui.core.model import Slot
from gmemtui.core.units import fmt_size
from gmemtui.tui.axis import Axis
from gmemtui.tui.piece_runs import PieceRuns
from gmemtui.tui.widgets.bar import Bar, label_row

if TYPE_CHECKING:
    from gmemtui.tui.widgets.map_host import MapHost


TITLE_SLOTS = 12


class FileBar(Bar):
    """Row 0: title (id, size, folio max, bindings); row 1: the bar; row 2: offset ticks."""

    TICK_ROW = 2

    def __init__(self, map_view: MapHost, file_id: int, *, id: str | None = None) -> None:
        super().__init__(map_view, id=id, classes="file-bar")
        self.file_id = file_id

    def bindings(self) -> list[Slot]:
        return self.map.slots_of("file", self.file_id)

    def intervals(self) -> list[tuple[int, int]]:
        return [(s.offset, s.offset + s.size) for s in self.bindings()]

    def interval_count(self) -> int:
        return len(self.bindings())

    def runs(self) -> PieceRuns:
        return self.map.runs_of("file", self.file_id)

    def title(self) -> str:
        layout = self.map.current
        f = layout.file(self.file_id)
        bindings = self.bindings()  # by offset, and they never overlap: the last one ends furthest
        explicit = f is not None and f.size is not None
        size = f.size if explicit else (bindings[-1].offset + bindings[-1].size if bindings else 0)
        parts = [f"guest_memfd {self.file_id}", fmt_size(size) + ("" if explicit else " (end of bindings)")]
        if f is not None:
            parts.append(f"folio {layout.platform.name_of(f.max_page)}")
            if f.mmap:
                parts.append("mmap")
        if len(bindings) > TITLE_SLOTS:  # a title line has room for a few; the table lists them all
            parts.append(f"{len(bindings)} bindings")
        else:
            parts.append(", ".join(f"slot {s.slot}" + (f" (AS {s.as_})" if s.as_ else "") for s in bindings)
                         or "unbound")
        return " · ".join(parts)

    def inputs(self) -> object:
        return self.map.group("file", self.file_id), self.map.current.file(self.file_id)

    def row_inputs(self, axis: Axis, base: Style) -> dict[int, object]:
        return {0: (base, self.title())}

    def draw_row(self, y: int, width: int) -> Strip:
        if y == 0:
            return label_row(width, [(0, self.title(), self.title_style)], self.base_style)
        if y == self.BAR_ROW:
            return self.bar_strip(width)
        if y == 2:
            return self.tick_strip(width, self.dim_style)
        return Strip.blank(width, self.base_style)

    def hit(self, x: int) -> tuple[tuple[int, int], str] | None:
        lo, hi = self.axis.cell(x)
        hi = max(hi, lo + 1)
        for s in self.bindings():
            if s.offset < hi and lo < s.offset + s.size:
                return s.key, "binding"
        return None

    def frame_at(self, x: int) -> tuple[int, int] | None:
        lo, hi = self.axis.cell(x)
        for s in self.bindings():
            if s.offset < max(hi, lo + 1) and lo < s.offset + s.size:
                return s.as_, s.gpa + max(lo, s.offset) - s.offset
        return None
