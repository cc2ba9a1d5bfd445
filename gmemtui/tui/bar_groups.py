"""Which slots each bar of the map shows: per address space its slots by gpa, per guest_memfd file
its bindings by offset. Built from the coverage (sorted by (as, gpa)) with C-level passes (slices,
``compress``, ``attrgetter`` keys): at 32,763 slots a Python loop per slot and bar was a visible part
of the first paint."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import compress, islice, repeat
from operator import attrgetter, eq, le

from gmemtui.core.coverage import SlotCoverage

Groups = dict[tuple[str, int], tuple[SlotCoverage, ...]]

_slot = attrgetter("slot")
_as = attrgetter("as_")
_gmem = attrgetter("gmem")
_offset = attrgetter("offset")


def groups_of(slots: Sequence[SlotCoverage]) -> Groups:
    """``("as", n)``: the slots of address space n in the coverage's order (by gpa); ``("file", id)``:
    the slots bound to file id, by offset (ties keep the coverage's order)."""
    slots = tuple(slots)
    out: Groups = {}
    if not slots:
        return out
    plain = list(map(_slot, slots))  # the Slot objects: read once, then their fields by C-level passes
    spaces = list(map(_as, plain))  # ascending: the coverage is sorted by (as, gpa)
    i = 0
    for a in sorted(set(spaces)):
        j = bisect_right(spaces, a, i)
        out[("as", a)] = slots[i:j] if (i, j) != (0, len(slots)) else slots
        i = j
    gmems = list(map(_gmem, plain))
    ids = set(gmems)
    ids.discard(None)
    if not ids:
        return out
    offsets = list(map(_offset, plain))
    for f in sorted(ids):
        where = list(compress(range(len(slots)), map(eq, gmems, repeat(f))))
        at = list(map(offsets.__getitem__, where))
        if not all(map(le, at, islice(at, 1, None))):  # bindings in gpa order are mostly in offset order
            where.sort(key=offsets.__getitem__)  # stable: ties keep the coverage's order
        out[("file", f)] = tuple(map(slots.__getitem__, where))
    return out
