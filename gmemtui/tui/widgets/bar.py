"""The base of the map's bars: Line API drawing with cached strips, and mouse dragging.

Following Textualize/toolong's pattern, a bar draws each row in ``render_line`` from data prepared
once per (map version, width) and caches the resulting ``Strip`` per row; the map bumps its version
whenever the layout, zoom or palette changes. A drag keeps the axis of its mouse-down (so the
mapping from columns to addresses cannot shift under the pointer) and posts a new layout on every
mouse move: the app recomputes coverage and every panel follows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from gmemtui.core import edit
from gmemtui.core.model import Layout
from gmemtui.tui import palette
from gmemtui.tui.axis import Axis, boundary_marks, patch_cells, ticks
from gmemtui.tui.bar_runs import bar_cells, is_fresh
from gmemtui.tui.live import remember
from gmemtui.tui.piece_runs import PieceRuns

if TYPE_CHECKING:
    from gmemtui.tui.widgets.map_host import MapHost


class LayoutEdited(Message):
    """A drag produced ``layout``; ``final`` on mouse-up (one undo step per drag)."""

    def __init__(self, layout: Layout, final: bool, focus: tuple[int, int] | None, what: str = "") -> None:
        super().__init__()
        self.layout = layout
        self.final = final
        self.focus = focus  # (as, gpa) of the frame at the dragged edge, for the explain panel
        self.what = what  # the drag in words, shown while it lasts


class Hovered(Message):
    """The mouse is over the frame at ``gpa`` of address space ``as_``."""

    def __init__(self, as_: int, gpa: int) -> None:
        super().__init__()
        self.as_ = as_
        self.gpa = gpa


class SlotPicked(Message):
    def __init__(self, key: tuple[int, int]) -> None:
        super().__init__()
        self.key = key


@dataclass(frozen=True)
class Drag:
    key: tuple[int, int]
    part: str  # edit.PARTS
    base: Layout  # the layout at mouse-down: every move is computed from it
    x0: int
    axis: Axis


def dragged(d: Drag, delta: int, level: int = 0) -> Layout:
    """``edit.drag`` from the layout at mouse-down. An edit replaces the one slot it changes
    (``Layout.with_slot``); the live model is told so, and diffs this step against the last one through
    that common base instead of comparing every slot (``live.changed_positions``)."""
    new = edit.drag(d.base, d.key, d.part, delta, level)
    remember(new.slots, d.base.slots, [] if new.slots is d.base.slots else [new.slot_index(d.key)])
    return new


def modifier_level(event: events.MouseEvent) -> int:
    """Snap level: 0 = base page; one modifier (shift, ctrl or meta/alt: terminals differ in which
    they pass through) = the next ladder size; two = the one after."""
    return sum((bool(event.shift), bool(event.ctrl), bool(event.meta)))


def spans(cells: Iterable[tuple[str, Style]]) -> list[Segment]:
    """Merge neighbouring cells of one style into one segment."""
    out: list[Segment] = []
    text, style = "", None
    for ch, st in cells:
        if st is style:  # styles come from a few shared objects: identity is enough and fast
            text += ch
        else:
            if text:
                out.append(Segment(text, style))
            text, style = ch, st
    if text:
        out.append(Segment(text, style))
    return out


def label_row(width: int, labels: Iterable[tuple[int, str, Style]], base: Style) -> Strip:
    """A row of text labels placed at columns, dropping any that would overlap the previous one."""
    chars = [" "] * width
    styles = [base] * width
    last = -1
    for x, text, style in labels:
        if x <= last or x >= width:
            continue
        text = text[: width - x]
        for i, ch in enumerate(text):
            chars[x + i] = ch
            styles[x + i] = style
        last = x + len(text)
    return Strip(spans(zip(chars, styles, strict=False)), width)


class Bar(Widget):
    """One bar of the map. Subclasses say what it shows: intervals, runs, hit test.

    A bar has logical rows (``BAR_ROW``, ``TICK_ROW``, ...; subclasses add theirs) and ``rows``, the
    logical rows shown top to bottom: the map folds a bar on a short terminal by leaving rows out,
    and thickens it on a tall one by repeating ``BAR_ROW`` (docs/tui.md, "Every terminal size")."""

    DEFAULT_CSS = """
    Bar { height: 3; width: 1fr; }
    """
    BAR_ROW = 1
    TICK_ROW = 0  # the row of axis labels (subclasses say which)
    ROWS: tuple[int, ...] = (0, 1, 2)  # the logical rows shown when nothing is folded

    def __init__(self, map_view: MapHost, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.map = map_view
        self.drag: Drag | None = None
        self._key: tuple[int, int] | None = None  # (map version, width) of the prepared data
        self._axis: Axis | None = None
        self._cells: list[tuple[int | None, bool]] = []
        self._strips: dict[int, Strip] = {}
        self._inputs: dict[int, object] = {}  # row -> what its cached strip was drawn from
        self._cells_for: tuple[Axis, tuple] | None = None  # (axis, runs) that _cells were computed for
        self._base: Style | None = None
        self.prepared_width = 1  # the width of the last _prepare
        self._whole: object = None  # inputs() and the view at the last _prepare that drew
        self._styles: tuple = ()  # (base style, page colours, accent) the styles below come from
        self.base_style = Style()
        self.page_styles: tuple[Style, ...] = ()
        self.dim_style = self.title_style = self.selected_style = self.private_style = Style()
        self.rows: tuple[int, ...] = self.ROWS
        self.styles.height = len(self.ROWS)

    def set_rows(self, rows: tuple[int, ...]) -> None:
        """Show these logical rows top to bottom (none: the bar is hidden)."""
        if rows == self.rows:
            return
        self.rows = rows
        self.display = bool(rows)
        self.styles.height = max(len(rows), 1)
        self.refresh()

    # -- what the bar shows (subclasses) ------------------------------------------------------------

    def intervals(self) -> list[tuple[int, int]]:
        raise NotImplementedError

    def interval_count(self) -> int:
        """``len(self.intervals())``, without building them."""
        return len(self.intervals())

    def runs(self) -> PieceRuns:
        raise NotImplementedError

    def draw_row(self, y: int, width: int) -> Strip:
        raise NotImplementedError

    def hit(self, x: int) -> tuple[tuple[int, int], str] | None:
        raise NotImplementedError

    def frame_at(self, x: int) -> tuple[int, int] | None:
        """(as, gpa) of the frame shown at column x, for the explain panel."""
        raise NotImplementedError

    # -- prepared data ------------------------------------------------------------------------------

    @property
    def axis(self) -> Axis:
        self._prepare()
        assert self._axis is not None
        return self._axis

    @property
    def cells(self) -> list[tuple[int | None, bool]]:
        self._prepare()
        return self._cells

    def invalidate(self) -> None:
        self._key = self._whole = self._base = None
        self.refresh()

    def base(self) -> Style:
        """The widget's style (``rich_style`` walks the ancestors: kept until the styles change)."""
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None

    def changed(self) -> None:
        """The map moved to a new version (an edit): prepare now and repaint only the rows whose
        inputs changed; during a drag that is the dragged slot's bar and its file's, not the others."""
        width = self.size.width
        if not self.is_mounted or width <= 0:
            self.invalidate()
            return
        shown = dict(self._strips)  # rows never drawn (off screen) need no repaint
        self._prepare(width)
        dirty = []
        for y, old in shown.items():
            if y in self._strips:
                continue
            # inputs changed; the row may still look the same (a 4K step inside one column): draw it
            # now, and repaint only if it differs from what is on screen
            new = self.draw_row(y, width)
            if list(new) == list(old):
                self._strips[y] = old
            else:
                self._strips[y] = new
                dirty.append(y)
        ys = [y for y, row in enumerate(self.rows) if row in dirty]
        if ys:  # one region: each refresh costs the compositor a pass
            self.refresh(Region(0, ys[0], width, ys[-1] - ys[0] + 1))

    def inputs(self) -> object:
        """The model objects this bar shows (its slots' coverage, ...), compared by identity."""
        raise NotImplementedError

    def row_inputs(self, axis: Axis, base: Style) -> dict[int, object]:
        """What each row other than the bar and tick rows is drawn from (a row whose inputs are
        unchanged keeps its strip); subclasses add their label rows."""
        return {}

    def _prepare(self, width: int | None = None) -> None:
        """``width``: ``self.size.width`` where the caller has it (``size`` looks the widget up in
        the screen's map, each time)."""
        width = max(self.size.width if width is None else width, 1)
        self.prepared_width = width
        key = (self.map.version, width)
        if key == self._key:
            return
        self._key = key
        # everything the bar shows comes from these; an edit elsewhere leaves them all the same objects
        whole = (self.map.view_version, width, self.drag.axis if self.drag is not None else None,
                 self.base(), self.map.page_colours, self.map.accent, self.inputs())
        if whole == self._whole:
            return
        self._whole = whole
        if self.drag is not None:
            axis = self.drag.axis
        else:  # more slots than columns cannot have a column each: the linear axis, without listing them
            axis = self.map.axis_for(self.intervals() if self.interval_count() <= width else None, width)
        runs = self.runs()
        base = self.base()
        # a row is drawn again only when what it is drawn from changed: a drag of one slot leaves the
        # bars of other files as they were (their strips stay cached, and they are not repainted)
        inputs = {**self.row_inputs(axis, base), self.TICK_ROW: (axis, base),
                  self.BAR_ROW: (axis, runs, base, self.map.page_colours)}
        old = self._inputs
        kept = {y: strip for y, strip in self._strips.items() if y in inputs and old.get(y) == inputs[y]}
        if self.BAR_ROW not in kept:
            # a drag changes one slot's runs: only the columns showing them are computed again
            cells = None
            if self._cells_for is not None and self._cells_for[0] == axis and not is_fresh(runs):
                cells = patch_cells(self._cells, axis, self._cells_for[1], runs)
            cells = cells if cells is not None else bar_cells(runs, axis)  # new runs: by bisection
            old_bar = self._strips.get(self.BAR_ROW)
            if old_bar is not None and old_bar.cell_length == width and cells == self._cells and \
                    old.get(self.BAR_ROW) is not None and \
                    old[self.BAR_ROW][2:] == inputs[self.BAR_ROW][2:]:  # type: ignore[index]
                kept[self.BAR_ROW] = old_bar  # the same cells in the same colours: the same row
            self._cells = cells
            self._cells_for = (axis, runs)
        self._inputs = inputs
        self._axis = axis
        self._strips = kept
        styles = (base, self.map.page_colours, self.map.accent)
        if styles != self._styles:
            self._styles = styles
            self.base_style = base
            self.page_styles = tuple(base + Style(color=c.rich_color) for c in self.map.page_colours)
            self.dim_style = base + Style(dim=True)
            self.title_style = base + Style(bold=True)
            self.selected_style = base + Style(color=self.map.accent.rich_color, bold=True)
            self.private_style = base + Style(bold=True)  # the attribute row: private solid, shared dim

    def line(self, row: int) -> Strip:
        """Logical row ``row`` as drawn now (wherever it is shown, or not)."""
        self._prepare()
        strip = self._strips.get(row)
        if strip is None:
            strip = self._strips[row] = self.draw_row(row, self.size.width)
        return strip

    def render_line(self, y: int) -> Strip:
        if y >= len(self.rows):
            return Strip.blank(self.size.width, self.base())
        return self.line(self.rows[y])

    def bar_strip(self, width: int) -> Strip:
        styles = self.page_styles
        hole = self.base_style
        cells = ((palette.glyph(k, mixed), hole if k is None else styles[k]) for k, mixed in self.cells)
        return Strip(spans(cells), width).crop(0, width)

    def tick_strip(self, width: int, style: Style) -> Strip:
        axis = self.axis
        width_label = len(hex(max(axis.hi - 1, 0)))
        labels = [(x, hex(g), style) for x, g in ticks(axis, width_label) if x + len(hex(g)) <= width]
        end = hex(axis.hi)
        if not axis.bpc and width - len(end) > (labels[-1][0] + len(labels[-1][1]) if labels else -1):
            labels.append((width - len(end), end, style))  # the slot scale's last address, right-aligned
        if not axis.bpc:  # slot scale: where the large pages may start (docs/tui.md)
            sizes = [p.bytes for p in self.map.current.platform.ladder]
            used = [(x - 1, x + len(text)) for x, text, _ in labels]
            marks = [(x, palette.BOUNDARY[min(k, len(palette.BOUNDARY) - 1)], style)
                     for x, k in boundary_marks(axis, sizes)
                     if x < width and not any(a <= x <= b for a, b in used)]
            labels = sorted(labels + marks, key=lambda t: t[0])
        return label_row(width, labels, style)

    # -- mouse --------------------------------------------------------------------------------------

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if event.button != 1:
            return
        hit = self.hit(event.x)
        if hit is None:
            return
        key, part = hit
        self.post_message(SlotPicked(key))
        self.drag = Drag(key, part, self.map.current, event.x, self.axis)
        self.capture_mouse()
        event.stop()

    def _dragged(self, event: events.MouseEvent) -> tuple[Layout, tuple[int, int] | None, str]:
        d = self.drag
        assert d is not None
        delta = d.axis.at(event.x) - d.axis.at(d.x0)
        new = dragged(d, delta, modifier_level(event))
        s = new.slots[new.slot_index(d.key)]
        base = new.platform.base.bytes
        focus = s.end - base if d.part == "end" else s.gpa
        snap = new.platform.ladder[min(modifier_level(event), len(new.platform.ladder) - 1)].name
        value = {"start": f"gpa {s.gpa:#x}", "end": f"end {s.end:#x}", "slot": f"gpa {s.gpa:#x}",
                 "binding": f"offset {s.offset:#x}"}[d.part]
        extra = f", offset {s.offset:#x}" if d.part == "start" and s.gmem is not None else ""
        what = f"dragging slot {s.slot} {d.part}: {value}{extra} · snap {snap}"
        return new, (s.as_, focus), what

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self.drag is not None:
            new, focus, what = self._dragged(event)
            if new != self.map.current:  # a move within one column changes nothing: no recompute
                self.post_message(LayoutEdited(new, False, focus, what))
            return
        frame = self.frame_at(event.x)
        if frame is not None:
            self.post_message(Hovered(*frame))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self.drag is None:
            return
        new, focus, _ = self._dragged(event)
        self.drag = None
        self.release_mouse()
        self._key = None
        self.post_message(LayoutEdited(new, True, focus))
        event.stop()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.map.zoom(+1, anchor=(event.x, self.axis.at(event.x)))
        event.stop()
        event.prevent_default()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.map.zoom(-1, anchor=(event.x, self.axis.at(event.x)))
        event.stop()
        event.prevent_default()
