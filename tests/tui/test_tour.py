"""The tour (docs/tour.md) through Pilot: each lesson's task is not met when it opens and is met after
its documented solution (real keys and mouse drags); hint, skip and moving between lessons."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmemtui.formats.lessons import load_lessons
from gmemtui.tui.tour.app import TourApp
from tui.tour_steps import apply_step

TALL = (120, 60)  # the lesson panel, the map and the table all in view
LESSONS = load_lessons()


def panel(app: TourApp) -> str:
    return app.lesson_panel.text.plain


@pytest.mark.parametrize("index", range(len(LESSONS)), ids=[Path(lesson.path).stem for lesson in LESSONS])
async def test_the_documented_solution_solves_each_lesson(index: int) -> None:
    app = TourApp(LESSONS, index)
    async with app.run_test(size=TALL) as pilot:
        lesson = app.lesson
        assert app.layout == lesson.layout and not app.met
        assert app.focus_at == lesson.frame
        assert app.lesson_panel.border_title == f"lesson {index + 1}/{len(LESSONS)} · 0 done"
        assert panel(app).startswith(lesson.title) and "Task: " in panel(app)
        assert "✓ Done" not in panel(app)
        assert str(app.explain.render()).startswith(f"explain {lesson.frame[1]:#x} ")
        for step in lesson.solution:
            assert not app.met, f"solved before step at line {step.line}"
            await apply_step(pilot, app, step)
        assert app.met, f"{lesson.path}: not solved; layout {app.layout}"
        assert lesson.done.met(app.layout, app.coverage)  # the model says so, not the keys
        assert index in app.done and "✓ Done" in panel(app)
        if index + 1 < len(LESSONS):
            assert f"N: next lesson ({index + 2}/{len(LESSONS)}" in panel(app)
            await pilot.press("N")
            assert app.index == index + 1 and not app.met
            assert app.layout == LESSONS[index + 1].layout


async def test_undo_unsolves_and_a_drag_in_passing_does_not_solve() -> None:
    app = TourApp(LESSONS, 1)  # the seed under whole-binding: find the policy
    async with app.run_test(size=TALL) as pilot:
        await pilot.press("p", "p")
        assert app.met and app.layout.policy == "per-range"
        await pilot.press("u")
        assert not app.met and "✓ Done" not in panel(app)
        assert 1 in app.done  # progress remembers it was done once


async def test_hint_skip_and_previous() -> None:
    app = TourApp(LESSONS)
    async with app.run_test(size=TALL) as pilot:
        first = LESSONS[0]
        assert "Hint:" not in panel(app)
        await pilot.press("H")
        assert f"Hint: {first.hint.splitlines()[0]}" in panel(app)
        await pilot.press("N")  # skip without solving
        assert app.index == 1 and 0 not in app.done and "Hint:" not in panel(app)
        assert app.lesson_panel.border_title == f"lesson 2/{len(LESSONS)} · 0 done"
        await pilot.press("P", "P")  # the second P: already the first lesson, a message, no change
        assert app.index == 0 and app.layout == first.layout
        app.open_lesson(len(LESSONS) - 1)
        await pilot.press("N")
        assert app.index == len(LESSONS) - 1


async def test_lesson_moves_are_in_the_palette() -> None:
    from gmemtui.tui.commands import GmemCommands

    app = TourApp(LESSONS)
    async with app.run_test(size=TALL) as pilot:
        await pilot.pause()
        provider = GmemCommands(app.screen)
        titles = {title: help_text for title, _, help_text in provider._commands()}
        assert titles["Next lesson"] == "key: N" and titles["Previous lesson"] == "key: P"
        assert titles["Hint"] == "key: H"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"next lesson")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.index == 1


async def test_the_palette_opens_any_lesson_by_name() -> None:
    app = TourApp(LESSONS)
    async with app.run_test(size=TALL) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"folio-cap")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.lesson.title.startswith("folio-cap") and app.layout == app.lesson.layout


def test_tour_lesson_number_out_of_range(capsys) -> None:
    from gmemtui.cli import main

    n = len(LESSONS)
    assert main(["tour", "--lesson", "0"]) == 2
    assert capsys.readouterr().err == f"gmemtui: --lesson 0: there are lessons 1..{n}\n"
    assert main(["tour", "--lesson", str(n + 1)]) == 2
    assert capsys.readouterr().err == f"gmemtui: --lesson {n + 1}: there are lessons 1..{n}\n"


async def test_the_normal_app_keeps_its_keys() -> None:
    """n (nudge step) and p (policy) stay what they were; the tour keys are the shifted ones."""
    app = TourApp(LESSONS, 2)
    async with app.run_test(size=TALL) as pilot:
        before = app.level
        await pilot.press("n")
        assert app.level == before + 1 and app.index == 2
        await pilot.press("p")
        assert app.layout.policy != LESSONS[2].layout.policy and app.index == 2


BAD_LESSON = """\
title: A teacher's lesson
layout:
  slots:
    - slot: 0
      gpa: 0x100000
      size: 6M
task: Make slot 0 all 2M.
done:
  all:
    - coverage: {slot: 0, page: 2M}
    - coverage: {slot: 1, page: 2M}
hint: Drag its edges.
"""


def test_gmemtui_tour_dir_with_a_bad_task_is_one_file_line_error(tmp_path: Path, capsys) -> None:
    from gmemtui.cli import main

    (tmp_path / "01-good.yaml").write_text(Path(LESSONS[2].path).read_text())
    bad = tmp_path / "02-bad.yaml"
    bad.write_text(BAD_LESSON)
    assert main(["tour", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"{bad}:11: no slot 1 in address space 0 of the lesson's layout\n"


async def test_a_teachers_directory_runs_in_its_own_order(tmp_path: Path) -> None:
    for i, lesson in enumerate((LESSONS[5], LESSONS[2])):
        (tmp_path / f"{i:02}-mine.yaml").write_text(Path(lesson.path).read_text())
    lessons = load_lessons(tmp_path)
    app = TourApp(lessons)
    async with app.run_test(size=TALL) as pilot:
        assert app.lesson_panel.border_title == "lesson 1/2 · 0 done"
        assert panel(app).startswith(LESSONS[5].title)
        await pilot.press("h")  # lesson 6's solution: 1G host pages
        assert app.met and app.lesson_panel.border_title == "lesson 1/2 · 1 done"
        await pilot.press("N")
        assert panel(app).startswith(LESSONS[2].title)


async def test_the_seed_lesson_by_the_keys_its_hint_names() -> None:
    """Another way to the same answer: the task is read from the model, so keys solve it too."""
    app = TourApp(LESSONS, 0)
    async with app.run_test(size=TALL) as pilot:
        assert "n picks the 2M step, then . nudges its start up" in LESSONS[0].hint
        assert app.selected == (0, 5)
        await pilot.press("n", "full_stop")
        s = app.layout.slots[app.layout.slot_index((0, 5))]
        assert (s.gpa, s.offset) == (0x200000, 0x200000) and app.met
