"""The command palette (ctrl+p): every action of the app, found by fuzzy search.

The list is read from the live bindings (app, screen and every widget on the screen) each time the
palette opens, so a new key binding shows up here, in the footer and in the help screen without
anyone editing a second list. A few actions that take an argument (set a policy by name) are added
when the app has the action that accepts it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen

from gmemtui.core.model import POLICIES, POLICY_ALIASES, policy_title


@dataclass(frozen=True)
class ActionEntry:
    """One action as a person sees it: its description, the keys that run it, and where it runs."""

    description: str
    action: str
    keys: tuple[str, ...]  # display form, e.g. ("^s",) or ("←", "h")
    node: DOMNode  # namespace the action runs in
    where: str  # "app", "screen" or the widget's id/type, for the help screen


def _where(node: DOMNode) -> str:
    if isinstance(node, App):
        return "app"
    if isinstance(node, Screen):
        return "screen"
    return f"#{node.id}" if node.id else type(node).__name__


# Textual's own bindings worth listing; its others (scrolling, focus, copy) are not gmemtui actions.
TEXTUAL_KEPT = {"command_palette": "Command palette (all actions)", "quit": "Quit"}


def _textual_bindings(node: DOMNode) -> set[tuple[str, str]]:
    """(key, action) of the bindings a node inherits from Textual's own classes."""
    out: set[tuple[str, str]] = set()
    for cls in type(node).__mro__:
        if cls.__module__.split(".")[0] == "textual" and "BINDINGS" in cls.__dict__:
            out.update((b.key, b.action) for b in Binding.make_bindings(cls.__dict__["BINDINGS"]))
    return out


def _bindings_of(node: DOMNode) -> Iterator[Binding]:
    inherited = _textual_bindings(node)
    for bindings in node._bindings.key_to_bindings.values():
        for binding in bindings:
            if binding.action == "command_palette":  # added by App.__init__, named "palette"
                yield replace(binding, description=TEXTUAL_KEPT[binding.action])
            elif (binding.key, binding.action) not in inherited:
                yield binding
            elif binding.action in TEXTUAL_KEPT:
                yield replace(binding, description=TEXTUAL_KEPT[binding.action])


def collect_actions(app: App, screen: Screen | None = None) -> list[ActionEntry]:
    """Every described binding of the app, the screen and the screen's widgets, keys merged per action.

    Bindings without a description are left out, and so are those Textual's own classes add
    (scrolling, focus movement, copy), except the command palette and quit.
    """
    screen = screen if screen is not None else app.screen
    nodes: list[DOMNode] = [app, screen]
    nodes.extend(screen.walk_children(with_self=False))
    merged: dict[tuple[int, str], tuple[Binding, list[str], DOMNode]] = {}
    for node in nodes:
        for binding in _bindings_of(node):
            if not binding.description:
                continue
            key = (id(node), binding.action)
            shown = app.get_key_display(binding)
            if key in merged:
                if shown not in merged[key][1]:
                    merged[key][1].append(shown)
            else:
                merged[key] = (binding, [shown], node)
    seen: set[tuple[str, str]] = set()
    out: list[ActionEntry] = []
    for binding, keys, node in merged.values():
        # the same action bound on several widgets of one kind (two bars) is one entry
        ident = (binding.description, binding.action)
        if ident in seen:
            continue
        seen.add(ident)
        out.append(ActionEntry(binding.description, binding.action, tuple(keys), node, _where(node)))
    return out


def extra_actions(app: App) -> list[tuple[str, str, str]]:
    """(title, action string, help) for actions that take an argument, if the app has them."""
    extras: list[tuple[str, str, str]] = []
    if hasattr(app, "action_set_policy"):
        for policy in POLICIES:
            aliases = [a for a, c in POLICY_ALIASES.items() if c == policy]
            alias = f" (alias {', '.join(aliases)})" if aliases else ""
            extras.append((f"Set policy {policy}{alias}", f"set_policy({policy!r})",
                           f"Compute coverage with the {policy_title(policy)} rule of guest_memfd"))
    return extras


class GmemCommands(Provider):
    """Every gmemtui action in the command palette, with its key as the help line."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.app
        commands: list[tuple[str, Callable[[], object], str]] = []
        titles: set[str] = set()
        for entry in collect_actions(app, self.screen):
            title = entry.description
            if title in titles:
                continue
            titles.add(title)
            keys = " / ".join(entry.keys)
            commands.append((title, partial(app.run_action, entry.action, entry.node), f"key: {keys}"))
        for title, action, help_text in extra_actions(app):
            if title.lower() in {t.lower() for t in titles}:
                continue
            titles.add(title)
            commands.append((title, partial(app.run_action, action, app), help_text))
        return commands

    async def discover(self) -> Hits:
        for title, command, help_text in self._commands():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, command, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, help=help_text)

