"""Edits a running VM makes to its own layout, which the tour lets a student make by hand: the guest
converting memory between private and shared (``KVM_SET_MEMORY_ATTRIBUTES``, driven by the guest's
page-state-change requests), and QEMU turning dirty logging on or off around a migration
(``KVM_MEM_LOG_DIRTY_PAGES`` in ``KVM_SET_USER_MEMORY_REGION2``). Pure functions, like ``edit``.
"""

from __future__ import annotations

from dataclasses import replace

from gmemtui.core.model import KVM_MEM_LOG_DIRTY_PAGES, Layout, PrivateRange


def private_ranges(layout: Layout) -> list[tuple[int, int]]:
    """The private ``[lo, hi)`` ranges, merged and sorted; the default (no ``private:`` list) is
    every guest_memfd slot's range."""
    if layout.private is not None:
        ranges = [(r.gpa, r.end) for r in layout.private]
    else:
        ranges = [(s.gpa, s.end) for s in layout.slots if s.gmem is not None]
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        elif hi > lo:
            merged.append((lo, hi))
    return merged


def is_private(layout: Layout, gpa: int) -> bool:
    return any(lo <= gpa < hi for lo, hi in private_ranges(layout))


def convert(layout: Layout, gpa: int, size: int, private: bool) -> Layout:
    """``[gpa, gpa+size)`` made private or shared; the layout then carries an explicit list."""
    end = gpa + size
    out: list[tuple[int, int]] = []
    for lo, hi in private_ranges(layout):
        if lo < gpa:
            out.append((lo, min(hi, gpa)))
        if hi > end:
            out.append((max(lo, end), hi))
    if private:
        out.append((gpa, end))
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(out):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        elif hi > lo:
            merged.append((lo, hi))
    return replace(layout, private=tuple(PrivateRange(lo, hi - lo) for lo, hi in merged))


def toggle_log_dirty(layout: Layout, key: tuple[int, int]) -> Layout:
    i = layout.slot_index(key)
    return layout.with_slot(i, flags=layout.slots[i].flags ^ KVM_MEM_LOG_DIRTY_PAGES)
