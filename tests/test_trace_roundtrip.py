"""Round trips: trace -> dump_yaml -> load_yaml gives the same layout and coverage; layout -> trace too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import layouts

from gmemtui.core import coverage
from gmemtui.core.model import Layout, Overrides
from gmemtui.core.platform import X86_64
from gmemtui.formats.loader import load
from gmemtui.formats.trace import load_trace
from gmemtui.formats.yaml_dump import dump_yaml
from gmemtui.formats.yaml_load import load_yaml

ROOT = Path(__file__).resolve().parent.parent
SEED_MAIL = ROOT / "layouts" / "lkml-gmem-hugepage-thread.txt"
INPUTS = sorted(str(p) for p in (ROOT / "layouts").glob("*.trace")) + sorted(
    str(p) for p in (ROOT / "layouts").glob("*.yaml")
) + [str(SEED_MAIL)]


def runs_by_key(layout: Layout) -> dict[tuple[int, int], tuple]:
    return {sc.slot.key: sc.runs for sc in coverage.compute(layout).slots}


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: Path(p).name)
@pytest.mark.parametrize("policy", ["per-range", "whole-binding"])
def test_convert_round_trip_of_shipped_inputs(path: str, policy: str) -> None:
    loaded = load(path, Overrides(policy=policy))
    text = dump_yaml(loaded.layout, f"from {path}")
    back = load_yaml(text, "back.yaml")
    assert back == loaded.layout
    assert coverage.compute(back).total == coverage.compute(loaded.layout).total
    assert runs_by_key(back) == runs_by_key(loaded.layout)
    if loaded.kind == "trace":  # each slot's comment and name say which trace line made it
        for s in loaded.layout.slots:
            assert s.name == f"line {s.line}"
            assert f"# from line {s.line} of the input" in text


def test_intermediate_states_round_trip() -> None:
    loaded = load(str(ROOT / "layouts" / "tdx-9.1.trace"))
    for state in loaded.states:
        assert load_yaml(dump_yaml(state.layout, None), "s.yaml") == state.layout


NAMES = st.none() | st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=layouts(), name=NAMES, slot_names=st.lists(NAMES, min_size=8, max_size=8))
def test_dump_yaml_round_trip_of_random_layouts(layout: Layout, name: str | None, slot_names: list) -> None:
    layout = replace(layout, name=name, slots=tuple(
        replace(s, name=slot_names[i % 8]) for i, s in enumerate(layout.slots)))
    assert load_yaml(dump_yaml(layout, "header\nsecond line"), "r.yaml") == layout


def trace_of(layout: Layout) -> str:
    """A QEMU 9.1 trace that builds ``layout`` (plus conversions for an explicit ``private:`` list)."""
    out = ["# synthesised by tests/test_trace_roundtrip.py", "kvm_set_user_memory: what QEMU prints"]
    for s in layout.slots:
        flags = s.flags | (4 if s.gmem is not None else 0)
        fd = s.gmem if s.gmem is not None else -1
        out.append(f"99@1.5:kvm_set_user_memory AddrSpace#{s.as_} Slot#{s.slot} flags={flags:#x} "
                   f"gpa={s.gpa:#x} size={s.size:#x} ua={s.ua:#x} guest_memfd={fd} "
                   f"guest_memfd_offset={s.offset:#x} ret=0")
    if layout.private is not None:
        for s in layout.slots:
            if s.gmem is not None:
                out.append(f"kvm_convert_memory start {s.gpa:#x} size {s.size:#x} private_to_shared")
        for r in layout.private:
            out.append(f"kvm_convert_memory start {r.gpa:#x} size {r.size:#x} shared_to_private")
    return "\n".join(out) + "\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=layouts())
def test_trace_of_a_layout_gives_its_coverage(layout: Layout) -> None:
    two_m = X86_64.page("2M").bytes
    want = replace(layout, files=tuple(replace(f, max_page=two_m, mmap=False) for f in layout.files))
    got = load_trace(trace_of(layout), "syn.trace", Overrides(
        policy=layout.policy, host_max_page=layout.host_max_page, private_max_page=layout.private_max_page,
        gmem_max_page=two_m)).layout
    assert {s.key for s in got.slots} == {s.key for s in want.slots}
    assert runs_by_key(got) == runs_by_key(want)
