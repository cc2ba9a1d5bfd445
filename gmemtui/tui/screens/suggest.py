"""The suggestions panel (``f``): what would recover the selected slot's huge pages (docs/suggest.md).

A list of the verified suggestions of ``gmemtui.core.suggest`` for the selected slot, best gain
first. The highlighted one is previewed on the main screen: the bars and table show the layout as
it would be (the map's border says so), and the panel's summary line shows the totals with the gain.
``enter`` applies it as one undoable edit; ``escape`` puts the layout back and leaves. A slot nothing
can help lists its reasons and why. The screen sits over the lower half of the main screen, so the
map stays in sight.
"""

from __future__ import annotations

from typing import Any, Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from gmemtui.core.coverage import Coverage
from gmemtui.core.model import Layout
from gmemtui.core.suggest import Suggestion, Suggestions, suggest
from gmemtui.core.suggest_apply import apply
from gmemtui.core.suggest_text import KIND_HELP, gain_text
from gmemtui.core.units import fmt_size_approx
from gmemtui.tui.history import History
from gmemtui.tui.widgets.summary import summary_text


class SuggestHost(Protocol):
    """What the panel needs of the app (it never imports the app)."""

    history: History
    layout: Layout
    coverage: Coverage
    selected: tuple[int, int] | None
    map_view: Any

    def show(self, layout: Layout, focus: tuple[int, int] | None = None) -> None: ...

    def commit(self, layout: Layout, focus: tuple[int, int] | None = None) -> None: ...


def option_text(s: Suggestion, names: tuple[str, ...]) -> Text:
    text = Text()
    text.append(f"{s.kind:<8}", style="bold")
    text.append(s.title)
    text.append("  ")
    text.append(gain_text(s.gained), style="bold green")
    text.append(f"\n        cost: {s.cost_text}", style="dim")
    return text


class SuggestScreen(ModalScreen[None]):
    """The suggestions for one slot; enter applies the highlighted one, escape leaves."""

    DEFAULT_CSS = """
    SuggestScreen {
        align: center bottom;
        background: $background 0%;
    }
    SuggestScreen > Vertical {
        width: 100%;
        height: auto;
        max-height: 50%;
        border: round $accent;
        border-title-align: left;
        background: $surface;
        padding: 0 1;
    }
    SuggestScreen OptionList {
        height: auto;
        max-height: 10;
        border: none;
        padding: 0;
    }
    SuggestScreen #suggest-summary {
        height: auto;
    }
    SuggestScreen #suggest-why {
        height: auto;
        color: $text-muted;
    }
    """
    BINDINGS = [
        Binding("escape", "leave", "Leave suggestions"),
        Binding("f", "leave", "Leave suggestions", show=False),
    ]
    blocks_app_edits = True  # the app's edit keys wait until the panel is closed

    def __init__(self, host: SuggestHost) -> None:
        super().__init__()
        self.host = host
        self.base = host.history.present
        self.key = host.selected
        self.found: Suggestions = suggest(self.base, keys=[self.key] if self.key is not None else [])
        self.items = list(self.found.suggestions)
        self.previewing: int | None = None

    def compose(self) -> ComposeResult:
        names = self.base.platform.names
        slot = "no slot selected" if self.key is None else f"slot {self.key[1]} (AS {self.key[0]})"
        with Vertical() as box:
            box.border_title = f"Suggestions for {slot} · enter applies · esc leaves"
            if self.items:
                options = [Option(option_text(s, names), id=str(i)) for i, s in enumerate(self.items)]
                yield OptionList(*options, id="suggest-list")
            else:
                yield Static(Text("No layout change recovers this slot's huge pages.", style="bold"),
                             id="suggest-none")
            yield Static(self._why(), id="suggest-why")
            yield Static(id="suggest-summary")

    def _why(self) -> Text:
        text = Text()
        for u in self.found.unfixable:
            text.append(f"{fmt_size_approx(u.bytes)} at {u.page}: ", style="bold")
            text.append(f"{u.reason}", style="italic")
            text.append(f" — {u.why}\n")
        kinds = sorted({s.kind for s in self.items})
        for kind in kinds:
            text.append(f"{kind}: ", style="bold")
            text.append(KIND_HELP[kind] + "\n")
        text.rstrip()
        return text

    def on_mount(self) -> None:
        if self.items:
            lst = self.query_one(OptionList)
            lst.focus()
            lst.highlighted = 0
            self.preview(0)
        else:
            self._summary(None)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index is not None:
            self.preview(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.apply(event.option_index)

    def preview(self, index: int) -> None:
        """Show the layout as the suggestion would make it (not an edit: history is untouched)."""
        if index == self.previewing:
            return
        self.previewing = index
        s = self.items[index]
        self.host.map_view.status = f"preview: {s.title} · {gain_text(s.gained)} · enter applies"
        self.host.show(apply(self.base, s))
        self._summary(s)

    def _summary(self, s: Suggestion | None) -> None:
        bar = max(3, min(12, ((self.size.width or 120) - 95) // 3))  # narrow terminals: one line still
        text = summary_text(self.host.coverage, tuple(c.hex for c in self.host.map_view.page_colours), bar)
        if s is not None:
            text.append("gain ", style="bold")
            text.append(gain_text(s.gained), style="bold green")
        self.query_one("#suggest-summary", Static).update(text)

    def apply(self, index: int) -> None:
        """One undoable edit: the base layout with the suggestion made."""
        s = self.items[index]
        self.host.map_view.status = ""
        self.host.commit(apply(self.base, s))
        self.dismiss(None)

    def action_leave(self) -> None:
        self.host.map_view.status = ""
        self.host.show(self.base)
        self.dismiss(None)
