"""The header line of docs/tui.md: layout name, policy and caps, arch, the edit mode, '? help'."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from gmemtui.core.model import Layout


def title_parts(layout: Layout, dirty: bool, part: str, step: str) -> tuple[str, str, str]:
    plat = layout.platform
    left = f"gmemtui · {layout.name or 'unnamed layout'}"
    middle = (f"{layout.policy} · host {plat.name_of(layout.host_max_page)} · "
              f"private {plat.name_of(layout.private_max_page)} · {layout.arch} · edit {part} ±{step}")
    return left, middle, ("● modified · " if dirty else "") + "? help"


def _shorter(left: str, middle: str, right: str) -> list[tuple[str, str, str]]:
    """The title from the fullest to the barest: the edit mode goes first, then the arch, the
    'gmemtui ·' prefix, the caps, the word 'modified'; the layout name and the policy stay longest."""
    name = left.split(" · ", 1)[-1]
    settings = middle.rsplit(" · edit", 1)[0]
    caps = settings.rsplit(" · ", 1)[0]  # without the arch
    policy = caps.split(" · ", 1)[0]
    short_right = right.replace("● modified · ", "● ")
    return [(left, middle, right), (left, settings, right), (left, caps, right), (name, caps, right),
            (name, policy, right), (name, policy, short_right), (name, "", short_right)]


def fit(left: str, middle: str, right: str, width: int) -> str:
    """One line, parts dropped in the order of ``_shorter`` until it fits; the name is cut last."""
    for left_, middle_, right_ in _shorter(left, middle, right):
        if len(left_) + len(middle_) + len(right_) + 4 <= width:
            left, middle, right = left_, middle_, right_
            break
    else:
        left, middle, right = _shorter(left, middle, right)[-1]
        room = width - len(right) - 4
        left = left[: max(room - 1, 0)] + "…" if room > 1 else ""
    gap = max(width - len(left) - len(middle) - len(right) - 3, 1)
    return f" {left}{' ' * gap}{middle}  {right}"[:width]


class TitleBar(Widget):
    DEFAULT_CSS = "TitleBar { height: 1; background: $panel; color: $foreground; text-style: bold; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.parts = ("gmemtui", "", "? help")

    @property
    def plain(self) -> str:
        return " ".join(self.parts)

    def show(self, layout: Layout, dirty: bool, part: str, step: str) -> None:
        parts = title_parts(layout, dirty, part, step)
        if parts != self.parts:  # a drag step seldom changes the title: no repaint then
            self.parts = parts
            self.refresh()

    def render(self) -> Text:
        return Text(fit(*self.parts, self.size.width))
