"""Applying suggestions to a layout, one or all at once (``suggest --all``, ``-o``, the TUI's ``enter``).

``combine`` takes every compatible suggestion, best gain first: two suggestions are compatible when
they change different fields of different slots (a split replaces its slot whole), different
settings, and bindings that do not end up overlapping. Splits draw their new slot ids from one pool,
so two splits never take the same id. The combined layout is then compared whole with ``compare``,
the computation of ``gmemtui diff``: its gain is exactly what ``gmemtui diff FILE NEW.yaml`` prints.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from gmemtui.core.diff import Diff, compare
from gmemtui.core.model import Layout, Slot
from gmemtui.core.suggest import Edit, Suggestion, Suggestions
from gmemtui.core.suggest_kinds import FreeIds


def apply_edits(layout: Layout, edits: Iterable[Edit]) -> Layout:
    """The layout with the edits made (slots keep their order; a split's parts take its place)."""
    slot_changes: dict[tuple[int, int], dict[str, object]] = {}
    splits: dict[tuple[int, int], tuple[Slot, ...]] = {}
    file_changes: dict[int, dict[str, object]] = {}
    vm: dict[str, object] = {}
    for e in edits:
        if e.what == "slot":
            slot_changes.setdefault(e.key, {})[e.field] = e.new  # type: ignore[index]
        elif e.what == "split":
            splits[e.key] = e.new  # type: ignore[index,assignment]
        elif e.what == "file":
            file_changes.setdefault(e.key, {})[e.field] = e.new  # type: ignore[index]
        else:
            vm[e.field] = e.new
    slots: list[Slot] = []
    for s in layout.slots:
        if s.key in splits:
            slots.extend(splits[s.key])
        elif s.key in slot_changes:
            slots.append(replace(s, **slot_changes[s.key]))
        else:
            slots.append(s)
    files = tuple(replace(f, **file_changes[f.id]) if f.id in file_changes else f for f in layout.files)
    return replace(layout, slots=tuple(slots), files=files, **vm)


def apply(layout: Layout, suggestion: Suggestion) -> Layout:
    return apply_edits(layout, suggestion.edits)


@dataclass(frozen=True)
class Combined:
    """Every compatible suggestion applied: the chosen ones (splits with their final ids), the layout,
    and its whole-layout diff against the original."""

    chosen: tuple[Suggestion, ...]
    skipped: tuple[Suggestion, ...]
    layout: Layout
    diff: Diff


def _claims(s: Suggestion) -> set[tuple]:
    """What a suggestion changes: (slot key, field) for slots (``*``: the whole slot), files, settings."""
    out: set[tuple] = set()
    for e in s.edits:
        if e.what == "split":
            out.add(("slot", e.key, "*"))
        elif e.what == "file" and e.field == "size":
            continue  # sizes are reconciled after combining
        else:
            out.add((e.what, e.key, e.field))
    return out


class _Taken:
    """The claims of the suggestions accepted so far."""

    def __init__(self) -> None:
        self.claims: set[tuple] = set()
        self.slots: set[object] = set()  # slot keys with any claim

    def conflicts(self, claims: set[tuple]) -> bool:
        for what, key, fld in claims:
            if (what, key, fld) in self.claims:
                return True
            if what == "slot" and (("slot", key, "*") in self.claims or (fld == "*" and key in self.slots)):
                return True
        return False

    def add(self, claims: set[tuple]) -> None:
        self.claims |= claims
        self.slots |= {key for what, key, _ in claims if what == "slot"}


class _Bindings:
    """The bindings of each file in the combined layout, sorted, to refuse an offset move into a
    range another accepted move took."""

    def __init__(self, layout: Layout) -> None:
        self.by_file: dict[int, list[tuple[int, int, tuple[int, int]]]] = {}
        for s in layout.slots:
            if s.gmem is not None:
                self.by_file.setdefault(s.gmem, []).append((s.offset, s.offset + s.size, s.key))
        for lst in self.by_file.values():
            lst.sort()

    def move(self, fid: int, moves: Sequence[tuple[tuple[int, int], int, int, int]]) -> bool:
        """Move bindings (key, old offset, new offset, size) if no new range overlaps another binding
        (the moved ones are disjoint among themselves: ``FileBindings.place`` made them so)."""
        lst = self.by_file[fid]
        keys = {m[0] for m in moves}
        for _, _, new, size in moves:
            i = bisect_left(lst, (new, -1))
            j = i - 1
            while j >= 0 and lst[j][2] in keys:
                j -= 1
            if j >= 0 and lst[j][1] > new:  # the nearest binding below reaches into the new range
                return False
            j = i
            while j < len(lst) and lst[j][2] in keys:
                j += 1
            if j < len(lst) and lst[j][0] < new + size:  # the nearest binding above starts inside it
                return False
        for key, old, _, size in moves:
            del lst[bisect_left(lst, (old, old + size, key))]
        for key, _, new, size in moves:
            insort(lst, (new, new + size, key))
        return True


def combine(layout: Layout, found: Suggestions) -> Combined:
    """Every compatible suggestion of ``found`` (best gain first) applied to ``layout``."""
    taken = _Taken()
    ids = FreeIds(layout)
    bindings: _Bindings | None = None
    sizes = {s.key: s.size for s in layout.slots}
    gmem = {s.key: s.gmem for s in layout.slots}
    chosen: list[Suggestion] = []
    skipped: list[Suggestion] = []
    for s in found.suggestions:
        claims = _claims(s)
        if taken.conflicts(claims):
            skipped.append(s)
            continue
        if s.kind == "split":
            (e,) = s.edits
            parts = e.new
            new_ids = ids.take(e.key[0], len(parts) - 1)  # type: ignore[index]
            if new_ids is None:
                skipped.append(s)
                continue
            # the same parts (with a ua move, if the split came with one), with ids from the shared pool
            parts = (parts[0], *(replace(p, slot=i) for p, i in zip(parts[1:], new_ids, strict=True)))
            s = replace(s, edits=(replace(e, new=parts),))
        moves = [(e.key, e.old, e.new, sizes[e.key]) for e in s.edits
                 if e.what == "slot" and e.field == "offset"]
        if moves:
            bindings = bindings or _Bindings(layout)
            if not bindings.move(gmem[moves[0][0]], moves):  # type: ignore[arg-type]
                skipped.append(s)
                continue
        taken.add(claims)
        chosen.append(s)
    edits = [e for s in chosen for e in s.edits if not (e.what == "file" and e.field == "size")]
    new = apply_edits(layout, edits)
    new = _grow_files(new)
    return Combined(tuple(chosen), tuple(skipped), new, compare(layout, new))


def _grow_files(layout: Layout) -> Layout:
    """Files of explicit size grown to hold their furthest binding (offset moves may push past the end)."""
    ends: dict[int, int] = {}
    for s in layout.slots:
        if s.gmem is not None:
            ends[s.gmem] = max(ends.get(s.gmem, 0), s.offset + s.size)
    files = tuple(replace(f, size=ends[f.id]) if f.size is not None and ends.get(f.id, 0) > f.size else f
                  for f in layout.files)
    return replace(layout, files=files)
