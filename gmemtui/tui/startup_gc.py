"""The cyclic GC paused from loading a layout to the app's first paint, then the start-up heap frozen.

Start-up builds large acyclic structures: the layout (32,763 slots at KVM's limit), its coverage,
the map's run lists, the widgets. With the collector running, each allocation burst triggers
collections that re-scan everything still alive and free nothing (about a third of the time from
loading to the first paint at that size). After the first paint ``gc.freeze()`` moves what start-up
built into the permanent generation, so later collections (during a drag, say) do not walk it
either; reference counting still frees all of it as usual. See also ``gmemtui.core.gcpause``.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop the cyclic GC until ``resume`` (nothing to do if it is already off)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """After the first paint: freeze what start-up built and collect again (only if ``pause`` stopped it)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


def paused() -> bool:
    return _paused
