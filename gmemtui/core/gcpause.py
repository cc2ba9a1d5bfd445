"""Pause Python's cyclic garbage collector while a large acyclic structure is built, and keep it
from walking everything once more when the process ends.

Loading a 32,763-slot layout allocates millions of YAML nodes, marks, dataclasses and dicts, none
of them in a reference cycle. Each allocation burst triggers collections that re-scan everything
still alive and free nothing: about half the wall time of ``gmemtui report`` at that size.
Reference counting still frees everything as usual; only the cycle search waits.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic GC for the block; nested use and an already-disabled GC are respected."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def skip_final_collection() -> None:
    """Call when the process is about to end: the interpreter's last collection at exit would walk
    every object still alive (modules, classes, the layout and its coverage) to free nothing worth
    it: 5 % of the instructions of ``gmemtui report`` on the seed layout. ``gc.freeze`` moves them to the
    permanent generation, which no collection scans; memory is returned to the system at exit anyway.
    Not for a process that goes on: whatever is frozen is never collected."""
    gc.freeze()
