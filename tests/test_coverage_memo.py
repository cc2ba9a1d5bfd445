"""compute()'s memo (coverage.Memo) never changes a result; each Rule.reads declares enough.

``compute`` shares ``size_steps`` between slots with equal ``rules.steps_key`` (built from what each
slot-level rule declares it reads) and the runs, relative to the slot's gpa, between slots of the same
class (``coverage.Shape``; tests/test_coverage_shapes.py). These tests check the declarations rule by
rule and the memo against the plain per-slot path.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import FR, LADDER, TOP, big_layouts, layouts

from gmemtui.core.coverage import Run, _run, compute, slot_runs
from gmemtui.core.facts import Attributes, SlotFacts
from gmemtui.core.model import POLICIES, GmemFile, Layout, PrivateRange, Slot
from gmemtui.core.rules import RULES, _unrolled, plain_steps_key, size_steps, steps_key

K4, M2, G = LADDER
CFG = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
SLOT_LEVEL = [r for r in RULES if not r.per_block]
BASE = SlotFacts.maker(Layout(slots=()))(Slot(slot=0, gpa=0, size=M2, ua=0))

# frame numbers whose low bits often agree below the largest page: a few set bits, some above it
_frames = st.builds(lambda bits, hi: sum(1 << b for b in bits) + hi * TOP,
                    st.sets(st.integers(0, 18), max_size=3), st.integers(0, 3))
_caps = st.sampled_from(FR)


@st.composite
def facts(draw: st.DrawFn) -> SlotFacts:
    """SlotFacts with every input the slot-level rules may read drawn independently."""
    gmem = draw(st.booleans())
    return replace(
        BASE,
        slot=Slot(slot=0, gpa=0, size=M2, ua=0, flags=draw(st.sampled_from([0, 1])),
                  gmem=1 if gmem else None),
        B=draw(_frames), P=draw(_frames), U=draw(_frames), O=draw(_frames),
        gmem=gmem, gmem_only=draw(st.booleans()), folio_max=draw(st.sampled_from((0, *FR))),
        host_max=draw(_caps), private_max=draw(_caps), policy=draw(st.sampled_from(POLICIES)),
        has_private=draw(st.booleans()),
    )


def test_every_slot_level_rule_declares_what_it_reads() -> None:
    assert SLOT_LEVEL and all(r.reads is not None for r in SLOT_LEVEL)


@settings(deadline=None, max_examples=400)
@given(facts(), facts())
def test_equal_reads_give_equal_answers_at_every_size(a: SlotFacts, b: SlotFacts) -> None:
    """A rule's declared reads decide it: two slots that agree on them agree at every size."""
    for rule in SLOT_LEVEL:
        if rule.reads(a) != rule.reads(b):
            continue
        for n in FR[1:]:
            for private in (False, True):
                assert rule.fails(a, 0, n, private) == rule.fails(b, 0, n, private), (rule.code, n)


@settings(deadline=None, max_examples=300)
@given(facts(), facts())
def test_equal_steps_keys_give_equal_size_steps(a: SlotFacts, b: SlotFacts) -> None:
    b = replace(b, B=a.B ^ (b.B & TOP * 3))  # often equal low bits, so keys often agree
    if steps_key(a) == steps_key(b):
        for private in (False, True):
            assert size_steps(a, private) == size_steps(b, private)


@settings(deadline=None, max_examples=300)
@given(facts())
def test_steps_key_is_the_plain_key(a: SlotFacts) -> None:
    """The unrolled ``steps_key`` (one expression made from source) is the loop over the rules' reads."""
    assert steps_key(a) == plain_steps_key(a)
    assert len(steps_key(a)) == 2 + len(SLOT_LEVEL)


def test_unrolled_calls_each_read_in_order() -> None:
    """Any number of reads, each called once with the facts, in order (none: just the two fields)."""
    for n in range(4):
        calls: list[int] = []
        key = _unrolled(tuple((lambda s, i=i, calls=calls: calls.append(i) or i * 10) for i in range(n)))
        assert key(BASE) == (BASE.page_frames, BASE.gmem_only, *[i * 10 for i in range(n)])
        assert calls == list(range(n))


def _unmemoized(layout: Layout) -> list[tuple[Run, ...]]:
    """Every slot's runs without a memo, in compute()'s order."""
    make = SlotFacts.maker(layout, Attributes.of(layout))
    return [slot_runs(make(s)) for s in sorted(layout.slots, key=lambda s: (s.as_, s.gpa))]


def _memoized(layout: Layout) -> list[tuple[Run, ...]]:
    return [sc.runs for sc in compute(layout).slots]


@CFG
@given(st.one_of(layouts(), big_layouts()))
def test_memo_changes_no_run(layout: Layout) -> None:
    assert _memoized(layout) == _unmemoized(layout)


@CFG
@given(st.one_of(layouts(max_slots=3), big_layouts()),
       st.lists(st.tuples(st.integers(1, 6), st.integers(0, TOP // FR[1] - 1)), min_size=1, max_size=4))
def test_memo_on_shifted_copies(layout: Layout, shifts: list[tuple[int, int]]) -> None:
    """Copies of each slot at other positions (gpa, ua and offset moved alike, so the same
    ``steps_key``), some by whole 1G pages (the memo hits), some by 2M steps (it must not)."""
    slots = list(layout.slots)
    step = -(-max(s.end for s in slots) // G) * G
    for i, (k, m) in enumerate(shifts):
        d = k * step * (i + 1) + m * M2
        for s in layout.slots:
            slots.append(replace(s, slot=s.slot + 1000 * (i + 1), gpa=s.gpa + d, ua=s.ua + d,
                                 offset=s.offset + d))
    # the copies overlap nothing in GPA; their guest_memfd bindings may: compute() does not care
    lay = replace(layout, slots=tuple(slots))
    assert _memoized(lay) == _unmemoized(lay)


def test_memo_on_many_slots_of_few_classes() -> None:
    """The benchmark's shape, small: 300 slots on 8 files, 60 private ranges."""
    size, stride = 2 * M2 + 3 * K4, 4 * M2
    slots = tuple(Slot(slot=i, gpa=i * stride, size=size + (i % 3) * M2 // 2,
                       ua=(1 << 40) + i * stride + (i % 3) * M2, gmem=i % 8,
                       offset=i * (size + (i % 5) * K4)) for i in range(300))
    files = tuple(GmemFile(id=f, max_page=M2 if f % 2 else G) for f in range(8))
    private = tuple(PrivateRange(i * 20 * stride + (i % 7) * K4, 9 * stride) for i in range(60))
    for policy in POLICIES:
        lay = Layout(slots=slots, files=files, private=private, policy=policy)
        assert _memoized(lay) == _unmemoized(lay)


def test_fast_run_is_a_run() -> None:
    args = (0x1000, 0x200000, "2M", True, "slot-edge")
    fast, plain = _run(*args), Run(*args)
    assert vars(fast) == vars(plain) and fast == plain and hash(fast) == hash(plain)
