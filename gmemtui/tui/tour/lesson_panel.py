"""The lesson panel of the tour: progress, what to look at, the rule, the kernel function, the task,
and what to do next (hint, skip, the next lesson once the task is done)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from gmemtui.formats.lessons import Lesson


def lesson_text(lesson: Lesson, number: int, count: int, done: bool, hint: bool,
                next_title: str | None) -> Text:
    """The panel's text (the progress and the keys are on its border): plain data, so tests can
    read it. What to do comes first, above the fold on a small terminal: once the task is done the
    success and the way on, else the task (and the hint once asked for); then the explanation."""
    t = Text()
    t.append(f"{lesson.title}\n", style="bold")
    if done:
        t.append("✓ Done! ", style="bold green")
        if lesson.success:
            t.append(lesson.success + "\n")
        if next_title:
            t.append(f"N: next lesson ({number + 1}/{count}: {next_title})\n", style="bold")
        else:
            t.append("That was the last lesson. q: quit\n", style="bold")
    t.append("Task: ", style="bold")
    t.append(lesson.task + "\n")
    if hint:
        t.append("Hint: ", style="bold")
        t.append(lesson.hint + "\n")
    for label, body in (("Look", lesson.look), ("Rule", lesson.rule), ("Kernel", lesson.kernel)):
        if body:
            t.append(f"{label}: ", style="bold")
            t.append(body + "\n", style="italic" if label == "Kernel" else "")
    t.rstrip()
    return t


def keys_line(done: bool, last: bool) -> str:
    nxt = "" if last else ("N next lesson · " if done else "N skip · ")
    return f"{'' if done else 'H hint · '}{nxt}P previous · ^p all actions"


class LessonPanel(VerticalScroll):
    DEFAULT_CSS = """
    LessonPanel { height: auto; max-height: 30%; border: round $accent; padding: 0 1; }
    LessonPanel > Static { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.body = Static("", id="lesson-text")
        self.text = Text()

    def compose(self) -> ComposeResult:
        yield self.body

    def show(self, text: Text, progress: str, keys: str) -> None:
        if text.plain != self.text.plain:
            self.text = text
            self.body.update(text)
            self.scroll_home(animate=False)
        self.border_title = progress
        self.border_subtitle = keys
