"""Coverage totals per page size, with bars: the one-glance answer to 'how much got huge pages'."""

from __future__ import annotations

from rich.text import Text

from gmemtui.commands.textfmt import pct
from gmemtui.core.coverage import Coverage
from gmemtui.core.units import fmt_amount as amount
from gmemtui.tui import palette
from gmemtui.tui.live import changed_positions
from gmemtui.tui.widgets.text_lines import TextLines

BAR = 12
def summary_text(coverage: Coverage, colours: tuple[str, ...] = (), bar: int = BAR,
                 lost: int | None = None) -> Text:
    """The totals line; ``lost`` is ``coverage.unmappable`` where the caller keeps it."""
    names = coverage.layout.platform.names
    whole = coverage.size
    text = Text("total ", style="bold")
    text.append(f"{amount(whole)}  ")
    for k, name in enumerate(names):
        n = coverage.total[name]
        fill = round(bar * n / whole) if whole else 0
        if n and not fill:
            fill = 1
        style = colours[k] if k < len(colours) else ""
        text.append(f"{name} ", style="bold")
        text.append(palette.glyph(k) * fill, style=style)
        text.append("·" * (bar - fill), style="dim")
        text.append(f" {amount(n)} ({pct(n, whole)})  ")
    lost = coverage.unmappable if lost is None else lost
    if lost:  # rule 6 frames: counted under the base page above, mapped at no size
        style = colours[palette.NOT_MAPPABLE] if len(colours) > len(names) else ""
        text.append(f"{palette.NOT_MAPPABLE_GLYPH} not mappable {amount(lost)} ({pct(lost, whole)})",
                    style=style)
    return text


class Summary(TextLines):
    DEFAULT_CSS = "Summary { height: auto; padding: 0 1; }"

    _shown: tuple[Coverage, tuple[str, ...], int] | None = None

    def show(self, coverage: Coverage, colours: tuple[str, ...]) -> None:
        lost = self._lost(coverage)
        self._shown = (coverage, colours, lost)
        self.set_text(summary_text(coverage, colours, self._bar(), lost))

    def _lost(self, coverage: Coverage) -> int:
        """``coverage.unmappable``: after a drag step the last sum with the changed slots' share
        swapped (the live model tells which), not a sum over every slot."""
        shown = self._shown
        if shown is not None:
            before = shown[0].slots
            changed = changed_positions(coverage.slots, before)
            if changed is not None:
                return shown[2] + sum(coverage.slots[i].unmappable - before[i].unmappable for i in changed)
        return coverage.unmappable

    def _bar(self) -> int:
        """Bars shrink on narrow terminals so the totals stay on one line."""
        width = self.size.width or 120
        return max(2, min(BAR, (width - 80) // 3))

    def on_resize(self) -> None:
        shown = self._shown
        if shown is not None:
            self.set_text(summary_text(shown[0], shown[1], self._bar(), shown[2]))
