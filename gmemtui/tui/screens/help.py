"""The help screen (``?``): what the colours and glyphs mean, every reason code in plain words, every key.

Written for a student who has never read ``mmu.c``: each reason code says in one sentence why the
frame cannot be mapped with a larger page, and names the kernel function that decides it. The keys
are read from the live bindings when the screen opens, so this page cannot drift from the footer.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from gmemtui.core.model import POLICIES, POLICY_ALIASES, policy_title
from gmemtui.core.platform import Platform
from gmemtui.core.rules import RULES, Rule, rules_for
from gmemtui.tui.commands import collect_actions

INTRO = (
    "gmemtui shows, for every guest frame (one base page of guest-physical memory: 4 KiB on x86, "
    "16 or 64 KiB on arm64 hosts with those page sizes), the largest page KVM "
    "can map it with, and the first rule that stops the next larger page. The top bar of each "
    "address space is the guest-physical address (GPA) axis: slots are coloured spans, holes are "
    "blank. Below it, each guest_memfd file has a bar on its own offset axis, showing where each "
    "slot's private memory lives in the file."
)

GLYPH_NOTE = (
    "Each size has its own glyph, denser as pages grow, so the map reads without colour too "
    "(NO_COLOR). The colours are a colour-blind-safe palette (Okabe-Ito) and follow the theme "
    "(change it from the command palette: type \"theme\")."
)

POLICY_TEXT = {
    "per-range": "a huge folio is used wherever it lies wholly inside the binding and lines up "
    "with the guest frame (the v13 patch, the THP and HugeTLB guest_memfd RFCs).",
    "whole-binding": "huge folios only when the whole binding (offset and size) is aligned; one "
    "unaligned edge costs the whole slot its huge pages (the Sep 2023 [PATCH 06/13]).",
    "mainline": "guest_memfd always hands out base pages (order-0 folios): what merged Linux does from "
    "6.8 through 7.0, on x86 and arm64 (alias 4k-only).",
}

# Used when the app does not publish its own list (GmemApp.MOUSE_HELP: tuple of (gesture, effect)).
DEFAULT_MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("move over a bar", "explain the frame under the mouse"),
    ("drag a slot's start or end edge",
     "resize the slot (moving the start moves its guest_memfd offset too)"),
    ("drag the middle of a slot", "move the whole slot"),
    ("drag a binding on a file bar", "move the binding in the file (changes the offset only)"),
    ("hold a modifier while dragging", "snap to the next page size instead of the base page"),
    ("wheel over a bar", "zoom in and out around the mouse"),
)


def _section(title: str) -> Static:
    return Static(Text(title, style="bold underline"), classes="help-title")


def legend_table(screen: Screen, names: tuple[str, ...] | None = None) -> Table:
    """One row per page size (its colour and glyph on the map, what it means), then mixed and hole."""
    from gmemtui.tui import palette

    if names is None:
        platform = getattr(getattr(screen.app, "layout", None), "platform", None)
        names = platform.names if platform is not None else _default_names()
    variables = screen.app.theme_variables or screen.app.get_css_variables()
    styles = palette.styles(variables)
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    table.add_column("map", no_wrap=True)
    table.add_column("page", no_wrap=True, style="bold")
    table.add_column("meaning", ratio=1)
    for glyph, label, k in palette.legend(names):
        sample = Text(glyph * 6, style=styles[min(k, len(styles) - 1)] if k is not None else "")
        if k is None or label not in names:
            table.add_row(sample, label.split(":")[0], label.split(": ", 1)[-1] if ":" in label else "")
            continue
        if k == 0:
            meaning = f"base page: the frame is mapped on its own {label} page"
        else:
            meaning = f"the frame is part of one {label} page ({label}-aligned, {label} long)"
        if k == len(names) - 1:
            meaning += ": the largest size, so no reason is given"
        else:
            meaning += f"; the explain panel names the rule that stops {names[k + 1]}"
        table.add_row(sample, label, meaning)
    from gmemtui.tui import attributes

    for glyph, word, meaning in attributes.LEGEND:  # the thin row under each GPA bar
        table.add_row(Text(glyph * 6), word, "attribute row: " + meaning)
    small, large = (names[1], names[-1]) if len(names) > 1 else ("large", "large")
    table.add_row(Text(f"{palette.BOUNDARY[1]}  {palette.BOUNDARY[-1]}"), "bounds",
                  f"axis row in slot scale: a {small} boundary ({palette.BOUNDARY[1]}) or a {large} "
                  f"one ({palette.BOUNDARY[-1]}), where those pages may start")
    return table


def _default_names() -> tuple[str, ...]:
    from gmemtui.core.platform import X86_64

    return X86_64.names


def _frames_checked(rule: Rule) -> str:
    """Which frames a rule is checked for, in words, from the rules module's own ``applies``."""
    if rule.applies == "all":
        return "every frame"
    if rule.applies == "shared":
        return "shared frames backed by ua"
    if rule in rules_for(uses_gmem=True, private=False):  # shared frames of a guest_memfd-only slot
        return "private frames, and shared frames of mmap files"
    return "private frames"


