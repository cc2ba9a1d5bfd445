"""The slot table: one row per slot with its coverage, drawn with the Line API.

Textual's ``DataTable`` re-renders every visible cell after any ``update_cell`` (4.5 ms for the seed,
10 ms for 512 slots per drag step). A drag changes one slot, so this table follows
Textualize/toolong's pattern instead: a ``ScrollView`` whose ``render_line`` returns a ``Strip`` cached
per row, where a row is one segment (all its cells share one style). ``show`` compares the new rows
with the shown ones by identity (unchanged slots keep their row tuple, see ``rows``) and refreshes
only the screen lines of rows that changed; the header stays on the first line while the rows scroll.
The look follows ``DataTable`` (header, zebra stripes, the selected row as a blurred cursor, hover).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gmemtui.commands.textfmt import pct
from gmemtui.core.coverage import Coverage, SlotCoverage
from gmemtui.core.model import Slot, Warning_, flag_names
from gmemtui.core.units import fmt_size_approx
from gmemtui.tui.live import changed_positions
from gmemtui.tui.row_index import RowIndex
from gmemtui.tui.widgets.bar import SlotPicked

NAME_WIDTH = 16  # the name column where the width is not known yet
NAME_MIN = 8  # on a narrow terminal names are cut to this, so the coverage columns stay on screen
PAD = 1  # blank cells either side of every cell, as DataTable's cell_padding

Row = tuple[str, tuple[str, ...]]


def row_key(slot: Slot) -> str:
    return f"{slot.as_}:{slot.slot}"


def columns(names: Sequence[str]) -> list[str]:
    return ["as", "slot", "name", "gpa", "size", "gmem @ offset", *names, "flags"]


def row(slot: Slot, counts: dict[str, int], names: Sequence[str], warned: bool) -> tuple[str, ...]:
    gmem = f"{slot.gmem} @ {slot.offset:#x}" if slot.gmem is not None else "-"
    flags = " ".join(flag_names(slot.flags)) + (" ⚠" if warned else "")
    name = slot.name or ""  # whole: ``line`` cuts it to the name column's width of the moment
    return (str(slot.as_), str(slot.slot), name, f"{slot.gpa:#x}", fmt_size_approx(slot.size),
            gmem, *(pct(counts[n], slot.size) for n in names), flags.strip())


class Rows(Sequence[Row]):
    """(row key, cells) per slot, formatted when first asked for: a screen shows a few dozen rows
    of up to 32,763, so formatting all of them up front (1.5 s at that size) is work nobody sees.
    ``memo`` (id of a SlotCoverage -> (it, warned, its row)) is shared from one step to the next, so
    an unchanged slot keeps the very same row tuple."""

    def __init__(self, slots: tuple[SlotCoverage, ...], names: Sequence[str],
                 warned: frozenset[tuple[int, int]], memo: dict[int, tuple] | None = None) -> None:
        self.slots, self.names, self.warned = slots, tuple(names), warned
        self.memo: dict[int, tuple] = memo if memo is not None else {}

    def __len__(self) -> int:
        return len(self.slots)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        sc = self.slots[i]
        w = (sc.slot.as_, sc.slot.slot) in self.warned
        hit = self.memo.get(id(sc))
        if hit is None or hit[0] is not sc or hit[1] != w:
            hit = self.memo[id(sc)] = (sc, w, (row_key(sc.slot), row(sc.slot, sc.bytes, self.names, w)))
        return hit[2]

    def key(self, i: int) -> str:
        return row_key(self.slots[i].slot)

    def replaced(self, slots: tuple[SlotCoverage, ...], changed: Sequence[int]) -> Rows:
        """The rows of ``slots``, which differ from this one's at ``changed`` only (a drag step)."""
        for i in changed:
            self.memo.pop(id(self.slots[i]), None)
        return Rows(slots, self.names, self.warned, self.memo)


def rows(coverage: Coverage, warnings: Sequence[Warning_]) -> list[Row]:
    """Every row of a coverage, formatted (for tests and small tables)."""
    warned = frozenset((w.as_, w.slot) for w in warnings if w.slot is not None)
    return list(Rows(coverage.slots, coverage.layout.platform.names, warned))


EAGER_ROWS = 2000  # up to this many rows, column widths are measured on every row; above, bounded


def bound_widths(labels: Sequence[str], table: Rows) -> list[int]:
    """Column widths at least as wide as any row's cell, from the slots' values rather than their
    formatted rows: the largest number of each kind, the distinct sizes and flag sets, and the
    widest percentage ``pct`` can write."""
    slots = [sc.slot for sc in table.slots]
    gmems = {s.gmem for s in slots if s.gmem is not None}
    gmem = max((len(str(g)) for g in gmems), default=0) + 3 + len(f"{max(s.offset for s in slots):#x}") \
        if gmems else 1
    flags = max(len(" ".join(flag_names(f))) for f in {s.flags for s in slots})
    cells = [max(len(str(a)) for a in {s.as_ for s in slots}), len(str(max(s.slot for s in slots))),
             max(map(len, (s.name or "" for s in slots))), len(f"{max(s.gpa for s in slots):#x}"),
             max(map(len, map(fmt_size_approx, {s.size for s in slots}))), gmem,
             *([PCT_WIDTH] * len(table.names)), flags + (2 if table.warned else 0)]
    return [max(cell_len(label), c) for label, c in zip(labels, cells, strict=True)]


