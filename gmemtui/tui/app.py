"""The main screen (docs/tui.md): map, slot table, summary, explain panel, warnings; live drag editing.

The app holds the state (the shown layout, its coverage, the undo history, the selection) and wires
the widgets; the edits are pure functions in ``gmemtui.core.edit``, the history in ``gmemtui.tui.history``.
Every change goes through ``show``: recompute coverage (closed form, fast) and update every panel.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Footer

from gmemtui.core import edit
from gmemtui.core.coverage import Coverage
from gmemtui.core.model import Layout, Slot, canonical_policy
from gmemtui.formats.loader import Loaded
from gmemtui.tui import keymap, palette
from gmemtui.tui.history import History
from gmemtui.tui.live import LiveCoverage
from gmemtui.tui.widgets.bar import Hovered, LayoutEdited, SlotPicked
from gmemtui.tui.widgets.explain_panel import ExplainPanel
from gmemtui.tui.widgets.map_view import MapView
from gmemtui.tui.widgets.slot_table import SlotTable, row_key
from gmemtui.tui.widgets.summary import Summary
from gmemtui.tui.widgets.title_bar import TitleBar
from gmemtui.tui.widgets.warnings import Warnings

try:  # the command palette provider (written beside this app); the app works without it
    from gmemtui.tui.commands import GmemCommands

    _COMMANDS = App.COMMANDS | {GmemCommands}
except ImportError:  # pragma: no cover
    _COMMANDS = App.COMMANDS


class GmemApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "gmemtui"
    # screen classes for app.tcss: what folds on a short or narrow terminal (docs/tui.md)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    COMMANDS = _COMMANDS
    BINDINGS = keymap.BINDINGS
    MOUSE_HELP = keymap.MOUSE_HELP

    def __init__(self, loaded: Loaded, path_opened: bool = True) -> None:
        super().__init__()
        self.loaded = loaded
        self.path_opened = path_opened
        self.original_text = loaded.text  # what save diffs against (only changed values are rewritten)
        self.original_layout = loaded.layout
        self.saved_layout = loaded.layout
        self.history = History(loaded.layout)
        self.layout: Layout = loaded.layout
        self.live = LiveCoverage()
        self.coverage: Coverage = self.live.compute(self.layout)
        big = max(self.layout.slots, key=lambda s: s.size, default=None)
        self.selected: tuple[int, int] | None = big.key if big else None
        self.part = "start"
        self.level = 0
        self.focus_at: tuple[int, int] = self._lesson_frame(big) if big else (0, 0)
        self.warnings = self.live.warnings(self.layout)
        self.timeline = None

    def _lesson_frame(self, slot: Slot) -> tuple[int, int]:
        """Where the explain panel opens: the first frame of the smallest page size in the biggest
        slot (the seed's 4K head, a teaching layout's lesson), not a frame that passes every rule."""
        runs = next((sc.runs for sc in self.coverage.slots if sc.slot.key == slot.key), ())
        names = self.layout.platform.names
        worst = min(runs, key=lambda r: (names.index(r.page), r.gpa), default=None)
        return slot.as_, worst.gpa if worst is not None else slot.gpa

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # tab / shift+tab are priority bindings (the screen's focus keys would take them first); on a
        # dialog they must move the focus, so there the slot selection steps aside
        if action == "select" and len(self.screen_stack) > 1:
            return False
        # the suggestions panel previews a layout: edits wait until it is closed
        if getattr(self.screen, "blocks_app_edits", False):
            return action in ("quit", "help", "command_palette")
        if action == "trace_step" and self.timeline is None:
            return False  # no trace: [ and ] leave the footer
        return True

    def get_theme_variable_defaults(self) -> dict[str, str]:
        try:
            dark = self.current_theme.dark
        except Exception:  # before the theme is set up
            dark = True
        return {**super().get_theme_variable_defaults(), **palette.theme_defaults(dark)}

    def compose(self) -> ComposeResult:
        self.title_bar = TitleBar(id="title")
        self.map_view = MapView(self.layout, self.coverage, self.selected, id="map")
        self.table = SlotTable(id="slots")
        self.summary = Summary(id="summary")
        self.explain = ExplainPanel(id="explain")
        self.warnings_view = Warnings(id="warnings")
        self.timeline = None
        yield self.title_bar
        yield self.map_view
        if self.loaded.kind == "trace" and self.loaded.states:
            try:
                from gmemtui.tui.widgets.timeline import Timeline

                self.timeline = Timeline(self.loaded.states, id="timeline")
                yield self.timeline
            except ImportError:  # pragma: no cover
                pass
        yield self.table
        yield self.summary
        yield self.explain
        yield self.warnings_view
        self.footer = Footer()
        yield self.footer

    def on_mount(self) -> None:
        self.show(self.layout)
        # every layout of the main screen (a resize among them) shares the rows out again
        self.screen.screen_layout_refresh_signal.subscribe(self, lambda _screen: self.fit_screen())
        self.call_after_refresh(self.fit_screen)
        # a new theme may bring its own page colours ($gmem-page-N); the signal comes once they are set
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        from gmemtui.tui import startup_gc

        self.call_after_refresh(startup_gc.resume)  # the first paint is done: collect again

    def _theme_changed(self, _theme: object) -> None:
        self.map_view.theme_changed()
        self.show(self.layout)

    def fit_screen(self) -> None:
        """Share the rows (docs/tui.md, "Every terminal size"): the map folds until the title, the
        footer, one explain line and a few table rows (the selected one among them) fit beside it;
        on a tall terminal the bars thicken as long as the table keeps up to 12 rows."""
        if not self.is_mounted or not self.screen_stack:
            return
        screen = self.screen_stack[0]
        height, width = screen.size.height, screen.size.width
        short = height < 30
        known = {self.title_bar, self.map_view, self.table, self.summary, self.explain, self.warnings_view,
                 self.footer}
        others = sum(w.outer_size.height for w in screen.children if w not in known and w.display)
        key = (height, width, others, len(self.warnings), len(self.layout.slots), self.map_view._structure)
        if key == getattr(self, "_fitted", None):
            return
        self._fitted = key
        warnings = min(len(self.warnings), 1 if short else 6)
        fixed = 2 + others + (1 if short else 2) + (3 if short else 4) + warnings
        slots = len(self.layout.slots)
        budget = height - fixed - 1 - min(slots, 4)
        thick = min(height - fixed - 1 - min(slots, 12), height // 2)
        self.map_view.fold(max(budget, 0), thick)
        self.footer.compact = width < 120
        self.explain.set_wrap(not short)  # a short terminal: one line per page size, cut with "…"
        self.table.scroll_to_cursor()

    # -- state --------------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self.history.present != self.saved_layout

    def show(self, layout: Layout, focus: tuple[int, int] | None = None) -> None:
        """Make ``layout`` the shown one and update every panel (called on every drag step)."""
        self.layout = layout
        self.coverage = self.live.compute(layout)
        self.warnings = self.live.warnings(layout)
        selected = None
        if self.selected is not None:
            try:
                selected = row_key(layout.slots[layout.slot_index(self.selected)])
            except KeyError:
                self.selected = None
        if self.selected is None and layout.slots:
            self.selected = layout.slots[0].key
            selected = row_key(layout.slots[0])
        if focus is not None:
            self.focus_at = focus
        map_view = self.map_view
        shape = map_view._structure
        map_view.update(layout, self.coverage, self.selected)
        if map_view._structure is not shape:  # other bars: fold them for this terminal again
            self.call_after_refresh(self.fit_screen)
        colours = tuple(c.hex for c in map_view.page_colours)
        self.table.show(self.coverage, self.warnings, selected)
        self.summary.show(self.coverage, colours)
        self.explain.show(layout, *self.focus_at, self.coverage, self.live.attributes)
        self.warnings_view.show(self.warnings)
        self.update_title()

    def update_title(self) -> None:
        step = self.layout.platform.ladder[self.level].name
        self.title_bar.show(self.layout, self.dirty, self.part, step)

    def commit(self, layout: Layout, focus: tuple[int, int] | None = None) -> None:
        """One undoable step."""
        self.history = self.history.push(layout)
        self.show(self.history.present, focus)

    def _selected_slot_focus(self) -> tuple[int, int] | None:
        if self.selected is None:
            return None
        s = self.layout.slots[self.layout.slot_index(self.selected)]
        return s.as_, (s.end - self.layout.platform.base.bytes if self.part == "end" else s.gpa)

    # -- messages from the widgets ------------------------------------------------------------------

    def on_layout_edited(self, message: LayoutEdited) -> None:
        self.map_view.status = "" if message.final else message.what
        if message.final:
            self.commit(message.layout, message.focus)
        else:
            self.show(message.layout, message.focus)

    def on_hovered(self, message: Hovered) -> None:
        if (message.as_, message.gpa) == self.focus_at:
            return
        self.focus_at = (message.as_, message.gpa)
        self.explain.show(self.layout, message.as_, message.gpa, self.coverage, self.live.attributes)

    def on_slot_picked(self, message: SlotPicked) -> None:
        if message.key != self.selected:
            self.selected = message.key
            self.focus_at = self._selected_slot_focus() or self.focus_at
            self.show(self.layout)

    def on_timeline_changed(self, message: object) -> None:
        index = getattr(message, "index", None)
        if index is not None:
            self.show_state(index)

    def show_state(self, index: int) -> None:
        """Show state ``index`` of the loaded trace. Stepping through a trace is navigation, not an
        edit: the state becomes the unmodified layout and the undo history starts again there; the
        what-if settings the user chose stay."""
        if not self.loaded.states:
            return
        state = self.loaded.states[index].layout
        cur = self.layout
        files = tuple(f if cur.file(f.id) is None else replace(f, max_page=cur.file(f.id).max_page)
                      for f in state.files)
        layout = state.with_settings(policy=cur.policy, host_max_page=cur.host_max_page,
                                     private_max_page=cur.private_max_page, files=files)
        self.history = History(layout)
        self.saved_layout = layout
        self.show(layout)

    # -- actions: view ------------------------------------------------------------------------------

    def action_zoom(self, direction: int) -> None:
        self.map_view.zoom(direction, focus=self.focus_at[1])
        self.update_title()

    def action_fit(self) -> None:
        self.map_view.fit()
        self.update_title()

    def action_pan(self, direction: int) -> None:
        if not self.map_view.pan(direction):
            where = "start" if direction < 0 else "last slot"
            self.notify(f"the view is at the {where} of the guest (0: all of the guest)")
        self.update_title()

    def action_view_home(self) -> None:
        self.map_view.home()
        self.update_title()

    def action_view_end(self) -> None:
        self.map_view.end()
        self.update_title()

    def action_toggle_scale(self) -> None:
        self.map_view.toggle_scale()
        self.update_title()

    # -- actions: edits -----------------------------------------------------------------------------

    def action_select(self, direction: int) -> None:
        slots = sorted(self.layout.slots, key=lambda s: (s.as_, s.gpa))
        if not slots:
            return
        keys = [s.key for s in slots]
        i = keys.index(self.selected) if self.selected in keys else -direction
        self.selected = keys[(i + direction) % len(keys)]
        self.focus_at = self._selected_slot_focus() or self.focus_at
        self.show(self.layout)

    def action_cycle_part(self) -> None:
        self.part = edit.PARTS[(edit.PARTS.index(self.part) + 1) % len(edit.PARTS)]
        self.update_title()

    def action_cycle_step(self) -> None:
        self.level = (self.level + 1) % len(self.layout.platform.ladder)
        self.update_title()

    def action_nudge(self, direction: int) -> None:
        if self.selected is None:
            return
        old = self.history.present
        new = edit.nudge(old, self.selected, self.part, direction, self.level)
        self.layout = new
        self.commit(new, self._selected_slot_focus())
        self._say_nudge(old, new, direction)

    def _say_nudge(self, old: Layout, new: Layout, direction: int) -> None:
        """A nudge that did nothing, stopped short, or went to a boundary rather than by one step says so."""
        key, part = self.selected, self.part
        assert key is not None
        step = edit.granule(old, self.level)
        name = old.platform.name_of(step)
        before = edit.value_of(old.slots[old.slot_index(key)], part)
        after = edit.value_of(new.slots[new.slot_index(key)], part)
        target = (before // step + 1) * step if direction > 0 else max((before - 1) // step * step, 0)
        what = f"slot {key[1]} {part} ({'offset' if part == 'binding' else 'gpa'})"
        if new == old:
            self.notify(f"{what} cannot move {'up' if direction > 0 else 'down'} by {name}: a neighbour, "
                        "address 0, the file's end or the slot's own size is in the way", severity="warning")
        elif after != target:
            self.notify(f"{what} stopped at {after:#x}, not {target:#x}: clamped by a neighbour, address 0, "
                        "the file's end or the smallest slot size")
        elif before % step:
            self.notify(f"{what} snapped from {before:#x} to the {name} boundary {after:#x}")

    def action_cycle_policy(self) -> None:
        self.commit(edit.cycle_policy(self.history.present))

    def action_set_policy(self, policy: str) -> None:
        """A policy by name (the command palette's "Set policy ..." entries); an alias (``4k-only``) is
        read as the policy it names."""
        if self.history.present.policy != canonical_policy(policy):
            self.commit(self.history.present.with_settings(policy=policy))

    def action_cycle_host(self) -> None:
        self.commit(edit.cycle_host_max_page(self.history.present))

    def action_cycle_private(self) -> None:
        self.commit(edit.cycle_private_max_page(self.history.present))

    def action_cycle_gmem(self) -> None:
        self.commit(edit.cycle_gmem_max_page(self.history.present))

    def action_undo(self) -> None:
        if not self.history.can_undo:
            self.notify("nothing to undo")
            return
        self.history = self.history.undo()
        self.show(self.history.present)

    def action_redo(self) -> None:
        if not self.history.can_redo:
            self.notify("nothing to redo")
            return
        self.history = self.history.redo()
        self.show(self.history.present)

    def on_key(self, event: events.Key) -> None:
        # without a trace the [ ] bindings are off (and out of the footer): say why instead of nothing
        if event.key in ("left_square_bracket", "right_square_bracket") and self.timeline is None \
                and len(self.screen_stack) == 1:
            self.notify("no trace loaded: [ and ] step through a trace's states")

    def action_trace_step(self, delta: int) -> None:
        if self.timeline is None:
            self.notify("no trace loaded: [ and ] step through a trace's states")
            return
        self.timeline.step(delta)

    # -- actions: screens ---------------------------------------------------------------------------

    def action_suggest_fixes(self) -> None:
        from gmemtui.tui.screens.suggest import SuggestScreen

        self.push_screen(SuggestScreen(self))

    def action_help(self) -> None:
        try:
            from gmemtui.tui.screens.help import HelpScreen
        except ImportError as e:
            self.notify(f"help screen unavailable: {e}", severity="warning")
            return
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if not self.dirty:
            self.exit()
            return
        from gmemtui.tui.screens.confirm import QuitScreen

        def answered(answer: str | None) -> None:
            if answer == "quit":
                self.exit()
            elif answer == "save":
                from gmemtui.tui.save import save

                save(self, then=self.exit)

        self.push_screen(QuitScreen(), answered)

    def action_save(self) -> None:
        from gmemtui.tui.save import save

        save(self)

    def saved(self, text: str, path: str) -> None:
        """After a successful write: the file on disk is now what later saves diff against."""
        self.saved_layout = self.history.present
        if self.loaded.kind == "yaml" and self.path_opened and Path(path) == Path(self.loaded.path):
            self.original_text = text
            self.original_layout = self.history.present
        self.update_title()
        self.notify(f"saved {path}")
