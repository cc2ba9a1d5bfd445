"""argparse with the project's error style: one line ``gmemtui: what is wrong`` (exit 2), naming the
nearest valid choice or option where there is one, instead of a usage block (docs/commands.md).

``--help`` is argparse's own. argparse's messages are rewritten by their (stable, English) shape; one
that is not recognised is passed through, still as one line.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable, Sequence

from gmemtui.core.errors import InputError

# What a choice is called in a message, by the argument's dest (a --old-/--new- prefix is ignored).
NOUNS = {"policy": "a policy", "as_": "an address space", "command": "a command"}
TYPE_NAMES = {"int": "an integer", "float": "a number"}


def nearest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The one valid spelling ``word`` most likely meant: the only choice it begins, else difflib's."""
    options = list(dict.fromkeys(choices))
    starts = [c for c in options if word and c.startswith(word)]
    if len(starts) == 1:
        return starts[0]
    import difflib  # only when there is a mistake to name

    close = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    return close[0] if close else None


def _meant(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    m = nearest(word, choices, cutoff)
    return f"did you mean {m}?" if m else ""


def _flag(action: argparse.Action) -> str:
    longs = [o for o in action.option_strings if o.startswith("--")]
    if longs or action.option_strings:
        return (longs or action.option_strings)[0]
    return str(action.metavar or action.dest).upper()


def choice_problem(action: argparse.Action, value: object) -> str:
    """``--policy: 'foo' is not a policy (per-range, whole-binding, 4k-only; did you mean ...?)``."""
    choices = [str(c) for c in action.choices or ()]
    dest = action.dest.removeprefix("old_").removeprefix("new_")
    noun = NOUNS.get(dest, "a valid choice")
    hint = _meant(str(value), choices, 0.5)
    listed = ", ".join(choices) + (f"; {hint}" if hint else "")
    return f"{_flag(action)}: {value!r} is not {noun} ({listed})"


class Formatter(argparse.HelpFormatter):
    """argparse's formatter with the terminal's width found without ``shutil``: argparse makes a
    formatter for every ``add_argument`` (to check metavars), and ``shutil`` pulls in ``bz2`` and
    ``lzma``, a few milliseconds of every ``gmemtui report`` that never prints help."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _columns() -> int:
    """What ``shutil.get_terminal_size().columns`` answers: $COLUMNS, else the terminal, else 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line ``gmemtui: ...`` (exit 2) instead of a usage block."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)
        # A value like -2M is a (bad) value, not an unknown option: no option here looks like -<digit>,
        # so everything that does is an argument ("--host-max-page -2M" says why -2M is wrong).
        self._negative_number_matcher = re.compile(r"^-\d.*", re.S)  # (match or fullmatch alike)

    def error(self, message: str):  # type: ignore[override]
        raise InputError(self.rewrite(message))

    def _check_value(self, action: argparse.Action, value: object) -> None:
        if action.choices is not None and value not in action.choices:
            raise InputError(choice_problem(action, value))

    def parse_args(self, args: Sequence[str] | None = None, namespace=None):  # type: ignore[override]
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            raise InputError(self.unknown(extras, ns))
        return ns

    def option_strings(self, ns: argparse.Namespace | None = None) -> list[str]:
        """Every option of this parser and of the subcommand chosen in ``ns`` (all if none)."""
        found = list(self._option_string_actions)
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = getattr(ns, action.dest, None) if ns is not None else None
                for name, sub in action.choices.items():
                    if chosen is None or name == chosen:
                        found += list(sub._option_string_actions)
        return found

    def unknown(self, extras: list[str], ns: argparse.Namespace | None = None) -> str:
        """The first argument nothing took: an unknown option (with the nearest one) or a stray word."""
        word = extras[0]
        command = getattr(ns, "command", None)
        where = f"gmemtui {command}" if command else "gmemtui"
        if word.startswith("-") and not re.match(r"^-\d", word):
            name = word.split("=", 1)[0]
            hint = _meant(name, [o for o in self.option_strings(ns) if o.startswith("--")])
            return f"unknown option {name} for {where}" + (f" ({hint})" if hint else f" (see {where} --help)")
        return f"unexpected argument {word!r} for {where} (see {where} --help)"

    def rewrite(self, message: str) -> str:
        m = re.fullmatch(r"the following arguments are required: (.*)", message)
        if m:
            names = ", ".join(n.upper() for n in m.group(1).split(", "))
            return f"{self.prog.removeprefix('gmemtui ')}: missing {names} (see {self.prog} --help)"
        m = re.fullmatch(r"argument (\S+): (.*)", message, re.S)
        if not m:
            return message
        flag = m.group(1).split("/")[-1]
        action = self._option_string_actions.get(flag)
        problem = m.group(2)
        if problem == "expected one argument":
            choices = f" ({', '.join(map(str, action.choices))})" if action and action.choices else ""
            metavar = f" {action.metavar}" if action and action.metavar else ""
            return f"{flag} needs a value{metavar}{choices}"
        other = re.fullmatch(r"not allowed with argument (\S+)", problem)
        if other:
            return f"{flag} and {other.group(1).split('/')[-1]} cannot be used together (pick one)"
        bad = re.fullmatch(r"invalid (\w+) value: (.*)", problem)
        if bad and action is not None and action.choices:
            listed = ", ".join(map(str, action.choices))
            noun = NOUNS.get(action.dest.removeprefix("old_").removeprefix("new_"), "a valid choice")
            return f"{flag}: {bad.group(2)} is not {noun} ({listed})"
        if bad:
            return f"{flag}: {bad.group(2)} is not {TYPE_NAMES.get(bad.group(1), 'a valid ' + bad.group(1))}"
        given = re.fullmatch(r"ignored explicit argument (.*)", problem)
        if given:
            return f"{flag} takes no value ({given.group(1)} given)"
        return f"{flag}: {problem}"
