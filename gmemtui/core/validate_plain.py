"""Whether a layout's slots and private ranges are plainly valid, decided column by column.

``validate.layout_errors`` checks each slot, each key, each binding and each overlap one by one,
building the message of whatever is wrong. At KVM's limit (32,763 slots) nearly every layout it
sees is valid, and that walk is a large share of loading one. ``entries_plainly_valid`` answers
the same question for the whole list at once -- one ``map`` per field, min/max/or over columns,
one sort per overlap sweep -- and words nothing: when it says False, ``layout_errors`` walks the
slots as before and its messages are unchanged (tests/test_validate_plain.py compares both).

The checks are those of ``validate._plainly_valid`` and ``layout_errors``: slot ids, address
spaces, base-page multiples, sizes, the gpa and ua limits, known flag bits, unique ``(as, slot)``,
bindings to a listed file and inside its size, no overlap by gpa per address space
(``kvm_check_memslot_overlap``) nor by offset per file (``kvm_gmem_bind``), and private ranges
aligned, non-empty and below the gpa limit on an arch with memory attributes.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import reduce
from itertools import compress, islice, repeat
from operator import add, attrgetter, is_not, lshift, lt, or_

from gmemtui.core.model import FLAG_NAMES, Layout
from gmemtui.core.platform import Platform

_KNOWN_FLAG_BITS = sum(FLAG_NAMES.values())
_UA_LIMIT = 1 << 64
_FIELDS = {name: attrgetter(name) for name in ("slot", "as_", "gpa", "size", "ua", "flags", "gmem", "offset")}


def _disjoint(groups: list[int], starts: list[int], ends: list[int]) -> list[int] | None:
    """No two ranges ``[start, end)`` of one group overlap (each range non-empty), as the sweeps of
    ``layout_errors`` find. Non-empty ranges are disjoint iff, starts and ends sorted apart, every
    start but the first is at or after the end before it (if two ranges share a point x, more starts
    than ends are at or before x, and the pair that breaks the rule is there); a group goes above
    bit 66 of both, so ranges of different groups never meet. The ends so sorted, or None: they
    overlap, or do not fit (the caller declines)."""
    if min(groups) < 0 or min(starts) < 0 or max(ends) > 1 << _GROUP_SHIFT:
        return None
    high = list(map(lshift, groups, repeat(_GROUP_SHIFT)))
    los = sorted(map(add, high, starts))
    his = sorted(map(add, high, ends))
    return None if any(map(lt, islice(los, 1, None), his)) else his


_GROUP_SHIFT = 66


def entries_plainly_valid(layout: Layout, plat: Platform) -> bool:
    """True when ``layout_errors`` would find nothing wrong with any slot, binding, overlap or
    private range (the layout-wide values and the files are checked apart)."""
    slots = layout.slots
    if slots:
        col = {name: list(map(get, slots)) for name, get in _FIELDS.items()}
        ids, spaces, gpas, sizes, uas = col["slot"], col["as_"], col["gpa"], col["size"], col["ua"]
        gmems, offsets = col["gmem"], col["offset"]
        bound = list(map(is_not, gmems, repeat(None)))
        bound_offsets = list(compress(offsets, bound))
        if not (
            min(ids) >= 0 and max(ids) <= plat.max_slot_id
            and min(spaces) >= 0 and max(spaces) < plat.address_spaces
            and not (reduce(or_, gpas) | reduce(or_, sizes) | reduce(or_, uas)
                     | reduce(or_, bound_offsets, 0)) & (plat.base.bytes - 1)
            and min(sizes) > 0
            and min(gpas) >= 0 and min(uas) >= 0 and min(offsets) >= 0
            and max(map(add, gpas, sizes)) <= 1 << plat.gpa_bits
            and max(map(add, uas, sizes)) <= _UA_LIMIT
            and not reduce(or_, col["flags"]) & ~_KNOWN_FLAG_BITS
            and len(set(zip(spaces, ids, strict=True))) == len(slots)
            and _disjoint(spaces, gpas, list(map(add, gpas, sizes))) is not None
        ):
            return False
        if bound_offsets:
            files = {}
            for f in layout.files:
                files.setdefault(f.id, f)
            bound_ids = list(compress(gmems, bound))
            bound_ends = list(map(add, bound_offsets, compress(sizes, bound)))
            his = _disjoint(bound_ids, bound_offsets, bound_ends) if set(bound_ids) <= files.keys() else None
            if his is None:
                return False
            for fid, f in files.items():  # the furthest binding of each file of a given size
                top = bisect_left(his, (fid + 1) << _GROUP_SHIFT) - 1
                if f.size and top >= 0 and his[top] >> _GROUP_SHIFT == fid \
                        and his[top] - (fid << _GROUP_SHIFT) > f.size:
                    return False
    private = layout.private
    if private is not None and not plat.memory_attributes:
        return False
    if private:
        gpas = list(map(_FIELDS["gpa"], private))
        sizes = list(map(_FIELDS["size"], private))
        if ((reduce(or_, gpas) | reduce(or_, sizes)) & (plat.base.bytes - 1) or min(sizes) <= 0
                or max(map(add, gpas, sizes)) > 1 << plat.gpa_bits):
            return False
    return True
