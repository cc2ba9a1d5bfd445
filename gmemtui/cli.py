"""Command line (docs/commands.md). Parsing only.

Each command is one entry of ``COMMANDS``: its one-line help, a function that adds its arguments to
its parser, and the module whose ``main(args)`` runs it. Only the parser of the command being run is
built, and its module imported when it runs; only ``gmemtui [FILE]`` imports the TUI (Textual).
A bad command line is one line ``gmemtui: what is wrong`` and exit 2, never a usage block.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Callable

from gmemtui import __version__
from gmemtui.commands.argparser import Parser, nearest
from gmemtui.commands.options import add_layout_options, byte_size
from gmemtui.core.errors import InputError
from gmemtui.core.gcpause import paused_gc, skip_final_collection


def _state(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a state number (0 = before the first change)"
        ) from None


def _output_format(p: argparse.ArgumentParser) -> None:
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    fmt.add_argument("--markdown", action="store_true", help="Markdown that pastes into a review or a mail")


def _report(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML layout, QEMU trace or monitor dump (detected by content)")
    _output_format(p)
    p.add_argument("--state", type=_state, help="for a trace: the layout after state N (0 = empty)")
    add_layout_options(p)


def _explain(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML layout, QEMU trace or monitor dump (detected by content)")
    p.add_argument("gpa", help="guest-physical address of the frame (0x... or a size like 1G)")
    p.add_argument("--as", dest="as_", type=int, default=0, choices=(0, 1), help="address space (1 = SMM)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    add_layout_options(p)


def _diff(p: argparse.ArgumentParser) -> None:
    p.add_argument("old", help="the layout before (YAML, trace or monitor dump)")
    p.add_argument("new", help="the layout after (YAML, trace or monitor dump)")
    _output_format(p)
    p.add_argument("--fail-on-loss", action="store_true", help="exit 1 if any frame got a smaller page")
    p.add_argument("--old-state", type=_state, metavar="N", help="OLD is a trace: compare its state N")
    p.add_argument("--new-state", type=_state, metavar="N", help="NEW is a trace: compare its state N")
    add_layout_options(p)
    add_layout_options(p, "old-")
    add_layout_options(p, "new-")


def _convert(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="QEMU trace or monitor dump (a YAML layout is written back normalised)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    add_layout_options(p)


def _suggest(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML layout, QEMU trace or monitor dump (detected by content)")
    _output_format(p)
    p.add_argument("--all", action="store_true", help="combine every compatible suggestion into one layout")
    p.add_argument("-o", "--output", metavar="NEW.yaml",
                   help="write the suggested layout (the best suggestion, or all with --all)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--state", type=_state, help="for a trace: the layout after state N (0 = empty)")
    add_layout_options(p)


def _check(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML layout, QEMU trace or monitor dump (detected by content)")
    p.add_argument("--kvm", action="store_true", help="apply the layout on /dev/kvm and compare")
    p.add_argument("--levels", action="store_true", help="with --kvm: run a guest, compare page sizes")
    p.add_argument("--memory-limit", type=byte_size, default=1 << 30, metavar="SIZE",
                   help="with --levels: most guest memory to touch (default 1G)")
    add_layout_options(p)


def _tour(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", help="a directory of lesson files (default: the shipped lessons)")
    p.add_argument("--lesson", type=int, metavar="N", help="start at lesson N (1 = the first)")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return port


def _serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", help="the layout or trace to open (default: the seed layout)")
    p.add_argument("--host", default="localhost", help="address to listen on (default: localhost only)")
    p.add_argument("--port", type=_port, default=8000, help="TCP port (default 8000)")
    p.add_argument("--tour", nargs="?", const="", metavar="DIR",
                   help="serve the guided tour (its shipped lessons, or those in DIR)")


class Command:
    """One command: its one-line help, what adds its arguments, the module whose ``main(args)`` runs it.
    (A plain class: a dataclass would cost start-up for a table that is only read.)"""

    __slots__ = ("help", "arguments", "module")

    def __init__(self, help: str, arguments: Callable[[argparse.ArgumentParser], None], module: str) -> None:
        self.help = help
        self.arguments = arguments
        self.module = module  # has main(args) -> exit code


COMMANDS: dict[str, Command] = {
    "report": Command("coverage per slot and in total, with the runs", _report, "gmemtui.commands.report"),
    "explain": Command("every rule at every size for the frame at GPA", _explain,
                       "gmemtui.commands.explain"),
    "diff": Command("where the page size changed between two layouts, by GPA", _diff,
                    "gmemtui.commands.diff"),
    "convert": Command("write a trace's final layout as YAML", _convert, "gmemtui.commands.convert"),
    "check": Command("validate; with --kvm, ask this machine's /dev/kvm", _check, "gmemtui.commands.check"),
    "suggest": Command("layout changes that recover huge pages, each verified", _suggest,
                       "gmemtui.commands.suggest"),
    # the tour and serve run from the TUI package (importlib: cli never imports it at start-up)
    "tour": Command("the guided tour: lessons with tasks, for students", _tour, "gmemtui.tui.tour.run"),
    "serve": Command("the TUI (or --tour) in a web browser, via textual-serve", _serve, "gmemtui.tui.serve"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``command`` alone (start-up cost), or of every command for ``--help``."""
    names = list(COMMANDS)
    p = Parser(prog="gmemtui", description="KVM memslot / guest_memfd huge page explorer")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in ([command] if command else names):
        c = COMMANDS[name]
        c.arguments(sub.add_parser(name, help=c.help, description=c.help))
    return p


