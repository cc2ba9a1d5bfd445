"""A few lines of rich text drawn with the Line API: the base of the summary and the explain panel.

Both change on every mouse move of a drag. A ``Static`` would lay out the screen and re-render all
of its text each time (about 0.3 ms each, a sixth of a drag step); here each logical line keeps its
rendered strips while its text is unchanged, only the screen lines that changed are repainted, and a
layout is asked for only when the number of lines changes. Lines too wide for the widget wrap at
word boundaries, as in a ``Static``.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


class TextLines(Widget):
    DEFAULT_CSS = "TextLines { height: auto; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text = Text()
        self._lines: list[Text] = []  # logical lines
        self._rendered: list[list[Strip]] = []  # per logical line, its strips at ``_width``
        self._width = -1
        self._restyled = False  # styles changed since the lines were rendered
        self._base: Style | None = None
        self.wrap = True  # False: a line too wide ends in "…" (one screen line per logical line)

    def set_wrap(self, wrap: bool) -> None:
        if wrap != self.wrap:
            self.wrap = wrap
            self._width = -1
            self.refresh(layout=True)

    @property
    def text(self) -> Text:
        return self._text

    def render(self) -> Text:
        """The whole text (what ``str()`` of the panel reads); drawing goes through ``render_line``."""
        return self._text

    def set_text(self, text: Text) -> None:
        if text == self._text:
            return
        lines = list(text.split("\n", allow_blank=True)) if text.plain else []
        old_lines, old_rendered = self._lines, self._rendered
        self._text, self._lines = text, lines
        width = self.size.width
        if not self.is_mounted or width <= 0 or width != self._width:
            self._rendered, self._width = [], -1
            self.refresh(layout=True)
            return
        restyled, self._restyled = self._restyled, False
        rendered: list[list[Strip]] = []
        dirty: list[int] = []
        y = 0
        for i, line in enumerate(lines):
            same = not restyled and i < len(old_lines) and old_lines[i] == line
            strips = old_rendered[i] if same else self._render_text(line, width)
            if not same:
                dirty.extend(range(y, y + len(strips)))
            rendered.append(strips)
            y += len(strips)
        self._rendered = rendered
        if y != sum(len(s) for s in old_rendered):
            self.refresh(layout=True)
        elif dirty:
            self.refresh(Region(0, dirty[0], width, dirty[-1] - dirty[0] + 1))

    def _render_text(self, line: Text, width: int) -> list[Strip]:
        console = self.app.console
        if self._base is None:
            self._base = self.rich_style  # walks the ancestors: kept until the styles change
        base = self._base
        out = []
        for part in _wrap(line, console, width, self.wrap):
            spans = part.spans
            if not spans or (len(spans) == 1 and spans[0].start == 0 and spans[0].end >= len(part.plain)):
                # one style over the whole line (most explain lines): no need for Text.render
                style = base + console.get_style(part.style) + (console.get_style(spans[0].style) if spans
                                                                  else Style())
                segments = [Segment(part.plain, style)] if part.plain else []
            else:
                segments = list(Segment.apply_style(part.render(console), base))
            out.append(Strip(segments).adjust_cell_length(width, base))
        return out

    def _strips(self) -> list[Strip]:
        width = self.size.width
        if width != self._width or len(self._rendered) != len(self._lines) or self._restyled:
            self._width, self._restyled = width, False
            self._rendered = [self._render_text(line, width) for line in self._lines]
        return [s for strips in self._rendered for s in strips]

    def render_line(self, y: int) -> Strip:
        strips = self._strips()
        if 0 <= y < len(strips):
            return strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        console = self.app.console
        return sum(len(_wrap(line, console, max(width, 1), self.wrap)) for line in self._lines)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # the base style may have changed: render every line again, at the width they were laid out
        # at (forgetting the width made the next ``set_text`` -- a drag's first step -- lay out the screen)
        self._restyled = True
        self._base = None


def _wrap(line: Text, console: Console, width: int, wrap: bool = True) -> list[Text]:
    """The line as it shows at this width (word wrapped, or cut with "…"; most lines fit as they are)."""
    if line.cell_len <= width:
        return [line]
    if not wrap:
        cut = line.copy()
        cut.truncate(width, overflow="ellipsis")
        return [cut]
    return list(line.wrap(console, width, overflow="fold")) or [Text()]
