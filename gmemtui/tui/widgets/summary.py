"""Coverage totals per page size, with bars: the one-glance answer to 'how much got huge pages'."""

from __future__ import annotations

from rich.text import Text

from gmemtui.commands.textfmt import pct
from gmemtui.core.coverage import Coverage
from gmemtui.tui import palette
from gmemtui.tui.widgets.text_lines import TextLines

BAR = 12
UNITS = (("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10))


def amount(nbytes: int) -> str:
    """An amount of memory that cannot be read as a page size: ``2.0 MiB``, ``2046 MiB``, ``0 B``
    (``2M`` is a page size on this screen; the amounts always carry a binary unit). The largest unit
    it is at least one of, or a smaller one that shows it exactly in at most four digits."""
    for i, (unit, shift) in enumerate(UNITS):
        if nbytes < 1 << shift:
            continue
        if nbytes % (1 << shift):
            for smaller, sshift in UNITS[i + 1:]:
                if nbytes % (1 << sshift) == 0 and nbytes >> sshift < 10000:
                    return f"{nbytes >> sshift} {smaller}"
        value = nbytes / (1 << shift)
        return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{nbytes} B"


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
