"""Fixed examples at every rule's boundary (docs/rules.md): each rule just holding and just failing, so
a one-character bug in any rule (``>`` for ``>=``, ``<`` for ``<=``, a swapped operand) fails a named
test at once instead of waiting for a lucky hypothesis search. Each example is checked three ways: the
engine's run at the probe frame, the brute-force reference, and the expected value written here.

The first group are the bugs that only hypothesis caught (after 26-183 s of search) or that nothing
caught, when the code was mutated one line at a time."""

from __future__ import annotations

from dataclasses import replace

import pytest
from reference import Reference

from gmemtui.commands.diff import compare
from gmemtui.core.coverage import compute
from gmemtui.core.model import GmemFile, Layout, PrivateRange, Slot

K4, M1, M2, G = 1 << 12, 1 << 20, 1 << 21, 1 << 30
UA = 0x7F0000000000  # congruent with every gpa below at every size


def slot(gpa: int = G, size: int = 2 * G, ua: int | None = None, **kw: object) -> Slot:
    return Slot(slot=kw.pop("slot", 1), gpa=gpa, size=size, ua=UA + gpa if ua is None else ua, **kw)


def gmem_layout(**kw: object) -> Layout:
    """One guest_memfd slot [1G, 3G) bound at offset 0 of a 1G-folio file; every frame maps at 1G."""
    s = kw.pop("slot_", None) or slot(gmem=9)
    files = kw.pop("files", (GmemFile(id=9, max_page=G),))
    base = dict(policy="per-range", host_max_page=G, private_max_page=G)
    return Layout(slots=(s,), files=files, **{**base, **kw})


def at(layout: Layout, gpa: int) -> tuple[str, bool, str | None]:
    """The engine's verdict of the frame at gpa, after checking the reference agrees at that frame and
    at both ends of every run (whole slots are too big to enumerate here)."""
    cov = compute(layout)
    ref = Reference(layout)
    sh = layout.platform.base_shift
    for sc in cov.slots:
        s = sc.slot
        for r in sc.runs:
            for g in (r.gpa >> sh, (r.end >> sh) - 1):
                assert (r.page, r.private, r.reason) == ref.verdict(s.as_, s.slot, g), hex(g << sh)
        if s.gpa <= gpa < s.end:
            run = next(r for r in sc.runs if r.gpa <= gpa < r.end)
            got = (run.page, run.private, run.reason)
            assert got == ref.verdict(s.as_, s.slot, gpa >> sh)
            return got
    raise AssertionError(f"{gpa:#x} in no slot")


# -- the bugs of the mutation run ---------------------------------------------------------------------

def test_platform_cap_exactly_at_its_cap() -> None:
    """``n > private_max`` holds at the cap itself: a 2M cap maps 2M, and stops 1G."""
    assert at(gmem_layout(private_max_page=M2), G) == ("2M", True, "platform-cap")
    assert at(gmem_layout(private_max_page=G), G) == ("1G", True, None)
    assert at(gmem_layout(private_max_page=K4), G) == ("4K", True, "platform-cap")


def test_whole_binding_on_the_shared_frames_of_an_mmap_slot() -> None:
    """Shared frames of a guest_memfd-only slot take the gmem rules, rule 10 included."""
    lay = gmem_layout(policy="whole-binding", private=(), files=(GmemFile(id=9, max_page=G, mmap=True),),
                      slot_=slot(gmem=9, offset=M2, size=2 * G))
    assert at(lay, G) == ("2M", False, "whole-binding")
    lay = replace(lay, slots=(slot(gmem=9, offset=K4, size=2 * G),))
    assert at(lay, G) == ("4K", False, "whole-binding")
    # without mmap the shared frames ignore the file: host page only
    lay = replace(lay, files=(GmemFile(id=9, max_page=G),))
    assert at(lay, G) == ("1G", False, None)


@pytest.mark.parametrize("offset,size,want", [
    (0, 2 * G, ("1G", True, None)),                       # both aligned: holds
    (0, 2 * G + K4, ("4K", True, "whole-binding")),       # aligned offset, size off by 4K
    (0, 2 * G + M2, ("2M", True, "whole-binding")),       # aligned offset, size off by 2M
    (M2 * 512, 2 * G, ("1G", True, None)),                # offset 1G: aligned at every size
    (M2, 2 * G, ("2M", True, "whole-binding")),           # unaligned offset, aligned size
])
def test_whole_binding_offset_and_size(offset: int, size: int, want: tuple) -> None:
    """Rule 10 fails when either ``O mod N`` or ``P mod N`` is not 0 (a ``<=`` or a lost operand breaks
    one of these rows). The gfn moves with the offset so rule 11 holds throughout."""
    lay = gmem_layout(policy="whole-binding", slot_=slot(gpa=G + offset, size=size, gmem=9, offset=offset))
    assert at(lay, 2 * G) == want
    # per-range never checks the whole binding
    assert at(replace(lay, policy="per-range"), 2 * G)[2] != "whole-binding"


