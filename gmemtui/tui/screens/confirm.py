"""Small modal questions: yes/no before losing edits or overwriting a file, and "save as" a path."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

_CSS = """
ConfirmScreen, SaveAsScreen, QuitScreen {
    align: center middle;
}
ConfirmScreen > Vertical, SaveAsScreen > Vertical, QuitScreen > Vertical {
    width: auto;
    min-width: 40;
    max-width: 90%;
    height: auto;
    border: thick $accent;
    background: $surface;
    padding: 1 2;
}
ConfirmScreen Label, SaveAsScreen Label, QuitScreen Label {
    width: auto;
    margin-bottom: 1;
}
ConfirmScreen Horizontal, SaveAsScreen Horizontal, QuitScreen Horizontal {
    width: auto;
    height: auto;
    align-horizontal: right;
}
ConfirmScreen Button, SaveAsScreen Button, QuitScreen Button {
    margin-left: 2;
}
SaveAsScreen Input {
    width: 70;
    max-width: 100%;
    margin-bottom: 1;
}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True (y) or False (n, esc)."""

    DEFAULT_CSS = _CSS
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, id="question")
            with Horizontal():
                yield Button("Yes (y)", variant="warning", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe answer is the default for enter

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class QuitScreen(ModalScreen[str | None]):
    """Quit with unsaved edits: "save" (s: save, then quit), "quit" (y: lose them) or None (n, esc)."""

    DEFAULT_CSS = _CSS
    BINDINGS = [
        Binding("s", "answer('save')", "Save and quit"),
        Binding("y", "answer('quit')", "Quit without saving"),
        Binding("n,escape", "answer(None)", "Cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("You have unsaved edits.", id="question")
            with Horizontal():
                yield Button("Save and quit (s)", variant="success", id="save")
                yield Button("Quit without saving (y)", variant="warning", id="quit")
                yield Button("Cancel (n)", variant="primary", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#save", Button).focus()  # enter keeps the edits

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None if event.button.id == "cancel" else event.button.id)

    def action_answer(self, answer: str | None) -> None:
        self.dismiss(answer)


class SaveAsScreen(ModalScreen[str | None]):
    """Ask for a path to save to; enter returns it, esc returns None."""

    DEFAULT_CSS = _CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, suggested: str) -> None:
        super().__init__()
        self.suggested = suggested

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Save the layout as YAML to:")
            yield Input(self.suggested, id="path")
            with Horizontal():
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def _submit(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        self.dismiss(path or None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