def build_tui_parser() -> argparse.ArgumentParser:
    names = ", ".join(COMMANDS)
    p = Parser(
        prog="gmemtui",
        usage=f"gmemtui [-h] [--version] [--follow] [layout options] [FILE]\n       gmemtui {{{names}}} ...",
        description="Open the TUI on a layout or trace (no FILE: the seed layout). "
        f"Other commands: {names} (gmemtui COMMAND --help).",
    )
    p.add_argument("file", nargs="?", help="YAML layout, QEMU trace or monitor dump (detected by content)")
    p.add_argument("--version", action="version", version=f"gmemtui {__version__}")
    p.add_argument("--follow", action="store_true",
                   help="FILE is a trace QEMU is still writing (-D FILE): show new lines as they arrive "
                   "(FILE - is standard input, a pipe: the same)")
    add_layout_options(p)
    return p


def _entry(command: str) -> Callable[[argparse.Namespace], int]:
    return importlib.import_module(COMMANDS[command].module).main


def _tui_args(argv: list[str]) -> argparse.Namespace:
    """``gmemtui [FILE]``; a FILE that does not exist and looks like a word is a mistyped command."""
    p = build_tui_parser()
    assert isinstance(p, Parser)
    args, extras = p.parse_known_args(argv)
    options = [a for a in extras if a.startswith("--") or re.match(r"-[^\d]", a)]
    if options:  # an unknown option first: what follows it may be its value, not a FILE
        name = options[0].split("=", 1)[0]
        owners = [c for c in COMMANDS
                  if name in build_parser(c).option_strings(argparse.Namespace(command=c))]  # type: ignore
        if owners:
            raise InputError(f"{name} is an option of gmemtui {' / '.join(owners)} "
                             f"(gmemtui {owners[0]} ... {name} ...)")
        raise InputError(p.unknown(options, args))
    word = args.file
    if word and word != "-" and not os.path.lexists(word) and (extras or not re.search(r"[./\\]", word)):
        names = ", ".join(COMMANDS)
        hint = nearest(word, COMMANDS, 0.5)
        raise InputError(f"{word!r} is neither a command ({names}) nor a file"
                         + (f"; did you mean {hint}?" if hint else ""))
    if extras:
        raise InputError(p.unknown(extras, args))
    return args


def main(argv: list[str] | None = None) -> int:
    """The program (the console script and ``python -m gmemtui`` call it without ``argv``: the process
    ends when it returns), or one command line run in this process (tests)."""
    if argv is not None:
        return _main(list(argv))
    try:
        return _main(sys.argv[1:])
    finally:
        skip_final_collection()


def _main(argv: list[str]) -> int:
    try:
        # Start-up (the parser, the modules and their classes) builds nothing the cyclic GC could
        # free: without the pause it would scan it again at each of a dozen collections.
        # Commands decide for their own run (report pauses it too; the TUI runs with it).
        if argv and argv[0] in COMMANDS:
            with paused_gc():
                args = build_parser(argv[0]).parse_args(argv)
                run = _entry(args.command)
            return run(args)
        with paused_gc():
            args = _tui_args(argv)
            from gmemtui.tui.run import main as run_tui

        return run_tui(args)
    except InputError as e:
        print(str(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
