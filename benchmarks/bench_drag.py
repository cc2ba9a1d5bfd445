"""One drag step of the TUI, timed (issue 5: p99 target 4 ms; a 16 ms frame is the ceiling).

Run: ``.venv/bin/python benchmarks/bench_drag.py [--steps N]``. Not a test: it prints a table for
the README.

A drag step is what one mouse move costs while an edge is held, measured the way the app does it in
a headless ``GmemApp`` of 140x45 cells: the GPA bar holds a ``Drag`` (as after mouse-down, so its
axis stays), the model edit (``gmemtui.core.edit.drag`` from the layout at mouse-down) is posted as the
``LayoutEdited`` message the bar posts and handled by the app's own handler
(``GmemApp.on_layout_edited``: recompute with the live cache, then every panel), and then the frame
Textual paints is run synchronously (``Paint``: widgets that asked for a repaint or a layout go to the
screen, which lays out if asked and composites the dirty regions, calling ``render_lines`` of every
widget they cross, and writes the update to the headless driver). Seed layout: slot 5's start
edge; a generated 512-slot layout: slot 256's start; the edge sweeps back and forth in 4K steps.
Rows: ``model`` = edit + a full ``coverage.compute`` of every slot (the model on its own, not part of
the step); ``handler`` = the app's handler; ``paint`` = the frame; ``bars`` / ``table`` = the part of
the frame spent in their ``render_lines``; ``step`` = handler + paint (what a mouse move costs);
``step cpu`` = the step's thread CPU time (what the p99 target is about: wall time on a shared machine
mostly measures preemption); ``screen`` = a composite of the whole screen from the widgets' caches,
the floor a step is compared with. ``--kvm-limit`` adds 32,763 slots + 10,000 private ranges.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from textual.widget import Widget  # noqa: E402

from gmemtui.core.coverage import compute  # noqa: E402
from gmemtui.core.model import GmemFile, Layout, Slot  # noqa: E402
from gmemtui.formats.loader import Loaded, load  # noqa: E402
from gmemtui.tui.widgets.bar import SlotPicked  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "layouts" / "qemu-snp-seed.yaml"
MiB = 1 << 20


def layout_512() -> Layout:
    """512 guest_memfd slots of 30-32 MiB, 64 MiB apart, 8 files of 64 bindings; some ua and offsets
    off by 4K so every reason of the map shows up (slot-edge, ua-misaligned, offset-misaligned)."""
    slots = []
    for i in range(512):
        gpa = i * 64 * MiB + (0x1000 if i % 5 == 0 else 0)
        size = 32 * MiB - (i % 4) * 0x1000 - (0x1000 if i % 5 == 0 else 0)
        slots.append(Slot(slot=i, gpa=gpa, size=size, ua=0x7F0000000000 + gpa + (0x1000 if i % 3 == 0 else 0),
                          gmem=100 + i // 64, offset=(i % 64) * 64 * MiB + (0x1000 if i % 7 == 0 else 0),
                          name=f"ram{i}"))
    files = tuple(GmemFile(id=100 + f, size=64 * 64 * MiB, max_page=2 * MiB) for f in range(8))
    return Layout(slots=tuple(slots), files=files, name="generated 512 slots")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def sweep(n: int, step: int) -> list[int]:
    """Deltas of a drag going out and back: 0, +4K, ..., +n*4K, ..., -n*4K, ... (2 ms of motion each)."""
    out: list[int] = []
    k = 0
    direction = 1
    while len(out) < n:
        out.append(k * step)
        k += direction
        if abs(k) >= 256:
            direction = -direction
    return out


class Paint:
    """What Textual does between a handler and the terminal, run synchronously: every widget that asked
    for a repaint (or a layout) goes to the screen, which lays out if asked and composites the dirty
    regions (``Screen._on_timer_update``: ``render_lines`` of the lines that changed, then the update
    written to the headless driver). ``render_lines`` of the bars and of the table are timed inside."""

    def __init__(self, app, bars, table) -> None:
        self.app = app
        self.widgets = list(app.screen.walk_children(with_self=False))
        self.spent = {"bars": 0.0, "table": 0.0}
        for name, ws in (("bars", bars), ("table", [table])):
            for w in ws:
                w.render_lines = self._timed(name, w.render_lines)

    def _timed(self, name, fn):
        def render_lines(crop):
            t0 = time.perf_counter()
            try:
                return fn(crop)
            finally:
                self.spent[name] += time.perf_counter() - t0
        return render_lines

    def __call__(self) -> None:
        screen = self.app.screen
        layout = False
        for w in self.widgets:
            if w._layout_required:
                layout = True
                w._layout_required = False
                for a in w.ancestors_with_self:
                    if isinstance(a, Widget):
                        a._clear_arrangement_cache()
            if w._repaint_required:
                w._repaint_required = False
                screen._dirty_widgets.add(w)
        if layout:
            screen._layout_required = True
        screen._on_timer_update()


async def bench(loaded: Loaded, key: tuple[int, int], steps: int,
                model: bool = True) -> dict[str, list[float]]:
    from gmemtui.tui.app import GmemApp
    from gmemtui.tui.widgets.bar import Drag, LayoutEdited, dragged

    app = GmemApp(loaded, path_opened=True)
    times: dict[str, list[float]] = {"model": [], "handler": [], "paint": [], "bars": [], "table": [],
                                     "step": [], "step cpu": [], "screen": []}
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        base = app.layout
        bars = app.map_view.bars()
        gpa_bar = app.query_one(f"#gpa-{key[0]}")
        paint = Paint(app, bars, app.table)
        deltas = sweep(steps, base.platform.base.bytes)
        # mouse-down on the edge, as Bar.on_mouse_down does: the drag keeps the axis of that moment
        app.post_message(SlotPicked(key))
        await pilot.pause()
        drag = gpa_bar.drag = Drag(key, "start", base, 0, gpa_bar.axis)
        paint()
        gc.collect()
        gc.disable()
        try:
            for d in deltas:
                t0 = time.perf_counter()
                layout = dragged(drag, d)  # edit.drag, as Bar.on_mouse_move makes each step
                if model:
                    compute(layout)
                t1 = time.perf_counter()
                c1 = time.thread_time()
                s = layout.slots[layout.slot_index(key)]
                # the message Bar.on_mouse_move posts, through the app's own handler
                what = f"dragging slot {s.slot} start: gpa {s.gpa:#x}, offset {s.offset:#x} · snap 4K"
                app.on_layout_edited(LayoutEdited(layout, False, (s.as_, s.gpa), what))
                t2 = time.perf_counter()
                paint.spent = {"bars": 0.0, "table": 0.0}
                paint()
                t3 = time.perf_counter()
                times["step cpu"].append(time.thread_time() - c1)
                times["model"].append(t1 - t0)
                times["handler"].append(t2 - t1)
                times["paint"].append(t3 - t2)
                times["bars"].append(paint.spent["bars"])
                times["table"].append(paint.spent["table"])
                times["step"].append(t3 - t1)
            for _ in range(min(steps, 100)):
                t0 = time.perf_counter()
                app.screen._compositor.render_update(full=True)
                times["screen"].append(time.perf_counter() - t0)
        finally:
            gc.enable()
        gpa_bar.drag = None
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--kvm-limit", action="store_true",
                    help="also 32,763 slots + 10,000 private ranges (model row not timed there)")
    args = ap.parse_args()
    seed = load(str(SEED))
    big = layout_512()
    big_loaded = Loaded(big, "generated-512.yaml", "", "yaml")
    cases = [("seed (slot 5 start)", seed, (0, 5), True),
             ("512 slots (slot 256 start)", big_loaded, (0, 256), True)]
    if args.kvm_limit:
        from bench_core import many, valid

        limit = Loaded(valid(many()), "generated-32763.yaml", "", "yaml")
        cases.append(("32,763 slots (slot 16000 start)", limit, (0, 16000), False))
    print(f"drag step, {args.steps} mouse moves per layout, headless GmemApp 140x45, times in ms")
    print(f"{'layout':28} {'phase':7} {'median':>8} {'p99':>8} {'max':>8}")
    for title, loaded, key, model in cases:
        times = asyncio.run(bench(loaded, key, args.steps, model))
        for phase, values in times.items():
            if not values:
                continue
            ms = [v * 1000 for v in values]
            print(f"{title:28} {phase:7} {statistics.median(ms):8.3f} {pct(ms, 99):8.3f} {max(ms):8.3f}")
            title = ""
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
