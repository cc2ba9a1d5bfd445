"""``gmemtui serve``: the TUI (or the tour) in a web browser, through textual-serve.

textual-serve runs one ``python -m gmemtui ...`` process per browser tab and relays its terminal
over a websocket, so this module imports neither Textual nor the app: only the command line of the
process to run is built here. textual-serve is an optional extra (``pip install 'gmemtui[web]'``).
It binds to localhost unless ``--host`` says otherwise: the page is a full session on this machine.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from gmemtui.core.errors import InputError


def app_command(args: argparse.Namespace) -> str:
    """The shell command textual-serve starts for each browser session."""
    parts = [sys.executable, "-m", "gmemtui"]
    tour = getattr(args, "tour", None)
    if tour is not None:
        parts.append("tour")
        if tour:
            parts.append(tour)
    elif getattr(args, "file", None):
        parts.append(args.file)
    return shlex.join(parts)


def check_before_serving(args: argparse.Namespace) -> None:
    """Bad input is reported here, once, not in every browser tab's process."""
    tour = getattr(args, "tour", None)
    if tour is not None:
        from gmemtui.formats.lessons import load_lessons

        load_lessons(tour or None)
    elif getattr(args, "file", None):
        from gmemtui.formats.loader import load

        load(args.file)


def main(args: argparse.Namespace) -> int:
    try:
        check_before_serving(args)
    except InputError as e:
        print(str(e), file=sys.stderr)
        return 2
    try:
        from textual_serve.server import Server
    except ImportError:
        print("gmemtui: serve needs textual-serve: pip install 'gmemtui[web]' (or pip install textual-serve)",
              file=sys.stderr)
        return 2
    title = "gmemtui tour" if getattr(args, "tour", None) is not None else "gmemtui"
    Server(app_command(args), host=args.host, port=args.port, title=title).serve()
    return 0
