"""QEMU traces (docs/formats.md): every form, every prefix, replay semantics, states."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from gmemtui import cli
from gmemtui.core import coverage
from gmemtui.core.errors import InputError
from gmemtui.core.model import GmemFile, Layout, Overrides, PrivateRange, Slot
from gmemtui.core.platform import X86_64
from gmemtui.formats import trace_lines
from gmemtui.formats.loader import is_trace, load
from gmemtui.formats.trace import load_trace
from gmemtui.formats.trace_lines import check_set, parse_by_name, parse_set
from gmemtui.formats.yaml_load import load_yaml

ROOT = Path(__file__).resolve().parent.parent
SEED_MAIL = ROOT / "layouts" / "lkml-gmem-hugepage-thread.txt"
M2 = X86_64.page("2M").bytes
G1 = X86_64.page("1G").bytes


def l91(slot: int, flags: int, gpa: int, size: int, ua: int, fd: int = -1, off: int = 0, ret: int = 0,
        as_: int = 0) -> str:
    return (f"kvm_set_user_memory AddrSpace#{as_} Slot#{slot} flags={flags:#x} gpa={gpa:#x} size={size:#x} "
            f"ua={ua:#x} guest_memfd={fd} guest_memfd_offset={off:#x} ret={ret}")


def replay(text: str, **overrides: object):
    return load_trace(text, "t.trace", Overrides(**overrides))


def error_of(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        replay(text)
    return info.value


# ---------------------------------------------------------------- the five forms

GMEM_SLOT = Slot(slot=3, as_=1, gpa=0x100000, size=0x7FF00000, ua=0x7F24AFD00000, gmem=19, offset=0x100000,
                 name="line 1")
PLAIN_SLOT = Slot(slot=3, as_=1, gpa=0xC0000, size=0x20000, ua=0x7F2575000000, flags=2, name="line 1")

FORMS = {
    "qemu-8.2": ("kvm_set_user_memory Slot#65539 flags=0x2 gpa=0xc0000 size=0x20000 ua=0x7f2575000000 ret=0",
                 PLAIN_SLOT),
    "qemu-9.0": ("kvm_set_user_memory AddrSpace#1 Slot#3 flags=0x2 gpa=0xc0000 size=0x20000 "
                 "ua=0x7f2575000000 ret=0", PLAIN_SLOT),
    "upm": ("kvm_set_user_memory AddrSpace#1 Slot#3 flags=0x4 gpa=0x100000 size=0x7ff00000 ua=0x7f24afd00000 "
            "ret=0 restricted_fd=19 restricted_offset=0x100000", GMEM_SLOT),
    "qemu-9.1": ("kvm_set_user_memory AddrSpace#1 Slot#3 flags=0x4 gpa=0x100000 size=0x7ff00000 "
                 "ua=0x7f24afd00000 guest_memfd=19 guest_memfd_offset=0x100000 ret=0", GMEM_SLOT),
    "simpletrace": ("kvm_set_user_memory 0.123 pid=4242 as=0x1 slot=0x3 flags=0x4 guest_phys_addr=0x100000 "
                    "memory_size=0x7ff00000 userspace_addr=0x7f24afd00000 fd=0x13 fd_offset=0x100000 ret=0x0",
                    GMEM_SLOT),
    "simpletrace-8.2": ("kvm_set_user_memory 1.5 pid=1 slot=0x10003 flags=0x2 guest_phys_addr=0xc0000 "
                        "memory_size=0x20000 userspace_addr=0x7f2575000000 ret=0x0", PLAIN_SLOT),
}


@pytest.mark.parametrize("form", FORMS)
def test_each_form_gives_the_slot(form: str) -> None:
    line, expected = FORMS[form]
    r = replay(line)
    assert r.layout.slots == (expected,)
    assert r.layout.slots[0].line == 1
    if expected.gmem is not None:
        assert r.layout.files == (GmemFile(id=19, size=0x80000000),)
    else:
        assert r.layout.files == ()
    assert r.layout.private is None  # docs/formats.md default without kvm_convert_memory lines


PREFIXES = [
    "",
    "1234@1700000000.123456:",  # the log backend
    "[  12.345678] ",
    "2024-05-02T10:11:12.345678Z qemu-system-x86_64: ",
    "Oct  2 12:49:57 host qemu[1234]: ",
    "> ",
    "> > ",
    ">> > ",
    "  >  ",
    "\t",
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("form", ["qemu-8.2", "upm", "qemu-9.1", "simpletrace"])
def test_event_anywhere_in_the_line(prefix: str, form: str) -> None:
    line, expected = FORMS[form]
    text = f"some header\n{prefix}{line}\r\n"
    r = replay(text)
    assert r.layout.slots == (replace(expected, name="line 2"),)
    assert r.layout.slots[0].line == 2
    assert r.states[1].text == prefix + line


def test_fields_are_found_by_name_in_any_order() -> None:
    line = FORMS["qemu-9.1"][0]
    head, tail = line.split(" ", 1)
    fields = tail.split()
    rng = random.Random(4)
    for _ in range(20):
        rng.shuffle(fields)
        assert replay(f"{head} {' '.join(fields)}").layout.slots == (GMEM_SLOT,)


@pytest.mark.parametrize("form", FORMS)
def test_fast_paths_agree_with_the_by_name_parser(form: str) -> None:
    tail = FORMS[form][0].removeprefix("kvm_set_user_memory")
    assert parse_set(tail) == check_set(*parse_by_name(tail))


@pytest.mark.parametrize("form, fast", [
    ("qemu-9.1", trace_lines._FAST_91), ("upm", trace_lines._FAST_UPM),
    ("qemu-9.0", trace_lines._FAST_90), ("qemu-8.2", trace_lines._FAST_82),
])
def test_canonical_lines_take_the_fast_paths(form: str, fast: re.Pattern[str]) -> None:
    """The exact printf formats must hit their fast regex (an f-string once turned {1,30} into (1, 30))."""
    tail = FORMS[form][0].removeprefix("kvm_set_user_memory")
    assert fast.fullmatch(tail) is not None


def test_prose_mentioning_the_event_is_ignored() -> None:
    text = "\n".join([
        "Here is what kvm_set_user_memory printed:",
        "> the kvm_set_user_memory trace event (accel/kvm/trace-events) is useful",
        "kvm_set_user_memory_region is another function; Slot#0 is not for it",
        "kvm_convert_memory is called on KVM_EXIT_MEMORY_FAULT",
        FORMS["qemu-9.1"][0],
    ])
    r = replay(text)
    assert r.layout.slots == (replace(GMEM_SLOT, name="line 5"),)
    assert r.layout.private is None
    assert len(r.states) == 2


def test_first_qualifying_event_on_a_line_wins() -> None:
    line = FORMS["qemu-9.1"][0]
    r = replay(f"kvm_convert_memory is traced before {line}")
    assert r.layout.slots == (GMEM_SLOT,)
    r = replay(f"prose about kvm_set_user_memory, then kvm_convert_memory start 0x0 size 0x1000 "
               f"private_to_shared\n{line}")
    assert r.layout.private == (PrivateRange(0x100000, 0x7FF00000),)


def test_the_seed_mail_itself() -> None:
    loaded = load(str(SEED_MAIL))
    assert loaded.kind == "trace"
    got = loaded.layout
    assert [(s.slot, s.gpa, s.size, s.gmem, s.offset, s.flags) for s in got.slots] == [
        (0, 0x0, 0xC0000, 19, 0x0, 0),
        (3, 0xC0000, 0x20000, 33, 0x0, 2),
        (4, 0xE0000, 0x20000, 31, 0x0, 2),
        (5, 0x100000, 0x7FF00000, 19, 0x100000, 0),
    ]
    assert [s.name for s in got.slots] == ["line 34", "line 35", "line 36", "line 38"]
    assert len(loaded.states) == 7
    # the same coverage as the hand-written seed layout, run for run
    yaml_path = ROOT / "gmemtui" / "data" / "qemu-snp-seed.yaml"
    if not yaml_path.exists():
        yaml_path = ROOT / "layouts" / "qemu-snp-seed.yaml"
    want = load_yaml(yaml_path.read_text(), str(yaml_path))
    for policy in ("per-range", "whole-binding"):
        a = coverage.compute(got.with_settings(policy=policy))
        b = coverage.compute(want.with_settings(policy=policy))
        assert a.total == b.total
        assert [sc.runs for sc in a.slots] == [sc.runs for sc in b.slots]


def test_report_on_the_seed_mail(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "--json", str(SEED_MAIL)]) == 0
    assert '"2M": 2145386496' in capsys.readouterr().out


def test_shipped_traces_are_traces() -> None:
    paths = sorted((ROOT / "layouts").glob("*.trace"))
    assert {p.name for p in paths} >= {"qemu-snp-seed.trace", "i440fx-smm.trace", "tdx-9.1.trace",
                                       "simpletrace.trace"}
    for p in paths:
        text = p.read_text()
        assert is_trace(text)
        assert text.startswith("#"), f"{p.name}: needs a comment saying how it was made"
        loaded = load(str(p))
        assert loaded.layout.slots, p.name


def test_shipped_traces_have_what_they_promise() -> None:
    i440 = load(str(ROOT / "layouts" / "i440fx-smm.trace")).layout
    assert {s.as_ for s in i440.slots} == {0, 1}
    assert any(s.log_dirty for s in i440.slots) and any(s.readonly for s in i440.slots)
    tdx = load(str(ROOT / "layouts" / "tdx-9.1.trace")).layout
    assert tdx.private is not None and any(s.gpa >= 4 * G1 and s.gmem is not None for s in tdx.slots)
    assert any(s.gmem is None for s in tdx.slots)
    seed = (ROOT / "layouts" / "qemu-snp-seed.trace").read_text()
    mail = SEED_MAIL.read_text()
    body = [ln for ln in seed.splitlines() if not ln.startswith("#")]
    assert "\n".join(body) in mail  # verbatim, quote markers and all


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("bad, words", [
    (l91(0, 0, 0, 0x1000, 0).replace(" ua=0x0", ""), "without ua="),
    (l91(0, 0, 0, 0x1000, 0).replace("gpa=0x0", "gpa=0xzz"), "'0xzz'"),
    (l91(0, 0, 0, 0x1000, 0).replace("gpa=0x0", "gpa=-0x1000"), "non-negative"),
    (l91(0, 0, 0, 0x1000, 0).replace("ret=0", "ret=0 ret=0"), "2 times"),
    (l91(0, 0, 0, 0x1000, 0).replace("ret=0", ""), "without ret="),
    (l91(0, 4, 0, 0x1000, 0, fd=-1), "fd is -1"),
    (l91(0, 4, 0, 0x1000, 0, fd=4294967295), "fd is -1"),
    ("kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x4 gpa=0x0 size=0x1000 ua=0x0 ret=0", "no guest_memfd="),
    (l91(0, 0, 0x800, 0x1000, 0), "gpa 0x800 is not a multiple of 4 KiB"),
    (l91(0, 0, 0, 0x1000, 0x7F0000000010), "ua 0x7f0000000010"),
    (l91(0, 4, 0, 0x1000, 0, fd=3, off=0x10), "offset 0x10"),
    (l91(32764, 0, 0, 0x1000, 0), "slot 32764"),
    (l91(0, 0, 0, 0x1000, 0, as_=2), "as 2"),
    (l91(0, 8, 0, 0x1000, 0), "unknown bits 0x8"),
    (l91(0, 0, 0, 0x1000, 0).replace("ret=0", "ret=" + "9" * 5000), "too large"),
    (l91(0, 0, 0, 0x1000, 0).replace("Slot#0", "Slot#" + "9" * 5000), "too large"),
    (l91(0, 0, 0, 0x1000, 0).replace("gpa=0x0", "gpa=0x" + "f" * 40), "too large"),
    (l91(0, 0, 1 << 52, 0x1000, 0), "beyond 2^52"),
    ("kvm_set_user_memory Slot#131072 flags=0x0 gpa=0x0 size=0x1000 ua=0x0 ret=0", "as 2"),
    ("kvm_convert_memory start 0x1000 size 0x800 shared_to_private", "not a multiple"),
    ("kvm_convert_memory start 0x1000 size 0x1000 to_private", "shared_to_private or private_to_shared"),
    ("kvm_convert_memory start 0x1000 size zz shared_to_private", "'zz'"),
    ("kvm_convert_memory start " + "1" * 5000 + " size 0x1000 shared_to_private", "too large"),
])
def test_bad_event_line_is_file_line_message(bad: str, words: str) -> None:
    err = error_of(f"# a comment\n{l91(7, 0, 0x10000000, 0x1000, 0)}\n> {bad}\n")
    assert err.line == 3
    assert words in err.message
    assert re.fullmatch(r"t\.trace:3: [^\n]+", str(err))


def test_failed_lines_change_nothing_even_with_bad_values() -> None:
    r = replay("\n".join([
        l91(1, 0, 0, 0x1000, 0),
        l91(2, 0, 0x800, 0x123, 0x5, ret=-22),  # KVM said EINVAL: that is why it is odd
        l91(1, 0, 0, 0, 0, ret=-1),  # a failed delete
        l91(3, 4, 0x2000, 0x1000, 0, fd=-1, ret=-22),
    ]))
    assert [s.slot for s in r.layout.slots] == [1]
    assert len(r.states) == 2
    assert [(w.line, w.slot) for w in r.layout.notes] == [(2, 2), (3, 1), (4, 3)]
    assert "-22" in r.layout.notes[0].message


def test_overlap_after_replay_names_the_line() -> None:
    err = error_of("\n".join([l91(1, 0, 0, 0x200000, 0), "noise", l91(2, 0, 0x100000, 0x200000, 0)]))
    assert err.line == 3 and "overlaps" in err.message


# ---------------------------------------------------------------- replay semantics

def test_create_replace_delete() -> None:
    r = replay("\n".join([
        l91(1, 0, 0, 0x200000, 0x7F0000000000),
        l91(2, 0, 0x200000, 0x200000, 0x7F0000200000),
        l91(1, 1, 0, 0x100000, 0x7F0000000000),  # replace: smaller, log_dirty
        l91(2, 0, 0x200000, 0, 0x7F0000200000),  # delete
    ]))
    assert r.layout.slots == (Slot(slot=1, gpa=0, size=0x100000, ua=0x7F0000000000, flags=1, name="line 3"),)
    assert [len(s.layout.slots) for s in r.states] == [0, 1, 2, 2, 1]


def test_deleting_an_unknown_slot_warns_and_is_not_a_state() -> None:
    r = replay("\n".join([l91(9, 0, 0, 0, 0), l91(1, 0, 0, 0x1000, 0), l91(1, 0, 0, 0, 0),
                          l91(1, 0, 0, 0, 0)]))
    assert len(r.states) == 3
    assert r.layout.slots == ()
    assert [(w.line, w.as_, w.slot) for w in r.layout.notes] == [(1, 0, 9), (4, 0, 1)]
    assert "not created" in r.layout.notes[0].message
    assert r.states[1].layout.notes == r.layout.notes[:1]  # a state carries the warnings before it


def test_fd_without_the_guest_memfd_bit_is_ignored_offset_included() -> None:
    r = replay(l91(0, 0, 0x100000, 0x100000, 0x7F0000100000, fd=19, off=0x3E0000))
    s = r.layout.slots[0]
    assert (s.gmem, s.offset) == (None, 0)
    assert r.layout.files == ()


def test_as_shift_when_no_address_space_field() -> None:
    r = replay("kvm_set_user_memory Slot#65541 flags=0x0 gpa=0x0 size=0x1000 ua=0x0 ret=0\n"
               "kvm_set_user_memory Slot#5 flags=0x0 gpa=0x0 size=0x1000 ua=0x0 ret=0")
    assert sorted(s.key for s in r.layout.slots) == [(0, 5), (1, 5)]


def test_file_size_is_the_furthest_binding_of_any_line() -> None:
    r = replay("\n".join([
        l91(0, 4, 0, 0x80000000, 0x7F0000000000, fd=19, off=0),
        l91(0, 4, 0, 0, 0x7F0000000000, fd=19, off=0),
        l91(0, 4, 0, 0xC0000, 0x7F0000000000, fd=19, off=0),
        l91(5, 6, 0x100000, 0x100000, 0x7F0000100000, fd=21, off=0x100000),
        l91(6, 4, 0x300000, 0x100000, 0x7F0000300000, fd=21, off=0x300000, ret=-22),  # failed: not counted
    ]), gmem_max_page=G1, gmem_mmap=True)
    assert r.layout.files == (GmemFile(19, 0x80000000, G1, True), GmemFile(21, 0x200000, G1, True))
    assert r.layout.slots[1].flags == 2  # readonly kept, the guest_memfd bit became the binding
    assert r.states[3].layout.files == r.layout.files[:1]  # a file appears with its first binding


def test_convert_memory_replays_attributes() -> None:
    r = replay("\n".join([
        l91(0, 4, 0, 0x400000, 0x7F0000000000, fd=19),  # gmem slot: private right after creation
        l91(1, 0, 0x400000, 0x200000, 0x7F0000400000),  # shared slot: attributes untouched
        "1@2.0:kvm_convert_memory start 0x101000 size 0x2000 private_to_shared",
        "kvm_convert_memory 1.0 pid=1 start=0x101000 size=0x1000 msg=shared_to_private",
        "kvm_convert_memory start 0x0 size 0x1000 private_to_shared",
        "kvm_convert_memory start 0x0 size 0x1000 private_to_shared",  # no change: not a state
        l91(0, 4, 0, 0, 0x7F0000000000, fd=19),  # delete: attributes stay
    ]))
    want = (PrivateRange(0x1000, 0x101000), PrivateRange(0x103000, 0x2FD000))
    assert r.layout.private == want  # the delete on the last line left them as they were
    assert r.states[5].layout.private == want
    assert [s.slot for s in r.layout.slots] == [1]
    assert len(r.states) == 7
    assert r.states[1].layout.private == (PrivateRange(0, 0x400000),)
    assert r.states[0].layout.private == ()
    cov = coverage.compute(r.states[5].layout)
    runs = cov.slot((0, 0)).runs
    assert any(run.reason == "mixed-attributes" for run in runs)


def test_no_convert_lines_keeps_the_default_attributes() -> None:
    r = replay(l91(0, 4, 0, 0x1000, 0, fd=3) + "\nkvm_convert_memory is what QEMU calls on a fault\n")
    assert r.layout.private is None


def test_overrides_reach_every_state() -> None:
    r = replay("\n".join([l91(0, 4, 0, 0x200000, 0, fd=3), l91(1, 0, 0x200000, 0x200000, 0x200000)]),
               policy="whole-binding", private_max_page=M2, host_max_page=M2 >> 9)
    for state in r.states:
        assert state.layout.policy == "whole-binding"
        assert state.layout.private_max_page == M2


# ---------------------------------------------------------------- states

def naive_replay(lines: list[str]) -> list[tuple[int, Layout]]:
    """Reference: every state rebuilt from scratch, one dict per line (tests only)."""
    from gmemtui.formats.trace_states import set_range

    states: list[tuple[int, dict, list, list]] = [(0, {}, [], [])]
    for n, text in enumerate(lines, 1):
        _, live, los, his = states[-1]
        live, los, his = dict(live), list(los), list(his)
        if "kvm_convert_memory" in text:
            _, _, start, _, size, what = text.split()
            lo, hi = int(start, 16), int(start, 16) + int(size, 16)
            if not set_range(los, his, lo, hi, what == "shared_to_private"):
                continue
        else:
            key, as_, slot, flags, gpa, size, ua, fd, off, ret = parse_set(text.split("memory", 1)[1])
            if ret or (size == 0 and key not in live):
                continue
            if size == 0:
                del live[key]
            else:
                live[key] = Slot(slot, gpa, size, ua, as_, flags, fd if fd >= 0 else None, off, f"line {n}")
                if fd >= 0:
                    set_range(los, his, gpa, gpa + size, True)
        states.append((n, live, los, his))
    out = []
    for n, live, los, his in states:
        slots = tuple(sorted(live.values(), key=lambda s: (s.as_, s.gpa, s.slot)))
        private = tuple(PrivateRange(a, b - a) for a, b in zip(los, his, strict=True))
        out.append((n, replace(Layout(slots), private=private)))
    return out


def random_trace(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        r = rng.random()
        if r < 0.15:
            start = rng.randrange(0, 64) << 21
            lines.append(f"kvm_convert_memory start {start:#x} size {rng.randrange(1, 600) << 12:#x} "
                         f"{rng.choice(['private_to_shared', 'shared_to_private'])}")
            continue
        slot = rng.randrange(40)
        gpa = slot << 32  # one slot per 4G window: never overlaps
        size = 0 if r < 0.4 else rng.randrange(1, 2000) << 12
        gm = rng.random() < 0.5
        as_ = rng.choice([0, 1])
        lines.append(l91(slot, 4 if gm else rng.choice([0, 1, 2]), gpa, size, 0x7F0000000000 + gpa,
                         fd=100 + 64 * as_ + slot if gm else -1, off=0,
                         ret=-22 if rng.random() < 0.05 else 0, as_=as_))
    return lines


def test_states_match_a_naive_replay_in_any_access_order() -> None:
    lines = random_trace(7, 900)
    r = replay("\n".join(lines))
    want = naive_replay(lines)
    assert len(r.states) == len(want) > 300  # several checkpoints
    order = list(range(len(want)))
    random.Random(1).shuffle(order)
    for i in order[:250] + [0, len(want) - 1, len(want) // 2, len(want) // 2 + 1]:
        n, layout = want[i]
        st = r.states[i]
        assert (st.index, st.line) == (i, n)
        assert st.text == (lines[n - 1] if n else "")
        assert st.layout.slots == layout.slots
        assert st.layout.private == layout.private
    for i in range(len(want) - 1, len(want) - 80, -1):  # stepping backwards, as the TUI does
        assert r.states[i].layout.slots == want[i][1].slots


def test_states_sequence_protocol() -> None:
    lines = random_trace(3, 60)
    r = replay("\n".join(lines))
    n = len(r.states)
    assert r.states[-1].layout == r.layout == r.states[n - 1].layout
    assert [s.index for s in r.states[1:4]] == [1, 2, 3]
    assert [s.index for s in r.states][:3] == [0, 1, 2]
    with pytest.raises(IndexError):
        r.states[n]
    assert r.states[0].layout.slots == () and r.states[0].line == 0 and r.states[0].text == ""
    line = r.states[5].line
    assert r.states.state_at_line(line) == 5
    assert r.states.state_at_line(0) == 0


def test_state_memory_does_not_hold_layouts() -> None:
    """The log keeps a few words per change; full layouts exist only for cached states."""
    import tracemalloc

    lines = random_trace(11, 4000)
    text = "\n".join(lines)
    tracemalloc.start()
    r = replay(text)
    used, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    changes = len(r.states) - 1
    assert used / changes < 1000  # a materialised layout of ~40 slots alone would be ~20 KB