def rules_table() -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("reason", no_wrap=True, style="bold")
    table.add_column("what it means", ratio=3)
    table.add_column("kernel", ratio=2, style="italic")
    for rule in RULES:
        plain = Text(rule.plain)
        plain.append(f"\nchecked for: {_frames_checked(rule)}", style="italic")
        table.add_row(str(rule.number), rule.code, plain, rule.source)
    return table


def policy_table() -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column("policy", no_wrap=True, style="bold")
    table.add_column("meaning", ratio=1)
    for policy in POLICIES:
        aliases = [a for a, c in POLICY_ALIASES.items() if c == policy]
        title = policy_title(policy) + (f"\nalias {', '.join(aliases)}" if aliases else "")
        table.add_row(title, POLICY_TEXT.get(policy, ""))
    return table


def arch_text(platform: Platform) -> str:
    """The ladder and what the arch's KVM supports, in words (docs/architectures.md)."""
    facts = [f"pages {', '.join(platform.names)} (base page {platform.base.name})"]
    facts.append("memory attributes: private frames and rule 4" if platform.memory_attributes else
                 "no memory attributes: every frame is shared, rule 4 never fails")
    if platform.gmem_only:
        facts.append("every guest_memfd slot is guest_memfd-only: the file decides shared frames too")
    facts.append("a vendor cap on private pages (rule 8)" if platform.private_cap else
                 "no vendor cap on private pages (rule 8 never fails)")
    return "; ".join(facts) + f". Kernel: {platform.kernel}."


def suggest_table() -> Table:
    """The kinds of suggestion the ``f`` panel offers (``gmemtui suggest``), in plain words."""
    from gmemtui.core.suggest_text import KIND_HELP

    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column("kind", no_wrap=True, style="bold")
    table.add_column("meaning", ratio=1)
    for kind, text in KIND_HELP.items():
        table.add_row(kind, text)
    table.add_row("", "Each suggestion is checked by recomputing the layout: it never loses a frame's page "
                  "size, never changes what the guest sees, and shows its exact gain. f lists them for the "
                  "selected slot; the map previews the highlighted one; enter applies it (u undoes).")
    return table


def keys_table(help_screen: HelpScreen) -> Table:
    app = help_screen.app
    below = [s for s in app.screen_stack if s is not help_screen]
    screen = below[-1] if below else app.screen
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    table.add_column("keys", no_wrap=True, style="bold")
    table.add_column("action", ratio=1)
    for entry in collect_actions(app, screen):
        table.add_row(" ".join(entry.keys), entry.description)
    table.add_row("esc q", "close this help")
    return table


def mouse_table(help_screen: HelpScreen) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    table.add_column("mouse", no_wrap=True, style="bold")
    table.add_column("action", ratio=1)
    for gesture, effect in mouse_actions(help_screen):
        table.add_row(gesture, effect)
    return table


def mouse_actions(help_screen: HelpScreen) -> list[tuple[str, str]]:
    """The app's MOUSE_HELP (else a default), then that of widgets on the screen below (the timeline)."""
    from gmemtui.tui.widgets.timeline import Timeline

    app = help_screen.app
    out = list(getattr(app, "MOUSE_HELP", DEFAULT_MOUSE_HELP))
    below = [s for s in app.screen_stack if s is not help_screen]
    widgets = list(below[-1].walk_children()) if below else []
    for extra in [getattr(w, "MOUSE_HELP", ()) for w in widgets] + [Timeline.MOUSE_HELP]:
        out.extend(row for row in extra if row not in out)
    return out


class HelpScreen(ModalScreen[None]):
    """Scrollable help; esc or q closes it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 90%;
        max-width: 130;
        height: 90%;
        border: thick $accent;
        border-title-align: center;
        background: $surface;
        padding: 0 2;
    }
    HelpScreen .help-title {
        margin-top: 1;
        color: $accent;
    }
    """
    BINDINGS = [
        Binding("escape", "close", "Close help"),
        Binding("q", "close", "Close help", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as scroll:
            scroll.border_title = "gmemtui help · esc closes"
            yield Static(INTRO, id="help-intro", classes="help-text")
            yield _section("Colours and glyphs")
            yield Static(legend_table(self), id="help-legend")
            yield Static(GLYPH_NOTE, classes="help-text")
            yield _section("Why not a larger page? The reason codes, in the order KVM checks them")
            yield Static(rules_table(), id="help-rules")
            yield _section("Policies: which kernel's guest_memfd rule decides private memory")
            yield Static(policy_table(), id="help-policies")
            platform = getattr(getattr(self.app, "layout", None), "platform", None)
            if platform is not None:
                yield _section(f"This layout's architecture: {platform.arch}")
                yield Static(arch_text(platform), id="help-arch", classes="help-text")
            yield _section("Suggestions (f): what would recover the huge pages")
            yield Static(suggest_table(), id="help-suggest")
            yield _section("Keys")
            yield Static(keys_table(self), id="help-keys")
            yield _section("Mouse")
            yield Static(mouse_table(self), id="help-mouse")

    def on_mount(self) -> None:
        self.query_one("#help", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