PCT_WIDTH = len(">99.9999%")  # the widest ``pct`` writes


def widths(labels: Sequence[str], cells: Sequence[tuple[str, ...]] | Rows, room: int = 0) -> list[int]:
    """Each column as wide as its widest cell or label; the name column gets what the others leave
    of ``room`` columns (between NAME_MIN and its longest name; NAME_WIDTH if ``room`` is 0). A
    large table (``Rows`` of more than EAGER_ROWS) is measured by ``bound_widths`` instead."""
    if isinstance(cells, Rows):
        if len(cells) > EAGER_ROWS:
            out = bound_widths(labels, cells)
            cells = ()
        else:
            cells = [v for _, v in cells]
            out = [cell_len(label) for label in labels]
    else:
        out = [cell_len(label) for label in labels]
    for values in cells:
        for c, v in enumerate(values):
            n = cell_len(v)
            if n > out[c]:
                out[c] = n
    if "name" in labels:
        c = list(labels).index("name")
        others = sum(out) - out[c] + 2 * PAD * len(out)
        left = room - others if room else NAME_WIDTH
        out[c] = max(min(out[c], left), min(out[c], NAME_MIN))
    return out


def line(values: Sequence[str], widths: Sequence[int]) -> str:
    """One row as text: every cell padded to its column's width."""
    pad = " " * PAD
    parts = []
    for v, w in zip(values, widths, strict=False):
        n = cell_len(v)
        if n > w:  # the name column on a narrow terminal
            v = v[: max(w - 1, 0)] + "…"
            n = cell_len(v)
        parts.append(f"{pad}{v}{' ' * (w - n)}{pad}")
    return "".join(parts)


