"""Trace parse + replay at scale (issue 4): 1,000,000 ``kvm_set_user_memory`` lines.

Run: ``.venv/bin/python benchmarks/bench_trace.py``. Not a test: it prints figures for the README.

Two traces of 1,000,000 event lines in the QEMU 9.1 log-backend form (``PID@SECONDS:`` prefix):

* ``distinct``: every line different (512 slots in AS 0 created and deleted over and over at
  moving guest addresses, guest_memfd on every other one) -- the parser's worst case;
* ``remap``: a q35 boot followed by a guest that keeps remapping a few small regions (a VGA
  window, a PCI BAR, dirty logging toggled on the RAM slots during a migration) -- what a long real
  trace looks like, where the same lines come back and the parse cache helps.

Memory of the states is measured with tracemalloc (the change log and checkpoints, excluding the
input text) and compared with the number of changes; materialising a state far from a checkpoint
is timed too.
"""

from __future__ import annotations

import gc
import re
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Case, in_process, interleave, table  # noqa: E402

from gmemtui.core.model import Overrides  # noqa: E402
from gmemtui.formats.trace import load_trace, load_trace_pieces  # noqa: E402

LINES = 1_000_000
FMT = ("4242@{t:.6f}:kvm_set_user_memory AddrSpace#{a} Slot#{s} flags={f:#x} gpa={g:#x} size={z:#x} "
       "ua={u:#x} guest_memfd={fd} guest_memfd_offset={o:#x} ret=0\n")


def distinct(n: int = LINES) -> str:
    out = []
    slots = 512
    for i in range(n):
        s = i % slots
        rnd = i // slots
        gpa = (s << 32) + ((rnd % 4096) << 12)
        size = 0 if rnd % 2 else 0x200000
        gm = s % 2 == 0
        out.append(FMT.format(t=i * 1e-6, a=0, s=s, f=4 if gm else 0, g=gpa, z=size, u=0x7F0000000000 + gpa,
                              fd=20 + s if gm else -1, o=(gpa & 0xFFFFFFFF) if gm else 0))
    return "".join(out)


def remap(n: int = LINES) -> str:
    boot = [
        (0, 0, 4, 0x0, 0x80000000, 0x7F0000000000, 19, 0x0),
        (0, 0, 4, 0x0, 0x0, 0x7F0000000000, 19, 0x0),
        (0, 0, 4, 0x0, 0xC0000, 0x7F0000000000, 19, 0x0),
        (0, 5, 4, 0x100000, 0x7FF00000, 0x7F0000100000, 19, 0x100000),
        (0, 6, 4, 0x100000000, 0x80000000, 0x7F0080000000, 19, 0x80000000),
    ]
    cycle = [
        (0, 1, 0, 0xA0000, 0x20000, 0x7F1000000000, -1, 0),  # VGA window mapped ...
        (0, 1, 0, 0xA0000, 0x0, 0x7F1000000000, -1, 0),  # ... and unmapped
        (0, 7, 0, 0xFE000000, 0x1000000, 0x7F2000000000, -1, 0),  # PCI BAR mapped ...
        (0, 7, 0, 0xFE000000, 0x0, 0x7F2000000000, -1, 0),  # ... and unmapped
        (0, 5, 5, 0x100000, 0x7FF00000, 0x7F0000100000, 19, 0x100000),  # dirty logging on
        (0, 5, 4, 0x100000, 0x7FF00000, 0x7F0000100000, 19, 0x100000),  # ... and off
    ]
    out = [FMT.format(t=i * 1e-6, a=a, s=s, f=f, g=g, z=z, u=u, fd=fd, o=o)
           for i, (a, s, f, g, z, u, fd, o) in enumerate(boot)]
    i = len(out)
    while i < n:
        for a, s, f, g, z, u, fd, o in cycle:
            # the log backend's timestamp differs on every line; only the part after the event repeats
            out.append(FMT.format(t=i * 1e-6, a=a, s=s, f=f, g=g, z=z, u=u, fd=fd, o=o))
            i += 1
    return "".join(out[:n])


