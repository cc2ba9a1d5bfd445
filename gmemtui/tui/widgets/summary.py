"""Coverage totals per page size, with bars: the one-glance answer to 'how much got huge pages'."""

from __future__ import annotations

from rich.text import Text

from gmemtui.commands.textfmt import pct
from gmemtui.core.coverage import Coverage
from gmemtui.core.units import fmt_amount as amount
from gmemtui.tui import palette
from gmemtui.tui.widgets.text_lines import TextLines

BAR = 12
def summary_text(coverage: Coverage, colours: tuple[str, ...] = (), bar: int = BAR) -> Text:
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
    return text


class Summary(TextLines):
    DEFAULT_CSS = "Summary { height: auto; padding: 0 1; }"

    def show(self, coverage: Coverage, colours: tuple[str, ...]) -> None:
        self._shown = (coverage, colours)
        self.set_text(summary_text(coverage, colours, self._bar()))

    def _bar(self) -> int:
        """Bars shrink on narrow terminals so the totals stay on one line."""
        width = self.size.width or 120
        return max(2, min(BAR, (width - 80) // 3))

    def on_resize(self) -> None:
        shown = getattr(self, "_shown", None)
        if shown is not None:
            self.set_text(summary_text(*shown, self._bar()))
