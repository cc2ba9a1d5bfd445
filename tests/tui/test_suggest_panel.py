"""The suggestions panel (``f``) on the seed under whole-binding: open, preview, apply, undo; palette,
help screen, one SVG snapshot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gmemtui.core.model import Overrides
from gmemtui.formats.loader import default_layout_path, load
from gmemtui.tui import palette
from gmemtui.tui.app import GmemApp
from gmemtui.tui.screens.suggest import SuggestScreen
from tui.conftest import SIZE

ROOT = Path(__file__).resolve().parent.parent.parent
M2 = 1 << 21


def whole_binding_seed() -> GmemApp:
    return GmemApp(load(default_layout_path(), Overrides(policy="whole-binding")), path_opened=False)


TWO_M = palette.glyph(1)  # the 2M glyph of the map


def gpa_bar(app: GmemApp) -> str:
    """The GPA bar's row of page-size cells (the row under the axis labels)."""
    bar = app.query_one("#gpa-0")
    rows = [bar.render_line(y).text for y in range(bar.size.height)]
    return max(rows, key=lambda r: sum(r.count(g) for g in palette.GLYPHS))


async def test_open_preview_apply_undo() -> None:
    app = whole_binding_seed()
    async with app.run_test(size=SIZE) as pilot:
        assert app.selected == (0, 5)
        assert TWO_M not in gpa_bar(app)  # every cell 4K under whole-binding
        await pilot.press("f")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SuggestScreen)
        (only,) = screen.items
        assert only.title == "split slot 5 at 0x200000" and only.gained == {"2M": 2046 << 20}
        options = screen.query_one("#suggest-list")
        assert options.option_count == 1 and "+2046M at 2M" in str(options.get_option_at_index(0).prompt)
        # preview: the bars and the table show the split layout, the history does not have it
        assert len(app.layout.slots) == 5 and len(app.history.present.slots) == 4
        assert TWO_M in gpa_bar(app)  # 2M cells appear on the GPA bar
        assert app.table.row_count == 5 and app.table.values("0:1")["2M"] == "100%"
        assert "preview: split slot 5 at 0x200000" in app.map_view.status
        summary = str(screen.query_one("#suggest-summary").render())
        assert "gain +2046M at 2M" in summary and "(99.9%)" in summary
        assert not app.history.can_undo
        # a key of the main screen does nothing while the panel is open
        await pilot.press("p")
        assert app.layout.policy == "whole-binding"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, SuggestScreen)
        assert app.map_view.status == ""
        assert len(app.history.present.slots) == 5 and app.layout is app.history.present
        assert app.table.row_keys() == ["0:0", "0:3", "0:4", "0:5", "0:1"]
        assert app.table.values("0:5")["size"] == "1M" and app.table.values("0:1")["2M"] == "100%"
        assert app.coverage.total["2M"] == 2046 << 20
        assert TWO_M in gpa_bar(app)
        await pilot.press("u")  # one undo step takes the whole split back
        assert len(app.layout.slots) == 4 and app.coverage.total["2M"] == 0
        assert not app.history.can_undo
        assert TWO_M not in gpa_bar(app)


async def test_escape_puts_the_layout_back() -> None:
    app = whole_binding_seed()
    async with app.run_test(size=SIZE) as pilot:
        before = app.layout
        await pilot.press("f")
        await pilot.pause()
        assert app.layout is not before
        await pilot.press("escape")
        await pilot.pause()
        assert app.layout is before and not app.history.can_undo and app.map_view.status == ""


async def test_a_slot_nothing_helps_says_why() -> None:
    app = whole_binding_seed()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("shift+tab")  # from slot 5 to slot 4 (isa-bios, 128K)
        assert app.selected == (0, 4)
        await pilot.press("f")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SuggestScreen) and screen.items == []
        why = str(screen.query_one("#suggest-why").render())
        assert "slot-edge" in why and "no whole aligned 2M block" in why
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SuggestScreen)


async def test_palette_entry_opens_the_panel() -> None:
    from tui.test_screens import palette_run

    app = whole_binding_seed()
    async with app.run_test(size=SIZE) as pilot:
        await palette_run(pilot, "suggest fix", "Suggest fixes")
        await pilot.pause()
        assert isinstance(app.screen, SuggestScreen)


async def test_help_explains_each_kind() -> None:
    app = whole_binding_seed()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        from gmemtui.core.suggest_text import KIND_HELP
        from tui.test_screens import _help_text

        text = " ".join(_help_text(app).split())
        for kind, words in KIND_HELP.items():
            assert kind in text and " ".join(words.split()) in text
        assert "Suggest fixes" in text and "Suggestions (f)" in text


def test_suggestions_panel_snapshot(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:
    """The panel over the seed under whole-binding: Sean's split previewed on the bars."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = GmemApp(load("layouts/qemu-snp-seed.yaml", Overrides(policy="whole-binding")), path_opened=True)
    assert os.path.exists("layouts/qemu-snp-seed.yaml")
    assert snap_compare(app, terminal_size=(140, 45), press=["f"])
