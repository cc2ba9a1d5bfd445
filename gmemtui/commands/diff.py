"""``gmemtui diff OLD NEW``: where, by GPA, the page size changed between two layouts (docs/commands.md).

The comparison itself is ``gmemtui.core.diff`` (``suggest`` verifies its changes with it); this
module loads both sides and prints the result as text, Markdown or JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from gmemtui.commands.report import pick_state
from gmemtui.commands.textfmt import Painter, md_table, pct, use_colour, wrap
from gmemtui.core.coverage import Coverage
from gmemtui.core.diff import Change, Diff, compare
from gmemtui.core.model import Layout, Overrides
from gmemtui.core.units import fmt_amount
from gmemtui.formats.loader import load


def _side(layout: Layout, cov: Coverage, file: str | None) -> dict[str, object]:
    return {"file": file, "policy": layout.policy, "total": {"size": cov.size, "bytes": dict(cov.total)}}


def diff_dict(d: Diff, old_file: str | None = None, new_file: str | None = None) -> dict[str, object]:
    """The ``diff --json`` document of docs/commands.md."""
    return {
        "old": _side(d.old, d.old_cov, old_file),
        "new": _side(d.new, d.new_cov, new_file),
        "changes": [
            {"as": c.as_, "gpa": c.gpa, "size": c.size, "old": c.old, "new": c.new, "reason": c.reason}
            for c in d.changes
        ],
        "only_old": [{"as": o.as_, "gpa": o.gpa, "size": o.size} for o in d.only_old],
        "only_new": [{"as": o.as_, "gpa": o.gpa, "size": o.size} for o in d.only_new],
        "lost": dict(d.lost),
        "gained": dict(d.gained),
    }


# --- text and markdown -----------------------------------------------------------------------------


def _why(c: Change, names: Sequence[str]) -> str:
    if c.reason is None:
        return "largest page"
    return f"not {names[names.index(c.new) + 1]}: {c.reason}"


def _totals(cov: Coverage, names: Sequence[str]) -> str:
    parts = [f"{n} {fmt_amount(b)} ({pct(b, cov.size)})" if b else f"{n} 0 B"
             for n, b in ((n, cov.total[n]) for n in names)]
    return " · ".join(parts)


def _bytes(counts: dict[str, int], names: Sequence[str]) -> str:
    parts = [f"{n} {fmt_amount(counts[n])}" for n in names if counts[n]]
    return " · ".join(parts) or "none"


def _slots(label: str, slots: list[int]) -> str:
    return f"{label} slot{'s' if len(slots) > 1 else ''} {','.join(map(str, slots))}"


def verdict_line(d: Diff) -> str:
    if d.any_loss:
        total = sum(d.lost.values())
        return f"LOSS: {fmt_amount(total)} mapped in both sides got a smaller page"
    return "No loss: no frame mapped in both sides got a smaller page"


def format_text(d: Diff, old_file: str, new_file: str, paint: Painter) -> str:
    names = d.old.platform.names
    index = {n: i for i, n in enumerate(names)}
    out = [paint("gmemtui diff (by GPA, per address space)", "1")]
    for label, lay, cov, file in (("old", d.old, d.old_cov, old_file), ("new", d.new, d.new_cov, new_file)):
        size = fmt_amount(cov.size)
        out.append(f"{label}  {file} · policy {lay.policy} · {size}: {_totals(cov, names)}")
    out.append("")
    if d.changes:
        out.append(paint(f"changes ({len(d.changes)}):", "1"))
        rows = [(f"AS {c.as_}", f"[{c.gpa:#x}, {c.end:#x})", fmt_amount(c.size), _why(c, names))
                for c in d.changes]
        w = [max(len(r[i]) for r in rows) for i in range(4)]
        for c, r in zip(d.changes, rows, strict=True):
            arrow = f"{paint.page(c.old.rjust(2), index[c.old])} → {paint.page(c.new.ljust(2), index[c.new])}"
            worse = index[c.new] < index[c.old]
            mark = paint("lost  ", "1", "31") if worse else paint("gained", "32")
            out.append(f"  {r[0]} {r[1].ljust(w[1])} {r[2].rjust(w[2])}  {mark} {arrow}  {r[3].ljust(w[3])}"
                       + paint(f"  ({_slots('old', c.old_slots)}; {_slots('new', c.new_slots)})", "2"))
    else:
        out.append("changes: none (every GPA mapped in both sides keeps its page size)")
    for label, lst in (("only in old", d.only_old), ("only in new", d.only_new)):
        if lst:
            out.append(paint(f"{label} ({len(lst)}):", "1"))
            for o in lst:
                out.append(f"  AS {o.as_} [{o.gpa:#x}, {o.end:#x}) {fmt_amount(o.size)}"
                           + paint(f"  ({_slots(label.split()[-1], o.slots)})", "2"))
        else:
            out.append(f"{label}: none")
    out.append(f"lost:   {_bytes(d.lost, names)}")
    out.append(f"gained: {_bytes(d.gained, names)}")
    out.append(paint(verdict_line(d), "1", "31") if d.any_loss else paint(verdict_line(d), "32"))
    return "\n".join(out) + "\n"


def format_markdown(d: Diff, old_file: str, new_file: str) -> str:
    """Fixed-width tables for a mail or a PR: no colour, at most 80 columns."""
    names = d.old.platform.names
    out = ["### gmemtui diff (by GPA, per address space)", ""]
    rows = []
    for label, lay, cov, file in (("old", d.old, d.old_cov, old_file), ("new", d.new, d.new_cov, new_file)):
        out.extend(wrap(f"{label}: `{file}`", first="- "))
        rows.append([label, lay.policy, fmt_amount(cov.size)]
                    + [fmt_amount(cov.total[n]) if cov.total[n] else "-" for n in names])
    out.append("")
    out.extend(md_table(["side", "policy", "size", *names], rows, right=tuple(range(2, 3 + len(names)))))
    out.append("")
    if d.changes:
        out.append("Changes:")
        out.append("")
        rows = [[str(c.as_), f"{c.gpa:#x}", fmt_amount(c.size), c.old, c.new, _why(c, names)]
                for c in d.changes]
        out.extend(md_table(["as", "gpa", "size", "old", "new", "why (new)"], rows, right=(1, 2)))
    else:
        out.append("Changes: none (every GPA mapped in both sides keeps its page size).")
    for label, lst in (("Only in old", d.only_old), ("Only in new", d.only_new)):
        out.append("")
        if lst:
            out.append(f"{label}:")
            out.append("")
            rows = [[str(o.as_), f"{o.gpa:#x}", f"{o.end:#x}", fmt_amount(o.size)] for o in lst]
            out.extend(md_table(["as", "gpa", "end", "size"], rows, right=(1, 2, 3)))
        else:
            out.append(f"{label}: none.")
    out.append("")
    out.append(f"Lost: {_bytes(d.lost, names)}. Gained: {_bytes(d.gained, names)}.")
    out.append("")
    out.extend(wrap(f"**{verdict_line(d)}.**"))
    return "\n".join(out) + "\n"


def side_overrides(args: argparse.Namespace, prefix: str) -> Overrides:
    """``--policy`` etc. apply to both sides; ``--old-policy`` etc. to one (and win)."""
    from gmemtui.commands.options import overrides_from

    both, one = overrides_from(args), overrides_from(args, prefix)
    return Overrides(
        arch=one.arch if one.arch is not None else both.arch,
        policy=one.policy if one.policy is not None else both.policy,
        host_max_page=one.host_max_page if one.host_max_page is not None else both.host_max_page,
        private_max_page=one.private_max_page if one.private_max_page is not None else both.private_max_page,
        gmem_max_page=one.gmem_max_page if one.gmem_max_page is not None else both.gmem_max_page,
        gmem_mmap=one.gmem_mmap or both.gmem_mmap,
        prefixes={**both.prefixes, **one.prefixes},
    )


def _load_side(args: argparse.Namespace, side: str) -> tuple[Layout, str]:
    """One side's layout, and its file name as shown (with the trace state, if one was asked for)."""
    ov = side_overrides(args, f"{side}_")
    path = getattr(args, side)
    layout, label = pick_state(load(path, ov), getattr(args, f"{side}_state", None), f"--{side}-state")
    return ov.apply(layout), path + (f" ({label})" if label else "")


def main(args: argparse.Namespace) -> int:
    (old, old_name), (new, new_name) = _load_side(args, "old"), _load_side(args, "new")
    d = compare(old, new)
    if args.json:
        sys.stdout.write(json.dumps(diff_dict(d, args.old, args.new), indent=2) + "\n")
    elif args.markdown:
        sys.stdout.write(format_markdown(d, old_name, new_name))
    else:
        sys.stdout.write(format_text(d, old_name, new_name, Painter(use_colour())))
    return 1 if args.fail_on_loss and d.any_loss else 0
