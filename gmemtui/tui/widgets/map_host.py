"""What a bar asks of the map that holds it.

The bars (``Bar``, ``GpaBar``, ``FileBar``) are drawn from the map's shared state: the layout shown,
the selection, the runs of their group, the axis and the palette. They name that state through this
protocol rather than ``MapView`` itself, so a widget does not know its container and the modules
import in one direction only (map_view -> bars -> this).
"""

from __future__ import annotations

from typing import Protocol

from textual.color import Color

from gmemtui.core.coverage import SlotCoverage
from gmemtui.core.model import Layout, Slot
from gmemtui.tui.axis import Axis
from gmemtui.tui.piece_runs import PieceRuns


class MapHost(Protocol):
    current: Layout
    selected: tuple[int, int] | None
    version: int  # bumped by every edit
    view_version: int  # bumped by zoom, pan, scale and theme changes
    page_colours: tuple[Color, ...]
    accent: Color

    def group(self, kind: str, ident: int) -> tuple[SlotCoverage, ...]: ...

    def slots_of(self, kind: str, ident: int) -> list[Slot]: ...

    def runs_of(self, kind: str, ident: int) -> PieceRuns: ...

    def axis_for(self, intervals: list[tuple[int, int]] | None, width: int) -> Axis: ...

    def zoom(self, direction: int, anchor: tuple[int, int] | None = None,
             focus: int | None = None) -> None: ...
