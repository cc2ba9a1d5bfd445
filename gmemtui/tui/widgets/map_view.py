"""The map: per address space a GPA bar and, under it, one bar per guest_memfd file; plus the view
(zoom, pan, slot scale) they share. The bars redraw from cached strips until ``version`` changes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical, VerticalScroll

from ...coverage import Coverage
from ...model import Layout, Slot
from .. import palette
from ..axis import Axis, fit_bpc, linear, slot_scale
from .bar import Bar
from .file_bar import FileBar
from .gpa_bar import GpaBar

SCALE, LINEAR = "scale", "linear"


def structure(layout: Layout) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """Which bars the map needs: address spaces with slots, and under each the files it binds first
    (files no slot binds go under the first address space)."""
    spaces = sorted({s.as_ for s in layout.slots}) or [0]
    placed: dict[int, list[int]] = {a: [] for a in spaces}
    seen: set[int] = set()
    for a in spaces:
        for s in sorted(layout.slots, key=lambda s: s.gpa):
            if s.as_ == a and s.gmem is not None and s.gmem not in seen:
                seen.add(s.gmem)
                placed[a].append(s.gmem)
    for f in layout.files:
        if f.id not in seen:
            placed[spaces[0]].append(f.id)
    return tuple((a, tuple(ids)) for a, ids in placed.items())


class MapView(VerticalScroll):
    """Container of the bars; owns the view: ``mode`` (slot scale or linear), ``bpc`` and ``start``.

    Not focusable: its scrolling keys (left/right/home/end) would shadow the app's pan keys."""

    can_focus = False

    DEFAULT_CSS = """
    MapView { height: auto; max-height: 60%; }
    MapView > .as-box { height: auto; border: round $primary 60%; border-title-color: $text; padding: 0 1; }
    """

    def __init__(self, layout: Layout, coverage: Coverage, selected: tuple[int, int] | None = None,
                 *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current = layout
        self.coverage = coverage
        self.selected = selected
        self.version = 0
        self.status = ""  # replaces the view description while a drag lasts
        self._runs: dict[tuple[str, int], tuple[tuple[int, int, int], ...]] = {}
        self._runs_version = -1
        self._memo: dict[int, tuple] = {}
        self._bars: list[Bar] | None = None
        self._axes: dict[tuple, Axis] = {}
        self._groups: dict[tuple[str, int], list[Slot]] = {}
        self._groups_version = -1
        self.mode = SCALE
        self.bpc = 0  # 0: fit the whole guest on first use
        self.start = 0
        self._structure = structure(layout)
        self.page_colours: tuple[Color, ...] = tuple(Color.parse(c) for c in palette.DEFAULT_COLOURS)
        self.accent = Color.parse("#CC79A7")

    def compose(self) -> ComposeResult:
        for as_, files in self._structure:
            box = Vertical(classes="as-box")
            box.border_title = f"AS {as_} · GPA"
            box.border_subtitle = self.describe()
            with box:
                yield GpaBar(self, as_, id=f"gpa-{as_}")
                for fid in files:
                    yield FileBar(self, fid, id=f"file-{fid}")

    def on_mount(self) -> None:
        self.theme_changed()

    def theme_changed(self) -> None:
        """Take the page colours from the theme's variables (``$gmem-page-N``, see ``palette``)."""
        variables = self.app.theme_variables
        self.page_colours = tuple(palette.colour(variables, k) for k in range(palette.MAX_SIZES))
        self.accent = Color.parse(variables.get("accent", "#CC79A7"))
        self.redraw()

    # -- state --------------------------------------------------------------------------------------

    def bars(self) -> list[Bar]:
        if self._bars is None or any(not b.is_attached for b in self._bars):
            self._bars = list(self.query(Bar))
        return self._bars

    def redraw(self) -> None:
        self.version += 1
        for box in self.query(".as-box"):
            box.border_subtitle = self.describe()
        for bar in self.bars():
            bar.invalidate()

    def update(self, layout: Layout, coverage: Coverage, selected: tuple[int, int] | None) -> None:
        self.current, self.coverage, self.selected = layout, coverage, selected
        shape = structure(layout)
        if shape != self._structure:
            self._structure = shape
            self.version += 1
            self._bars = None
            self.refresh(recompose=True)
            return
        self.redraw()

    def slots_of(self, kind: str, ident: int) -> list[Slot]:
        """The slots of address space ``ident`` by gpa (``"as"``), or the bindings of file ``ident`` by
        offset (``"file"``); grouped once per version for all bars."""
        if self._groups_version != self.version:
            groups: dict[tuple[str, int], list[Slot]] = {}
            for s in sorted(self.current.slots, key=lambda s: (s.as_, s.gpa)):
                groups.setdefault(("as", s.as_), []).append(s)
                if s.gmem is not None:
                    groups.setdefault(("file", s.gmem), []).append(s)
            for k, v in groups.items():
                if k[0] == "file":
                    v.sort(key=lambda s: s.offset)
            self._groups, self._groups_version = groups, self.version
        return self._groups.get((kind, ident), [])

    def runs_of(self, kind: str, ident: int) -> tuple[tuple[int, int, int], ...]:
        """Runs ``(start, end, page index)`` of one bar: ``("as", n)`` on the GPA axis, ``("file", id)``
        on that file's offset axis. Built for all bars at once, once per version; the runs of a slot
        are converted once and reused while its coverage object is unchanged (``LiveCoverage``)."""
        if self._runs_version != self.version:
            names = self.current.platform.names
            by: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
            memo: dict[int, tuple[object, list[tuple[int, int, int]], list[tuple[int, int, int]]]] = {}
            for sc in self.coverage.slots:
                s = sc.slot
                hit = self._memo.get(id(sc.runs))
                if hit is None or hit[0] is not sc.runs or hit[3] != (s.gpa, s.offset):
                    shift = s.offset - s.gpa
                    gpa_runs = [(r.gpa, r.end, names.index(r.page)) for r in sc.runs]
                    file_runs = [(a + shift, b + shift, k) for a, b, k in gpa_runs]
                    hit = (sc.runs, gpa_runs, file_runs, (s.gpa, s.offset))
                memo[id(sc.runs)] = hit
                by.setdefault(("as", s.as_), []).extend(hit[1])
                if s.gmem is not None:
                    by.setdefault(("file", s.gmem), []).extend(hit[2])
            self._memo = memo
            self._runs = {k: tuple(v) for k, v in by.items()}
            self._runs_version = self.version
        return self._runs.get((kind, ident), ())

    @property
    def dragging(self) -> bool:
        return any(bar.drag is not None for bar in self.bars())

    # -- the view -----------------------------------------------------------------------------------

    def bar_width(self) -> int:
        bars = self.bars()
        return max(bars[0].size.width, 1) if bars else max(self.size.width - 4, 1)

    def extent(self) -> int:
        ends = [s.end for s in self.current.slots]
        ends += [self.current.file_size(f.id) for f in self.current.files]
        return max(ends, default=0) or self.current.platform.base.bytes

    def _base(self) -> int:
        return self.current.platform.base.bytes

    def _max_bpc(self, width: int) -> int:
        return max(fit_bpc(self.extent(), width, self._base()), self._base())

    def axis_for(self, intervals: list[tuple[int, int]], width: int) -> Axis:
        """The axis of a bar showing these intervals (slot scale) at this width; the same Axis object
        while nothing changes, so its column bounds are computed once."""
        if not self.bpc:
            self.bpc = self._max_bpc(width)
        key = (self.mode, tuple(intervals) if self.mode == SCALE else (), width, self.bpc, self.start)
        axis = self._axes.get(key)
        if axis is None:
            axis = slot_scale(intervals, width) if self.mode == SCALE else None
            if axis is None:
                axis = linear(self.start, self.bpc, width)
            if len(self._axes) > 256:
                self._axes.clear()
            self._axes[key] = axis
        return axis

    def _set_view(self, bpc: int, start: int) -> None:
        width = self.bar_width()
        bpc = max(self._base(), min(bpc, self._max_bpc(width)))
        start = max(0, start - start % bpc)
        self.mode, self.bpc, self.start = LINEAR, bpc, start
        self.redraw()

    def _linear_now(self) -> tuple[int, int]:
        width = self.bar_width()
        if self.mode == LINEAR and self.bpc:
            return self.bpc, self.start
        return self._max_bpc(width), 0

    def zoom(self, direction: int, anchor: tuple[int, int] | None = None, focus: int | None = None) -> None:
        """Halve (direction > 0) or double the bytes per cell, keeping ``anchor`` (column, address: the
        mouse for the wheel) in place; for keys the address ``focus`` (the explained frame: the edited
        edge or the frame last under the mouse), else the middle. The slot scale turns linear."""
        bpc, start = self._linear_now()
        width = self.bar_width()
        if anchor is None and focus is not None:
            inside = self.mode == LINEAR and start <= focus < start + width * bpc
            anchor = ((focus - start) // bpc if inside else width // 2, focus)
        if anchor is None:
            anchor = (width // 2, start + width // 2 * bpc)
        new = bpc // 2 if direction > 0 else bpc * 2
        x, g = anchor
        self._set_view(new, g - x * max(new, self._base()))

    def pan(self, direction: int) -> None:
        bpc, start = self._linear_now()
        step = max(self.bar_width() // 4, 1) * bpc
        self._set_view(bpc, start + direction * step)

    def home(self) -> None:
        bpc, _ = self._linear_now()
        self._set_view(bpc, 0)

    def end(self) -> None:
        bpc, _ = self._linear_now()
        span = self.bar_width() * bpc
        self._set_view(bpc, max(0, -(-(self.extent() - span) // bpc) * bpc))

    def toggle_scale(self) -> None:
        if self.mode == SCALE:
            bpc, start = self._linear_now()
            self.mode, self.bpc, self.start = LINEAR, bpc, start
        else:
            self.mode = SCALE
        self.redraw()

    def describe(self) -> str:
        """The view in words for the border: 'slot scale' or '64K per cell from 0x100000'."""
        from ...units import fmt_size

        if self.status:
            return self.status
        if self.mode == SCALE:
            return "slot scale (s: linear)"
        return f"{fmt_size(self.bpc)} per cell from {self.start:#x} · +/- zoom · ←/→ pan"
