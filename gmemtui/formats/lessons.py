"""Read tour lessons (docs/tour.md): one YAML file per lesson, ``FILE:LINE`` for every problem.

A lesson is a layout (inline, or the name of a layout beside the lesson or shipped with gmemtui), the
texts a student reads, the frame the explain panel opens on, the task as a condition on the model
(``gmemtui.core.tasks``), a hint and the documented solution (the steps the tests replay). An inline
layout is read by the layout reader itself, from the lesson's own text with its line numbers kept,
so a mistake in it is reported at its line in the lesson file.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gmemtui.core.coverage import compute
from gmemtui.core.edit import PARTS
from gmemtui.core.errors import InputError
from gmemtui.core.model import POLICIES, Layout, Overrides
from gmemtui.core.platform import Platform
from gmemtui.core.rules import RULE_BY_CODE
from gmemtui.core.tasks import (
    NO_REASON,
    POLICY_ALIASES,
    SLOT_FIELDS,
    AllOf,
    AnyOf,
    BytesAt,
    Condition,
    CoverageIs,
    FileIs,
    NotOf,
    SettingIs,
    SlotIs,
    policy_name,
)
from gmemtui.formats.loader import Loaded, load, read_text
from gmemtui.formats.yaml_load import compose
from gmemtui.formats.yaml_values import (
    NodeProblem,
    as_bytes,
    as_int,
    as_page,
    describe,
    line_of,
    mapping_items,
    scalar_text,
    shown,
)

LESSON_KEYS = ("title", "layout", "overrides", "frame", "look", "rule", "kernel", "task", "done", "hint",
               "success", "solution")
REQUIRED = ("title", "layout", "task", "done", "hint")
OVERRIDE_KEYS = ("policy", "host_max_page", "private_max_page", "gmem_max_page")
CONDITIONS = ("coverage", "bytes", "slot", "policy", "host_max_page", "private_max_page", "file", "all",
              "any", "not")
STEPS = ("keys", "drag")
DRAG_KEYS = ("as", "slot", "part", "to", "snap")
POLICY_NAMES = tuple(dict.fromkeys((*POLICIES, *POLICY_ALIASES, *POLICY_ALIASES.values())))


@dataclass(frozen=True)
class Step:
    """One step of a lesson's documented solution: keys pressed, or a mouse drag on the map that
    moves a slot's ``part`` (start, end, slot, binding) so that it lands on ``to`` (a GPA; a file
    offset for ``binding``)."""

    line: int = field(compare=False)
    keys: tuple[str, ...] = ()
    as_: int = 0
    slot: int = 0
    part: str = ""
    to: int = 0
    snap: str | None = None  # None: the 4K snap of a plain drag


@dataclass(frozen=True)
class Lesson:
    path: str
    title: str
    loaded: Loaded  # the layout as the lesson opens (overrides applied)
    frame: tuple[int, int]  # (as, gpa) the explain panel describes at open
    look: str
    rule: str
    kernel: str
    task: str
    done: Condition
    hint: str
    success: str
    solution: tuple[Step, ...]

    @property
    def layout(self) -> Layout:
        return self.loaded.layout


def shipped_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "lessons"


def lesson_files(directory: str | Path) -> list[Path]:
    d = Path(directory)
    if not d.is_dir():
        raise InputError(f"{directory}: not a directory of lessons")
    files = sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise InputError(f"{directory}: no lesson files (*.yaml) in it")
    return files


def load_lessons(directory: str | Path | None = None) -> list[Lesson]:
    """Every lesson of a directory in file-name order (``01-...``, ``02-...``); the first problem
    raises ``InputError`` (one ``FILE:LINE`` line)."""
    return [load_lesson(str(p)) for p in lesson_files(directory or shipped_dir())]


def load_lesson(path: str, text: str | None = None) -> Lesson:
    if text is None:
        text = read_text(path)
    root = compose(text, path)
    if not isinstance(root, MappingNode):
        got = "nothing" if root is None else describe(root)
        raise InputError(f"not a lesson: expected a mapping with 'title', 'layout', 'task', got {got}",
                         path, 1)
    try:
        return _lesson(root, text, path)
    except NodeProblem as e:
        raise InputError(e.message, path, e.line) from None


def _first_error(errors: list[NodeProblem]) -> None:
    if errors:
        raise min(errors, key=lambda e: e.line)


def _text(node: Node | None, what: str) -> str:
    """Prose: each paragraph (blank-line separated) on one line, so the panel wraps it to its width."""
    if node is None:
        return ""
    value = scalar_text(node, what, "text")
    return "\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", value) if p.strip())


def _lesson(root: MappingNode, text: str, path: str) -> Lesson:
    errors: list[NodeProblem] = []
    top = mapping_items(root, "lesson", LESSON_KEYS, errors)
    _first_error(errors)
    for key in REQUIRED:
        if key not in top:
            raise NodeProblem(line_of(root), f"missing required key {key!r} in a lesson")
    loaded = _layout(top["layout"], text, path)
    layout = loaded.layout
    if "overrides" in top:
        layout = _overrides(top["overrides"], layout.platform).apply(layout)
        loaded = Loaded(layout, loaded.path, loaded.text, loaded.kind, loaded.states)
    plat = layout.platform
    done = condition(top["done"], layout)
    if done.met(layout, compute(layout)):
        raise NodeProblem(line_of(top["done"]), "the task is already done when the lesson opens: the student "
                                                "would have nothing to do")
    frame = _frame(top["frame"], plat) if "frame" in top else _default_frame(layout)
    steps = _list(top["solution"], "solution") if "solution" in top else []
    solution = tuple(_step(n, layout) for n in steps)
    return Lesson(
        path=path,
        title=_text(top["title"], "title"),
        loaded=loaded,
        frame=frame,
        look=_text(top.get("look"), "look"),
        rule=_text(top.get("rule"), "rule"),
        kernel=_text(top.get("kernel"), "kernel"),
        task=_text(top["task"], "task"),
        done=done,
        hint=_text(top["hint"], "hint"),
        success=_text(top.get("success"), "success"),
        solution=solution,
    )


# -- the layout ------------------------------------------------------------------------------------

def inline_text(node: Node, text: str) -> str:
    """The YAML text of ``node`` as a document of its own, on the same line numbers: blank lines
    before it, its lines dedented by its column (a flow mapping is cut at its end)."""
    lines = text.splitlines()
    start, end = node.start_mark, node.end_mark
    last = end.line if end.column else end.line - 1
    out = [""] * start.line
    for i in range(start.line, min(last, len(lines) - 1) + 1):
        line = lines[i]
        if i == end.line:
            line = line[: end.column]
        if i == start.line:
            line = line[start.column:]
        else:
            pad = len(line) - len(line.lstrip(" "))
            line = line[min(pad, start.column):]
        out.append(line)
    return "\n".join(out) + "\n"


def _layout(node: Node, text: str, path: str) -> Loaded:
    if isinstance(node, MappingNode):
        return load(path, text=inline_text(node, text))
    name = scalar_text(node, "layout", "a layout mapping, or the name of a layout file")
    here = Path(path).parent
    candidates = [here / name, here / f"{name}.yaml", Path(__file__).resolve().parent.parent / "data" /
                  f"{Path(name).stem}.yaml"]
    for candidate in candidates:
        if candidate.is_file():
            return load(str(candidate))
    raise NodeProblem(line_of(node), f"layout {shown(name)}: no such file beside the lesson, and no "
                                     "layout of that name ships with gmemtui (qemu-snp-seed)")


def _overrides(node: Node, plat: Platform) -> Overrides:
    errors: list[NodeProblem] = []
    items = mapping_items(node, "overrides", OVERRIDE_KEYS, errors)
    _first_error(errors)
    values: dict[str, object] = {}
    if "policy" in items:
        values["policy"] = _policy(items["policy"])
    for key in ("host_max_page", "private_max_page", "gmem_max_page"):
        if key in items:
            values[key] = as_page(items[key], key, plat)
    return Overrides(**values)  # type: ignore[arg-type]


def _policy(node: Node) -> str:
    """A policy name as this version calls it (the merged kernel's policy is known by two names)."""
    text = scalar_text(node, "policy", f"one of {', '.join(POLICY_NAMES)}")
    for p in POLICIES:
        if policy_name(p) == policy_name(text):
            return p
    raise NodeProblem(line_of(node), f"unknown policy {shown(text)} (known: {', '.join(POLICY_NAMES)})")


def _frame(node: Node, plat: Platform) -> tuple[int, int]:
    if isinstance(node, MappingNode):
        errors: list[NodeProblem] = []
        items = mapping_items(node, "frame", ("as", "gpa"), errors)
        _first_error(errors)
        if "gpa" not in items:
            raise NodeProblem(line_of(node), "missing required key 'gpa' in frame")
        return _as(items.get("as"), plat), as_bytes(items["gpa"], "frame gpa")
    return 0, as_bytes(node, "frame")


def _default_frame(layout: Layout) -> tuple[int, int]:
    s = min(layout.slots, key=lambda s: (s.as_, s.gpa), default=None)
    return (s.as_, s.gpa) if s else (0, 0)


def _as(node: Node | None, plat: Platform) -> int:
    if node is None:
        return 0
    value = as_int(node, "as")
    if value >= plat.address_spaces:
        raise NodeProblem(line_of(node),
                          f"as {value}: {plat.arch} has address spaces 0..{plat.address_spaces - 1}")
    return value


def _list(node: Node, what: str) -> list[Node]:
    if not isinstance(node, SequenceNode) or not node.value:
        raise NodeProblem(line_of(node), f"{what}: expected a non-empty list, got {describe(node)}")
    return list(node.value)


def _one_key(node: Node, what: str, known: tuple[str, ...]) -> tuple[str, Node, int]:
    """A mapping of exactly one known key (``{coverage: {...}}``): its key, value and line."""
    if not isinstance(node, MappingNode) or len(node.value) != 1:
        got = describe(node) if not isinstance(node, MappingNode) else "several keys"
        raise NodeProblem(line_of(node),
                          f"{what}: expected a mapping of one key ({', '.join(known)}), got {got}")
    k, v = node.value[0]
    key = k.value if isinstance(k, ScalarNode) else ""
    if key not in known:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
        raise NodeProblem(line_of(k), f"unknown {what} {shown(key)} ({hint})")
    return key, v, line_of(k)


# -- task conditions -------------------------------------------------------------------------------

def condition(node: Node, layout: Layout) -> Condition:
    """A task condition (docs/tour.md), checked against the lesson's layout: a slot or file it names
    must exist and a page size must be on the layout's ladder."""
    kind, value, line = _one_key(node, "condition", CONDITIONS)
    plat = layout.platform
    if kind in ("all", "any"):
        parts = tuple(condition(n, layout) for n in _list(value, kind))
        return AllOf(line, parts) if kind == "all" else AnyOf(line, parts)
    if kind == "not":
        return NotOf(line, condition(value, layout))
    if kind == "policy":
        return SettingIs(line, "policy", _policy(value))
    if kind in ("host_max_page", "private_max_page"):
        return SettingIs(line, kind, as_page(value, kind, plat))
    known = {"coverage": ("as", "gpa", "size", "slot", "page", "at_least", "reason"),
             "bytes": ("as", "slot", "page", "at_least"),
             "slot": ("as", "slot", *SLOT_FIELDS),
             "file": ("id", "max_page")}[kind]
    errors: list[NodeProblem] = []
    items = mapping_items(value, kind, known, errors)
    _first_error(errors)
    as_ = _as(items.get("as"), plat)

    def slot_no(required: bool) -> int | None:
        n = items.get("slot")
        if n is None:
            if required:
                raise NodeProblem(line_of(value), f"missing required key 'slot' in {kind}")
            return None
        number = as_int(n, "slot")
        if not any(s.key == (as_, number) for s in layout.slots):
            raise NodeProblem(line_of(n), f"no slot {number} in address space {as_} of the lesson's layout")
        return number

    def page(key: str) -> str | None:
        return plat.name_of(as_page(items[key], key, plat)) if key in items else None

    if kind == "coverage":
        slot = slot_no(False)
        if (slot is None) == ("gpa" not in items):
            raise NodeProblem(line_of(value), "coverage: give either 'gpa' (and 'size') or 'slot'")
        if slot is not None and "size" in items:
            raise NodeProblem(line_of(items["size"]), "coverage: 'size' goes with 'gpa', not with 'slot'")
        if not {"page", "at_least", "reason"} & set(items):
            raise NodeProblem(line_of(value), "coverage: say what must hold: 'page', 'at_least' or 'reason'")
        reason = None
        if "reason" in items:
            reason = scalar_text(items["reason"], "reason", "a reason code")
            codes = (*RULE_BY_CODE, NO_REASON)
            if reason not in codes:
                close = difflib.get_close_matches(reason, codes, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(codes)}"
                raise NodeProblem(line_of(items["reason"]), f"unknown reason {shown(reason)} ({hint})")
        gpa = as_bytes(items["gpa"], "gpa") if "gpa" in items else None
        size = as_bytes(items["size"], "size") if "size" in items else None
        if size == 0:
            raise NodeProblem(line_of(items["size"]), "coverage: size 0 holds no frame")
        return CoverageIs(line, as_, gpa, size, slot, page("page"), page("at_least"), reason)
    if kind == "bytes":
        if "page" not in items:
            raise NodeProblem(line_of(value), "missing required key 'page' in bytes")
        at_least = as_bytes(items["at_least"], "at_least") if "at_least" in items else 1
        return BytesAt(line, page("page") or "", at_least, as_, slot_no(False))
    if kind == "slot":
        number = slot_no(True)
        values = tuple((f, as_bytes(items[f], f)) for f in SLOT_FIELDS if f in items)
        if not values:
            raise NodeProblem(line_of(value), f"slot: name at least one of {', '.join(SLOT_FIELDS)}")
        return SlotIs(line, as_, number or 0, values)
    # file
    if "id" not in items or "max_page" not in items:
        raise NodeProblem(line_of(value), "file: needs 'id' and 'max_page'")
    fid = as_int(items["id"], "id")
    if layout.file(fid) is None:
        raise NodeProblem(line_of(items["id"]), f"no guest_memfd file {fid} in the lesson's layout")
    return FileIs(line, fid, as_page(items["max_page"], "max_page", plat))


# -- the documented solution -----------------------------------------------------------------------

def _step(node: Node, layout: Layout) -> Step:
    kind, value, line = _one_key(node, "solution step", STEPS)
    if kind == "keys":
        keys = [value] if isinstance(value, ScalarNode) else _list(value, "keys")
        return Step(line, keys=tuple(scalar_text(k, "keys", "a key name") for k in keys))
    errors: list[NodeProblem] = []
    items = mapping_items(value, "drag", DRAG_KEYS, errors)
    _first_error(errors)
    for key in ("slot", "part", "to"):
        if key not in items:
            raise NodeProblem(line_of(value), f"missing required key {key!r} in drag")
    plat = layout.platform
    as_ = _as(items.get("as"), plat)
    slot = as_int(items["slot"], "slot")
    if not any(s.key == (as_, slot) for s in layout.slots):
        raise NodeProblem(line_of(items["slot"]),
                          f"no slot {slot} in address space {as_} of the lesson's layout")
    part = scalar_text(items["part"], "part", "start, end, slot or binding")
    if part not in PARTS:
        raise NodeProblem(line_of(items["part"]), f"unknown part {shown(part)} (known: {', '.join(PARTS)})")
    snap = plat.name_of(as_page(items["snap"], "snap", plat)) if "snap" in items else None
    return Step(line, as_=as_, slot=slot, part=part, to=as_bytes(items["to"], "to"), snap=snap)
