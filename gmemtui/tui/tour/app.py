"""The tour app: ``GmemApp`` with a lesson panel, lessons to move between, and task checking.

A task is a condition on the model (``gmemtui.core.tasks``), checked after every change the app
shows, except in the middle of a drag (a drag that passes over the answer has not solved it). So a
student may solve it with the mouse, the keys or the palette, and undo un-solves it.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from gmemtui.core import guest_edits
from gmemtui.core.model import Layout
from gmemtui.formats.lessons import Lesson
from gmemtui.tui.app import GmemApp
from gmemtui.tui.history import History
from gmemtui.tui.live import LiveCoverage
from gmemtui.tui.tour.lesson_panel import LessonPanel, keys_line, lesson_text


class LessonCommands(Provider):
    """Every lesson in the command palette by number and title: the palette way between lessons."""

    def _lessons(self) -> list[tuple[str, int]]:
        app = self.app
        assert isinstance(app, TourApp)
        n = len(app.lessons)
        return [(f"Lesson {i + 1}/{n}: {lesson.title}", i) for i, lesson in enumerate(app.lessons)]

    async def discover(self) -> Hits:
        for title, i in self._lessons():
            yield DiscoveryHit(title, partial(self.app.open_lesson, i), help="open this lesson")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, i in self._lessons():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.open_lesson, i),
                          help="open this lesson")


class TourApp(GmemApp):
    TITLE = "gmemtui tour"
    COMMANDS = GmemApp.COMMANDS | {LessonCommands}
    CSS_PATH = str(Path(__file__).resolve().parent.parent / "app.tcss")  # the main screen's (relative
    # paths are read beside the subclass's module)
    # the lesson panel takes its rows from the map's share (the main screen's CSS gives the map 60%)
    CSS = "#map { max-height: 45%; }"
    # shifted N/P: in the main app n picks the nudge step and p the policy, which lessons use
    BINDINGS = [
        Binding("N", "lesson(1)", "Next lesson", id="next_lesson"),
        Binding("P", "lesson(-1)", "Previous lesson", id="prev_lesson"),
        Binding("H", "hint", "Hint", id="hint"),
        Binding("l", "toggle_log_dirty", "Dirty logging on/off", id="toggle_log_dirty", show=False),
        Binding("c", "convert", "Convert the 2M range at the cursor (private/shared)", id="convert",
                show=False),
    ]

    def __init__(self, lessons: list[Lesson], index: int = 0) -> None:
        super().__init__(lessons[index].loaded, path_opened=False)
        self.lessons = lessons
        self.index = index
        self.done: set[int] = set()  # lessons whose task was met at least once
        self.met = False  # the current lesson's task holds now
        self.hint_shown = False
        self.lesson_panel = LessonPanel(id="lesson")
        self.focus_at = lessons[index].frame

    @property
    def lesson(self) -> Lesson:
        return self.lessons[self.index]

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            yield widget
            if widget is self.title_bar:
                yield self.lesson_panel

    def on_mount(self) -> None:
        super().on_mount()
        self.open_lesson(self.index)

    # -- lessons ------------------------------------------------------------------------------------

    def open_lesson(self, index: int) -> None:
        """Show lesson ``index`` as it opens: its layout, fresh history, the explain panel on its frame."""
        self.index = index
        lesson = self.lesson
        self.loaded = lesson.loaded
        self.original_text = lesson.loaded.text
        self.original_layout = self.saved_layout = lesson.layout
        self.history = History(lesson.layout)
        self.live = LiveCoverage()
        big = max(lesson.layout.slots, key=lambda s: s.size, default=None)
        self.selected = big.key if big else None
        self.part, self.level = "start", 0
        self.met = False
        self.hint_shown = False
        self.show(lesson.layout, lesson.frame)
        m = self.map_view
        m.mode, m.bpc, m.start = "scale", 0, 0  # the view a layout opens with: every slot readable
        m.redraw()

    def show(self, layout: Layout, focus: tuple[int, int] | None = None) -> None:
        super().show(layout, focus)
        if not self.map_view.dragging:
            self.check_task()
        self.update_lesson_panel()

    def check_task(self) -> None:
        met = self.lesson.done.met(self.layout, self.coverage)
        if met and not self.met:
            self.done.add(self.index)
            nxt = "N: next lesson" if self.index + 1 < len(self.lessons) else "that was the last lesson"
            self.notify(f"✓ Lesson {self.index + 1} done! {nxt}", title="Well done")
        self.met = met

    def update_lesson_panel(self) -> None:
        nxt = self.lessons[self.index + 1].title if self.index + 1 < len(self.lessons) else None
        text = lesson_text(self.lesson, self.index + 1, len(self.lessons), self.met, self.hint_shown, nxt)
        progress = f"lesson {self.index + 1}/{len(self.lessons)} · {len(self.done)} done"
        self.lesson_panel.show(text, progress, keys_line(self.met, nxt is None))

    def action_lesson(self, delta: int) -> None:
        target = self.index + delta
        if not 0 <= target < len(self.lessons):
            self.notify("that was the last lesson" if delta > 0 else "this is the first lesson")
            return
        self.open_lesson(target)

    def action_hint(self) -> None:
        self.hint_shown = True
        self.update_lesson_panel()
        self.notify(self.lesson.hint, title="Hint")

    # -- edits a running VM makes (gmemtui.core.guest_edits) ----------------------------------------

    def action_toggle_log_dirty(self) -> None:
        if self.selected is not None:
            self.commit(guest_edits.toggle_log_dirty(self.history.present, self.selected))

    def action_convert(self) -> None:
        """The guest converts the huge-page range around the explained frame to the other kind."""
        layout = self.history.present
        as_, gpa = self.focus_at
        ladder = layout.platform.ladder
        size = ladder[1].bytes if len(ladder) > 1 else ladder[0].bytes
        start = gpa - gpa % size
        private = not guest_edits.is_private(layout, gpa)
        self.commit(guest_edits.convert(layout, start, size, private), (as_, gpa))
        self.notify(f"converted [{start:#x}, {start + size:#x}) to {'private' if private else 'shared'}")

    @property
    def dirty(self) -> bool:
        return False  # a student's edits are exercises, not documents: no "modified", no quit question

    async def action_quit(self) -> None:
        self.exit()
