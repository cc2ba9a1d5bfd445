"""Measuring on a shared, noisy machine: interleaved runs, medians with min/max, CPU beside wall.

Best-of-N wall times mislead where other jobs share the cores (a bare ``python -c pass`` once came
out slower than ``import yaml``). So every benchmark here runs its cases *interleaved* — round after
round, each case once per round in a shuffled order, so a burst of load hits all of them alike —
and reports the median with min and max, the CPU time the measured work used beside its wall time,
and each figure next to its *floor*: the cheapest thing that must happen anyway (``python -c pass``,
``import yaml``, the parser alone), measured in the same rounds. Ratios to the floor hold from one
machine to another; absolute times do not.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    cpu: float  # seconds: the thread's CPU time in process, the child's user+sys for a command


@dataclass
class Case:
    name: str
    run: Callable[[], Sample]
    floor: str | None = None  # the name of the case this one is compared with
    samples: list[Sample] = field(default_factory=list)


def in_process(fn: Callable[[], object]) -> Callable[[], Sample]:
    """Time ``fn()`` in this thread: wall clock and ``time.thread_time`` (not disturbed by other
    threads or processes, only by what this thread itself does)."""

    def run() -> Sample:
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        t1, c1 = time.perf_counter(), time.thread_time()
        return Sample(t1 - t0, c1 - c0)

    return run


def command(argv: Sequence[str], env: dict[str, str] | None = None, cwd: str | None = None,
            setup: Callable[[], None] | None = None) -> Callable[[], Sample]:
    """Time a command: wall clock from spawn to exit, and the child's CPU (RUSAGE_CHILDREN delta)."""

    def run() -> Sample:
        if setup is not None:
            setup()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(list(argv), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        t1 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        return Sample(t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))

    return run


def interleave(cases: Sequence[Case], rounds: int, warmup: int = 1, seed: int = 0) -> None:
    """Run every case once per round, in a shuffled order; the first ``warmup`` rounds are dropped."""
    rng = random.Random(seed)
    order = list(cases)
    for r in range(warmup + rounds):
        rng.shuffle(order)
        for case in order:
            s = case.run()
            if r >= warmup:
                case.samples.append(s)


def _ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):8.1f} [{min(ms):7.1f}, {max(ms):7.1f}]"


def table(cases: Sequence[Case], title: str) -> str:
    """Median [min, max] of wall and CPU in ms, and the median ratio to the floor case."""
    by_name = {c.name: c for c in cases}
    width = max(len(c.name) for c in cases)
    lines = [f"{title} ({len(cases[0].samples)} interleaved rounds; ms, median [min, max])",
             f"{'case':{width}}  {'wall':>26}  {'cpu':>26}  vs floor (wall / cpu)"]
    for c in cases:
        wall = [s.wall for s in c.samples]
        cpu = [s.cpu for s in c.samples]
        ratio = ""
        if c.floor:
            f = by_name[c.floor]
            rw = statistics.median(wall) / statistics.median([s.wall for s in f.samples])
            fc = statistics.median([s.cpu for s in f.samples])
            rc = statistics.median(cpu) / fc if fc else float("nan")
            ratio = f"{rw:5.2f}x / {rc:5.2f}x  {c.floor}"
        lines.append(f"{c.name:{width}}  {_ms(wall):>26}  {_ms(cpu):>26}  {ratio}")
    return "\n".join(lines)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env.update(extra)
    return env
