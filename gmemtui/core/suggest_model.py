"""What ``suggest`` returns: suggestions as edits of a layout, with their verified gain and cost, and
the slots nothing can help (docs/suggest.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from gmemtui.core.diff import Sweep
from gmemtui.core.model import Layout
from gmemtui.core.suggest_text import gain_text

KINDS = ("split", "offset", "ua", "setting")
Key = tuple[int, int]


@dataclass(frozen=True)
class Edit:
    """One change to a layout. ``what``: ``slot`` (a field of slot ``key``), ``split`` (slot ``key``
    replaced by the slots in ``new``), ``file`` (a field of guest_memfd ``key``) or ``vm``."""

    what: str
    key: Key | int | None
    field: str
    old: object
    new: object


@dataclass(frozen=True)
class Suggestion:
    kind: str
    as_: int
    slot: int  # the slot it is listed under
    title: str  # "split slot 5 at 0x200000"
    edits: tuple[Edit, ...]
    changes: dict = field(hash=False)  # the JSON "changes"
    cost: dict = field(hash=False)
    cost_text: str = ""
    gained: dict = field(default_factory=dict, hash=False)  # bytes per page size, as diff counts them
    lost: dict = field(default_factory=dict, hash=False)
    score: int = 0  # bytes times ladder rungs gained: the order "best gain first"
    slots: tuple[Key, ...] = ()  # every slot whose coverage it changes
    diff: Sweep | None = field(default=None, compare=False, hash=False)

    @property
    def key(self) -> Key:
        return (self.as_, self.slot)

    @property
    def line(self) -> str:
        """``split slot 5 at 0x200000: +2046M at 2M`` (what pastes into a review)."""
        return f"{self.title}: {gain_text(self.gained)}"


@dataclass(frozen=True)
class Unfixable:
    """Frames of one slot stopped by ``reason`` that no offered change recovers: ``bytes`` of them, the
    smallest at ``page``."""

    as_: int
    slot: int
    reason: str
    why: str
    page: str = ""
    bytes: int = 0


@dataclass(frozen=True)
class Suggestions:
    layout: Layout
    suggestions: tuple[Suggestion, ...]  # best gain first
    unfixable: tuple[Unfixable, ...]  # by (as, gpa)

    def for_slot(self, key: Key) -> list[Suggestion]:
        return [s for s in self.suggestions if key in s.slots]
