"""The trace timeline: which replay state is shown, the trace line that made it, and a clickable bar.

A trace (docs/formats.md) is replayed into one layout per line that changed something; the app shows one of
them at a time. This widget only knows positions: it owns ``index`` and tells the app with
``Timeline.Changed`` when it moves (key, click or drag on the bar), and the app swaps the layout.
Drawn with the Line API so a long trace costs one short strip per repaint. A live trace
(``gmemtui.tui.follow``) grows ``states`` under it: ``grown`` moves to the newest state if that was
shown, and the label says ``following`` or how many newer states there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.segment import Segment
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

KNOB = "●"
DONE = "━"
AHEAD = "─"


def position_x(index: int, count: int, width: int) -> int:
    """The column of state ``index`` of ``count`` on a bar ``width`` cells wide."""
    if count <= 1 or width <= 1:
        return 0
    return round(index * (width - 1) / (count - 1))


def index_at(x: int, count: int, width: int) -> int:
    """The state nearest to column ``x`` (the inverse of ``position_x``, clamped to the bar)."""
    if count <= 1 or width <= 1:
        return 0
    x = min(max(x, 0), width - 1)
    return round(x * (count - 1) / (width - 1))


class Timeline(Widget):
    """``state i/N · line L: <trace line>`` above a position bar; click or drag the bar to move."""

    DEFAULT_CSS = """
    Timeline {
        height: 2;
        padding: 0 1;
    }
    Timeline > .timeline--label { text-style: bold; }
    Timeline > .timeline--text { color: $text-muted; }
    Timeline > .timeline--done { color: $accent; }
    Timeline > .timeline--todo { color: $foreground-darken-3; }
    Timeline > .timeline--knob { color: $accent; text-style: bold; }
    """
    COMPONENT_CLASSES = {"timeline--label", "timeline--text", "timeline--done", "timeline--todo",
                         "timeline--knob"}

    index: reactive[int] = reactive(0)
    MOUSE_HELP = (("click or drag the timeline bar", "jump to that state of the trace"),)

    class Changed(Message):
        """The shown state changed (``index`` is a position in ``states``)."""

        def __init__(self, timeline: Timeline, index: int) -> None:
            super().__init__()
            self.timeline = timeline
            self.index = index

        @property
        def control(self) -> Timeline:
            return self.timeline

    def __init__(self, states: Sequence[Any], *, name: str | None = None, id: str | None = None,
                 classes: str | None = None, index: int | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.states = states
        self._dragging = False
        # a trace's states are built on demand (gmemtui.formats.trace): look each one up once, not per repaint
        self._last_index = states[len(states) - 1].index if len(states) else 0
        self._label: tuple[int, str] | None = None
        # a live trace (gmemtui --follow, gmemtui -): "following", "N newer", or how the input ended
        self.live: str | None = None
        # start at the final state: the layout of a trace is its state after the last line (docs/formats.md)
        self.set_reactive(Timeline.index, self.validate_index(len(states) - 1 if index is None else index))

    # -- model ---------------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return len(self.states)

    def validate_index(self, index: int) -> int:
        return min(max(int(index), 0), max(self.count - 1, 0))

    def watch_index(self, old: int, new: int) -> None:
        self.refresh()
        if old != new:
            self.post_message(self.Changed(self, new))

    def step(self, delta: int) -> None:
        """Move by ``delta`` states (clamped at both ends)."""
        self.index = self.index + delta

    @property
    def following(self) -> bool:
        """Showing the newest state: a live trace's new states are shown as they arrive."""
        return self.index >= self._last_index

    def restart(self, states: Sequence[Any]) -> None:
        """Another trace in the same place (a live file that started again): show its first state."""
        self.states = states
        self._last_index = states[len(states) - 1].index if len(states) else 0
        self._label = None
        self.set_reactive(Timeline.index, 0)
        self.refresh()

    def grown(self, live: str | None = None, follow: bool | None = None) -> bool:
        """``states`` grew (a live trace): move to the newest state if the newest was shown (or if
        ``follow`` says so), else stay (the label then says how many newer states there are). True if
        it moved."""
        follow = self.following if follow is None else follow
        self._last_index = self.states[len(self.states) - 1].index if len(self.states) else 0
        self._label = None
        if live is not None:
            self.live = live
        moved = follow and self.index != self._last_index
        if moved:
            self.index = self._last_index
        self.refresh()
        return moved

    def label(self) -> str:
        """The text of the first row, without styles (also used by tests and the tmux check)."""
        if not self.count:
            return "trace: no states"
        if self._label is None or self._label[0] != self.index:
            state = self.states[self.index]
            head = f"state {state.index}/{self._last_index}"
            if not getattr(state, "line", 0):  # state 0: the empty layout before any line
                text = f"{head} · before the first trace line"
            else:
                text = f"{head} · line {state.line}: {state.text.strip()}"
            if self.live is not None:
                newer = self._last_index - self.index
                where = self.live
                if newer:
                    where = f"{newer} newer state{'s' if newer != 1 else ''} (] steps on)" + (
                        f" · {self.live}" if self.live != "following" else "")
                text = f"{head} · {where} · {text[len(head) + 3:]}"
            self._label = (self.index, text)
        return self._label[1]

    # -- drawing -------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if width <= 0:
            return Strip.blank(0)
        if y == 0:
            return self._label_strip(width)
        if y == 1:
            return self._bar_strip(width)
        return Strip.blank(width, self.rich_style)

    def _label_strip(self, width: int) -> Strip:
        text = self.label()
        head, sep, rest = text.partition(": ")
        if not sep:
            head, rest = text, ""
        base = self.rich_style
        style = self.get_component_rich_style
        segments = [Segment(head + sep, base + style("timeline--label", partial=True)),
                    Segment(rest, base + style("timeline--text", partial=True))]
        strip = Strip(segments)
        if strip.cell_length > width:
            strip = strip.crop(0, width - 1)
            strip = Strip([*strip, Segment("…", base)])
        return strip.extend_cell_length(width, base).crop(0, width)

    def _bar_strip(self, width: int) -> Strip:
        base = self.rich_style
        x = position_x(self.index, self.count, width)
        done = base + self.get_component_rich_style("timeline--done", partial=True)
        todo = base + self.get_component_rich_style("timeline--todo", partial=True)
        knob = base + self.get_component_rich_style("timeline--knob", partial=True)
        segments = [Segment(DONE * x, done), Segment(KNOB, knob), Segment(AHEAD * (width - x - 1), todo)]
        return Strip(segments, width)

    # -- mouse ---------------------------------------------------------------------------------------

    def _bar_x(self, event: events.MouseEvent) -> int | None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y != 1:
            return None
        return offset.x

    def _seek(self, x: int) -> None:
        self.index = index_at(x, self.count, self.content_size.width)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        x = self._bar_x(event)
        if x is None:
            return
        event.stop()
        self._dragging = True
        self.capture_mouse()
        self._seek(x)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if not self._dragging:
            return
        offset = event.get_content_offset_capture(self)
        self._seek(offset.x)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()
            event.stop()
