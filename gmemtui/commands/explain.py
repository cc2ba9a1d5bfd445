"""``gmemtui explain FILE GPA``: for the frame at GPA, every rule at every size, with numbers.

The verdict is ``rules.frame_verdict`` and the checks ``checks.explain_frame`` — the same functions the
closed-form coverage uses — so explain and report cannot disagree. A GPA in no slot of its address
space is a finding (exit 1) that names the nearest slots on either side.
"""

from __future__ import annotations

import argparse
import json
import sys
from bisect import bisect_right

from gmemtui.commands.report_dict import layout_warnings, run_dict, slot_dict
from gmemtui.commands.textfmt import Painter, use_colour
from gmemtui.core.checks import explain_frame
from gmemtui.core.coverage import slot_runs
from gmemtui.core.errors import InputError
from gmemtui.core.facts import SlotFacts
from gmemtui.core.model import Layout, Slot, policy_title
from gmemtui.core.rules import frame_verdict, source_for
from gmemtui.core.units import fmt_size, fmt_size_approx, parse_size
from gmemtui.formats.loader import load


def parse_gpa(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError:
        raise InputError(f"not a GPA: {text!r} (write 0x..., a decimal number or e.g. \"2G\")") from None


def find_slot(layout: Layout, as_: int, gpa: int) -> Slot | None:
    for s in layout.slots:
        if s.as_ == as_ and s.gpa <= gpa < s.end:
            return s
    return None


def neighbours(layout: Layout, as_: int, gpa: int) -> tuple[Slot | None, Slot | None]:
    """The nearest slot ending at or below GPA and the nearest starting above it, in this space."""
    slots = sorted((s for s in layout.slots if s.as_ == as_), key=lambda s: s.gpa)
    i = bisect_right([s.gpa for s in slots], gpa)
    below = slots[i - 1] if i > 0 else None
    above = slots[i] if i < len(slots) else None
    return below, above


def explain_dict(layout: Layout, as_: int, gpa: int, file: str | None = None) -> dict[str, object]:
    """The ``explain --json`` document: the verdict and every check, or the hole and its neighbours."""
    plat = layout.platform
    shift = plat.base_shift
    g = gpa >> shift
    doc: dict[str, object] = {
        "file": file, "gpa": gpa, "as": as_, "frame": g, "policy": layout.policy,
        "host_max_page": fmt_size(layout.host_max_page),
        "private_max_page": fmt_size(layout.private_max_page) if plat.private_cap else None,
    }
    slot = find_slot(layout, as_, gpa)
    if slot is None:
        below, above = neighbours(layout, as_, gpa)
        other = [find_slot(layout, a, gpa) for a in range(plat.address_spaces) if a != as_]
        doc.update({
            "slot": None,
            "below": slot_dict(below) if below else None,
            "above": slot_dict(above) if above else None,
            "in_other_as": [slot_dict(s) for s in other if s is not None],
        })
        return doc
    facts = SlotFacts.of(layout, slot)
    private = facts.attrs.private_at(slot, g)
    k, reason = frame_verdict(facts, g, private)
    run = next(r for r in slot_runs(facts) if r.gpa <= gpa < r.end)
    checks = []
    for c in explain_frame(facts, g):
        n = facts.page_frames[facts.page_names.index(c.page)]
        f = g - g % n
        checks.append({
            "page": c.page, "block": [f << shift, (f + n) << shift], "rule": c.rule.number,
            "code": c.rule.code, "ok": c.ok, "numbers": c.numbers, "source": source_for(c.rule, layout.arch),
            "plain": c.rule.plain,
        })
    doc.update({
        "slot": slot_dict(slot),
        "file_offset": slot.offset + (g << shift) - slot.gpa if slot.gmem is not None else None,
        "private": private,
        "mappable": run.mappable,  # False: rule 6, KVM maps this frame at no size
        "page": facts.page_names[k],
        "reason": reason,
        "run": run_dict(run),
        "checks": checks,
        "warnings": [w.message for w in layout_warnings(layout) if (w.as_, w.slot) == slot.key],
    })
    return doc


def _slot_label(d: dict) -> str:
    name = f" {d['name']}" if d["name"] else ""
    end = d["gpa"] + d["size"]
    return f"slot {d['slot']}{name} [{d['gpa']:#x}, {end:#x}) {fmt_size_approx(d['size'])}"


def format_text(doc: dict, paint: Painter) -> str:
    out: list[str] = []
    head = f"GPA {doc['gpa']:#x} · AS {doc['as']} · frame {doc['frame']:#x}"
    settings = (f"policy {policy_title(doc['policy'])} · host_max_page {doc['host_max_page']}"
                + (f" · private_max_page {doc['private_max_page']}" if doc["private_max_page"] else ""))
    if doc["slot"] is None:
        out.append(paint(f"{head}: in no slot of address space {doc['as']} (a hole)", "1", "33"))
        for side in ("below", "above"):
            d = doc[side]
            out.append(f"  nearest {side}: " + (_slot_label(d) if d else "none"))
        for d in doc["in_other_as"]:
            out.append(f"  address space {d['as']} has {_slot_label(d)} here (try --as {d['as']})")
        return "\n".join(out) + "\n"
    s = doc["slot"]
    out.append(paint(f"{head} · {_slot_label(s)}", "1"))
    attr = "private" if doc["private"] else "shared"
    if s["guest_memfd"] is not None:
        out.append(f"guest_memfd {s['guest_memfd']} @ {s['offset']:#x}: file offset {doc['file_offset']:#x}"
                   f" · {attr} · ua {s['ua']:#x}")
    else:
        out.append(f"no guest_memfd · {attr} · ua {s['ua']:#x}")
    out.append(settings)
    out.append("")
    run = doc["run"]
    verdict = f"page {doc['page']}"
    if not doc.get("mappable", True):
        verdict = (f"NOT MAPPABLE (counted as {doc['page']}): a private frame in a slot without guest_memfd;"
                   " a private access exits to userspace (KVM_EXIT_MEMORY_FAULT)")
    elif doc["reason"]:
        nxt = next((c["page"] for c in doc["checks"] if not c["ok"]), "")
        verdict += f" · not {nxt}: {doc['reason']}"
    else:
        verdict += " · the largest page"
    out.append(paint(verdict, "1"))
    out.append(f"run [{run['gpa']:#x}, {run['gpa'] + run['size']:#x}) {fmt_size_approx(run['size'])}"
               " has the same page, attribute and reason")
    deciding = None
    if doc["reason"]:
        deciding = next((i for i, c in enumerate(doc["checks"]) if not c["ok"]), None)
    page = None
    for i, c in enumerate(doc["checks"]):
        if c["page"] != page:
            page = c["page"]
            lo, hi = c["block"]
            out.append("")
            out.append(paint(f"{page} block [{lo:#x}, {hi:#x})", "1"))
        mark = paint("pass", "32") if c["ok"] else paint("FAIL", "1", "31")
        tail = paint("  ← the reason", "1") if i == deciding else ""
        out.append(f"  {mark} {c['rule']:>2} {c['code']:<17} {c['numbers']}{tail}")
        out.append(paint(f"          {c['source']}", "2"))
        if not c["ok"]:
            out.append(f"          → {c['plain']}")
    for w in doc["warnings"]:
        out.append("")
        out.append(paint(f"warning: {w}", "33"))
    return "\n".join(out) + "\n"


def main(args: argparse.Namespace) -> int:
    from gmemtui.commands.options import overrides_from

    loaded = load(args.file, overrides_from(args))
    gpa = parse_gpa(args.gpa)
    limit = 1 << loaded.layout.platform.gpa_bits
    if gpa >= limit:  # beyond what any memslot can map: a typo, not a hole
        raise InputError(f"GPA {args.gpa[:40]!r} is beyond the {loaded.layout.platform.gpa_bits}-bit "
                         f"guest-physical space (at most {limit - 1:#x})")
    doc = explain_dict(loaded.layout, args.as_, gpa, args.file)
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(format_text(doc, Painter(use_colour())))
    return 1 if doc["slot"] is None else 0
