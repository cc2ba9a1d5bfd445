"""The data behind the map's bars: per bar the coverage of its slots (its group), a view of its slots
and its runs, kept in step with the live coverage.

A drag step replaces one ``SlotCoverage`` and keeps the others (``LiveCoverage``), so the groups are
patched where the replaced objects were, and a bar's runs convert only the changed slots' pieces
(``PieceRuns``); a new group's runs are converted as the screen reads them (``LazyPieceRuns``).
No Textual here: the map (``widgets/map_view.py``) owns one ``BarData`` and hands it each new coverage.
"""

from __future__ import annotations

from itertools import chain

from gmemtui.core.coverage import Coverage, SlotCoverage
from gmemtui.tui import palette
from gmemtui.tui.axis import remember_span
from gmemtui.tui.bar_groups import groups_of
from gmemtui.tui.bar_runs import LazyPieceRuns, PageSets
from gmemtui.tui.live import changed_positions, remember
from gmemtui.tui.piece_runs import PieceRuns
from gmemtui.tui.slot_view import SlotView


def _offset(sc: SlotCoverage) -> int:
    return sc.slot.offset


def _gpa(sc: SlotCoverage) -> int:
    return sc.slot.gpa


class BarData:
    """Groups, slot views and runs of every bar for one coverage; ``sync`` hands it the current one."""

    def __init__(self, coverage: Coverage, names: tuple[str, ...]) -> None:
        self.coverage = coverage
        self.names = tuple(names)
        self.version = -1  # the map's version the data is for
        self._groups_version = -1
        # per bar: (its group, its runs)
        self._runs: dict[tuple[str, int], tuple[tuple, PieceRuns]] = {}
        self._memo: dict[int, tuple] = {}
        self._groups: dict[tuple[str, int], tuple[SlotCoverage, ...]] = {}
        self._slots: dict[tuple[str, int], SlotView] = {}
        self._grouped: tuple[SlotCoverage, ...] = ()  # the coverage.slots that _groups were made from
        self._where: dict[int, list[tuple[tuple[str, int], int]]] | None = {}  # id(sc) -> [(group, position)]
        self._sets: PageSets | None = None

    def sync(self, coverage: Coverage, names: tuple[str, ...], version: int) -> None:
        """The map's coverage, its ladder's page names and its version (bumped by every change)."""
        self.coverage, self.names, self.version = coverage, tuple(names), version

    def regroup(self) -> None:
        """Per bar, the coverage of its slots (``("as", n)`` by gpa, ``("file", id)`` by offset); once
        per version for all bars. An edit replaces one SlotCoverage and keeps the others
        (``LiveCoverage``), so a bar whose group is the same objects as before shows the same thing."""
        if self._groups_version == self.version:
            return
        self._groups_version = self.version
        if self._patch_groups():
            return
        self._groups = groups_of(self.coverage.slots)  # one address space: the coverage's own tuple
        self._where = None  # built when a drag first patches the groups
        self._grouped = self.coverage.slots
        self._slots = {}

    def _where_of(self) -> dict[int, list[tuple[tuple[str, int], int]]]:
        """id(SlotCoverage) -> [(group, position)], for patching the groups (built once per regroup)."""
        if self._where is None:
            where: dict[int, list[tuple[tuple[str, int], int]]] = {}
            for k, v in self._groups.items():
                for i, sc in enumerate(v):
                    where.setdefault(id(sc), []).append((k, i))
            self._where = where
        return self._where

    def _patch_groups(self) -> bool:
        """Put the few changed SlotCoverage objects where the ones they replace were (same address
        space and file, same order); False if that does not hold (then group afresh)."""
        changed = changed_positions(self.coverage.slots, self._grouped)
        if changed is None:
            return False
        groups: dict[tuple[str, int], list[SlotCoverage]] = {}
        placed: list[tuple[tuple[str, int], int]] = []
        for i in changed:
            old, new = self._grouped[i], self.coverage.slots[i]
            if (old.slot.as_, old.slot.gmem) != (new.slot.as_, new.slot.gmem):
                return False
            for k, j in self._where_of()[id(old)]:
                if k not in groups:  # the coverage's own tuple where the group is all of it: no copy
                    whole = self._groups[k] is self._grouped
                    groups[k] = self.coverage.slots if whole else list(self._groups[k])
                if groups[k] is not self.coverage.slots:
                    groups[k][j] = new  # type: ignore[index]
                placed.append((k, j))
        for k, j in placed:  # each still between its neighbours (a drag cannot pass one)
            v, order = groups[k], _gpa if k[0] == "as" else _offset
            if j > 0 and order(v[j - 1]) >= order(v[j]):
                return False
            if j + 1 < len(v) and order(v[j]) >= order(v[j + 1]):
                return False
        where = self._where_of()
        for i in changed:
            where[id(self.coverage.slots[i])] = where.pop(id(self._grouped[i]))
        moved: dict[tuple[str, int], list[int]] = {}
        for k, j in placed:
            moved.setdefault(k, []).append(j)
        for k, v in groups.items():  # the runs, labels and attribute rows diff these: tell them where
            old_group = self._groups[k]
            self._groups[k] = v if isinstance(v, tuple) else tuple(v)
            remember(self._groups[k], old_group, sorted(moved[k]))
            old_slots = self._slots.pop(k, None)
            if old_slots is not None:  # the bar's slots: a new view over the new group
                self._slots[k] = SlotView(self._groups[k])
                remember(self._slots[k], old_slots, sorted(moved[k]))
        self._grouped = self.coverage.slots
        return True

    def group(self, kind: str, ident: int) -> tuple[SlotCoverage, ...]:
        self.regroup()
        return self._groups.get((kind, ident), ())

    def slots_of(self, kind: str, ident: int) -> SlotView:
        """The slots of address space ``ident`` by gpa (``"as"``), or the bindings of file ``ident`` by
        offset (``"file"``)."""
        self.regroup()
        out = self._slots.get((kind, ident))
        if out is None:
            out = self._slots[(kind, ident)] = SlotView(self._groups.get((kind, ident), ()))
        return out

    def runs_of(self, kind: str, ident: int) -> PieceRuns:
        """Runs ``(start, end, page index)`` of one bar: ``("as", n)`` on the GPA axis, ``("file", id)``
        on that file's offset axis, one piece per slot of the group (``PieceRuns``). Built again only
        when the bar's group changed; after a drag step only the changed slots' pieces are converted
        and put in, and the runs of a slot are converted once and reused while its coverage object is
        unchanged (``LiveCoverage``)."""
        group = self.group(kind, ident)
        hit = self._runs.get((kind, ident))
        if hit is not None and hit[0] is group:
            return hit[1]
        memo = self._memo
        if len(memo) > 4 * len(self.coverage.slots) + 64:
            memo.clear()  # entries of slots no longer shown (each keeps its runs, so ids stay unique)
        side = 1 if kind == "as" else 2
        changed = changed_positions(group, hit[0]) if hit is not None else None  # remembered: no compare
        runs: PieceRuns | None = None
        if changed is not None and hit is not None:  # a drag: convert the changed slots only
            if not changed:
                self._runs[(kind, ident)] = (group, hit[1])
                return hit[1]
            changes = {i: self.converted(group[i])[side] for i in changed}
            span: tuple[int, int] | None = None
            if hit[1].parts is not None:
                for piece in chain((hit[1].parts[i] for i in changed), changes.values()):
                    if piece:
                        lo, hi = piece[0][0], piece[-1][1]
                        span = (lo, hi) if span is None else (min(span[0], lo), max(span[1], hi))
            runs = hit[1].replaced(changes)
            if runs is not None:
                remember_span(hit[1], runs, span)  # the bar's patch_cells need not compare the run lists
        if runs is None:  # a new group: its runs are converted as the screen reads them
            runs = LazyPieceRuns.of(group, side, self.converted, self._page_sets())
        self._runs[(kind, ident)] = (group, runs)
        return runs

    def _page_sets(self) -> PageSets:
        """Each slot's set of page sizes, shared by every bar (and kept while the ladder is)."""
        sets = self._sets
        if sets is None or sets.names != self.names:
            sets = self._sets = PageSets(self.names)
        return sets

    def converted(self, sc: SlotCoverage) -> tuple:
        """(runs, GPA-axis runs, file-axis runs, (gpa, offset)) of one slot, memoised by its runs."""
        s = sc.slot
        m = self._memo.get(id(sc.runs))
        if m is None or m[0] is not sc.runs or m[3] != (s.gpa, s.offset):
            names = self.names
            shift = s.offset - s.gpa
            gpa_runs = [(r.gpa, r.end, names.index(r.page) if r.mappable else palette.NOT_MAPPABLE)
                        for r in sc.runs]
            file_runs = [(a + shift, b + shift, k) for a, b, k in gpa_runs]
            m = self._memo[id(sc.runs)] = (sc.runs, gpa_runs, file_runs, (s.gpa, s.offset))
        return m
