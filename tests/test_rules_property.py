"""The closed-form engine against the brute-force docs/rules.md reference (tests/reference.py).

Small layouts are compared frame-exact (runs equal, so every frame's page, attribute and reason
agree); big layouts (1G behaviour) at sampled frames: every run boundary ±1, the frames around
attribute edges and aligned boundaries, and random frames.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reference import Reference, reference_frames, reference_runs
from strategies import FR, LADDER, SHIFT, big_layouts, layouts

from gmemtui.core.checks import explain_frame
from gmemtui.core.coverage import Coverage, compute
from gmemtui.core.facts import Attributes, SlotFacts
from gmemtui.core.model import GmemFile, Layout, PrivateRange, Slot
from gmemtui.core.rules import REASON_CODES, RULE_BY_CODE, RULES, frame_verdict


def cfg(examples: int) -> settings:
    return settings(deadline=None, max_examples=examples,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NAMES = ("4K", "2M", "1G")
K4, M2, G = LADDER


def runs_of(cov: Coverage) -> dict[tuple[int, int], list[tuple]]:
    return {sc.slot.key: [(r.gpa, r.size, r.page, r.private, r.reason) for r in sc.runs] for sc in cov.slots}


def check_invariants(layout: Layout, cov: Coverage) -> None:
    """docs/commands.md: runs sorted, cover the slot exactly, adjacent runs differ; bytes sum to the size."""
    names = layout.platform.names
    assert [sc.slot for sc in cov.slots] == sorted(layout.slots, key=lambda s: (s.as_, s.gpa))
    total = dict.fromkeys(names, 0)
    for sc in cov.slots:
        s = sc.slot
        assert sc.runs, s
        assert sc.runs[0].gpa == s.gpa and sc.runs[-1].end == s.end
        for a, b in zip(sc.runs, sc.runs[1:], strict=False):
            assert a.end == b.gpa
            assert (a.page, a.private, a.reason) != (b.page, b.private, b.reason)
        for r in sc.runs:
            assert r.size > 0 and r.size % K4 == 0 and r.gpa % K4 == 0
            assert r.page in names
            assert r.reason is None or r.reason in REASON_CODES
            assert (r.reason is None) == (r.page == names[-1])
        assert set(sc.bytes) == set(names)
        assert sum(sc.bytes.values()) == s.size
        for n in names:
            assert sc.bytes[n] == sum(r.size for r in sc.runs if r.page == n)
            total[n] += sc.bytes[n]
    assert cov.total == total


def note_events(cov: Coverage) -> None:
    for sc in cov.slots:
        for r in sc.runs:
            event(f"{r.page} {'private' if r.private else 'shared'} {r.reason}")


# ---------------------------------------------------------------------------------------------
# frame-exact comparison on small layouts


@cfg(600)
@given(layouts())
def test_small_layouts_match_reference_frame_exact(layout: Layout) -> None:
    cov = compute(layout)
    check_invariants(layout, cov)
    note_events(cov)
    assert runs_of(cov) == reference_runs(layout)


@cfg(40)
@given(layouts(max_slots=3, max_frames=1200))
def test_reference_frames_agree_with_runs(layout: Layout) -> None:
    """Per frame, not only per run: the frame map and the engine's runs say the same thing."""
    frames = reference_frames(layout)
    cov = compute(layout)
    for sc in cov.slots:
        for r in sc.runs:
            for g in range(r.gpa >> SHIFT, r.end >> SHIFT):
                assert frames[(sc.slot.as_, sc.slot.slot, g)] == (r.page, r.private, r.reason)
    assert len(frames) == sum(s.size >> SHIFT for s in layout.slots)


# ---------------------------------------------------------------------------------------------
# sampled comparison on big layouts (1G behaviour)


def sample_frames(layout: Layout, cov: Coverage, rnd: random.Random) -> dict[tuple[int, int], set[int]]:
    out: dict[tuple[int, int], set[int]] = {}
    edges: list[int] = []
    for r in layout.private or ():
        edges += [r.gpa >> SHIFT, r.end >> SHIFT]
    for sc in cov.slots:
        s = sc.slot
        B, E = s.gpa >> SHIFT, s.end >> SHIFT
        cand: set[int] = set()
        for r in sc.runs:
            for x in (r.gpa >> SHIFT, r.end >> SHIFT):
                cand.update((x - 1, x, x + 1))
        for n in FR[1:]:
            for x in (B - B % n + n, E - E % n, *(e - e % n for e in edges), *(e - e % n + n for e in edges)):
                cand.update((x - 1, x, x + 1))
        top = FR[-1]
        tops = range(B - B % top, E, top)  # the top-size boundaries of the slot (all, or ends + random)
        if len(tops) > 64:
            tops = [*tops[:16], *tops[-16:], *(tops[rnd.randrange(len(tops))] for _ in range(32))]
        for x in tops:
            cand.update((x - 1, x, x + 1))
        for _ in range(40):
            cand.add(rnd.randrange(B, E))
            n = rnd.choice(FR[1:])
            x = rnd.randrange(B, E)
            cand.update((x - x % n - 1, x - x % n))
        out[s.key] = {g for g in cand if B <= g < E}
    return out


