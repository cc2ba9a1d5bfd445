"""The header line of SPEC §6: layout name, policy and caps, arch, the edit mode, '? help'."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ...model import Layout


def title_parts(layout: Layout, dirty: bool, part: str, step: str, view: str) -> tuple[str, str, str]:
    plat = layout.platform
    left = f"gmemtui · {layout.name or 'unnamed layout'}" + (" · modified" if dirty else "")
    middle = (f"{layout.policy} · host {plat.name_of(layout.host_max_page)} · "
              f"private {plat.name_of(layout.private_max_page)} · {layout.arch} · "
              f"edit {part} by {step} · {view}")
    return left, middle, "? help"


class TitleBar(Static):
    DEFAULT_CSS = "TitleBar { height: 1; background: $panel; color: $foreground; }"

    def show(self, layout: Layout, dirty: bool, part: str, step: str, view: str) -> None:
        left, middle, right = title_parts(layout, dirty, part, step, view)
        grid = Table.grid(expand=True)
        grid.add_column(justify="left", ratio=2, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="center", ratio=3, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", width=len(right) + 1, no_wrap=True)
        grid.add_row(Text(" " + left, style="bold"), Text(middle), Text(right + " ", style="bold"))
        self.plain = " ".join((left, middle, right))
        self.update(grid)