def test_touching_private_ranges_merge() -> None:
    """Two private ranges that touch exactly and together fill one aligned 2M block are one range:
    the block is all private (2M), not mixed (4K mixed-attributes)."""
    s = slot(gpa=G, size=4 * M2, gmem=9)
    lay = gmem_layout(slot_=s, private=(PrivateRange(G, M1), PrivateRange(G + M1, M1)))
    assert at(lay, G) == ("2M", True, "slot-edge")
    assert at(lay, G + M1) == ("2M", True, "slot-edge")
    assert at(lay, G + M2) == ("2M", False, "slot-edge")
    # listed out of order, and overlapping, the same
    lay = replace(lay, private=(PrivateRange(G + M1, M1), PrivateRange(G, M1 + K4)))
    assert at(lay, G) == ("2M", True, "slot-edge")
    # a one-frame gap between them is a real edge: mixed
    lay = replace(lay, private=(PrivateRange(G, M1), PrivateRange(G + M1 + K4, M1 - K4)))
    assert at(lay, G) == ("4K", True, "mixed-attributes")


def test_diff_lost_and_gained_are_not_swapped() -> None:
    old = gmem_layout()
    new = replace(old, policy="mainline")
    d = compare(old, new)
    assert d.lost == {"4K": 0, "2M": 0, "1G": 2 * G} and not any(d.gained.values())
    back = compare(new, old)
    assert back.gained == {"4K": 0, "2M": 0, "1G": 2 * G} and not any(back.lost.values())


def test_diff_only_old_and_only_new_are_filled() -> None:
    old = Layout(slots=(slot(gpa=G, size=G, slot=1), slot(gpa=4 * G, size=G, slot=2)))
    new = Layout(slots=(slot(gpa=G, size=G, slot=1), slot(gpa=8 * G, size=M2, slot=3)))
    d = compare(old, new)
    assert [(o.as_, o.gpa, o.size) for o in d.only_old] == [(0, 4 * G, G)]
    assert [(o.as_, o.gpa, o.size) for o in d.only_new] == [(0, 8 * G, M2)]


# -- every rule just holding and just failing ------------------------------------------------------------

def test_log_dirty() -> None:
    assert at(gmem_layout(slot_=slot(gmem=9, flags=1)), G) == ("4K", True, "log-dirty")
    assert at(gmem_layout(slot_=slot(gmem=9, flags=2)), G) == ("1G", True, None)  # readonly is not it


@pytest.mark.parametrize("gpa,size,probe,want", [
    (G, G, G, ("1G", True, None)),                           # exactly one aligned 1G block
    (G, G - K4, G, ("2M", True, "slot-edge")),               # one frame short of it
    (G + K4, G, G + K4, ("4K", True, "slot-edge")),          # starts one frame late
    (G + K4, G, G + M2, ("2M", True, "slot-edge")),          # first whole 2M block
    (G + K4, G, 2 * G - M2 + K4, ("2M", True, "slot-edge")),  # last whole 2M block
    (G + K4, G, 2 * G, ("4K", True, "slot-edge")),           # the tail past the last 2M boundary
    (G, M2, G, ("2M", True, "slot-edge")),                    # exactly one 2M block
])
def test_slot_edge(gpa: int, size: int, probe: int, want: tuple) -> None:
    assert at(gmem_layout(slot_=slot(gpa=gpa, size=size, gmem=9, offset=gpa % G)), probe) == want


@pytest.mark.parametrize("delta,want", [
    (0, ("1G", True, None)), (G, ("1G", True, None)),       # congruent at every size
    (M2, ("2M", True, "ua-misaligned")),                     # agrees below 1G only
    (G - M2, ("2M", True, "ua-misaligned")),
    (K4, ("4K", True, "ua-misaligned")), (M2 - K4, ("4K", True, "ua-misaligned")),
])
def test_ua_misaligned(delta: int, want: tuple) -> None:
    assert at(gmem_layout(slot_=slot(gmem=9, ua=UA + G + delta)), G) == want


