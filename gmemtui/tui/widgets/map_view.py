"""The map: per address space a GPA bar and, under it, one bar per guest_memfd file; plus the view
(zoom, pan, slot scale) they share. The bars redraw from cached strips until ``version`` changes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Region
from textual.widget import Widget

from gmemtui.core.coverage import Coverage, SlotCoverage
from gmemtui.core.model import Layout, Slot
from gmemtui.tui import palette
from gmemtui.tui.axis import Axis, linear, slot_scale
from gmemtui.tui.bar_data import BarData
from gmemtui.tui.compositor import tighten
from gmemtui.tui.live import changed_positions
from gmemtui.tui.piece_runs import PieceRuns
from gmemtui.tui.slot_view import SlotView
from gmemtui.tui.widgets.bar import Bar
from gmemtui.tui.widgets.file_bar import FileBar
from gmemtui.tui.widgets.gpa_bar import GpaBar

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


def fold_levels(max_thick: int = 4) -> list[tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """(thickness, GPA bar rows, file bar rows) from the richest to the barest (docs/tui.md): thicker
    bars first, then the file bars lose their offset ticks, their titles, themselves; last the GPA
    bar loses its ticks and its attribute row. The slot labels and the bar itself always stay."""
    out = []
    for t in range(max_thick, 0, -1):
        out.append((t, (0, *(1,) * t, 3, 2), (0, *(1,) * t, 2)))
    out += [(1, (0, 1, 3, 2), (0, 1)), (1, (0, 1, 3, 2), (1,)), (1, (0, 1, 3, 2), ()),
            (1, (1, 3, 2), ()), (1, (1, 2), ())]
    return out


def _in_place(old: Slot, new: Slot) -> bool:
    """An edit of one slot that keeps its address space and file and overlaps where it was (a drag
    step): no other slot can lie between the two, so the order by gpa, and the bars, stay."""
    return (old.as_, old.gmem) == (new.as_, new.gmem) and old.gpa < new.end and new.gpa < old.end


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
        self._bars: list[Bar] | None = None
        self._boxes: list[Widget] = []
        self._axes: dict[tuple, Axis] = {}
        self._bar_data = BarData(coverage, layout.platform.names)  # per bar: slots' coverage, slots, runs
        self._subtitles: dict[object, str] = {}  # box -> the text last put on its border
        self.view_version = 0  # bumped by view changes (zoom, pan, scale, theme), not by edits
        self.mode = SCALE
        self.bpc = 0  # 0: fit the whole guest on first use
        self.start = 0
        self._structure = structure(layout)
        self.fold_level = (1, GpaBar.ROWS, FileBar.ROWS)
        self.page_colours: tuple[Color, ...] = palette.colours({})
        self.accent = Color.parse("#CC79A7")

    def compose(self) -> ComposeResult:
        for as_, files in self._structure:
            box = Vertical(classes="as-box")
            box.border_title = f"AS {as_} · GPA"
            box.border_subtitle = self.describe()
            with box:
                gpa = GpaBar(self, as_, id=f"gpa-{as_}")
                gpa.set_rows(self.fold_level[1])
                yield gpa
                for fid in files:
                    bar = FileBar(self, fid, id=f"file-{fid}")
                    bar.set_rows(self.fold_level[2])
                    yield bar

    # -- folding (docs/tui.md, "Every terminal size") --------------------------------------------------

    def height_at(self, level: tuple[int, tuple[int, ...], tuple[int, ...]]) -> int:
        """Rows the map takes at a fold level: per address space its border and GPA bar, the files."""
        files = sum(len(f) for _, f in self._structure)
        return len(self._structure) * (2 + len(level[1])) + files * len(level[2])

    def fold(self, budget: int, thick_budget: int | None = None) -> int:
        """Show the richest fold level whose height fits ``budget`` rows (thicker bars only within
        ``thick_budget``); the barest if none fits (then the map scrolls). Returns the height."""
        thick_budget = budget if thick_budget is None else min(budget, thick_budget)
        levels = fold_levels()
        chosen = levels[-1]
        for level in levels:
            if self.height_at(level) <= (thick_budget if level[0] > 1 else budget):
                chosen = level
                break
        if chosen != self.fold_level:
            self.fold_level = chosen
            for bar in self.bars():
                bar.set_rows(chosen[1] if isinstance(bar, GpaBar) else chosen[2])
        return self.height_at(chosen)

    def on_mount(self) -> None:
        tighten(self.screen)  # a drag step's frame renders the widgets it changed, not all between them
        self.theme_changed()

    def theme_changed(self) -> None:
        """Take the page colours from the theme's variables (``$gmem-page-N``, see ``palette``)."""
        variables = self.app.theme_variables
        self.page_colours = palette.colours(variables)  # the sizes', then not mappable's
        self.accent = palette.selected_colour(variables)  # the selected slot: a hue no page size has
        self.redraw()

    # -- state --------------------------------------------------------------------------------------

    def bars(self) -> list[Bar]:
        if self._bars is None or any(not b.is_attached for b in self._bars):
            self._bars = list(self.query(Bar))
            self._boxes = list(self.query(".as-box"))
        return self._bars

    def boxes(self) -> list[Widget]:
        self.bars()
        return self._boxes

    def redraw(self, edit: bool = False) -> None:
        """A new version: after a view change every bar draws again; after an ``edit`` (a drag step)
        only the rows whose inputs changed are repainted (see ``Bar.changed``)."""
        self.version += 1
        if not edit:
            self.view_version += 1
        self._set_subtitles(self.describe())
        for bar in self.bars():
            if edit:
                bar.changed()
            else:
                bar.invalidate()

    def _set_subtitles(self, text: str) -> None:
        """The view description (or the drag in words) on each address space's border. Only the
        bottom border line is repainted: setting ``border_subtitle`` would repaint the whole box, and
        with it every bar inside, on every drag step."""
        for box in self.boxes():
            if self._subtitles.get(box) == text:
                continue
            first = box not in self._subtitles
            self._subtitles[box] = text
            height, width = box.outer_size.height, box.outer_size.width
            if first or height < 2 or not hasattr(box, "_border_subtitle"):
                box.border_subtitle = text
                continue
            box._border_subtitle = Content(text)  # what the setter stores, without parsing markup
            gutter = box.styles.gutter  # refresh regions are in content coordinates
            box.refresh(Region(-gutter.left, height - 1 - gutter.top, width, 1))

    def update(self, layout: Layout, coverage: Coverage, selected: tuple[int, int] | None) -> None:
        old = self.current
        self.current, self.coverage, self.selected = layout, coverage, selected
        moved = changed_positions(layout.slots, old.slots) if layout.files == old.files else None
        if moved is not None and all(_in_place(old.slots[i], layout.slots[i]) for i in moved):
            shape = self._structure  # the same slots in the same spaces, files and order: same bars
        else:
            shape = structure(layout)
        if shape != self._structure:
            self._structure = shape
            self.version += 1
            self.view_version += 1
            self._bars = None
            self._subtitles = {}
            self.refresh(recompose=True)
            return
        self.redraw(edit=True)

    def _data(self) -> BarData:
        data = self._bar_data
        if data.version != self.version or data.coverage is not self.coverage:
            data.sync(self.coverage, self.current.platform.names, self.version)
        return data

    def group(self, kind: str, ident: int) -> tuple[SlotCoverage, ...]:
        """The coverage of a bar's slots (``BarData.group``)."""
        return self._data().group(kind, ident)

    def slots_of(self, kind: str, ident: int) -> SlotView:
        """The slots of address space ``ident`` by gpa (``"as"``), or the bindings of file ``ident`` by
        offset (``"file"``)."""
        return self._data().slots_of(kind, ident)

    def runs_of(self, kind: str, ident: int) -> PieceRuns:
        """A bar's runs (``BarData.runs_of``)."""
        return self._data().runs_of(kind, ident)

    @property
    def dragging(self) -> bool:
        return any(bar.drag is not None for bar in self.bars())

    # -- the view -----------------------------------------------------------------------------------

    def bar_width(self) -> int:
        bars = self.bars()
        return max(bars[0].size.width, 1) if bars else max(self.size.width - 4, 1)

    def extent(self) -> int:
        """Where the guest ends: its last slot's end, or a file's end if further (``Layout.file_size``
        of every file, from one pass over the bindings rather than one per file)."""
        layout = self.current
        ends = [s.end for s in layout.slots]
        ends += [f.size for f in layout.files if f.size is not None]
        sized_by_bindings = {f.id for f in layout.files if f.size is None}
        if sized_by_bindings:
            ends += [s.offset + s.size for s in layout.slots if s.gmem in sized_by_bindings]
        return max(ends, default=0) or layout.platform.base.bytes

    def _base(self) -> int:
        return self.current.platform.base.bytes

    def _max_bpc(self, width: int) -> int:
        """The most bytes per cell: the whole guest on the bar (a multiple of the base page, not
        always a power of two, so zooming out never leaves part of the bar blank)."""
        base = self._base()
        per = -(-self.extent() // max(width, 1))
        return max(-(-per // base) * base, base)

    def axis_for(self, intervals: list[tuple[int, int]] | None, width: int) -> Axis:
        """The axis of a bar showing these intervals (slot scale) at this width; the same Axis object
        while nothing changes, so its column bounds are computed once. None: more intervals than
        columns, which the slot scale cannot give a column each (the linear axis, without listing them)."""
        if not self.bpc:
            self.bpc = self._max_bpc(width)
        scaled = self.mode == SCALE and intervals is not None
        key = (self.mode, tuple(intervals) if scaled else (), width, self.bpc, self.start)
        axis = self._axes.get(key)
        if axis is None:
            axis = slot_scale(intervals, width) if scaled else None  # type: ignore[arg-type]
            if axis is None:
                axis = linear(self.start, self.bpc, width)
            if len(self._axes) >= 32:  # the oldest goes: a drag makes a file bar's axis per step, and
                del self._axes[next(iter(self._axes))]  # dropping 256 at once was a 3 ms step
            self._axes[key] = axis
        return axis

    def _set_view(self, bpc: int, start: int) -> bool:
        """Go to this view, kept within the guest: at most the whole guest on the bar, the bar never
        starting past the last slot. False if the view did not change (a pan at the end)."""
        width = self.bar_width()
        fit = self._max_bpc(width)
        # at most the fit, or the power of two just above it (a cell size that divides 2M moves)
        bpc = max(self._base(), min(bpc, max(fit, 1 << max(fit - 1, 0).bit_length())))
        last = max(0, -(-(self.extent() - width * bpc) // bpc) * bpc)
        start = min(max(0, start - start % bpc), last)
        if (self.mode, self.bpc, self.start) == (LINEAR, bpc, start):
            return False
        self.mode, self.bpc, self.start = LINEAR, bpc, start
        self.redraw()
        return True

    def _linear_now(self) -> tuple[int, int]:
        width = self.bar_width()
        if self.mode == LINEAR and self.bpc:
            return self.bpc, self.start
        return self._max_bpc(width), 0

    def zoom(self, direction: int, anchor: tuple[int, int] | None = None, focus: int | None = None) -> bool:
        """Halve (direction > 0) or double the bytes per cell, keeping ``anchor`` (column, address: the
        mouse for the wheel) in place; for keys the address ``focus`` (the explained frame: the edited
        edge or the frame last under the mouse), else the middle. The slot scale turns linear.
        Cell sizes are powers of two (so at 2M per cell a cell is one 2M page) up to the fit."""
        bpc, start = self._linear_now()
        width = self.bar_width()
        if anchor is None and focus is not None:
            inside = self.mode == LINEAR and start <= focus < start + width * bpc
            anchor = ((focus - start) // bpc if inside else width // 2, focus)
        if anchor is None:
            anchor = (width // 2, start + width // 2 * bpc)
        power = 1 << max(bpc - 1, 0).bit_length()  # bpc itself if a power of two, else the next one
        if direction > 0:
            new = power // 2
        else:  # never past the fit: zooming out does not leave part of the bar blank
            new = min(power * 2 if power == bpc else power, self._max_bpc(width))
        x, g = anchor
        return self._set_view(new, g - x * max(new, self._base()))

    def pan(self, direction: int) -> bool:
        """Move a quarter of the bar; False at either end (nothing moved)."""
        bpc, start = self._linear_now()
        step = max(self.bar_width() // 4, 1) * bpc
        return self._set_view(bpc, start + direction * step)

    def home(self) -> None:
        bpc, _ = self._linear_now()
        self._set_view(bpc, 0)

    def end(self) -> None:
        bpc, _ = self._linear_now()
        self._set_view(bpc, self.extent())  # clamped to the last start that still shows the end

    def fit(self) -> None:
        """The whole guest on a linear axis, from address 0."""
        self._set_view(self._max_bpc(self.bar_width()), 0)

    def toggle_scale(self) -> None:
        if self.mode == SCALE:
            bpc, start = self._linear_now()
            self.mode, self.bpc, self.start = LINEAR, bpc, start
        else:
            self.mode = SCALE
        self.redraw()

    def describe(self) -> str:
        """The view in words for the border: 'slot scale' or '64K per cell from 0x100000'."""
        from gmemtui.core.units import fmt_size, fmt_size_approx

        if self.status:
            return self.status
        if self.mode == SCALE:
            return "slot scale (s: linear)"
        if self.bpc & (self.bpc - 1):  # not a power of two: the fit (key 0)
            return f"whole guest, {fmt_size_approx(self.bpc)} per cell · +/- zoom · s: slot scale"
        return f"{fmt_size(self.bpc)} per cell from {self.start:#x} · +/- zoom · ←/→ pan · 0: fit"
