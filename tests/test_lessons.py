"""Lesson files (docs/tour.md): the shipped ones load and are not solved at open; every mistake in a
teacher's lesson is one ``FILE:LINE:`` error; task conditions read the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmemtui.core.coverage import compute
from gmemtui.core.errors import InputError
from gmemtui.core.guest_edits import convert, is_private, private_ranges, toggle_log_dirty
from gmemtui.core.tasks import AllOf, BytesAt, CoverageIs, NotOf, SettingIs
from gmemtui.formats.lessons import inline_text, lesson_files, load_lesson, load_lessons, shipped_dir

LESSON = """\
title: A teacher's lesson
layout:
  slots:
    - slot: 0
      gpa: 0x100000
      size: 6M
frame: 0x100000
task: Make slot 0 all 2M.
done:
  coverage: {slot: 0, page: 2M}
hint: Drag its edges.
"""
INLINE = "layout:\n  slots:\n    - slot: 0\n      gpa: 0x100000\n      size: 6M\n"


def write(tmp_path: Path, text: str, name: str = "01-mine.yaml") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as e:
        load_lesson(path)
    return str(e.value).replace(path, "FILE")


def test_every_shipped_lesson_loads_in_order_and_is_not_done_at_open() -> None:
    lessons = load_lessons()
    assert len(lessons) == len(lesson_files(shipped_dir())) >= 13
    assert "seed story" in lessons[0].title and "seed story" in lessons[1].title
    for lesson in lessons:
        assert lesson.task and lesson.hint and lesson.look and lesson.rule and lesson.kernel
        assert lesson.solution, lesson.path
        assert not lesson.done.met(lesson.layout, compute(lesson.layout)), lesson.path


def test_one_lesson_per_reason_code() -> None:
    from gmemtui.core.rules import RULE_BY_CODE

    names = {Path(lesson.path).stem.split("-", 1)[1] for lesson in load_lessons()}
    assert set(RULE_BY_CODE) <= names


def test_the_seed_lessons_open_on_the_shipped_seed_layout_under_whole_binding() -> None:
    first = load_lessons()[0]
    assert first.layout.policy == "whole-binding" and first.frame == (0, 0x200000)
    assert first.loaded.path.endswith("data/qemu-snp-seed.yaml")
    slot5 = first.layout.slots[first.layout.slot_index((0, 5))]
    assert (slot5.gpa, slot5.offset) == (0x100000, 0x100000)


def test_a_teachers_lesson_loads_with_its_inline_layout(tmp_path: Path) -> None:
    lesson = load_lesson(write(tmp_path, LESSON))
    assert lesson.title == "A teacher's lesson" and lesson.frame == (0, 0x100000)
    assert lesson.layout.slots[0].size == 6 << 20 and lesson.solution == ()
    assert lesson.done == CoverageIs(10, slot=0, page="2M")


@pytest.mark.parametrize(("change", "expected"), [
    (("{slot: 0, page: 2M}", "{slot: 3, page: 2M}"),
     "FILE:10: no slot 3 in address space 0 of the lesson's layout"),
    (("{slot: 0, page: 2M}", "{slot: 0, page: 3M}"),
     "FILE:10: page 3M is not a page size of x86_64 (4K, 2M, 1G)"),
    (("coverage: {slot: 0, page: 2M}", "coverag: {slot: 0, page: 2M}"),
     "FILE:10: unknown condition 'coverag' (did you mean 'coverage'?)"),
    (("{slot: 0, page: 2M}", "{slot: 0, pages: 2M}"), "FILE:10: unknown key 'pages' (did you mean 'page'?)"),
    (("{slot: 0, page: 2M}", "{slot: 0, reason: slot-edges}"),
     "FILE:10: unknown reason 'slot-edges' (did you mean 'slot-edge'?)"),
    (("{slot: 0, page: 2M}", "{slot: 0, gpa: 0x200000, page: 2M}"),
     "FILE:10: coverage: give either 'gpa' (and 'size') or 'slot'"),
    (("{slot: 0, page: 2M}", "{slot: 0}"),
     "FILE:10: coverage: say what must hold: 'page', 'at_least' or 'reason'"),
    (("coverage: {slot: 0, page: 2M}", "coverage: {slot: 0, at_least: 4K}"),
     "FILE:10: the task is already done when the lesson opens: the student would have nothing to do"),
    (("hint: Drag", "hnt: Drag"), "FILE:11: unknown key 'hnt' (did you mean 'hint'?)"),
    (("      size: 6M", "      size: 6Q"),
     "FILE:6: size: '6Q' is not a byte count (write an integer, 0x..., or a size like \"2G\")"),
    (("    - slot: 0", "    - slot: 0\n      sizes: 1"),
     "FILE:5: unknown key 'sizes' (did you mean 'size'?)"),
    ((INLINE, "layout: nowhere\n"), "FILE:2: layout 'nowhere': no such file beside the "
     "lesson, and no layout of that name ships with gmemtui (qemu-snp-seed)"),
])
def test_every_mistake_is_one_file_line_error(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in LESSON
    assert error_of(tmp_path, LESSON.replace(old, new, 1)) == expected


def test_an_unknown_policy_lists_both_names_of_the_merged_one(tmp_path: Path) -> None:
    msg = error_of(tmp_path, LESSON.replace("coverage: {slot: 0, page: 2M}", "policy: fastest"))
    assert msg.startswith("FILE:10: unknown policy 'fastest' (known: per-range, whole-binding, ")
    assert "4k-only" in msg and "mainline" in msg


def test_missing_keys_and_bad_documents(tmp_path: Path) -> None:
    assert error_of(tmp_path, LESSON.replace("hint: Drag its edges.\n", "")) == \
        "FILE:1: missing required key 'hint' in a lesson"
    assert error_of(tmp_path, "- a list\n").startswith("FILE:1: not a lesson")
    assert error_of(tmp_path, "title: [unclosed\n").startswith("FILE:2: not YAML")


def test_a_directory_without_lessons(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no lesson files"):
        load_lessons(tmp_path)
    with pytest.raises(InputError, match="not a directory of lessons"):
        load_lessons(tmp_path / "missing")


def test_a_layout_file_beside_the_lesson(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("slots:\n  - {slot: 2, gpa: 0x100000, size: 6M}\n")
    text = LESSON.replace(INLINE, "layout: mine\n").replace("slot: 0, page", "slot: 2, page")
    lesson = load_lesson(write(tmp_path, text, name="lesson.yml"))
    assert lesson.layout.slots[0].slot == 2


def test_inline_text_keeps_line_numbers_and_cuts_flow_mappings() -> None:
    import yaml

    text = "a: 1\nlayout:\n  slots:\n    - slot: 0  # c\nb: {x: 1}\n"
    root = yaml.compose(text)
    node = dict((k.value, v) for k, v in root.value)
    assert inline_text(node["layout"], text) == "\n\nslots:\n  - slot: 0  # c\n"
    assert inline_text(node["b"], text) == "\n\n\n\n{x: 1}\n"


def test_conditions_read_the_coverage_not_the_history() -> None:
    lesson = load_lessons()[1]  # the seed under whole-binding
    layout = lesson.layout
    per_range = layout.with_settings(policy="per-range")
    c = CoverageIs(1, gpa=0x200000, size=0x7FE00000, page="2M")
    assert not c.met(layout, compute(layout)) and c.met(per_range, compute(per_range))
    cov = compute(per_range)
    assert not CoverageIs(1, gpa=0x100000, size=0x200000, at_least="2M").met(per_range, cov)
    assert CoverageIs(1, gpa=0x100000, size=0x100000, reason="slot-edge").met(per_range, compute(per_range))
    assert CoverageIs(1, gpa=0x40000000, reason="ua-misaligned").met(per_range, compute(per_range))
    # a hole (there is none below 2 GiB here) or beyond the last slot: not met
    assert not CoverageIs(1, gpa=0x7FFFF000, size=0x2000, page="2M").met(per_range, compute(per_range))
    assert BytesAt(1, "2M", 2046 << 20, 0, 5).met(per_range, compute(per_range))
    assert not BytesAt(1, "2M", (2046 << 20) + 1, 0, 5).met(per_range, compute(per_range))
    assert BytesAt(1, "2M", 1, 0, None).met(per_range, compute(per_range))
    both = AllOf(1, (SettingIs(1, "policy", "per-range"), NotOf(1, SettingIs(1, "policy", "4k-only"))))
    assert both.met(per_range, compute(per_range)) and not both.met(layout, compute(layout))
    mainline = layout.with_settings(policy="4k-only")
    assert SettingIs(1, "policy", "mainline").met(mainline, compute(mainline))


def test_convert_and_dirty_logging_edits() -> None:
    lessons = {Path(lesson.path).stem: lesson for lesson in load_lessons()}
    mixed = lessons["07-mixed-attributes"].layout
    assert private_ranges(mixed) == [(0, 3 << 20)]
    assert is_private(mixed, 0x200000) and not is_private(mixed, 0x300000)
    shared = convert(mixed, 0x200000, 0x200000, False)
    assert private_ranges(shared) == [(0, 2 << 20)]
    assert private_ranges(convert(mixed, 0x200000, 0x200000, True)) == [(0, 4 << 20)]
    seed = lessons["01-seed-qemu-layout"].layout  # default attributes: the guest_memfd slots
    assert private_ranges(seed)[0] == (0, 0x80000000)
    assert private_ranges(convert(seed, 0x100000, 0x100000, False)) == [(0, 0x100000), (0x200000, 0x80000000)]
    logging = lessons["05-log-dirty"].layout
    off = toggle_log_dirty(logging, (0, 0))
    assert not off.slots[0].log_dirty and toggle_log_dirty(off, (0, 0)) == logging


def test_the_example_in_the_docs_is_a_shipped_lesson(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "tour.md").read_text()
    example = docs.split("A complete example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    lesson = load_lesson(write(tmp_path, example))
    shipped = next(x for x in load_lessons() if x.title == lesson.title)
    assert lesson.layout == shipped.layout and lesson.done == shipped.done
    assert lesson.solution == shipped.solution and lesson.frame == shipped.frame
