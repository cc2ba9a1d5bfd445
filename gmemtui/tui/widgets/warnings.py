"""The layout's warnings (docs/formats.md): computed all the same, listed so they are not missed."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from gmemtui.core.model import Warning_
from gmemtui.tui.widgets.text_update import set_text


def warnings_text(warnings: Sequence[Warning_]) -> Text:
    text = Text()
    for i, w in enumerate(warnings):
        if i:
            text.append("\n")
        where = f"AS {w.as_} slot {w.slot}: " if w.slot is not None and w.as_ else ""
        text.append("⚠ ", style="bold yellow")
        text.append(where + w.message)
    return text


class Warnings(Static):
    DEFAULT_CSS = "Warnings { height: auto; max-height: 6; padding: 0 1; color: $text-warning; }"

    def show(self, warnings: Sequence[Warning_]) -> None:
        self.display = bool(warnings)
        set_text(self, warnings_text(warnings))
