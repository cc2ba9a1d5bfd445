"""What must hold at every terminal size (docs/tui.md, "Every terminal size"), read on the screen text."""

from __future__ import annotations

import pytest

from gmemtui.formats.loader import load
from gmemtui.tui.app import GmemApp

from .conftest import until

SIZES = [(80, 24), (100, 30), (120, 40), (200, 60)]


def screen_lines(app: GmemApp) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def settled_lines(pilot, app: GmemApp) -> list[str]:
    """The screen once its footer shows its keys: on a loaded machine one pause can return before
    the footer's bindings are drawn."""
    await until(pilot, lambda: "? Help" in screen_lines(app)[-1], "the footer's keys")
    return screen_lines(app)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_the_story_at_every_size(seed, size: tuple[int, int]) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=size) as pilot:
        lines = await settled_lines(pilot, app)
        text = "\n".join(lines)
        assert len(lines) == size[1]
        # the title keeps the layout's name
        assert seed.layout.name in lines[0]
        # the map whole: its top and bottom borders, the GPA bar's slot labels
        top = next(i for i, ln in enumerate(lines) if "AS 0 · GPA" in ln)
        bottom = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("╰"))
        assert top < bottom
        assert any(ln.startswith("│ 0 ") and " 5" in ln for ln in lines[top:bottom])
        # the selected slot's row (slot 5, the whole story) in the table, with its coverage
        row5 = [ln for ln in lines[bottom:] if "0x100000" in ln and "2047M" in ln]
        assert row5 and "0.05%" in row5[0] and "99.95%" in row5[0]
        # at least one explain line, the summary
        assert "explain 0x100000" in text and "slot-edge" in text
        assert " 2M ✗ " in text and " 1G ✗ " in text  # a line for each larger size, even at 80x24
        assert "total" in text
        # the footer's save and help keys
        assert "^s Save" in lines[-1] and "? Help" in lines[-1]


async def test_larger_terminals_give_rows_to_the_map_and_the_table(seed) -> None:
    heights = {}
    for size in [(80, 24), (200, 60)]:
        app = GmemApp(seed, path_opened=False)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            heights[size] = (app.map_view.outer_size.height, app.table.outer_size.height)
    assert heights[(200, 60)][0] > heights[(80, 24)][0]
    assert heights[(200, 60)][1] > heights[(80, 24)][1]


async def test_a_resize_folds_and_unfolds_the_map(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tall = app.map_view.fold_level
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        short = app.map_view.fold_level
        assert len(short[2]) < len(tall[2])  # the file bars lost rows
        assert app.query_one("#file-19").outer_size.height == len(short[2])
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert app.map_view.fold_level == tall


async def test_a_trace_at_80x24_keeps_its_timeline_and_trace_keys() -> None:
    app = GmemApp(load("layouts/tdx-9.1.trace"), path_opened=True)
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await settled_lines(pilot, app)
        assert any(ln.lstrip().startswith("state ") for ln in lines)
        assert "[] Trace" in lines[-1] and "^s Save" in lines[-1] and "? Help" in lines[-1]
        assert any(ln.lstrip().startswith("╰") for ln in lines)


async def test_no_trace_no_trace_keys_in_the_footer(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "Trace" not in screen_lines(app)[-1]


async def test_trace_keys_without_a_trace_say_why(seed) -> None:
    app = GmemApp(seed, path_opened=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert any("no trace loaded" in n.message for n in app._notifications)
