"""Lesson tasks as conditions on the model (docs/tour.md): met or not, read from the layout and its
coverage, never from the keys a student pressed. The tour asks ``met`` after every change, so a
student may solve a task any way they like (a drag, a nudge, the palette, undo back to it).

Every condition is closed-form: a coverage condition walks the runs that overlap its range (a few
per slot), not frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gmemtui.core.coverage import Coverage
from gmemtui.core.model import Layout, Slot

SLOT_FIELDS = ("gpa", "size", "end", "ua", "offset")
SETTINGS = ("policy", "host_max_page", "private_max_page")
NO_REASON = "none"  # ``reason: none``: the frames are at the largest size their rules allow
# the merged kernel's policy has two names (docs/rules.md); a task naming either matches both
POLICY_ALIASES = {"4k-only": "mainline"}


def policy_name(policy: str) -> str:
    return POLICY_ALIASES.get(policy, policy)


@dataclass(frozen=True)
class Condition:
    line: int = field(compare=False)  # where it is written in the lesson file (not part of equality)

    def met(self, layout: Layout, coverage: Coverage) -> bool:
        raise NotImplementedError


def _slot(layout: Layout, as_: int, slot: int) -> Slot | None:
    try:
        return layout.slots[layout.slot_index((as_, slot))]
    except KeyError:
        return None


@dataclass(frozen=True)
class CoverageIs(Condition):
    """Every frame of ``[gpa, gpa+size)`` (or of slot ``slot`` as it is now) lies in a slot and is
    mapped with ``page`` (exactly), with at least ``at_least``, and/or for ``reason``."""

    as_: int = 0
    gpa: int | None = None
    size: int | None = None
    slot: int | None = None
    page: str | None = None
    at_least: str | None = None
    reason: str | None = None

    def range(self, layout: Layout) -> tuple[int, int] | None:
        if self.slot is not None:
            s = _slot(layout, self.as_, self.slot)
            return None if s is None else (s.gpa, s.end)
        assert self.gpa is not None
        return self.gpa, self.gpa + (self.size or layout.platform.base.bytes)

    def met(self, layout: Layout, coverage: Coverage) -> bool:
        span = self.range(layout)
        if span is None:  # the slot was deleted: nothing of it is mapped as asked
            return False
        lo, hi = span
        names = layout.platform.names
        covered = lo
        for sc in coverage.slots:  # sorted by (as, gpa): the runs come in GPA order
            if sc.slot.as_ != self.as_ or sc.slot.end <= lo or sc.slot.gpa >= hi:
                continue
            for run in sc.runs:
                if run.end <= lo or run.gpa >= hi:
                    continue
                if run.gpa > covered:  # a hole inside the range
                    return False
                if self.page is not None and run.page != self.page:
                    return False
                if self.at_least is not None and names.index(run.page) < names.index(self.at_least):
                    return False
                if self.reason is not None and (run.reason or NO_REASON) != self.reason:
                    return False
                covered = max(covered, run.end)
        return covered >= hi


@dataclass(frozen=True)
class BytesAt(Condition):
    """At least ``at_least`` bytes of slot ``slot`` (or of the whole guest) are mapped with ``page``."""

    page: str = ""
    at_least: int = 1
    as_: int = 0
    slot: int | None = None

    def met(self, layout: Layout, coverage: Coverage) -> bool:
        if self.slot is None:
            return coverage.total.get(self.page, 0) >= self.at_least
        try:
            return coverage.slot((self.as_, self.slot)).bytes.get(self.page, 0) >= self.at_least
        except KeyError:
            return False


@dataclass(frozen=True)
class SlotIs(Condition):
    """Slot ``(as, slot)`` has these values (``gpa``, ``size``, ``end``, ``ua``, ``offset``)."""

    as_: int = 0
    slot: int = 0
    values: tuple[tuple[str, int], ...] = ()

    def met(self, layout: Layout, coverage: Coverage) -> bool:
        s = _slot(layout, self.as_, self.slot)
        return s is not None and all(getattr(s, name) == value for name, value in self.values)


@dataclass(frozen=True)
class SettingIs(Condition):
    """A VM-wide setting: ``policy``, ``host_max_page`` or ``private_max_page``."""

    name: str = "policy"
    value: str | int = ""

    def met(self, layout: Layout, coverage: Coverage) -> bool:
        value = getattr(layout, self.name)
        if self.name == "policy":
            return policy_name(value) == policy_name(str(self.value))
        return value == self.value


@dataclass(frozen=True)
class FileIs(Condition):
    """guest_memfd file ``id`` has folios of ``max_page`` at most."""

    id: int = 0
    max_page: int = 0

    def met(self, layout: Layout, coverage: Coverage) -> bool:
        f = layout.file(self.id)
        return f is not None and f.max_page == self.max_page


@dataclass(frozen=True)
class AllOf(Condition):
    parts: tuple[Condition, ...] = ()

    def met(self, layout: Layout, coverage: Coverage) -> bool:
        return all(c.met(layout, coverage) for c in self.parts)


@dataclass(frozen=True)
class AnyOf(Condition):
    parts: tuple[Condition, ...] = ()

    def met(self, layout: Layout, coverage: Coverage) -> bool:
        return any(c.met(layout, coverage) for c in self.parts)


@dataclass(frozen=True)
class NotOf(Condition):
    part: Condition | None = None

    def met(self, layout: Layout, coverage: Coverage) -> bool:
        assert self.part is not None
        return not self.part.met(layout, coverage)
