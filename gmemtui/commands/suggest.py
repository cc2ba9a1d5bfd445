"""``gmemtui suggest FILE [--json | --markdown] [--all] [-o NEW.yaml [--force]]`` (docs/suggest.md).

The suggestions are ``gmemtui.core.suggest``'s; this module loads the file, prints them as text,
Markdown for a review, or JSON, and writes the suggested layout with ``-o``: into the user's own YAML
with comments and formatting kept (as the TUI saves), or as a fresh YAML for a trace or a dump (as
``convert`` writes). Without ``--all``, ``-o`` writes the best suggestion; with it, all of them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from gmemtui.commands.options import overrides_from
from gmemtui.commands.report import pick_state
from gmemtui.commands.textfmt import Painter, use_colour, wrap
from gmemtui.core.errors import InputError
from gmemtui.core.model import Layout, Overrides
from gmemtui.core.suggest import Edit, Suggestion, Suggestions, suggest
from gmemtui.core.suggest_apply import Combined, apply_edits, combine
from gmemtui.core.suggest_text import gain_text, loss_text
from gmemtui.core.units import fmt_size_approx
from gmemtui.formats.loader import Loaded, load


def _page(layout: Layout, value: object) -> object:
    try:
        return layout.platform.name_of(value)  # type: ignore[arg-type]
    except (KeyError, TypeError):
        return value


def layout_change(layout: Layout, e: Edit) -> dict[str, object]:
    """One edit as JSON: what a program needs to make the same change."""
    if e.what == "split":
        as_, slot = e.key  # type: ignore[misc]
        parts = [{"slot": p.slot, "gpa": p.gpa, "size": p.size, "ua": p.ua, "offset": p.offset}
                 for p in e.new]  # type: ignore[attr-defined]
        return {"op": "split", "as": as_, "slot": slot, "parts": parts}
    if e.what == "slot":
        as_, slot = e.key  # type: ignore[misc]
        return {"op": "set", "as": as_, "slot": slot, "field": e.field, "old": e.old, "new": e.new}
    pages = e.field in ("max_page", "host_max_page")
    old, new = (_page(layout, e.old), _page(layout, e.new)) if pages else (e.old, e.new)
    if e.what == "file":
        return {"op": "set-file", "guest_memfd": e.key, "field": e.field, "old": old, "new": new}
    return {"op": "set-setting", "field": e.field, "old": old, "new": new}


def suggestion_dict(layout: Layout, s: Suggestion) -> dict[str, object]:
    return {"as": s.as_, "slot": s.slot, "kind": s.kind, "title": s.title, "changes": s.changes,
            "gained": dict(s.gained), "lost": dict(s.lost), "cost": s.cost,
            "slots": [{"as": a, "slot": b} for a, b in s.slots],
            "layout_changes": [layout_change(layout, e) for e in s.edits]}


def suggest_dict(found: Suggestions, file: str | None, combined: Combined | None = None) -> dict[str, object]:
    """The ``suggest --json`` document of docs/suggest.md."""
    lay = found.layout
    doc: dict[str, object] = {
        "file": file, "policy": lay.policy,
        "suggestions": [suggestion_dict(lay, s) for s in found.suggestions],
        "unfixable": [{"as": u.as_, "slot": u.slot, "reason": u.reason, "why": u.why, "page": u.page,
                       "bytes": u.bytes} for u in found.unfixable],
    }
    if combined is not None:
        nz = {k: v for k, v in combined.diff.gained.items() if v}
        doc["all"] = {"suggestions": [found.suggestions.index(_orig(found, s)) for s in combined.chosen],
                      "gained": nz, "lost": {k: v for k, v in combined.diff.lost.items() if v}}
    return doc


def _orig(found: Suggestions, s: Suggestion) -> Suggestion:
    """The listed suggestion a combined one came from (a split's ids may have been renumbered)."""
    return next(o for o in found.suggestions if o.kind == s.kind and o.key == s.key and o.title == s.title)


def _changes_lines(s: Suggestion, indent: str, paint: Painter, names: Sequence[str]) -> list[str]:
    if s.diff is None:
        return []
    out = []
    for c in s.diff.changes[:6]:
        i, j = names.index(c.old), names.index(c.new)
        out.append(f"{indent}AS {c.as_} [{c.gpa:#x}, {c.end:#x}) {fmt_size_approx(c.size)}: "
                   f"{paint.page(c.old, i)} → {paint.page(c.new, j)}"
                   + (f" (not larger: {c.reason})" if c.reason else ""))
    if len(s.diff.changes) > 6:
        out.append(f"{indent}... {len(s.diff.changes) - 6} more ranges")
    return out


def format_text(found: Suggestions, file: str, paint: Painter, combined: Combined | None = None) -> str:
    lay = found.layout
    names = lay.platform.names
    out = [paint(f"gmemtui suggest · {file} · policy {lay.policy}", "1")]
    if found.suggestions:
        out.append(paint(f"suggestions ({len(found.suggestions)}), best gain first:", "1"))
        for n, s in enumerate(found.suggestions, 1):
            out.append(f"  {n}. {s.title}: {paint(gain_text(s.gained), '32')}")
            out.append(f"     cost: {s.cost_text}")
            out += _changes_lines(s, "     ", paint, names)
    else:
        out.append("suggestions: none")
    if found.unfixable:
        out.append(paint(f"nothing helps ({len(found.unfixable)}):", "1"))
        for u in found.unfixable:
            where = f"slot {u.slot} (AS {u.as_}), {fmt_size_approx(u.bytes)} at {u.page}"
            out += wrap(f"{where}: {u.reason}: {u.why}", width=100, first="  ", rest="    ")
    if combined is not None:
        out.append(paint(f"all compatible suggestions combined ({len(combined.chosen)} of "
                         f"{len(found.suggestions)}):", "1"))
        for s in combined.chosen:
            out.append(f"  - {s.title}")
        out.append(f"  gained: {gain_text(combined.diff.gained)} · lost: {loss_text(combined.diff.lost)}")
    return "\n".join(out) + "\n"


def beyond(s: Suggestion, names: Sequence[str]) -> str:
    """What still stops the gained frames at the next size: ``not 1G: slot-edge 1022M, ua-misaligned 1G``."""
    if s.diff is None:
        return ""
    stops: dict[tuple[str, str], int] = {}
    for c in s.diff.changes:
        if c.reason is not None:
            key = (names[names.index(c.new) + 1], c.reason)
            stops[key] = stops.get(key, 0) + c.size
    by_size: dict[str, list[str]] = {}
    for (size, reason), n in stops.items():
        by_size.setdefault(size, []).append(f"{reason} {fmt_size_approx(n)}")
    return "; ".join(f"not {size}: {', '.join(parts)}" for size, parts in by_size.items())


def format_markdown(found: Suggestions, file: str, combined: Combined | None = None) -> str:
    """Lines that paste into a review: ``split slot 5 at 0x200000: +2046M at 2M``."""
    lay = found.layout
    out = [f"### gmemtui suggest (policy {lay.policy})", "", *wrap(f"Layout: `{file}`"), ""]
    if found.suggestions:
        names = lay.platform.names
        for s in found.suggestions:
            out += wrap(f"{s.line} (cost: {s.cost_text})", first="- ", rest="  ")
            still = beyond(s, names)
            if still:
                out += wrap(f"then {still}", first="  ", rest="  ")
    else:
        out.append("No layout change recovers huge pages.")
    if found.unfixable:
        out += ["", "Nothing helps:", ""]
        for u in found.unfixable:
            out += wrap(f"slot {u.slot} (AS {u.as_}), {fmt_size_approx(u.bytes)} at {u.page}, `{u.reason}`: "
                        f"{u.why}", first="- ", rest="  ")
    if combined is not None:
        out += ["", f"All {len(combined.chosen)} compatible suggestions together: "
                f"{gain_text(combined.diff.gained)}, {loss_text(combined.diff.lost)}."]
    return "\n".join(out) + "\n"


# --- writing the suggested layout -------------------------------------------------------------------


def new_text(loaded: Loaded, layout: Layout, edits: Sequence[Edit], titles: Sequence[str],
             overrides: Overrides) -> str:
    """The suggested layout as YAML: the user's file with its comments, or a fresh one."""
    if loaded.kind == "yaml" and loaded.layout is not None:
        from gmemtui.formats.yaml_load import load_yaml
        from gmemtui.formats.yaml_slots import save_split

        raw = load_yaml(loaded.text, loaded.path)  # the file's own settings, not the command line's
        try:
            return save_split(loaded.text, raw, apply_edits(raw, edits))
        except ValueError:
            pass  # a shape the splicer cannot follow: write it whole, as convert does
    from gmemtui.formats.yaml_dump import dump_yaml

    header = [f"Written by `gmemtui suggest` from {loaded.path}, with:"] + [f"  {t}" for t in titles]
    if overrides != Overrides():
        header.append("(the command line's layout options are applied: policy and caps as shown below)")
    return dump_yaml(apply_edits(layout, edits), "\n".join(header))


def main(args: argparse.Namespace) -> int:
    import os

    if args.output and os.path.lexists(args.output) and not args.force:
        raise InputError(f"{args.output} exists (use --force)")  # before any work or output
    overrides = overrides_from(args)
    loaded = load(args.file, overrides)
    layout, _ = pick_state(loaded, getattr(args, "state", None))
    layout = overrides.apply(layout)
    found = suggest(layout)
    combined = combine(layout, found) if args.all else None
    if args.json:
        sys.stdout.write(json.dumps(suggest_dict(found, args.file, combined), indent=2) + "\n")
    elif args.markdown:
        sys.stdout.write(format_markdown(found, args.file, combined))
    else:
        sys.stdout.write(format_text(found, args.file, Painter(use_colour()), combined))
    if args.output:
        chosen = combined.chosen if combined is not None else found.suggestions[:1]
        if not chosen:
            raise InputError(f"nothing to write to {args.output}: no suggestion")
        edits = [e for s in chosen for e in s.edits]
        if combined is not None:  # file sizes were reconciled when combining
            edits = [e for e in edits if not (e.what == "file" and e.field == "size")]
            edits += _grown(layout, combined.layout)
        from gmemtui.formats.fileio import write_new

        text = new_text(loaded, layout, edits, [s.title for s in chosen], overrides)
        write_new(args.output, text, args.force)
        policy = f" --policy {layout.policy}" if overrides.policy else ""
        print(f"wrote {args.output}; check it with: gmemtui diff {args.file} {args.output}{policy}",
              file=sys.stderr if args.json else sys.stdout)
    return 0


def _grown(old: Layout, new: Layout) -> list[Edit]:
    before = {f.id: f.size for f in old.files}
    return [Edit("file", f.id, "size", before.get(f.id), f.size)
            for f in new.files if f.size != before.get(f.id)]
