"""The per-step change sets of the live model: C-speed identity and equality diffs against plain
loops, and warnings patched for the changed slots against ``validate.layout_warnings``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gmemtui.core import edit
from gmemtui.core.model import Layout, PrivateRange
from gmemtui.core.validate import layout_warnings
from gmemtui.tui.axis import changed_span
from gmemtui.tui.live import LiveCoverage, changed_positions
from tests.strategies import layouts


def loop_positions(new, old, limit):
    if len(new) != len(old):
        return None
    out = [i for i, (a, b) in enumerate(zip(new, old, strict=True)) if a is not b]
    return None if len(out) > limit else out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=30), st.lists(st.tuples(st.integers(0, 29), st.integers(0, 3))),
       st.integers(0, 10), st.booleans())
def test_changed_positions_is_an_identity_diff(base, swaps, limit, grow) -> None:
    old = [object() for _ in base]
    new = list(old)
    for i, _ in swaps:
        if i < len(new):
            new[i] = object()
    if grow:
        new.append(object())
    assert changed_positions(new, old, limit) == loop_positions(new, old, limit)


def loop_span(old, new):
    n, m = len(old), len(new)
    k = min(n, m)
    p = 0
    while p < k and old[p] == new[p]:
        p += 1
    if p == n == m:
        return None
    q = 0
    while q < k - p and old[n - 1 - q] == new[m - 1 - q]:
        q += 1
    mid = [*old[p:n - q], *new[p:m - q]]
    return min(r[0] for r in mid), max(r[1] for r in mid)


runs = st.lists(st.tuples(st.integers(0, 50), st.integers(51, 100), st.integers(0, 2)), max_size=12)


@settings(max_examples=400, deadline=None)
@given(runs, runs, runs, runs)
def test_changed_span_matches_the_loop(head, old_mid, new_mid, tail) -> None:
    old, new = head + old_mid + tail, head + new_mid + tail
    assert changed_span(old, new) == loop_span(old, new)
    assert changed_span(old, old) is None


@settings(max_examples=60, deadline=None)
@given(layouts(max_slots=6), st.data())
def test_live_warnings_equal_layout_warnings_through_edits(layout: Layout, data: st.DataObject) -> None:
    if data.draw(st.booleans()) and layout.slots:
        s = layout.slots[0]  # private frames under a slot that may have no guest_memfd: its own warning
        layout = layout.with_settings(private=(PrivateRange(s.gpa, s.size),))
    live = LiveCoverage()
    for _ in range(5):
        assert live.warnings(layout) == layout_warnings(layout)
        key = data.draw(st.sampled_from([s.key for s in layout.slots]))
        layout = edit.drag(layout, key, data.draw(st.sampled_from(edit.PARTS)),
                           data.draw(st.integers(-(1 << 22), 1 << 22)))
    assert live.warnings(layout) == layout_warnings(layout)