class SlotTable(ScrollView, can_focus=False):
    """Not focusable: keys belong to the map; a click on a row selects that slot."""

    COMPONENT_CLASSES = {
        "slot-table--header", "slot-table--even-row", "slot-table--odd-row", "slot-table--cursor",
        "slot-table--hover",
    }

    DEFAULT_CSS = """
    SlotTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
    }
    SlotTable > .slot-table--header { text-style: bold; background: $panel; color: $foreground; }
    SlotTable:ansi > .slot-table--header { background: ansi_bright_blue; color: ansi_default; }
    SlotTable > .slot-table--even-row { background: $surface-lighten-1 50%; }
    SlotTable:dark > .slot-table--even-row { background: $surface-darken-1 40%; }
    SlotTable > .slot-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    SlotTable > .slot-table--hover { background: $block-hover-background; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._names: tuple[str, ...] = ()
        self._labels: list[str] = []
        self._rows = Rows((), (), frozenset())
        self._index = RowIndex()  # row key -> row number
        self._widths: list[int] = []
        self._shown: tuple = ()  # the SlotCoverage objects the rows show
        self._warned: frozenset[tuple[int, int]] = frozenset()
        self._strips: dict[int, Strip] = {}  # row number (-1: header) -> strip of the widget's width
        self._strips_key: tuple[int, int] = (-1, -1)  # (scroll x, width) the strips were cut for
        self._styles: dict[str, Style] | None = None
        self.cursor_row = -1  # the selected slot's row
        self.hover_row = -1

    # -- data -----------------------------------------------------------------------------------

    def show(self, coverage: Coverage, warnings: Sequence[Warning_], selected: str | None) -> None:
        """Show these rows; repaint only the lines of rows that changed (all of them if the set of
        slots, the columns or a column's width changed)."""
        names = coverage.layout.platform.names
        warned = frozenset((w.as_, w.slot) for w in warnings if w.slot is not None)
        old = self._rows
        changed: list[int] | None = None
        if names == self._names and warned == self._warned:
            # a drag replaces one SlotCoverage and keeps the others: only its row is made again
            changed = changed_positions(coverage.slots, self._shown)
            if changed is not None and any(row_key(coverage.slots[i].slot) != old.key(i) for i in changed):
                changed = None
        if changed is None:
            # rows of slots still shown are kept; a memo grown past the slots shown starts afresh
            keep = old.names == tuple(names) and len(old.memo) <= 2 * len(coverage.slots) + 64
            new = Rows(coverage.slots, names, warned, old.memo if keep else None)
        else:
            new = old.replaced(coverage.slots, changed)
        self._rows, self._shown, self._warned = new, coverage.slots, warned
        if changed is None:
            self._names = names
            self._labels = columns(names)
            self._index = RowIndex(coverage)  # the cursor's row by bisection, not a dict of every row
            self._widths = widths(self._labels, new, self.size.width)
            self.virtual_size = Size(sum(self._widths) + 2 * PAD * len(self._widths), len(new) + 1)
            self._invalidate()
        elif changed:
            grown = False
            for i in changed:
                for c, v in enumerate(new[i][1]):
                    if cell_len(v) > self._widths[c] and self._labels[c] != "name":
                        self._widths[c] = cell_len(v)
                        grown = True
            if grown:  # a column widens (never shrinks while the slots stay the same, as DataTable)
                self.virtual_size = Size(sum(self._widths) + 2 * PAD * len(self._widths), len(new) + 1)
                self._invalidate()
            else:
                for i in changed:
                    self._refresh_row(i)
        self._move_cursor(self._index.get(selected, -1) if selected is not None else -1)

    def values(self, key: str) -> dict[str, str]:
        """The shown row of slot ``key`` as column label -> text (for tests and the tmux check)."""
        i = self._index.get(key)
        if i is None:
            raise KeyError(key)
        return dict(zip(self._labels, self._rows[i][1], strict=False))

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def row_keys(self) -> list[str]:
        return [self._rows.key(i) for i in range(len(self._rows))]

    # -- cursor and hover -----------------------------------------------------------------------

    def _move_cursor(self, index: int) -> None:
        if index == self.cursor_row:
            return
        old, self.cursor_row = self.cursor_row, index
        self._refresh_row(old)
        self._refresh_row(index)
        if index >= 0:  # keep the selected row in view, below the header
            top = self.scroll_offset.y
            visible = max(self.size.height - 1, 1)
            if index < top:
                self.scroll_to(y=index, animate=False, immediate=True)
            elif index >= top + visible:
                self.scroll_to(y=index - visible + 1, animate=False, immediate=True)

    def scroll_to_cursor(self) -> None:
        """Keep the selected row in view after the table's height changed (a resize)."""
        index, self.cursor_row = self.cursor_row, -1
        self._move_cursor(index)

    def on_resize(self) -> None:
        if self._rows:
            fresh = widths(self._labels, self._rows, self.size.width)
            if fresh != self._widths:  # the name column follows the terminal's width
                self._widths = fresh
                self.virtual_size = Size(sum(fresh) + 2 * PAD * len(fresh), len(self._rows) + 1)
                self._invalidate()
        self.scroll_to_cursor()

    def _row_at(self, y: int) -> int:
        """The row shown on widget line y (-1: the header or below the last row)."""
        if y < 1:
            return -1
        i = self.scroll_offset.y + y - 1
        return i if i < len(self._rows) else -1

    def on_click(self, event: events.Click) -> None:
        i = self._row_at(event.y)
        if i >= 0:
            as_, slot = (int(x) for x in self._rows.key(i).split(":"))
            self.post_message(SlotPicked((as_, slot)))

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._hover(self._row_at(event.y))

    def on_leave(self, _event: events.Leave) -> None:
        self._hover(-1)

    def _hover(self, index: int) -> None:
        if index != self.hover_row:
            old, self.hover_row = self.hover_row, index
            self._refresh_row(old)
            self._refresh_row(index)

    # -- drawing ----------------------------------------------------------------------------------

    def _invalidate(self) -> None:
        self._strips.clear()
        self.refresh()

    def _refresh_row(self, index: int) -> None:
        if index < 0:
            return
        self._strips.pop(index, None)
        y = index - self.scroll_offset.y + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._strips.clear()

    def _style(self, name: str) -> Style:
        if self._styles is None:
            base = self.rich_style
            comp = {n: base + self.get_component_rich_style(f"slot-table--{n}")
                    for n in ("header", "even-row", "odd-row", "cursor", "hover")}
            for parity in ("even", "odd"):
                for over in ("cursor", "hover"):
                    comp[f"{parity}-{over}"] = comp[f"{parity}-row"] + comp[over]
            self._styles = comp
        return self._styles[name]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if self._strips_key != (scroll_x, width):
            self._strips.clear()
            self._strips_key = (scroll_x, width)
        index = -1 if y == 0 else scroll_y + y - 1
        strip = self._strips.get(index)
        if strip is None:
            strip = self._draw(index, scroll_x, width)
            if index < len(self._rows):
                self._strips[index] = strip
        return strip

    def _draw(self, index: int, scroll_x: int, width: int) -> Strip:
        if index >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        if index < 0:
            text, style = line(self._labels, self._widths), self._style("header")
        else:
            text = line(self._rows[index][1], self._widths)
            parity = "even" if index % 2 == 0 else "odd"
            if index == self.cursor_row:
                style = self._style(f"{parity}-cursor")
            elif index == self.hover_row:
                style = self._style(f"{parity}-hover")
            else:
                style = self._style(f"{parity}-row")
        return Strip([Segment(text, style)]).crop_extend(scroll_x, scroll_x + width, style)
