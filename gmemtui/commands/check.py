"""``gmemtui check FILE [--kvm [--levels]]`` (docs/commands.md, docs/kvm-check.md).

Without ``--kvm``: load and validate (errors exit 2 through the loader), print the warnings, "OK".
With ``--kvm``: ask this machine's /dev/kvm, slot by slot, and compare with gmemtui's verdict; with
``--levels`` also the page sizes KVM installed. Exit 1 on any disagreement; a machine without a
usable KVM is one line and exit 0. Only this module imports ``gmemtui.kvm``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from gmemtui.core.errors import InputError
from gmemtui.core.model import Layout, flag_names
from gmemtui.core.units import fmt_size
from gmemtui.formats.loader import load

if TYPE_CHECKING:
    from gmemtui.kvm.vm import Kvm


def _warning_line(path: str, w: object) -> str:
    line = getattr(w, "line", None)
    where = f"{path}:{line}" if line else path
    return f"{where}: warning: {getattr(w, 'message', w)}"


def main(args: argparse.Namespace) -> int:
    from gmemtui.commands.options import overrides_from
    from gmemtui.core.validate import layout_warnings

    if getattr(args, "levels", False) and not getattr(args, "kvm", False):
        raise InputError("check: --levels needs --kvm")
    loaded = load(args.file, overrides_from(args))
    layout = loaded.layout
    out = sys.stdout
    warnings = layout_warnings(layout)
    for w in warnings:
        print(_warning_line(args.file, w), file=out)
    print(f"{args.file}: OK ({len(layout.slots)} slots, {len(warnings)} warnings)", file=out)
    if not getattr(args, "kvm", False):
        return 0
    return check_kvm(layout, levels=bool(getattr(args, "levels", False)),
                     limit=int(getattr(args, "memory_limit", 1 << 30)), out=out)


def _slot_label(s: object) -> str:
    name = getattr(s, "name", None)
    return f"  {name}" if name else ""


def check_kvm(layout: Layout, levels: bool = False, limit: int = 1 << 30, out: TextIO | None = None) -> int:
    """Apply the layout on /dev/kvm; 0 = kernel and gmemtui agree (or skipped), 1 = they disagree."""
    from gmemtui.kvm.vm import Kvm, KvmUnavailable

    out = out or sys.stdout
    try:
        kvm = Kvm()
    except KvmUnavailable as e:
        print(f"check --kvm: skipped: {e}", file=out)
        return 0
    from gmemtui.kvm.levels import sweep_leftovers

    removed = sweep_leftovers()  # what a run killed outright left behind (docs/kvm-check-cleanup.md)
    if removed:
        print(f"kvm: removed what a run killed earlier left: {', '.join(removed)}", file=out)
    with _sigterm_unwinds():
        return _check_kvm(kvm, layout, levels, limit, out)


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM exits through the ``finally`` blocks (VM, mappings, tracing instance), like SIGINT."""
    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    try:
        old = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _check_kvm(kvm: Kvm, layout: Layout, levels: bool, limit: int, out: TextIO) -> int:
    from gmemtui.kvm.apply import apply_layout, metadata_problem, needed_capability
    from gmemtui.kvm.flavour import detect
    from gmemtui.kvm.vm import KvmUnavailable

    with kvm:
        flav = detect(kvm)
        missing = needed_capability(layout, flav)
        if missing:
            print(f"check --kvm: skipped: this KVM lacks {missing}", file=out)
            return 0
        too_big = metadata_problem(layout, flav)
        if too_big:
            print(f"check --kvm: skipped: {too_big}", file=out)
            return 0
        print(f"kvm: {flav.describe()}; guest_memfd {'yes' if flav.caps.get('GUEST_MEMFD') else 'no'}, "
              f"memory attributes {'yes' if flav.caps.get('MEMORY_ATTRIBUTES') else 'no'}, "
              f"address spaces {flav.address_spaces}, gpa limit 2^{flav.max_gpa_bits}", file=out)
        try:
            applied = apply_layout(layout, kvm, flav)
        except KvmUnavailable as e:
            print(f"check --kvm: skipped: {e}", file=out)
            return 0
        try:
            bad = _print_slots(applied, out)
            if levels:
                bad += _levels(layout, applied, flav, kvm.fd, limit, out)
        finally:
            applied.vm.close()
    print(f"kvm: {'kernel and gmemtui agree' if not bad else f'{bad} disagreement(s)'}", file=out)
    return 1 if bad else 0