def engine_at(cov: Coverage, key: tuple[int, int], g: int) -> tuple:
    sc = cov.slot(key)
    gpa = g << SHIFT
    for r in sc.runs:
        if r.gpa <= gpa < r.end:
            return (r.page, r.private, r.reason)
    raise AssertionError(f"frame {g:#x} in no run of {key}")


@cfg(250)
@given(big_layouts(), st.randoms(use_true_random=False))
def test_big_layouts_match_reference_sampled(layout: Layout, rnd: random.Random) -> None:
    cov = compute(layout)
    check_invariants(layout, cov)
    note_events(cov)
    ref = Reference(layout)
    for key, frames in sample_frames(layout, cov, rnd).items():
        for g in sorted(frames):
            assert engine_at(cov, key, g) == ref.verdict(key[0], key[1], g), (key, hex(g << SHIFT))


# ---------------------------------------------------------------------------------------------
# every reason code, at both steps of the ladder, by construction


def tidy(**changes: object) -> Layout:
    """A 2 GiB guest_memfd slot at 1 GiB where every private frame maps at 1G."""
    slot = Slot(slot=1, gpa=G, size=2 * G, ua=7 * G, gmem=9, offset=0, name="ram")
    lay = Layout(slots=(slot,), files=(GmemFile(id=9, max_page=G),), policy="per-range",
                 host_max_page=G, private_max_page=G)
    slot_changes = {k[5:]: v for k, v in changes.items() if k.startswith("slot_")}
    file_changes = {k[5:]: v for k, v in changes.items() if k.startswith("file_")}
    rest = {k: v for k, v in changes.items() if not k.startswith(("slot_", "file_"))}
    if slot_changes:
        lay = lay.with_slot(0, **slot_changes)
    if file_changes:
        lay = replace(lay, files=(replace(lay.files[0], **file_changes),))
    return replace(lay, **rest)


def _at(gpa: int) -> int:
    return gpa >> SHIFT


