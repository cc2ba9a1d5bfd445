"""Semantic checks and warnings on layouts built in code (as trace replay and the TUI build them)."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gmemtui.core.errors import InputError
from gmemtui.core.model import GmemFile, Layout, PrivateRange, Slot, Warning_
from gmemtui.core.platform import PLATFORMS
from gmemtui.core.validate import check_layout, layout_errors, layout_warnings, private_bytes

K = 4096
M = 1 << 20


def slot(n, gpa, size, line=0, **kw) -> Slot:
    return Slot(n, gpa, size, kw.pop("ua", gpa), line=line, **kw)


def first_error(layout: Layout) -> InputError:
    with pytest.raises(InputError) as info:
        check_layout(layout, "trace.log")
    return info.value


def test_valid_layout_passes():
    layout = Layout(
        slots=(
            slot(0, 0, 2 * M, gmem=1),
            slot(1, 4 * M, 2 * M, gmem=1, offset=2 * M),
            slot(0, 0, 2 * M, as_=1),
        ),
        files=(GmemFile(1, size=4 * M),),
    )
    check_layout(layout, "x")
    assert layout_errors(layout, "x") == []


@pytest.mark.parametrize(
    "layout, line, text",
    [
        (Layout(slots=(slot(0, 0, 4 * K, line=3), slot(0, 8 * K, 4 * K, line=7))), 7, "duplicate slot 0"),
        (Layout(slots=(slot(0, 0, 8 * K, line=3), slot(1, 4 * K, 8 * K, line=9))), 9, "overlaps slot 0"),
        (Layout(slots=(slot(0, 0, 4 * K, line=2, gmem=5),)), 2, "guest_memfd 5 is not listed"),
        (Layout(slots=(slot(0, 1024, 4 * K, line=2),)), 2, "gpa 0x400 is not a multiple of 4 KiB"),
        (Layout(slots=(slot(0, 0, 0, line=2),)), 2, "size 0"),
        (Layout(slots=(slot(0, 1 << 52, 4 * K, line=4),)), 4, "beyond 2^52"),
        (Layout(slots=(slot(40000, 0, 4 * K, line=4),)), 4, "slot 40000 is outside 0..32763"),
        (Layout(slots=(slot(0, 0, 4 * K, line=4, as_=2),)), 4, "as 2 is not an address space"),
        (Layout(slots=(slot(0, 0, 4 * K, line=4, flags=8),)), 4, "unknown flag bits 0x8"),
        (Layout(slots=(), files=(GmemFile(1, line=2), GmemFile(1, line=5))), 5, "duplicate guest_memfd id 1"),
        (Layout(slots=(), files=(GmemFile(1, size=0, line=2),)), 2, "size 0"),
        (Layout(slots=(slot(0, 0, 8 * K, gmem=1, line=6),), files=(GmemFile(1, size=4 * K, line=2),)), 6,
         "ends beyond the file's size 0x4000"),
        (Layout(slots=(slot(0, 0, 8 * K, gmem=1, line=6), slot(1, M, 8 * K, gmem=1, offset=4 * K, line=8)),
                files=(GmemFile(1, line=2),)), 8, "in guest_memfd 1 (offsets)"),
        (Layout(slots=(), private=(PrivateRange(0, 0, line=3),)), 3, "private range: size 0"),
    ],
)  # fmt: skip
def test_errors(layout, line, text):
    err = first_error(layout)
    assert err.line == line and text in err.message, str(err)
    assert str(err).startswith(f"trace.log:{line}: ")


def test_layout_level_errors_have_no_line_and_come_last():
    layout = Layout(slots=(slot(0, 1024, 4 * K, line=9, ua=0),), policy="bogus", host_max_page=3 * M)
    errors = layout_errors(layout, "f")
    assert [e.line for e in errors] == [9, None, None]
    assert "unknown policy 'bogus'" in errors[1].message
    assert "host_max_page 3M is not a page size" in errors[2].message
    assert str(Layout(slots=()).with_settings(arch="mips").arch) == "mips"
    assert "unknown arch 'mips'" in first_error(Layout(slots=(), arch="mips")).message


def test_lines_of_zero_mean_no_line():
    err = first_error(Layout(slots=(slot(0, 0, 0),)))
    assert err.line is None and str(err) == "trace.log: slot 0: size 0: a slot must not be empty"


def test_first_error_by_line_not_by_kind():
    layout = Layout(
        slots=(slot(0, 0, 8 * K, line=10), slot(1, 4 * K, 8 * K, line=12), slot(2, M, 1024, line=11))
    )
    assert first_error(layout).line == 11


# ---------------------------------------------------------------- overlaps: sweep vs every pair


@st.composite
def slot_sets(draw):
    n = draw(st.integers(0, 7))
    slots = []
    for i in range(n):
        gpa = draw(st.integers(0, 40)) * K
        size = draw(st.integers(1, 12)) * K
        slots.append(
            Slot(i, gpa, size, gpa, as_=draw(st.integers(0, 1)), gmem=draw(st.sampled_from([None, 1])),
                 offset=draw(st.integers(0, 40)) * K, line=draw(st.integers(1, 50)))
        )  # fmt: skip
    return Layout(slots=tuple(slots), files=(GmemFile(1),))


@settings(max_examples=200, deadline=None)
@given(slot_sets())
def test_overlap_sweep_finds_every_overlapping_layout(layout):
    def gpa_overlap(a, b):
        return a.as_ == b.as_ and a.gpa < b.end and b.gpa < a.end

    def file_overlap(a, b):
        return (
            a.gmem is not None
            and a.gmem == b.gmem
            and a.offset < b.offset + b.size
            and b.offset < a.offset + a.size
        )

    pairs = [(a, b) for a, b in combinations(layout.slots, 2) if gpa_overlap(a, b) or file_overlap(a, b)]
    errors = [e for e in layout_errors(layout, "f") if "overlaps" in e.message]
    assert bool(pairs) == bool(errors)
    # each error names a pair that really overlaps, at the later of the two lines
    for e in errors:
        assert any(e.line == max(a.line, b.line) for a, b in pairs)


# ---------------------------------------------------------------- warnings


def test_private_bytes_is_interval_intersection():
    layout = Layout(
        slots=(), private=(PrivateRange(0, 8 * K), PrivateRange(4 * K, 8 * K), PrivateRange(M, 4 * K))
    )
    assert private_bytes(layout, 0, 2 * M) == 12 * K + 4 * K
    assert private_bytes(layout, 6 * K, M + K) == 6 * K + K
    assert private_bytes(layout, 12 * K, M) == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 8)), max_size=6),
    st.integers(0, 30),
    st.integers(1, 20),
)
def test_private_bytes_matches_frame_count(ranges, lo, n):
    layout = Layout(slots=(), private=tuple(PrivateRange(a * K, s * K) for a, s in ranges))
    frames = {f for a, s in ranges for f in range(a, a + s)}
    assert private_bytes(layout, lo * K, (lo + n) * K) == K * sum(1 for f in range(lo, lo + n) if f in frames)


def test_warnings_sorted_by_line_with_notes_and_none_last():
    layout = Layout(
        slots=(slot(3, 0, 2 * M, gmem=1, flags=2, line=20), slot(4, 2 * M, 2 * M, line=5)),
        files=(GmemFile(1, line=2), GmemFile(9, line=3)),
        private=(PrivateRange(3 * M, 4 * K),),
        notes=(Warning_("deleted a slot it never made", 0, 7, 12), Warning_("general note")),
    )
    ws = layout_warnings(layout)
    assert [(w.line, w.slot) for w in ws] == [(3, None), (5, 4), (12, 7), (20, 3), (None, None)]
    assert "guest_memfd 9 is listed but no slot binds it" in ws[0].message
    assert ws[1].message.startswith("slot 4: 16K of private frames but no guest_memfd")
    assert "KVM rejects this since 6.8" in ws[3].message


def test_default_attributes_give_no_private_frame_warning():
    layout = Layout(slots=(slot(0, 0, 2 * M), slot(1, 2 * M, 2 * M, gmem=1)), files=(GmemFile(1),))
    assert layout_warnings(layout) == []


def test_plainly_valid_agrees_with_the_detailed_slot_checks() -> None:
    """``layout_errors`` skips ``_slot_errors`` for a slot ``_plainly_valid`` passes: they must agree,
    on every arch, around every boundary (alignment, ids, address spaces, 2^gpa_bits, 2^64, flags)."""
    import random

    from gmemtui.core.validate import _plainly_valid, _slot_errors

    for arch, plat in PLATFORMS.items():
        rng = random.Random(arch)
        base, top = plat.base.bytes, 1 << plat.gpa_bits
        addrs = [0, base, 2 * base, base // 2, -base, top - base, top, (1 << 64) - base, 1 << 64]
        sizes = [0, base, 3 * base, base + 1, -base, top, (1 << 63)]
        seen = set()
        for _ in range(3000):
            s = Slot(
                slot=rng.choice([0, 1, plat.max_slot_id, plat.max_slot_id + 1, -1]),
                gpa=rng.choice(addrs), size=rng.choice(sizes), ua=rng.choice(addrs),
                as_=rng.choice([0, 1, 2, -1]), flags=rng.choice([0, 1, 2, 3, 8]),
                gmem=rng.choice([None, 0]), offset=rng.choice([0, base, base // 2, -base]),
            )
            ok = _plainly_valid(s, plat)
            assert ok == (not list(_slot_errors(s, plat))), (arch, s)
            seen.add(ok)
        assert seen == {True, False}