def _print_slots(applied: object, out: TextIO) -> int:
    answers = applied.answers  # type: ignore[attr-defined]
    for note in applied.notes:  # type: ignore[attr-defined]
        print(f"  note: {note}", file=out)
    print(f"  {'as':>2} {'slot':>5} {'gpa':>14} {'size':>9}  {'gmemtui':<8} {'kernel':<8} verdict", file=out)
    bad = 0
    for a in answers:
        s = a.slot
        flags = flag_names(s.flags) + ([f"gmem {s.gmem}@{s.offset:#x}"] if s.gmem is not None else [])
        head = f"  {s.as_:>2} {s.slot:>5} {s.gpa:>#14x} {fmt_size(s.size):>9}"
        if not a.checkable:
            print(f"{head}  {'-':<8} {'-':<8} {a.note}", file=out)
            continue
        verdict = "agree" if a.agree else "DISAGREE"
        bad += not a.agree
        extra = f"  [{', '.join(flags)}]" if flags else ""
        note = f"  ({a.note})" if a.note else ""
        line = f"{head}  {a.predicted.name:<8} {a.kernel_name:<8} {verdict}{extra}{_slot_label(s)}{note}"
        print(line, file=out)
    return bad


def _levels(layout: Layout, applied: object, flav: object, kvm_fd: int, limit: int, out: TextIO) -> int:
    from gmemtui.kvm.observe import observe

    rep = observe(layout, applied, flav, kvm_fd, limit)  # type: ignore[arg-type]
    print("levels:", file=out)
    for note in rep.notes:
        print(f"  cannot show: {note}", file=out)
    if not rep.ok:
        print(f"  guest failed: {rep.message}", file=out)
        return 1
    names = layout.platform.names
    for lv in rep.slots:
        s = lv.slot
        pred = " ".join(f"{n} {fmt_size(lv.predicted[n])}" for n in names if lv.predicted.get(n))
        seen = " ".join(f"{n} {fmt_size(lv.seen[n])}" for n in names if lv.seen.get(n)) or "-"
        verdict = "agree" if not lv.disagreements else f"DISAGREE ({len(lv.disagreements)} mappings)"
        line = f"  slot {s.slot:>5}{_slot_label(s)}: touched {fmt_size(lv.touched)}; gmemtui {pred or '-'}"
        if rep.trace:
            line += f"; kernel {seen}; {verdict}"
        print(line, file=out)
        if lv.excused:
            print(f"    cannot show: {fmt_size(lv.excused)} mapped 4K because the host supplied no huge page "
                  "there (THP allocation)", file=out)
        if lv.unseen:
            print(f"    note: {fmt_size(lv.unseen)} touched but no mapping seen in the trace", file=out)
        for d in lv.disagreements[:5]:
            print(f"    {d}", file=out)
    if rep.outside:
        print(f"  {rep.outside} mapping(s) outside every slot", file=out)
    stats = " ".join(f"{k}={v}" for k, v in sorted(rep.stats.items()))
    print(f"  stats: {stats}", file=out)
    bad = sum(len(lv.disagreements) for lv in rep.slots) + rep.outside
    for name, (lo, hi) in sorted(rep.stats_expect.items()):
        got = rep.stats.get(name, 0)
        if not lo <= got <= hi:
            want = f"{lo}" if lo == hi else (f">= {lo}" if hi >= 1 << 62 else f"{lo}..{hi}")
            print(f"  stats DISAGREE: {name}={got}, gmemtui expects {want}", file=out)
            bad += 1
    return bad
