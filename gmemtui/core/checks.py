"""Every rule at every size for one frame, pass or fail: what ``gmemtui explain`` and the TUI's
explain panel print. Apart from ``rules`` because only they need it: ``report`` does not import it
(one dataclass fewer to generate at start-up)."""

from __future__ import annotations

from dataclasses import dataclass

from gmemtui.core.facts import SlotFacts
from gmemtui.core.rules import Rule, applicable


@dataclass(frozen=True)
class Check:
    """One rule at one size, for ``explain``."""

    page: str
    rule: Rule
    ok: bool
    numbers: str


def explain_frame(facts: SlotFacts, g: int) -> list[Check]:
    """Every applicable rule at every size above the base page, pass or fail, with its numbers."""
    private = facts.attrs.private_at(facts.slot, g)
    out: list[Check] = []
    for k in range(1, len(facts.page_frames)):
        n = facts.page_frames[k]
        f = g - g % n
        for rule in applicable(facts, private):
            out.append(Check(facts.page_names[k], rule, not rule.fails(facts, f, n, private),
                             rule.numbers(facts, f, n, private)))
    return out