def pieces(text: str, size: int = 1 << 22) -> list[tuple[str, int]]:
    """``text`` in pieces of whole lines of about ``size`` characters, as the file reader gives them."""
    out, start, line = [], 0, 1
    while start < len(text):
        end = text.rfind("\n", start, start + size) + 1 or len(text)
        out.append((text[start:end], line))
        line += text.count("\n", start, end)
        start = end
    return out


def memory(load) -> tuple[float, float]:
    """(kept, peak) bytes of ``load()``: what the result keeps, and the most the load held at once."""
    gc.collect()
    tracemalloc.start()
    result = load()
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return cur, peak


def run(name: str, text: str, old=None, old_pieces=None) -> None:
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    replay = load_trace(text, name + ".trace", Overrides())
    c1, t1 = time.process_time(), time.perf_counter()
    states = replay.states
    changes = len(states) - 1
    print(f"{name:9s} {LINES:,} lines -> {changes:,} changes, {len(replay.layout.slots)} final slots: "
          f"parse+replay {c1 - c0:.2f} s CPU, {t1 - t0:.2f} s wall ({(c1 - c0) / LINES * 1e6:.2f} us/line)")
    t2 = time.perf_counter()
    mid = states[changes // 2 + 37].layout
    t3 = time.perf_counter()
    print(f"{'':9s} state {changes // 2 + 37:,} ({len(mid.slots)} slots) built in {(t3 - t2) * 1e3:.1f} ms")
    del replay, states, mid

    split = pieces(text)
    loads = {"": (lambda: load_trace(text, name + ".trace", Overrides()),
                  lambda: load_trace_pieces(split, name + ".trace", Overrides(), track=False))}
    if old is not None:
        loads[" (before)"] = (lambda: old(text, name + ".trace", Overrides()),
                              lambda: old_pieces(split, name + ".trace", Overrides(), track=False))
    for label, (whole, in_pieces) in loads.items():
        cur, peak = memory(whole)
        _, peak_pieces = memory(in_pieces)
        print(f"{'':9s} states kept{label}: {cur / 2**20:.1f} MiB = {cur / max(changes, 1):.0f} "
              f"bytes/change; peak during load {peak / 2**20:.1f} MiB whole, "
              f"{peak_pieces / 2**20:.1f} MiB in 4 MiB pieces (input text {len(text) / 2**20:.0f} MiB "
              "not counted)")


# The floor: what any reader of these lines must do at least. One regex that finds the event name and
# reads its nine fields to the end of the line (the same pattern as the fast path's, so the same regex
# work), then int() of every field.
FLOOR_RE = re.compile(
    r"kvm_set_user_memory AddrSpace#([0-9]{1,30}) Slot#([0-9]{1,30}) flags=0x([0-9a-fA-F]{1,32}) "
    r"gpa=0x([0-9a-fA-F]{1,32}) size=0x([0-9a-fA-F]{1,32}) ua=0x([0-9a-fA-F]{1,32}) "
    r"guest_memfd=(-?[0-9]{1,30}) guest_memfd_offset=0x([0-9a-fA-F]{1,32}) ret=(-?[0-9]{1,30})[ \t\r\f\v]*$",
    re.M)
# The floor used until issue 13, round 2: no event name, no AddrSpace#, nothing to the end of the line.
OLD_FLOOR_RE = re.compile(
    r"Slot#(\d+) flags=0x([0-9a-f]+) gpa=0x([0-9a-f]+) size=0x([0-9a-f]+) ua=0x([0-9a-f]+) "
    r"guest_memfd=(-?\d+) guest_memfd_offset=0x([0-9a-f]+) ret=(-?\d+)")


def floor(text: str) -> int:
    """The least a reader must do: find each event's fields with one regex and turn them into ints."""
    n = 0
    for m in FLOOR_RE.finditer(text):
        a, s, f, g, z, u, fd, o, r = m.groups()
        n += (int(a) + int(s) + int(f, 16) + int(g, 16) + int(z, 16) + int(u, 16) + int(fd) + int(o, 16)
              + int(r))
    return n


def old_floor(text: str) -> int:
    n = 0
    for m in OLD_FLOOR_RE.finditer(text):
        s, f, g, z, u, fd, o, r = m.groups()
        n += int(s) + int(f, 16) + int(g, 16) + int(z, 16) + int(u, 16) + int(fd) + int(o, 16) + int(r)
    return n


def load_trace_at(ref: str):
    """``load_trace`` as it was at git ``ref`` (its trace modules imported under another package name,
    the rest of gmemtui shared), to measure before and after in the same interleaved rounds."""
    import subprocess
    import tempfile

    root = Path(__file__).resolve().parent.parent
    names = subprocess.run(["git", "ls-tree", "--name-only", ref, "gmemtui/formats/"], cwd=root, check=True,
                           capture_output=True, text=True).stdout.split()
    tmp = Path(tempfile.mkdtemp(prefix="trace_before_"))
    pkg = tmp / "trace_before"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in names:
        if Path(name).name.startswith("trace") and name.endswith(".py"):
            src = subprocess.run(["git", "show", f"{ref}:{name}"], cwd=root, check=True, capture_output=True,
                                 text=True).stdout
            (pkg / Path(name).name).write_text(src.replace("gmemtui.formats.trace", "trace_before.trace"))
    sys.path.insert(0, str(tmp))
    import importlib

    module = importlib.import_module("trace_before.trace")
    return module.load_trace, module.load_trace_pieces


def versus_floor(texts: dict[str, str], rounds: int = 3, before: str | None = None) -> None:
    """``load_trace`` beside the floor on the same text, interleaved, thread CPU (harness.py): the fast
    path, the plain path alone (``Replayer(fast=False)``), and with ``before`` the code at that git ref."""
    from gmemtui.formats.trace import Replayer

    def plain(text: str) -> None:
        r = Replayer("x.trace", Overrides(), track="kvm_convert_memory" in text, fast=False)
        r.feed(text)
        r.states()

    old = load_trace_at(before)[0] if before else None
    fl = "regex scan + int() of the 9 fields"
    for title, text in texts.items():
        cases = [Case(fl, in_process(lambda t=text: floor(t))),
                 Case("old floor (8 fields, no event name)", in_process(lambda t=text: old_floor(t)), fl),
                 Case("load_trace (parse + replay)",
                      in_process(lambda t=text: load_trace(t, "x.trace", Overrides())), fl),
                 Case("plain path alone", in_process(lambda t=text: plain(t)), fl)]
        if old is not None:
            cases.append(Case(f"load_trace at {before}",
                              in_process(lambda t=text: old(t, "x.trace", Overrides())), fl))
        gc.disable()
        try:
            interleave(cases, rounds)
        finally:
            gc.enable()
        print(table(cases, f"1,000,000 lines, {title}"))


def scaling() -> None:
    """Bytes per change must stay flat as changes grow: memory ~ changes, not lines x slots."""
    for n in (10_000, 100_000, 400_000):
        text = distinct(n)
        tracemalloc.start()
        replay = load_trace(text, "scale.trace", Overrides())
        cur, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        changes = len(replay.states) - 1
        print(f"scaling   {n:>9,} lines {changes:>9,} changes: {cur / 2**20:7.1f} MiB, "
              f"{cur / changes:.0f} bytes/change")
        del replay


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--before", metavar="GIT_REF", help="also time load_trace as it was at this commit")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--floor-only", action="store_true", help="only the interleaved rounds with the floor")
    args = ap.parse_args()
    if not args.floor_only:
        old, old_pieces = load_trace_at(args.before) if args.before else (None, None)
        for name, make in (("distinct", distinct), ("remap", remap)):
            run(name, make(), old, old_pieces)
    versus_floor({"distinct": distinct(), "remap": remap()}, args.rounds, args.before)
    if not args.floor_only:
        scaling()
