"""``gmemtui report FILE``: coverage per slot and in total, with the runs and their reasons.

Three forms of one computation: a text report for the terminal, ``--markdown`` for mail and pull
requests, and ``--json`` (``report_dict`` is the schema of docs/commands.md as data, ``report_json``
writes it; both imported only for ``--json``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from functools import lru_cache

from gmemtui.commands.report_dict import layout_warnings
from gmemtui.commands.textfmt import (
    NOT_MAPPABLE,
    Painter,
    bar_cells,
    glyph_legend,
    md_table,
    pct,
    render_bar,
    use_colour,
    wrap,
)
from gmemtui.core.coverage import Coverage, Run, SlotCoverage, compute
from gmemtui.core.errors import InputError
from gmemtui.core.gcpause import paused_gc
from gmemtui.core.model import POLICY_MODELS, Layout, Slot, Warning_, flag_names, policy_title
from gmemtui.core.units import fmt_size
from gmemtui.core.units import fmt_size_approx as _fmt_size_approx
from gmemtui.formats.loader import Loaded, load

# A big layout repeats a few run and slot sizes thousands of times: format each once.
fmt_size_approx = lru_cache(maxsize=4096)(_fmt_size_approx)

BAR_WIDTH = 64


def pick_state(loaded: Loaded, state: int | None, option: str = "--state") -> tuple[Layout, str | None]:
    """The layout to report and a label for it: the final one, or state N of a trace.

    Out of range, or ``--state`` on a YAML layout, is ``gmemtui: ...`` (exit 2).
    """
    if state is None:
        return loaded.layout, None
    if loaded.kind != "trace":
        what = "a QEMU monitor dump" if loaded.kind == "dump" else "a YAML layout"
        raise InputError(f"{option} {state}: {loaded.path} is {what}, not a trace")
    n = len(loaded.states)
    if not 0 <= state < n:
        raise InputError(f"{option} {state}: {loaded.path} has states 0..{n - 1}")
    st = loaded.states[state]
    line = getattr(st, "line", 0)
    return st.layout, f"state {state} of {n - 1}" + (f", after line {line}" if line else ", before any line")


# --- text -----------------------------------------------------------------------------------------


def settings_line(layout: Layout) -> str:
    return (f"{layout.arch} · policy {policy_title(layout.policy)}"
            f" · host_max_page {fmt_size(layout.host_max_page)}" + private_cap_text(layout, " · "))


def private_cap_text(layout: Layout, sep: str) -> str:
    """``sep + "private_max_page 1G"``, or nothing on an arch without a vendor cap (arm64, riscv64)."""
    if not layout.platform.private_cap:
        return ""
    return f"{sep}private_max_page {fmt_size(layout.private_max_page)}"


def files_line(layout: Layout) -> str | None:
    if not layout.files:
        return None
    parts = []
    for f in layout.files:
        extra = ", mmap" if f.mmap else ""
        size = fmt_size_approx(layout.file_size(f.id))
        parts.append(f"{f.id}: {size}, folio {fmt_size(f.max_page)}{extra}")
    return "guest_memfd " + " · ".join(parts)


def binding(slot: Slot) -> str:
    return f"guest_memfd {slot.gmem} @ {slot.offset:#x}" if slot.gmem is not None else "no guest_memfd"


def bytes_line(counts: dict[str, int], whole: int, paint: Painter, names: Sequence[str]) -> str:
    parts = []
    for i, name in enumerate(names):
        b = counts.get(name, 0)
        share = f"{name} {fmt_size_approx(b)} ({pct(b, whole)})" if b else f"{name} 0"
        parts.append(paint.page(share, i) if b else share)
    return " · ".join(parts)


NOT_MAPPABLE_TEXT = "NOT MAPPABLE (no guest_memfd)"


def why_not_larger(run: Run, names: Sequence[str]) -> str:
    """``not 1G: ua-misaligned``: the reason is the first rule failing at the next larger size.

    Frames KVM cannot map at all (rule 6) say so instead: their page is only where they are counted."""
    if not run.mappable:
        return NOT_MAPPABLE_TEXT
    if run.reason is None:
        return "largest page"
    nxt = names[names.index(run.page) + 1]
    return f"not {nxt}: {run.reason}"


def slot_bar(sc: SlotCoverage, names: Sequence[str], paint: Painter, width: int = BAR_WIDTH) -> str:
    index = {n: i for i, n in enumerate(names)}
    runs = [(r.gpa, r.size, index[r.page] if r.mappable else NOT_MAPPABLE) for r in sc.runs]
    return render_bar(bar_cells(sc.slot.gpa, sc.slot.size, runs, width), paint)


def run_lines(runs: Sequence[Run], names: Sequence[str], paint: Painter, indent: str = "  ") -> list[str]:
    rows = [(f"[{r.gpa:#x}, {r.end:#x})", fmt_size_approx(r.size), r.page,
             "private" if r.private else "shared", why_not_larger(r, names)) for r in runs]
    w = [max(map(len, column)) for column in list(zip(*rows, strict=True))[:4]]
    index = {n: i for i, n in enumerate(names)}
    out = []
    for r, row in zip(runs, rows, strict=True):
        page = paint.page(row[2].ljust(w[2]), index[r.page])
        why = paint(row[4], "2") if r.mappable else paint(row[4], "1", "31")
        out.append(f"{indent}{row[0].ljust(w[0])}  {row[1].rjust(w[1])}  {page}  {row[3].ljust(w[3])}  "
                   + why)
    return out


def unmappable_note(nbytes: int, whole: int, paint: Painter) -> str:
    """`` · not mappable 2M (0.1 %), counted as base page`` where rule 6 frames are."""
    if not nbytes:
        return ""
    text = f"not mappable {fmt_size_approx(nbytes)} ({pct(nbytes, whole)}), counted as base page"
    return " · " + paint(text, "1", "31")


def warning_text(w: Warning_) -> str:
    where = f"line {w.line}: " if w.line else ""
    return f"{where}{w.message}"


def format_text(layout: Layout, file: str, paint: Painter, state: str | None = None,
                cov: Coverage | None = None) -> str:
    cov = compute(layout) if cov is None else cov
    names = layout.platform.names
    out: list[str] = []
    title = layout.name or file
    out.append(paint(title, "1"))
    src = f"file {file}" + (f" ({state})" if state else "")
    out.append(f"{src} · {settings_line(layout)}")
    fl = files_line(layout)
    if fl:
        out.append(fl)
    out.append(f"legend {glyph_legend(names, paint, cov.unmappable > 0)}")
    for sc in cov.slots:
        s = sc.slot
        out.append("")
        label = f"AS {s.as_} slot {s.slot}" + (f"  {s.name}" if s.name else "")
        out.append(paint(label, "1"))
        flags = ",".join(flag_names(s.flags)) or "-"
        out.append(f"  {f'[{s.gpa:#x}, {s.end:#x})'} {fmt_size_approx(s.size)} · ua {s.ua:#x}"
                   f" · {binding(s)} · flags {flags}")
        out.append(f"  {slot_bar(sc, names, paint)}")
        out.append(f"  {bytes_line(sc.bytes, s.size, paint, names)}"
                   + unmappable_note(sc.unmappable, s.size, paint))
        out.extend(run_lines(sc.runs, names, paint, "    "))
    out.append("")
    nslots = len(cov.slots)
    out.append(paint(f"total {fmt_size_approx(cov.size)} in {nslots} slot{'s' if nslots != 1 else ''}", "1")
               + f": {bytes_line(cov.total, cov.size, paint, names)}"
               + unmappable_note(cov.unmappable, cov.size, paint))
    warnings = layout_warnings(layout)
    if warnings:
        out.append("")
        out.append(paint(f"warnings ({len(warnings)}):", "1", "33"))
        for w in warnings:
            out.append(paint(f"  {warning_text(w)}", "33"))
    return "\n".join(out) + "\n"


# --- markdown --------------------------------------------------------------------------------------


def _key(s: Slot) -> str:
    return f"{s.as_}:{s.slot}"


def format_markdown(layout: Layout, file: str, state: str | None = None, cov: Coverage | None = None) -> str:
    """Fixed-width pipe tables, no colour, at most 80 columns (names are shortened to fit)."""
    cov = compute(layout) if cov is None else cov
    names = layout.platform.names
    out: list[str] = []
    title = f"### gmemtui report: {layout.name or file}"
    if len(title) <= 80:
        out.extend([title, ""])
    else:  # a heading cannot wrap: the name goes in a paragraph of its own
        out.extend(["### gmemtui report", ""] + wrap(f"**{layout.name or file}**") + [""])
    src = f"`{file}`" + (f" ({state})" if state else "")
    models = POLICY_MODELS.get(layout.policy, "?")
    out.extend(wrap(f"{src} · {layout.arch} · policy `{layout.policy}` ({models})", first="- "))
    out.append(f"- host_max_page {fmt_size(layout.host_max_page)}" + private_cap_text(layout, " · "))
    fl = files_line(layout)
    if fl:
        out.extend(wrap(fl, first="- "))
    out.append("")
    if not cov.slots:
        out.append("No slots.")
        return "\n".join(out) + "\n"
    rows = []
    for sc in cov.slots:
        s = sc.slot
        gm = f"{s.gmem} @ {s.offset:#x}" if s.gmem is not None else "-"
        rows.append([_key(s), s.name or "", f"{s.gpa:#x}", fmt_size_approx(s.size), gm,
                     ",".join(flag_names(s.flags)) or "-"])
    headers = ["as:slot", "name", "gpa", "size", "guest_memfd", "flags"]
    out.extend(md_table(headers, rows, right=(2, 3), flex=1))
    out.append("")
    rows = []
    for sc in cov.slots:
        rows.append([_key(sc.slot)] + [f"{fmt_size_approx(sc.bytes[n])} {pct(sc.bytes[n], sc.slot.size)}"
                                        if sc.bytes[n] else "-" for n in names])
    rows.append(["total"] + [f"{fmt_size_approx(cov.total[n])} {pct(cov.total[n], cov.size)}"
                             if cov.total[n] else "-" for n in names])
    out.extend(md_table(["as:slot", *names], rows, right=tuple(range(1, len(names) + 1))))
    if cov.unmappable:
        out.append("")
        share = f"{fmt_size_approx(cov.unmappable)} ({pct(cov.unmappable, cov.size)})"
        out.extend(wrap(f"**Not mappable:** {share} of private frames in slots without guest_memfd, "
                        f"counted under {names[0]} above: KVM maps none of them "
                        "(a private access exits to userspace)."))
    out.append("")
    rows = []
    for sc in cov.slots:
        for r in sc.runs:
            rows.append([_key(sc.slot), f"{r.gpa:#x}", fmt_size_approx(r.size), r.page,
                         "private" if r.private else "shared", why_not_larger(r, names)])
    out.extend(md_table(["as:slot", "gpa", "size", "page", "attr", "why not larger"], rows, right=(1, 2)))
    warnings = layout_warnings(layout)
    if warnings:
        out.append("")
        out.append("Warnings:")
        out.append("")
        for w in warnings:
            out.extend(wrap(warning_text(w), first="- "))
    return "\n".join(out) + "\n"


def main(args: argparse.Namespace) -> int:
    with paused_gc():  # one pass building acyclic data: the cyclic GC would only re-scan it
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    from gmemtui.commands.options import overrides_from

    overrides = overrides_from(args)
    loaded = load(args.file, overrides)
    layout, label = pick_state(loaded, getattr(args, "state", None))
    layout = overrides.apply(layout)
    if args.json:
        from gmemtui.commands.report_json import report_json  # json only where --json asks for it

        # json.dumps(report_dict, indent=2), then its newline apart: ``text + "\n"`` would copy the
        # 26 MB of a 32,763-slot layout once more only to append one character.
        sys.stdout.write(report_json(layout, args.file))
        sys.stdout.write("\n")
    elif args.markdown:
        sys.stdout.write(format_markdown(layout, args.file, label))
    else:
        sys.stdout.write(format_text(layout, args.file, Painter(use_colour()), label))
    return 0
