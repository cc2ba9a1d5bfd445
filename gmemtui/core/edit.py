"""Edits of a layout as pure functions: drag a slot edge, a whole slot or a binding; nudge; what-if.

Every operation takes a valid layout and a wanted value and returns a valid layout: the value is
clamped so that slots of one address space never overlap (``__kvm_set_memory_region`` -EEXIST),
bindings of one file never overlap and stay inside a file of explicit size (``kvm_gmem_bind``
-EINVAL), a slot keeps at least one base page, and every address stays below ``2**gpa_bits``.
Clamping (rather than refusing) is what a drag wants: the edge stops at the neighbour.

Moving a slot's *start* by d also moves ``ua`` and the guest_memfd ``offset`` by d, so every other
frame keeps its host address and file index (docs/tui.md: QEMU shrinking a RAM region from below).
Moving a *whole* slot changes ``gpa`` only: the same host memory and file pages appear at another
guest address, which is what changes the gpa/ua and gfn/index congruences (rules 3 and 11).
"""

from __future__ import annotations

from dataclasses import replace

from gmemtui.core.model import POLICIES, Layout, Slot

PARTS = ("start", "end", "slot", "binding")
_NO_LIMIT = 1 << 64  # a file of implicit size grows with its bindings (guest_memfd offsets are u64)


def granule(layout: Layout, level: int) -> int:
    """Bytes of the ladder size ``level`` (0 = base page), clamped to the ladder."""
    ladder = layout.platform.ladder
    return ladder[max(0, min(level, len(ladder) - 1))].bytes


def snap(value: int, step: int) -> int:
    """``value`` rounded to the nearest multiple of ``step`` (halves round up)."""
    return (value + step // 2) // step * step


def _clamp(value: int, lo: int, hi: int) -> int:
    return max(lo, min(value, hi))


def slot_room(layout: Layout, slot: Slot) -> tuple[int, int]:
    """The free GPA range ``[lo, hi)`` around ``slot`` in its address space (neighbours' edges)."""
    return layout.neighbours.gpa_room(slot, 1 << layout.platform.gpa_bits)


def binding_room(layout: Layout, slot: Slot) -> tuple[int, int]:
    """The free offset range ``[lo, hi)`` around the slot's binding in its guest_memfd file."""
    assert slot.gmem is not None
    f = layout.file(slot.gmem)
    top = f.size if f is not None and f.size is not None else _NO_LIMIT
    return layout.neighbours.offset_room(slot, top)


def value_of(slot: Slot, part: str) -> int:
    """The number a drag of ``part`` changes: start/slot -> gpa, end -> end, binding -> offset."""
    return {"start": slot.gpa, "end": slot.end, "slot": slot.gpa, "binding": slot.offset}[part]


def set_start(layout: Layout, key: tuple[int, int], gpa: int) -> Layout:
    """Move the start edge to ``gpa`` (clamped); the end stays; ua and offset follow the start."""
    i = layout.slot_index(key)
    s = layout.slots[i]
    base = layout.platform.base.bytes
    lo, _ = slot_room(layout, s)
    lo = max(lo, s.gpa - s.ua)
    if s.gmem is not None:
        blo, _ = binding_room(layout, s)
        lo = max(lo, s.gpa - (s.offset - blo))
    new = _clamp(gpa - gpa % base, lo, s.end - base)
    if new == s.gpa:
        return layout
    d = new - s.gpa
    return layout.with_slot(i, gpa=new, size=s.size - d, ua=s.ua + d,
                            offset=s.offset + d if s.gmem is not None else s.offset)


def set_end(layout: Layout, key: tuple[int, int], end: int) -> Layout:
    """Move the end edge to ``end`` (clamped); gpa, ua and offset stay."""
    i = layout.slot_index(key)
    s = layout.slots[i]
    base = layout.platform.base.bytes
    _, hi = slot_room(layout, s)
    if s.gmem is not None:
        _, bhi = binding_room(layout, s)
        hi = min(hi, s.gpa + bhi - s.offset)
    new = _clamp(end - end % base, s.gpa + base, hi)
    return layout if new == s.end else layout.with_slot(i, size=new - s.gpa)


def move_slot(layout: Layout, key: tuple[int, int], gpa: int) -> Layout:
    """Move the whole slot to ``gpa`` (clamped between its neighbours); size, ua and offset stay."""
    i = layout.slot_index(key)
    s = layout.slots[i]
    base = layout.platform.base.bytes
    lo, hi = slot_room(layout, s)
    new = _clamp(gpa - gpa % base, lo, hi - s.size)
    return layout if new == s.gpa else layout.with_slot(i, gpa=new)


def move_binding(layout: Layout, key: tuple[int, int], offset: int) -> Layout:
    """Move the slot's binding to ``offset`` in its file (clamped); nothing else changes."""
    i = layout.slot_index(key)
    s = layout.slots[i]
    if s.gmem is None:
        return layout
    base = layout.platform.base.bytes
    lo, hi = binding_room(layout, s)
    new = _clamp(offset - offset % base, lo, hi - s.size)
    return layout if new == s.offset else layout.with_slot(i, offset=new)


_OPS = {"start": set_start, "end": set_end, "slot": move_slot, "binding": move_binding}


def apply(layout: Layout, key: tuple[int, int], part: str, value: int) -> Layout:
    """Set ``part`` of slot ``key`` to ``value`` (clamped to keep the layout valid)."""
    return _OPS[part](layout, key, value)


def drag(layout: Layout, key: tuple[int, int], part: str, delta: int, level: int = 0) -> Layout:
    """A drag by ``delta`` bytes from ``layout`` (the layout at mouse-down), snapped to ladder size
    ``level`` (0: the base page; a modifier key asks for the next size)."""
    s = layout.slots[layout.slot_index(key)]
    return apply(layout, key, part, snap(value_of(s, part) + delta, granule(layout, level)))


def nudge(layout: Layout, key: tuple[int, int], part: str, direction: int, level: int = 0) -> Layout:
    """Move ``part`` to the next multiple of the ladder size ``level`` in ``direction`` (+1/-1):
    from an aligned value that is one page; from an unaligned one it is the alignment."""
    s = layout.slots[layout.slot_index(key)]
    step = granule(layout, level)
    v = value_of(s, part)
    target = (v // step + 1) * step if direction > 0 else (v - 1) // step * step
    return apply(layout, key, part, max(target, 0))


# -- what-if: one setting at a time, cycling through its values ------------------------------------

def _next(values: list[int] | tuple[str, ...], current: object) -> object:
    try:
        return values[(list(values).index(current) + 1) % len(values)]
    except ValueError:
        return values[0]


def cycle_policy(layout: Layout) -> Layout:
    return replace(layout, policy=_next(POLICIES, layout.policy))


def cycle_host_max_page(layout: Layout) -> Layout:
    sizes = [p.bytes for p in layout.platform.ladder]
    return replace(layout, host_max_page=_next(sizes, layout.host_max_page))


def cycle_private_max_page(layout: Layout) -> Layout:
    sizes = [p.bytes for p in layout.platform.ladder]
    return replace(layout, private_max_page=_next(sizes, layout.private_max_page))


def cycle_gmem_max_page(layout: Layout) -> Layout:
    """Every file's folio size to the next ladder size after the first file's (all files alike)."""
    if not layout.files:
        return layout
    new = _next([p.bytes for p in layout.platform.ladder], layout.files[0].max_page)
    return replace(layout, files=tuple(replace(f, max_page=new) for f in layout.files))
