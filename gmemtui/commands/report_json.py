"""``report --json``: the document of ``report_dict`` written as ``json.dumps(indent=2)`` writes it,
byte for byte, but from templates of the fixed schema for the slots and their runs. Its own module,
so that ``json`` is imported only by the runs that print JSON."""

from __future__ import annotations

import json

from gmemtui.commands.jsonout import dumps_indented, encode_str, flat_encoder
from gmemtui.commands.report_dict import document, slot_dict
from gmemtui.core.coverage import Coverage, Shape, compute
from gmemtui.core.model import Layout, Slot


def report_json(layout: Layout, file: str | None = None, cov: Coverage | None = None) -> str:
    """``json.dumps(report_dict(layout, file, cov), indent=2)``, byte for byte, for ``--json``.

    The slots (95,000 runs at 32,763 slots) are written from templates of the fixed schema instead
    of building a dict per run and walking them. Slots of one ``Shape`` (the runs relative to the
    slot's gpa; 32,763 slots share ~8,000 here) share one template of their bytes and runs, in
    which only the runs' gpas are filled in per slot; no ``Run`` object is made. The rest of the
    document goes through ``jsonout.dumps_indented`` with an empty slot list, which the slots then
    replace. Tests compare it with ``json.dumps`` on random layouts and hostile names.
    """
    cov = compute(layout) if cov is None else cov
    head = dumps_indented(document(layout, file, cov, []))
    empty = '\n  "slots": [],'  # a raw newline is structure: this is the top-level key, once
    assert head.count(empty) == 1
    templates: dict[int, tuple[str, str, tuple[int, ...]]] = {}  # id(shape) -> _shape_template
    slots = []
    for sc in cov.slots:
        slot, shape = sc.slot, sc.shape
        t = templates.get(id(shape))  # the shapes live in ``cov``: ids are not reused meanwhile
        if t is None:
            t = templates[id(shape)] = _shape_template(shape)
        gpa = slot.gpa
        runs = tuple(map(gpa.__add__, t[2]))  # the runs' gpas
        if slot.flags:  # a non-empty flag list: the general encoder, then the shape's template
            slots.append(_slot_head(slot) + t[1] % runs)
        else:
            name, gmem = slot.name, slot.gmem
            slots.append(t[0] % ((slot.as_, slot.slot, "null" if name is None else _encode_str(name), gpa,
                                  slot.size, slot.ua, "null" if gmem is None else gmem,
                                  "null" if gmem is None else slot.offset) + runs))
    if not slots:
        return head
    before, after = head.split(empty)  # one copy of the 26 MB of slots, not three
    return "".join([before, '\n  "slots": [\n    ', ",\n    ".join(slots), "\n  ],", after])


_I6, _I8, _I10 = "\n" + " " * 6, "\n" + " " * 8, "\n" + " " * 10
_encode_str = encode_str
_TEXT: dict[str | None, str] = {None: "null"}  # JSON of the page names and reason codes, ``%`` doubled


def _text(value: str | None) -> str:
    text = _TEXT.get(value)
    if text is None:
        text = _TEXT[value] = json.dumps(value).replace("%", "%%")
    return text


# ``slot_dict`` of a slot without flags as ``json.dumps(indent=2)`` writes it in the slot list (up to
# its last value); its values are ints, strings (``_encode_str`` is what json uses) and None.
_HEAD = "{" + ",".join(f'{_I6}"{k}": %{f}' for k, f in (
    ("as", "d"), ("slot", "d"), ("name", "s"), ("gpa", "d"), ("size", "d"), ("ua", "d"), ("flags", "s"),
    ("guest_memfd", "s"), ("offset", "s"))).replace('"flags": %s', '"flags": []')


def _list_json(items: list[str], close: str) -> str:
    """A list or dict of a slot (items already encoded) as ``json.dumps(indent=2)`` writes it."""
    return f"{close[0]}{_I8}{(',' + _I8).join(items)}{_I6}{close[1]}" if items else close


def _slot_head(slot: Slot) -> str:
    """A slot's identity and arguments, as ``json.dumps(indent=2)`` writes them inside the slot list,
    up to the last of them (no comma, no closing brace)."""
    d = slot_dict(slot)
    if d["flags"]:  # a non-empty list inside: the general encoder, moved in by the slot list's indent
        return dumps_indented(d).replace("\n", "\n    ")[: -len("\n    }")]
    return "{" + _I6 + flat_encoder(_I6)(d)[1:-1]  # only scalars (and []): one C call


_RUNS: dict[tuple, str] = {}  # (size, page, private, reason, mappable) -> a run's template


def _run_template(run: tuple) -> str:
    """A run with ``%d`` for its gpa (a few hundred distinct ones; the gpa is all that varies)."""
    size, page, private, reason, mappable = run
    text = (f'{{{_I10}"gpa": %d,{_I10}"size": {size},{_I10}"page": {_text(page)},'
            f'{_I10}"private": {"true" if private else "false"},{_I10}"reason": {_text(reason)}'
            + ("" if mappable else f',{_I10}"mappable": false') + f'{_I8}}}')
    if len(_RUNS) < 4096:
        _RUNS[run] = text
    return text


def _shape_template(shape: Shape) -> tuple[str, str, tuple[int, ...]]:
    """The rest of a slot of this shape (its bytes and runs) with ``%d`` for each run's gpa, every
    other ``%`` doubled: after ``_HEAD`` (a slot without flags) and alone; and the runs' offsets
    from the slot's gpa."""
    runs = [_RUNS.get(r[1:]) or _run_template(r[1:]) for r in shape.runs]
    byts = _list_json([f"{_text(k)}: {v}" for k, v in shape.bytes.items()], "{}")
    tail = f',{_I6}"bytes": {byts},{_I6}"runs": {_list_json(runs, "[]")}\n    }}'
    return _HEAD + tail, tail, tuple([r[0] for r in shape.runs])