# (label, changes to tidy(), gpa of a probe frame, expected (page, private, reason))
CASES: list[tuple[str, dict, int, tuple]] = [
    ("tidy", dict(), G, ("1G", True, None)),
    ("tidy shared", dict(private=(), host_max_page=G), G, ("1G", False, None)),
    ("log-dirty", dict(slot_flags=1), G, ("4K", True, "log-dirty")),
    ("slot-edge 4K", dict(slot_gpa=G + K4, slot_ua=7 * G + K4, slot_offset=K4), G + K4,
     ("4K", True, "slot-edge")),
    ("slot-edge 2M", dict(slot_size=G + M2), 2 * G, ("2M", True, "slot-edge")),
    ("ua-misaligned 4K", dict(slot_ua=7 * G + K4), G, ("4K", True, "ua-misaligned")),
    ("ua-misaligned 2M", dict(slot_ua=7 * G + M2), G, ("2M", True, "ua-misaligned")),
    ("mixed-attributes 4K", dict(private=(PrivateRange(G, K4),)), G, ("4K", True, "mixed-attributes")),
    ("mixed-attributes 4K shared", dict(private=(PrivateRange(G, K4),)), G + K4,
     ("4K", False, "mixed-attributes")),
    ("mixed-attributes 2M", dict(private=(PrivateRange(G, M2),)), G, ("2M", True, "mixed-attributes")),
    ("host-page 4K", dict(private=(), host_max_page=K4), G, ("4K", False, "host-page")),
    ("host-page 2M", dict(private=(), host_max_page=M2), G, ("2M", False, "host-page")),
    ("no-guest-memfd", dict(slot_gmem=None, slot_offset=0, private=(PrivateRange(G, 2 * G),)), G,
     ("4K", True, "no-guest-memfd")),
    ("gmem-4k-only", dict(policy="4k-only"), G, ("4K", True, "gmem-4k-only")),
    ("gmem-4k-only mmap shared", dict(policy="4k-only", private=(), file_mmap=True), G,
     ("4K", False, "gmem-4k-only")),
    ("platform-cap 4K", dict(private_max_page=K4), G, ("4K", True, "platform-cap")),
    ("platform-cap 2M", dict(private_max_page=M2), G, ("2M", True, "platform-cap")),
    ("folio-cap 4K", dict(file_max_page=K4), G, ("4K", True, "folio-cap")),
    ("folio-cap 2M", dict(file_max_page=M2), G, ("2M", True, "folio-cap")),
    ("folio-cap 2M mmap shared", dict(file_max_page=M2, file_mmap=True, private=(), host_max_page=K4), G,
     ("2M", False, "folio-cap")),
    ("whole-binding 4K", dict(policy="whole-binding", slot_size=2 * G + K4), G,
     ("4K", True, "whole-binding")),
    ("whole-binding 2M", dict(policy="whole-binding", slot_size=2 * G + M2), G,
     ("2M", True, "whole-binding")),
    ("whole-binding 2M offset", dict(policy="whole-binding", slot_offset=M2), G,
     ("2M", True, "whole-binding")),
    ("offset-misaligned 4K", dict(slot_offset=K4), G, ("4K", True, "offset-misaligned")),
    ("offset-misaligned 2M", dict(slot_offset=M2), G, ("2M", True, "offset-misaligned")),
    ("offset-misaligned 2M mmap shared", dict(slot_offset=M2, file_mmap=True, private=()), G,
     ("2M", False, "offset-misaligned")),
    # the kernel asks the folio order before the vendor (kvm_gmem_max_mapping_level): 6, 7, 9, 10, 11, 8
    ("folio-cap before platform-cap 4K", dict(file_max_page=K4, private_max_page=K4), G,
     ("4K", True, "folio-cap")),
    ("folio-cap before platform-cap 2M", dict(file_max_page=M2, private_max_page=M2), G,
     ("2M", True, "folio-cap")),
    ("platform-cap below folio-cap", dict(file_max_page=M2, private_max_page=K4), G,
     ("4K", True, "platform-cap")),
    ("whole-binding before platform-cap", dict(policy="whole-binding", slot_size=2 * G + K4,
                                               private_max_page=K4), G, ("4K", True, "whole-binding")),
    ("offset-misaligned before platform-cap", dict(slot_offset=K4, private_max_page=K4), G,
     ("4K", True, "offset-misaligned")),
    ("gmem-4k-only before folio-cap", dict(policy="mainline", file_max_page=K4), G,
     ("4K", True, "gmem-4k-only")),
    # shared frames of a non-mmap gmem slot ignore the file; mmap ones ignore the host page
    ("shared ignores file", dict(private=(), file_max_page=K4, slot_offset=K4), G, ("1G", False, None)),
    ("mmap shared ignores host", dict(private=(), file_mmap=True, host_max_page=K4), G, ("1G", False, None)),
    ("mmap shared no platform cap", dict(private=(), file_mmap=True, private_max_page=K4), G,
     ("1G", False, None)),
    # the slot in the other address space follows that space's default attributes
    ("as 1 default", dict(slot_as_=1), G, ("1G", True, None)),
]


def test_cases_reach_every_reason_code() -> None:
    reached = {want[2] for _, _, _, want in CASES}
    assert set(REASON_CODES) <= reached
    # and every code that can stop 2M (not only 4K) is seen stopping 2M
    at_2m = {want[2] for _, _, _, want in CASES if want[0] == "2M"}
    assert at_2m == set(REASON_CODES) - {"log-dirty", "no-guest-memfd", "gmem-4k-only"}


@pytest.mark.parametrize("label,changes,gpa,want", CASES, ids=[c[0] for c in CASES])
def test_reason_case(label: str, changes: dict, gpa: int, want: tuple) -> None:
    layout = tidy(**changes)
    s = layout.slots[0]
    assert Reference(layout).verdict(s.as_, s.slot, _at(gpa)) == want
    assert engine_at(compute(layout), s.key, _at(gpa)) == want
    check_invariants(layout, compute(layout))


def _pairs() -> list[tuple[str, dict]]:
    out = []
    for (la, ca, _, _), (lb, cb, _, _) in itertools.combinations(CASES, 2):
        if any(k in cb and cb[k] != v for k, v in ca.items()):
            continue
        out.append((f"{la} + {lb}", {**ca, **cb}))
    return out