@pytest.mark.parametrize("lo,size,probe,want", [
    (G, M2, G, ("2M", True, "mixed-attributes")),           # an edge at 2M: the 2M block is whole
    (G, M2, G + M2, ("2M", False, "mixed-attributes")),
    (G, M2 + K4, G + M2, ("4K", True, "mixed-attributes")),  # one frame over: that 2M block is mixed
    (G + K4, M2 - K4, G, ("4K", False, "mixed-attributes")),
    (G, G, G, ("1G", True, None)),                          # exactly the 1G block
])
def test_mixed_attributes(lo: int, size: int, probe: int, want: tuple) -> None:
    assert at(gmem_layout(private=(PrivateRange(lo, size),)), probe) == want


@pytest.mark.parametrize("cap,want", [(G, ("1G", False, None)), (M2, ("2M", False, "host-page")),
                                      (K4, ("4K", False, "host-page"))])
def test_host_page_exactly_at_its_cap(cap: int, want: tuple) -> None:
    assert at(gmem_layout(private=(), host_max_page=cap), G) == want


def test_no_guest_memfd() -> None:
    lay = Layout(slots=(slot(),), private=(PrivateRange(G, M2),), host_max_page=G)
    assert at(lay, G) == ("4K", True, "no-guest-memfd")
    assert not next(r for r in compute(lay).slots[0].runs if r.gpa == G).mappable
    assert at(lay, G + M2) == ("2M", False, "mixed-attributes")  # the shared rest of the 1G block


def test_gmem_4k_only_and_its_alias() -> None:
    for policy in ("mainline", "4k-only"):
        assert at(gmem_layout(policy=policy), G) == ("4K", True, "gmem-4k-only")
        assert at(gmem_layout(policy=policy, private=()), G) == ("1G", False, None)  # shared: host page


@pytest.mark.parametrize("cap,want", [(G, ("1G", True, None)), (M2, ("2M", True, "folio-cap")),
                                      (K4, ("4K", True, "folio-cap"))])
def test_folio_cap_exactly_at_its_cap(cap: int, want: tuple) -> None:
    assert at(gmem_layout(files=(GmemFile(id=9, max_page=cap),)), G) == want


@pytest.mark.parametrize("offset,want", [
    (0, ("1G", True, None)), (2 * G, ("1G", True, None)),
    (M2, ("2M", True, "offset-misaligned")), (G - M2, ("2M", True, "offset-misaligned")),
    (K4, ("4K", True, "offset-misaligned")),
])
def test_offset_misaligned(offset: int, want: tuple) -> None:
    files = (GmemFile(id=9, max_page=G, size=4 * G),)
    assert at(gmem_layout(slot_=slot(gmem=9, offset=offset), files=files), G) == want


# -- the same boundaries on a ladder that is not powers of 512 apart --------------------------------------

K64, M512 = 64 << 10, 512 << 20


def arm64(**kw: object) -> Layout:
    gmem = kw.pop("gmem", None)
    s = kw.pop("slot_", None) or Slot(slot=0, gpa=M512, size=2 * M512, ua=UA + M512, gmem=gmem)
    return Layout(slots=(s,), files=(GmemFile(id=9, max_page=kw.pop("max_page", M512)),), arch="arm64-64k",
                  host_max_page=kw.pop("host", M512), **kw)


def test_arm64_64k_boundaries() -> None:
    assert at(arm64(), M512) == ("512M", False, None)
    assert at(arm64(host=K64), M512) == ("64K", False, "host-page")
    assert at(arm64(slot_=Slot(slot=0, gpa=M512, size=M512 - K64, ua=UA + M512)), M512) == (
        "64K", False, "slot-edge")
    assert at(arm64(slot_=Slot(slot=0, gpa=M512, size=M512, ua=UA + M512 + K64)), M512) == (
        "64K", False, "ua-misaligned")
    # guest_memfd-only: the file decides, shared frames included; mainline: the base page
    assert at(arm64(gmem=9, host=K64), M512) == ("512M", False, None)
    assert at(arm64(gmem=9, max_page=K64), M512) == ("64K", False, "folio-cap")
    assert at(arm64(gmem=9, policy="mainline"), M512) == ("64K", False, "gmem-4k-only")
    s = Slot(slot=0, gpa=M512, size=M512, ua=UA + M512, gmem=9, offset=K64)
    assert at(arm64(slot_=s), M512) == ("64K", False, "offset-misaligned")
