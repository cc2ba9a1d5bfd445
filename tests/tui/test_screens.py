"""The modal screens, the command palette provider and the trace timeline, driven with Pilot.

Each piece is first tested in a small App of its own (so a failure points at the piece, not at the
main app), then, where the main app exists, inside ``GmemApp`` on the seed layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Footer, Input, Static

from gmemtui.core.rules import RULES
from gmemtui.tui.commands import GmemCommands, collect_actions
from gmemtui.tui.screens import ConfirmScreen, HelpScreen, SaveAsScreen
from gmemtui.tui.widgets.timeline import Timeline, index_at, position_x


class Probe(Static):
    BINDINGS = [Binding("z", "zap", "Zap the probe")]
    zapped = 0

    def action_zap(self) -> None:
        self.zapped += 1


class Host(App):
    """A stand-in for GmemApp with a few bindings of each kind."""

    COMMANDS = App.COMMANDS | {GmemCommands}
    BINDINGS = [
        Binding("u", "undo", "Undo"),
        Binding("ctrl+s", "save", "Save"),
        Binding("p", "cycle_policy", "Cycle policy"),
        Binding("question_mark", "help", "Help"),
        Binding("x", "secret", ""),  # no description: not a user action
    ]

    def __init__(self) -> None:
        super().__init__()
        self.results: list[object] = []
        self.done: list[str] = []
        self.policy = "per-range"

    def compose(self) -> ComposeResult:
        yield Probe("probe", id="probe")
        yield Footer()

    def action_undo(self) -> None:
        self.done.append("undo")

    def action_save(self) -> None:
        self.done.append("save")

    def action_cycle_policy(self) -> None:
        self.done.append("cycle")

    def action_set_policy(self, policy: str) -> None:
        self.policy = policy

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def ask(self, screen) -> None:
        self.push_screen(screen, self.results.append)


# -- ConfirmScreen / SaveAsScreen ------------------------------------------------------------------


@pytest.mark.parametrize("key, answer", [("y", True), ("n", False), ("escape", False)])
async def test_confirm_keys(key: str, answer: bool) -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.ask(ConfirmScreen("Discard your edits?"))
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "Discard your edits?" in str(app.screen.query_one("#question").render())
        await pilot.press(key)
        await pilot.pause()
        assert app.results == [answer]
        assert not isinstance(app.screen, ConfirmScreen)


@pytest.mark.parametrize("button, answer", [("#yes", True), ("#no", False)])
async def test_confirm_buttons(button: str, answer: bool) -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.ask(ConfirmScreen("Overwrite?"))
        await pilot.pause()
        await pilot.click(button)
        await pilot.pause()
        assert app.results == [answer]


async def test_confirm_enter_takes_the_safe_answer() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.ask(ConfirmScreen("Overwrite?"))
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [False]


async def test_save_as_returns_the_suggested_path_on_enter() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.ask(SaveAsScreen("layouts/seed-edited.yaml"))
        await pilot.pause()
        assert app.screen.query_one("#path", Input).value == "layouts/seed-edited.yaml"
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == ["layouts/seed-edited.yaml"]


async def test_save_as_returns_an_edited_path() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.ask(SaveAsScreen("a.yaml"))
        await pilot.pause()
        await pilot.press("end", "backspace", "backspace", "backspace", "backspace", "y", "m", "l")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == ["a.yml"]


async def test_save_as_escape_and_cancel_return_none() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.ask(SaveAsScreen("a.yaml"))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        app.ask(SaveAsScreen("b.yaml"))
        await pilot.pause()
        await pilot.click("#cancel")
        await pilot.pause()
        assert app.results == [None, None]


# -- HelpScreen -------------------------------------------------------------------------------------


def _help_text(app: App) -> str:
    """All text of the help screen, as rendered (tables included)."""
    from rich.console import Console

    console = Console(width=3000, record=True, color_system=None)  # no wrapping
    for static in app.screen.query(Static):
        content = static.content
        console.print(str(content) if not hasattr(content, "__rich_console__") else content)
    return console.export_text()


async def test_help_explains_every_reason_code_and_every_key() -> None:
    app = Host()
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(_help_text(app).split())
        for rule in RULES:
            assert rule.code in text
            assert " ".join(rule.plain.split()) in text
        for policy in ("per-range (posted patches)", "whole-binding (Sep 2023 patch)",
                       "mainline (Linux 6.8–7.0)", "alias 4k-only"):
            assert policy in text
        # keys come from the live bindings: app, screen and widgets; undescribed ones are left out
        for words in ("Undo", "Save", "Cycle policy", "Zap the probe", "^s"):
            assert words in text
        assert "secret" not in text
        assert "drag" in text  # mouse actions


async def test_help_scrolls_and_closes_with_escape_or_q() -> None:
    for key in ("escape", "q"):
        app = Host()
        async with app.run_test(size=(100, 24)) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            scroll = app.screen.query_one("#help")
            assert scroll.max_scroll_y > 0  # more than one screenful: it must scroll
            await pilot.press("end")
            await pilot.pause()
            assert scroll.scroll_y > 0
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, HelpScreen)


# -- GmemCommands ---------------------------------------------------------------------------------


async def _hits(provider: GmemCommands, query: str | None) -> list:
    gen = provider.discover() if query is None else provider.search(query)
    return [hit async for hit in gen]


async def test_commands_list_every_described_binding_and_the_policy_setters() -> None:
    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        provider = GmemCommands(app.screen)
        titles = [h.text for h in await _hits(provider, None)]
        for title in ("Undo", "Save", "Cycle policy", "Help", "Zap the probe",
                      "Set policy per-range", "Set policy whole-binding",
                      "Set policy mainline (alias 4k-only)"):
            assert title in titles
        assert "" not in titles and "secret" not in titles
        entries = {e.description: e for e in collect_actions(app, app.screen)}
        assert entries["Zap the probe"].where == "#probe"
        assert entries["Save"].keys == ("^s",)


async def test_commands_fuzzy_search_and_run() -> None:
    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        provider = GmemCommands(app.screen)
        hits = await _hits(provider, "wholebind")
        assert [h.text for h in hits] == ["Set policy whole-binding"]
        await hits[0].command()
        assert app.policy == "whole-binding"
        hits = await _hits(provider, "zap")
        await hits[0].command()
        assert app.query_one(Probe).zapped == 1  # a widget's action runs on that widget


async def test_command_palette_runs_an_action_end_to_end() -> None:
    app = Host()
    async with app.run_test() as pilot:
        await palette_run(pilot, "cycle pol", "Cycle policy")
        assert app.done == ["cycle"]


async def palette_run(pilot, query: str, expect: str) -> None:
    """Open the command palette, type ``query``, wait (bounded) until ``expect`` is the first hit, run it."""
    import asyncio

    from textual.command import CommandList

    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*query)
    commands = pilot.app.screen.query_one(CommandList)
    for _ in range(200):  # up to ~10 s: the palette searches asynchronously
        await pilot.pause()
        if commands.option_count and expect in str(commands.get_option_at_index(0).prompt):
            break
        await asyncio.sleep(0.05)
    assert expect in str(commands.get_option_at_index(0).prompt)
    await pilot.press("enter")
    await pilot.pause()


# -- Timeline -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeState:
    index: int
    line: int
    text: str
    layout: object = None


def fake_states(n: int) -> list[FakeState]:
    return [FakeState(i, 10 + i, f"kvm_set_user_memory AddrSpace#0 Slot#{i} flags=0x4") for i in range(n)]


class TimelineHost(App):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.changes: list[int] = []

    def compose(self) -> ComposeResult:
        yield Button("x")
        yield Timeline(fake_states(self.n), id="timeline")

    def on_timeline_changed(self, message: Timeline.Changed) -> None:
        self.changes.append(message.index)


def test_position_and_index_are_inverse() -> None:
    for count in (1, 2, 7, 40, 500):
        for width in (1, 2, 30, 120):
            for i in range(count):
                x = position_x(i, count, width)
                assert 0 <= x < width
                if count <= width:  # every state has a cell of its own
                    assert index_at(x, count, width) == i
    assert index_at(-5, 10, 50) == 0 and index_at(500, 10, 50) == 9


async def test_timeline_steps_clamps_and_posts_changed() -> None:
    app = TimelineHost(7)
    async with app.run_test(size=(80, 10)) as pilot:
        tl = app.query_one(Timeline)
        assert tl.index == 6  # the final state, as the CLI reports it
        assert tl.label().startswith("state 6/6 · line 16: kvm_set_user_memory")
        tl.step(-2)
        await pilot.pause()
        assert tl.index == 4 and app.changes == [4]
        tl.step(-100)
        tl.step(+1)
        await pilot.pause()
        assert tl.index == 1 and app.changes == [4, 0, 1]
        tl.step(100)
        tl.step(100)  # already at the end: no message
        await pilot.pause()
        assert app.changes == [4, 0, 1, 6]


async def test_timeline_renders_label_and_knob() -> None:
    app = TimelineHost(5)
    async with app.run_test(size=(100, 10)) as pilot:
        tl = app.query_one(Timeline)
        tl.index = 2
        await pilot.pause()
        label = tl.render_line(0).text
        bar = tl.render_line(1).text
        assert label.startswith("state 2/4 · line 12: kvm_set_user_memory AddrSpace#0 Slot#2 flags=0x4")
        assert len(bar) == tl.content_size.width
        assert bar.index("●") == position_x(2, 5, tl.content_size.width)
        assert set(bar[: bar.index("●")]) == {"━"} and set(bar[bar.index("●") + 1:]) == {"─"}


async def test_timeline_crops_a_long_line() -> None:
    app = TimelineHost(5)
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        tl = app.query_one(Timeline)
        strip = tl.render_line(0)
        assert strip.cell_length == tl.content_size.width
        assert strip.text.startswith("state 4/4 · line 14: kvm_") and strip.text.endswith("…")


async def test_timeline_click_and_drag_on_the_bar() -> None:
    app = TimelineHost(11)
    async with app.run_test(size=(60, 10)) as pilot:
        tl = app.query_one(Timeline)
        width = tl.content_size.width
        left = tl.region.x + tl.styles.padding.left
        await pilot.click(Timeline, offset=(tl.styles.padding.left, 1))  # leftmost cell of the bar
        await pilot.pause()
        assert tl.index == 0
        await pilot.click(Timeline, offset=(tl.styles.padding.left + position_x(3, 11, width), 1))
        await pilot.pause()
        assert tl.index == 3
        await pilot.click(Timeline, offset=(tl.styles.padding.left + 2, 0))  # the label row: no jump
        await pilot.pause()
        assert tl.index == 3
        # drag: down at state 3, move to state 8, up
        await pilot.mouse_down(Timeline, offset=(tl.styles.padding.left + position_x(3, 11, width), 1))
        await pilot.hover(Timeline, offset=(left - tl.region.x + position_x(8, 11, width), 1))
        await pilot.pause()
        assert tl.index == 8
        await pilot.mouse_up(Timeline, offset=(left - tl.region.x + position_x(8, 11, width), 1))
        await pilot.pause()
        assert app.changes[-3:] == [0, 3, 8]


async def test_timeline_with_a_single_state() -> None:
    app = TimelineHost(1)
    async with app.run_test(size=(40, 8)) as pilot:
        tl = app.query_one(Timeline)
        tl.step(1)
        tl.step(-1)
        await pilot.pause()
        assert tl.index == 0 and app.changes == []
        assert tl.render_line(1).text.startswith("●")


async def test_help_legend_shows_each_page_size_with_its_glyph_and_colour() -> None:
    from gmemtui.tui import palette
    from gmemtui.tui.screens.help import legend_table

    app = Host()
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        table = legend_table(app.screen, ("4K", "2M", "1G"))
        samples = list(table.columns[0]._cells)
        pages = list(table.columns[1]._cells)
        assert pages[:3] == ["4K", "2M", "1G"]
        assert [str(s)[0] for s in samples[:3]] == [palette.glyph(k) for k in range(3)]
        assert len({str(s)[0] for s in samples[:3]}) == 3  # distinct glyphs: readable without colour
        colours = [s.style.color for s in samples[:3]]
        assert len(set(colours)) == 3 and None not in colours
        assert any(str(s)[0] == palette.MIXED for s in samples)  # the mixed-cell glyph is explained


# -- inside GmemApp ---------------------------------------------------------------------------------

SEED_TRACE = """\
> kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x4 gpa=0x0 size=0x80000000 ua=0x7f24afc00000 ret=0 restricted_fd=19 restricted_offset=0x0
> kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x0 gpa=0x0 size=0x0 ua=0x7f24afc00000 ret=0 restricted_fd=19 restricted_offset=0x0
> kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x4 gpa=0x0 size=0xc0000 ua=0x7f24afc00000 ret=0 restricted_fd=19 restricted_offset=0x0
> kvm_set_user_memory AddrSpace#0 Slot#3 flags=0x6 gpa=0xc0000 size=0x20000 ua=0x7f2575000000 ret=0 restricted_fd=33 restricted_offset=0x0
> kvm_set_user_memory AddrSpace#0 Slot#4 flags=0x6 gpa=0xe0000 size=0x20000 ua=0x7f2575400000 ret=0 restricted_fd=31 restricted_offset=0x0
> kvm_set_user_memory AddrSpace#0 Slot#5 flags=0x4 gpa=0x100000 size=0x7ff00000 ua=0x7f24afd00000 ret=0 restricted_fd=19 restricted_offset=0x100000
"""  # noqa: E501 -- the seed thread's trace, verbatim as quoted in the mail


def _gmem_app():
    from gmemtui.formats.loader import default_layout_path, load
    from gmemtui.tui.app import GmemApp

    return GmemApp(load(default_layout_path()), path_opened=False)


def _described(app) -> set[str]:
    """The descriptions of the app's own bindings (Textual's scrolling/focus ones are not actions)."""
    return {b.description for b in type(app).BINDINGS if b.description}


async def test_gmem_app_help_and_palette_list_every_action() -> None:
    app = _gmem_app()
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        wanted = _described(app) | {"Command palette (all actions)"}
        assert {"Policy", "Undo", "Redo", "Save", "Zoom in", "Nudge up", "Trace forward"} <= wanted
        titles = {h.text for h in await _hits(GmemCommands(app.screen), None)}
        assert wanted <= titles
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = _help_text(app)
        for description in wanted:
            assert description in text
        for gesture, _ in (*app.MOUSE_HELP, *Timeline.MOUSE_HELP):  # the app's list, not the fallback
            assert gesture in text


async def test_gmem_app_palette_switches_policy() -> None:
    app = _gmem_app()
    async with app.run_test(size=(140, 45)) as pilot:
        assert app.layout.policy == "per-range"
        await palette_run(pilot, "policy", "Policy")
        assert app.layout.policy == "whole-binding"
        assert app.coverage.slot((0, 5)).bytes["2M"] == 0


def test_docs_key_table_lists_every_binding() -> None:
    """docs/tui.md's table is generated (docs/screenshots.py); it must not fall behind the app."""
    from pathlib import Path

    from gmemtui.tui.app import GmemApp

    doc = (Path(__file__).resolve().parent.parent.parent / "docs" / "tui.md").read_text()
    table = doc.split("<!-- keys:begin -->")[1].split("<!-- keys:end -->")[0]
    for binding in GmemApp.BINDINGS:
        assert f"| {binding.description} |" in table, binding
    for gesture, effect in (*GmemApp.MOUSE_HELP, *Timeline.MOUSE_HELP):
        assert f"| {gesture} | {effect} |" in table


async def test_gmem_app_timeline_click_and_keys_swap_the_layout(tmp_path) -> None:
    from gmemtui.formats.loader import load
    from gmemtui.tui.app import GmemApp

    path = tmp_path / "seed.trace"
    path.write_text(SEED_TRACE)
    app = GmemApp(load(str(path)), path_opened=True)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        tl = app.query_one("#timeline", Timeline)
        last = len(tl.states) - 1
        assert tl.index == last and "Slot#5" in tl.label()
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert tl.index == last - 1 and "Slot#4" in tl.label()
        assert [s.slot for s in app.layout.slots] == [0, 3, 4]
        # a click on the left end of the bar: state 0, the empty layout before the first line
        await pilot.click("#timeline", offset=(tl.styles.padding.left, 1))
        await pilot.pause()
        assert tl.index == 0 and app.layout.slots == ()
        assert tl.label().startswith("state 0/")
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert [(s.slot, s.size) for s in app.layout.slots] == [(0, 0x80000000)]
