"""``gmemtui [FILE]``: load the layout or trace (or the built-in seed), then run the app. Bad input is
reported as one line and exit 2 before Textual starts (the terminal is never left in app mode)."""

from __future__ import annotations

import argparse
import os
import sys

from gmemtui.commands.options import overrides_from
from gmemtui.core.errors import InputError
from gmemtui.formats.loader import default_layout_path, load


def main(args: argparse.Namespace) -> int:
    path = getattr(args, "file", None)
    if path == "-" or getattr(args, "follow", False):  # a live trace: gmemtui.tui.follow
        from gmemtui.tui.follow import main as follow

        return follow(args)
    from gmemtui.tui import startup_gc

    startup_gc.pause()  # until the first paint: loading and building allocate, never free (startup_gc)
    try:
        loaded = load(path or default_layout_path(), overrides_from(args))
    except InputError as e:
        startup_gc.resume()
        print(str(e), file=sys.stderr)
        return 2
    from gmemtui.formats.fileio import sweep_temp_files

    for directory in {os.path.dirname(os.path.realpath(loaded.path)), os.getcwd()}:
        sweep_temp_files(directory)  # a save killed before its rename left its temporary file there
    from gmemtui.tui.app import GmemApp

    GmemApp(loaded, path_opened=path is not None).run()
    return 0