def test_every_pair_of_perturbations_matches_reference() -> None:
    """Two causes at once: the engine and the reference agree on which one is named (rule order)."""
    pairs = _pairs()
    assert len(pairs) > 300
    rnd = random.Random(3)
    for label, changes in pairs:
        layout = tidy(**changes)
        cov = compute(layout)
        check_invariants(layout, cov)
        ref = Reference(layout)
        for key, frames in sample_frames(layout, cov, rnd).items():
            for g in sorted(frames):
                assert engine_at(cov, key, g) == ref.verdict(key[0], key[1], g), (label, hex(g << SHIFT))


# ---------------------------------------------------------------------------------------------
# rules: monotone, explain agrees with the verdict


def _frame_in(layout: Layout, data: st.DataObject) -> tuple[SlotFacts, int]:
    s = data.draw(st.sampled_from(layout.slots))
    facts = SlotFacts.of(layout, s, Attributes.of(layout))
    g = data.draw(st.integers(facts.B, facts.E - 1))
    return facts, g


@cfg(150)
@given(st.one_of(layouts(), big_layouts()), st.data())
def test_every_rule_is_monotone(layout: Layout, data: st.DataObject) -> None:
    facts, g = _frame_in(layout, data)
    sizes = facts.page_frames
    for private in (False, True):
        for rule in RULES:
            failed = False
            for n in sizes[1:]:
                fails = bool(rule.fails(facts, g - g % n, n, private))
                assert fails or not failed, (rule.code, n)
                failed = fails
    # the reference too: once some condition fails, it fails at every larger size
    ref = Reference(layout)
    s = facts.slot
    priv = ref.private(s.as_, g)
    f = [ref.failing(s, g, k, priv) for k in range(1, len(sizes))]
    for a, b in zip(f, f[1:], strict=False):
        assert a is None or b is not None


@cfg(150)
@given(st.one_of(layouts(), big_layouts()), st.data())
def test_explain_agrees_with_verdict(layout: Layout, data: st.DataObject) -> None:
    facts, g = _frame_in(layout, data)
    k, reason = frame_verdict(facts, g)
    checks = explain_frame(facts, g)
    assert checks and all(isinstance(c.numbers, str) and c.numbers for c in checks)
    first_fail = next((c for c in checks if not c.ok), None)
    names = facts.page_names
    if first_fail is None:
        assert (k, reason) == (len(names) - 1, None)
    else:
        assert names[k + 1] == first_fail.page
        assert reason == first_fail.rule.code
        assert RULE_BY_CODE[reason] is first_fail.rule
    # checks come size by size, rules in the order of docs/rules.md within each size
    order = [(names.index(c.page), RULES.index(c.rule)) for c in checks]
    assert order == sorted(order)
    assert [r.number for r in RULES] == [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 8]
    s = facts.slot
    assert (names[k], facts.attrs.private_at(s, g), reason) == Reference(layout).verdict(s.as_, s.slot, g)


def test_ladder_constants_come_from_platform() -> None:
    assert NAMES == Layout(slots=()).platform.names and FR == (1, 512, 262144)


@cfg(150)
@given(st.one_of(layouts(), big_layouts()))
def test_strategies_make_valid_layouts(layout: Layout) -> None:
    """The generated layouts are ones the loader would accept (docs/formats.md), so comparing them is fair."""
    from gmemtui.core.validate import check_layout

    check_layout(layout, "generated.yaml")


@cfg(150)
@given(st.one_of(layouts(), big_layouts()), st.data())
def test_folio_lies_in_binding_when_rules_2_and_11_hold(layout: Layout, data: st.DataObject) -> None:
    """docs/rules.md's claim that the folio check needs no reason code of its own: where the aligned block is
    inside the slot (rule 2) and gfn ≡ index (rule 11), the folio [I, I+N) holding index
    i = g - B + O (rounded down) lies inside the binding [O, O+P) and inside the file."""
    bound = [s for s in layout.slots if s.gmem is not None]
    if not bound:
        return
    s = data.draw(st.sampled_from(bound))
    B, P, O = s.gpa >> SHIFT, s.size >> SHIFT, s.offset >> SHIFT
    file_frames = layout.file_size(s.gmem) >> SHIFT
    g = data.draw(st.integers(B, B + P - 1))
    for n in FR[1:]:
        f = g - g % n
        if not (B <= f and f + n <= B + P) or (B ^ O) & (n - 1):
            continue
        i = g - B + O
        I = i - i % n
        assert I == f - B + O
        assert O <= I and I + n <= O + P and I + n <= file_frames
