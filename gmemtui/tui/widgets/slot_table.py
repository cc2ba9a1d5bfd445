"""The slot table: one row per slot with its coverage; rows update in place cell by cell, so a drag
repaints only what changed."""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.widgets import DataTable

from ...coverage import Coverage
from ...model import Slot, Warning_, flag_names
from ...textfmt import pct
from ...units import fmt_size_approx
from .bar import SlotPicked

NAME_WIDTH = 16  # longer names are cut: the coverage columns must stay on screen


def row_key(slot: Slot) -> str:
    return f"{slot.as_}:{slot.slot}"


def columns(names: Sequence[str]) -> list[str]:
    return ["as", "slot", "name", "gpa", "size", "gmem @ offset", *names, "flags"]


def row(slot: Slot, counts: dict[str, int], names: Sequence[str], warned: bool) -> tuple[str, ...]:
    gmem = f"{slot.gmem} @ {slot.offset:#x}" if slot.gmem is not None else "-"
    flags = " ".join(flag_names(slot.flags)) + (" ⚠" if warned else "")
    name = slot.name or ""
    name = name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"
    return (str(slot.as_), str(slot.slot), name, f"{slot.gpa:#x}", fmt_size_approx(slot.size),
            gmem, *(pct(counts[n], slot.size) for n in names), flags.strip())


def rows(coverage: Coverage, warnings: Sequence[Warning_],
         memo: dict[int, tuple] | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """(row key, cells) per slot. ``memo`` (id of a SlotCoverage -> its row) skips unchanged slots."""
    names = coverage.layout.platform.names
    warned = {(w.as_, w.slot) for w in warnings if w.slot is not None}
    out = []
    fresh: dict[int, tuple] = {}
    for sc in coverage.slots:
        w = (sc.slot.as_, sc.slot.slot) in warned
        hit = memo.get(id(sc)) if memo is not None else None
        if hit is None or hit[0] is not sc or hit[1] != w:
            hit = (sc, w, (row_key(sc.slot), row(sc.slot, sc.bytes, names, w)))
        fresh[id(sc)] = hit
        out.append(hit[2])
    if memo is not None:
        memo.clear()
        memo.update(fresh)
    return out


class SlotTable(DataTable):
    """Not focusable: keys belong to the map; a click on a row selects that slot."""

    can_focus = False

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._names: tuple[str, ...] = ()
        self._rows: list[tuple[str, tuple[str, ...]]] = []
        self._memo: dict[int, tuple] = {}

    def show(self, coverage: Coverage, warnings: Sequence[Warning_], selected: str | None) -> None:
        names = coverage.layout.platform.names
        new = rows(coverage, warnings, self._memo)
        if names != self._names or [k for k, _ in new] != [k for k, _ in self._rows]:
            self.clear(columns=names != self._names)
            if names != self._names:
                for label in columns(names):
                    self.add_column(label, width=NAME_WIDTH if label == "name" else None)
                self._names = names
            for key, values in new:
                self.add_row(*values, key=key)
        else:
            cols = list(self.columns)
            for (key, values), (_, old) in zip(new, self._rows, strict=False):
                if values is old:
                    continue
                for c, (v, o) in enumerate(zip(values, old, strict=False)):
                    if v != o:
                        self.update_cell(key, cols[c], v)
        self._rows = new
        if selected is not None and selected in self.rows:
            index = self.get_row_index(selected)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)

    async def _on_click(self, event: events.Click) -> None:
        await super()._on_click(event)
        row = event.style.meta.get("row", -1)
        if 0 <= row < len(self._rows):
            as_, slot = (int(x) for x in self._rows[row][0].split(":"))
            self.post_message(SlotPicked((as_, slot)))

    def values(self, key: str) -> dict[str, str]:
        """The shown row of slot ``key`` as column label -> text (for tests and the tmux check)."""
        for k, v in self._rows:
            if k == key:
                return dict(zip(columns(self._names), v, strict=False))
        raise KeyError(key)
