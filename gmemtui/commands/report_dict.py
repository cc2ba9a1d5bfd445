"""The ``report --json`` document as data (docs/commands.md): a slot, a run, a warning, the totals.
``report_dict`` builds the whole document; ``report_json`` writes the same bytes faster; ``explain``
reuses the slot and run shapes."""

from __future__ import annotations

from gmemtui.core.coverage import Coverage, Run, compute
from gmemtui.core.model import Layout, Slot, Warning_, flag_names
from gmemtui.core.units import fmt_size
from gmemtui.formats.loader import Loaded


def layout_warnings(layout: Layout) -> list[Warning_]:
    from gmemtui.core.validate import layout_warnings as warnings

    return warnings(layout)


def slot_dict(slot: Slot) -> dict[str, object]:
    """A slot's identity and arguments as in docs/commands.md (no coverage)."""
    return {
        "as": slot.as_,
        "slot": slot.slot,
        "name": slot.name,
        "gpa": slot.gpa,
        "size": slot.size,
        "ua": slot.ua,
        "flags": flag_names(slot.flags),
        "guest_memfd": slot.gmem,
        "offset": slot.offset if slot.gmem is not None else None,
    }


def run_dict(run: Run) -> dict[str, object]:
    """A run; ``"mappable": false`` is added only to runs KVM cannot map at all (rule 6)."""
    d: dict[str, object] = {"gpa": run.gpa, "size": run.size, "page": run.page, "private": run.private,
                            "reason": run.reason}
    if not run.mappable:
        d["mappable"] = False
    return d


def warning_dict(w: Warning_) -> dict[str, object]:
    return {"as": w.as_, "slot": w.slot, "line": w.line, "message": w.message}


def total_dict(cov: Coverage) -> dict[str, object]:
    return {"size": cov.size, "bytes": dict(cov.total)}


def report_dict(
    obj: Loaded | Layout, file: str | None = None, cov: Coverage | None = None
) -> dict[str, object]:
    """The ``report --json`` document of docs/commands.md for a layout (or a Loaded's final layout)."""
    layout = obj.layout if isinstance(obj, Loaded) else obj
    if file is None and isinstance(obj, Loaded):
        file = obj.path
    cov = compute(layout) if cov is None else cov
    slots = []
    for sc in cov.slots:
        d = slot_dict(sc.slot)
        d["bytes"] = dict(sc.bytes)
        d["runs"] = [run_dict(r) for r in sc.runs]
        slots.append(d)
    return document(layout, file, cov, slots)


def document(layout: Layout, file: str | None, cov: Coverage, slots: list) -> dict[str, object]:
    plat = layout.platform
    return {
        "file": file,
        "name": layout.name,
        "arch": layout.arch,
        "policy": layout.policy,
        "host_max_page": fmt_size(layout.host_max_page),
        "private_max_page": fmt_size(layout.private_max_page) if plat.private_cap else None,
        "page_sizes": list(plat.names),
        "total": total_dict(cov),
        "slots": slots,
        "warnings": [warning_dict(w) for w in layout_warnings(layout)],
    }
