"""Where the GPA bar's slot numbers go (docs/tui.md): a pure rule, no Textual.

Every slot wider than its label (its columns after the first hold the number and a blank cell; the
first and last column may be shared with a neighbour) gets its number at its first column; two labels never
touch (at least one blank or line cell between them), so ``2`` beside ``1`` can never read as slot
21; a narrower slot is labelled only where that holds, the selected one first. The selected slot's
extent is drawn as a line after its label.

Each column is looked at once, with bisection for the slot starting in it, so the row costs its
columns, not every slot (32,763 slots on 130 columns)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from gmemtui.core.model import Slot
from gmemtui.tui.attributes import index_of
from gmemtui.tui.axis import Axis


def slot_columns(axis: Axis, slot: Slot, width: int) -> tuple[int, int] | None:
    """The first and last column showing ``slot`` (None if it is off the bar)."""
    x0 = axis.x_of(slot.gpa)
    if x0 is None:
        if not slot.gpa < axis.lo < slot.end:
            return None
        x0 = 0
    x1 = axis.x_of(slot.end - 1)
    if x1 is None:
        x1 = width - 1 if slot.end - 1 >= axis.hi else x0
    return x0, max(x0, min(x1, width - 1))


def is_wide(cols: tuple[int, int], slot: Slot) -> bool:
    """Wider than its label: the number and a blank cell fit before the slot's last column (which a
    neighbour starting there may share), so two such labels can never touch."""
    return cols[1] - cols[0] > len(str(slot.slot))


def _candidates(axis: Axis, slots: Sequence[Slot], width: int) -> list[tuple[int, int, int]]:
    """(first column, last column, index) of the slot to label in each column: the last slot that
    starts there (only it can reach past the column), or the slot covering the bar's left edge."""
    starts = index_of(slots).starts  # shared with the attribute row: one pass over a new slot list
    out: list[tuple[int, int, int]] = []
    bounds = axis.bounds()
    i = bisect_right(starts, axis.lo) - 1
    if i >= 0 and slots[i].gpa < axis.lo < slots[i].end:
        cols = slot_columns(axis, slots[i], width)
        if cols is not None:
            out.append((*cols, i))
    for c in range(min(width, len(bounds))):
        lo, hi = bounds[c]
        if hi <= lo:
            continue
        j = bisect_left(starts, hi) - 1
        if j >= 0 and starts[j] >= lo:
            cols = slot_columns(axis, slots[j], width)
            if cols is not None:
                if out and out[-1][0] == cols[0]:
                    out.pop()  # a slot ending inside column 0 before another starts there
                out.append((*cols, j))
    return out


def place_labels(axis: Axis, slots: Sequence[Slot], sel: int, width: int) -> list[tuple[int, int]]:
    """(column, slot index) of every label: the wide slots, then the selected one, then the other
    narrow ones left to right, each only where it touches no label already placed."""
    taken = [False] * width
    placed: list[tuple[int, int]] = []

    def put(x: int, i: int) -> None:
        n = min(len(str(slots[i].slot)), width - x)
        if any(taken[c] for c in range(max(x - 1, 0), min(x + n + 1, width))):
            return
        for c in range(x, x + n):
            taken[c] = True
        placed.append((x, i))

    cands = _candidates(axis, slots, width)
    for x0, x1, i in cands:
        if is_wide((x0, x1), slots[i]):
            put(x0, i)
    if 0 <= sel < len(slots) and all(i != sel for _, i in placed):
        cols = slot_columns(axis, slots[sel], width)
        if cols is not None:
            put(cols[0], sel)
    done = {i for _, i in placed}
    for x0, _x1, i in cands:
        if i not in done:
            put(x0, i)
    return sorted(placed)


def label_cells(axis: Axis, slots: Sequence[Slot], sel: int, width: int) -> tuple[list[str], list[bool]]:
    """The label row: characters, and which of them belong to the selected slot (index ``sel``)."""
    chars = [" "] * width
    selected = [False] * width
    if 0 <= sel < len(slots):
        cols = slot_columns(axis, slots[sel], width)
        if cols is not None:
            for c in range(cols[0], cols[1] + 1):
                chars[c], selected[c] = "─", True
    for x, i in place_labels(axis, slots, sel, width):
        for c, ch in enumerate(str(slots[i].slot)[: width - x]):
            chars[x + c], selected[x + c] = ch, i == sel
    return chars, selected


def label_signature(axis: Axis, slot: Slot, width: int) -> tuple[object, ...]:
    """Everything the label row reads of one slot: the column its start falls in (by the columns'
    bounds, as ``_candidates`` finds it), where it starts and ends against the bar's ends, its columns
    and its number. Two slot lists differing only in slots of equal signatures get the same row."""
    bounds = axis.bounds()
    return (bisect_right(bounds, slot.gpa, key=_first) - 1, slot.gpa < axis.lo, slot.gpa >= axis.hi,
            slot.gpa <= axis.lo, slot.end > axis.lo, slot_columns(axis, slot, width), slot.slot)


def _first(t: tuple[int, int]) -> int:
    return t[0]
