"""``gmemtui tour [DIR]``: load the lessons (shipped, or a teacher's directory), then run the tour.
A bad lesson is one line ``FILE:LINE: ...`` and exit 2 before Textual starts."""

from __future__ import annotations

import argparse
import sys

from gmemtui.core.errors import InputError
from gmemtui.formats.lessons import load_lessons


def main(args: argparse.Namespace) -> int:
    try:
        lessons = load_lessons(getattr(args, "dir", None))
    except InputError as e:
        print(str(e), file=sys.stderr)
        return 2
    start = getattr(args, "lesson", None)
    start = 1 if start is None else start
    if not 1 <= start <= len(lessons):
        print(f"gmemtui: --lesson {start}: there are lessons 1..{len(lessons)}", file=sys.stderr)
        return 2
    from gmemtui.tui.tour.app import TourApp

    TourApp(lessons, start - 1).run()
    return 0
