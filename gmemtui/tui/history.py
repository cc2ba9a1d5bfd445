"""Undo and redo of layouts. Layouts are immutable values, so history is a pair of stacks of them
and undo restores the very object that was shown before (no inverse operations to get wrong)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from gmemtui.core.model import Layout


@dataclass(frozen=True)
class History:
    present: Layout
    past: tuple[Layout, ...] = ()
    future: tuple[Layout, ...] = ()
    limit: int = 1000

    def push(self, layout: Layout) -> History:
        """A new step (a whole drag, a nudge, a what-if); an edit that changes nothing adds none."""
        if layout == self.present:
            return self
        past = (self.past + (self.present,))[-self.limit:]
        return replace(self, present=layout, past=past, future=())

    @property
    def can_undo(self) -> bool:
        return bool(self.past)

    @property
    def can_redo(self) -> bool:
        return bool(self.future)

    def undo(self) -> History:
        if not self.past:
            return self
        return replace(self, present=self.past[-1], past=self.past[:-1], future=(self.present,) + self.future)

    def redo(self) -> History:
        if not self.future:
            return self
        return replace(self, present=self.future[0], past=self.past + (self.present,), future=self.future[1:])
