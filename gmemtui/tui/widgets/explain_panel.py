"""The explain panel: for the frame under the mouse (or at the edited edge / the selected slot),
its page size and, for each larger size, the first rule that fails with the numbers that decide it
(``gmemtui.core.checks.explain_frame``: the same answer as ``gmemtui explain``)."""

from __future__ import annotations

from rich.text import Text

from gmemtui.core.checks import explain_frame
from gmemtui.core.coverage import Coverage
from gmemtui.core.facts import Attributes, SlotFacts
from gmemtui.core.model import Layout, Slot
from gmemtui.core.rules import frame_verdict
from gmemtui.tui.widgets.text_lines import TextLines


def slot_at(layout: Layout, as_: int, gpa: int) -> Slot | None:
    for s in layout.slots:
        if s.as_ == as_ and s.gpa <= gpa < s.end:
            return s
    return None


def explain_lines(layout: Layout, as_: int, gpa: int, coverage: Coverage | None = None,
                  attrs: Attributes | None = None) -> list[tuple[str, str]]:
    """(text, style) lines; plain data so tests can read them. ``coverage`` (of ``layout``) finds the
    slot by bisection and ``attrs`` (its memory attributes) saves rebuilding them: the app passes
    both on every drag step."""
    gpa -= gpa % layout.platform.base.bytes
    if coverage is not None:
        sc = coverage.at(as_, gpa)
        slot = sc.slot if sc is not None else None
    else:
        slot = slot_at(layout, as_, gpa)
    if slot is None:
        return [(f"explain {gpa:#x} · AS {as_} · in no slot (a hole)", "bold")]
    facts = SlotFacts.of(layout, slot, attrs)
    g = gpa >> facts.base_shift
    k, _ = frame_verdict(facts, g)
    private = facts.attrs.private_at(slot, g)
    name = f" {slot.name}" if slot.name else ""
    # rule 6: a private frame of a slot without guest_memfd is mapped at no size
    page = facts.page_names[k] if slot.gmem is not None or not private else "NOT MAPPABLE"
    head = (f"explain {gpa:#x} · AS {as_} · slot {slot.slot}{name} · frame {g:#x} · "
            f"{'private' if private else 'shared'} · {page}")
    out = [(head, "bold")]
    if page == "NOT MAPPABLE":
        out.append((f"  private, no guest_memfd: a private access exits to userspace "
                    f"(counted as {facts.page_names[0]})", "bold red"))
    first: dict[str, tuple[str, str] | None] = {}
    for check in explain_frame(facts, g):
        if check.page not in first:
            first[check.page] = None
        if not check.ok and first[check.page] is None:
            first[check.page] = (check.rule.code, check.numbers)
    for page, failed in first.items():
        if failed is None:
            out.append((f"  {page:>3} ✓ every rule holds", "green"))
        else:
            out.append((f"  {page:>3} ✗ {failed[0]}: {failed[1]}", ""))
    return out


class ExplainPanel(TextLines):
    DEFAULT_CSS = "ExplainPanel { height: auto; padding: 0 1; }"

    def show(self, layout: Layout, as_: int, gpa: int, coverage: Coverage | None = None,
             attrs: Attributes | None = None) -> None:
        text = Text()
        for i, (line, style) in enumerate(explain_lines(layout, as_, gpa, coverage, attrs)):
            if i:
                text.append("\n")
            text.append(line, style=style)
        self.set_text(text)
