"""What would recover the huge pages: verified layout changes per slot (docs/suggest.md).

``suggest(layout)`` looks at every slot that maps frames smaller than the ladder's largest page and
proposes changes of four kinds, each found in closed form (``suggest_kinds``) and each **verified**:
the changed slots are recomputed with the coverage engine and compared with ``core.diff``'s sweep,
which is what ``gmemtui diff`` runs (the slots a change does not touch have equal runs on both sides
and add nothing to a diff). A change is offered only if it gains, loses no frame's page size,
leaves the guest-visible GPA ranges as they were, and fits the slot-id range.

* ``split``: cut the slot at ladder-aligned GPAs (against ``whole-binding``).
* ``offset``: move the guest_memfd binding so that gfn ≡ index (``offset-misaligned``,
  ``whole-binding``), pushing bindings above it up by multiples of the largest page if they overlap.
* ``ua``: move the host mapping so that gfn ≡ ugfn (``ua-misaligned``).
* ``setting``: a file's ``max_page`` (``folio-cap``) or ``host_max_page`` (``host-page``).

Each kind is tried only where its reason appears in the slot's runs: a single change can only raise a
frame whose first failing rule at the next size is one the change affects. The result types are in
``suggest_model`` (re-exported here).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from gmemtui.core.coverage import Coverage, Memo, Run, SlotCoverage, compute, slot_runs, slot_shape
from gmemtui.core.diff import Sweep, compare_slots
from gmemtui.core.facts import Attributes, SlotFacts
from gmemtui.core.model import Layout, Slot
from gmemtui.core.suggest_kinds import (
    FreeIds,
    align_down,
    congruent_moves,
    file_bindings,
    split_cuts,
    split_parts,
)
from gmemtui.core.suggest_model import KINDS, Edit, Key, Suggestion, Suggestions, Unfixable
from gmemtui.core.suggest_text import UNFIXABLE_WHY
from gmemtui.core.units import fmt_size


class _Context:
    """What every suggestion of one layout shares: its coverage, rule makers, bindings, free ids."""

    def __init__(self, layout: Layout, cov: Coverage | None) -> None:
        self.layout = layout
        plat = layout.platform
        self.names = plat.names
        self.page_bytes = {p.name: p.bytes for p in plat.ladder}
        self.sizes = [p.bytes for p in plat.ladder]
        self.base, self.top = self.sizes[0], self.sizes[-1]
        # every slot's runs are compared below: made in one GC pause, not one by one with the GC on
        self.cov = (cov if cov is not None else compute(layout)).make_runs()
        self.attrs = Attributes.of(layout)
        self.make = SlotFacts.maker(layout, self.attrs)
        self.memo = Memo()
        self._makers: dict[tuple, object] = {}
        self._bindings = None
        self.ids = FreeIds(layout)
        self.files = {f.id: f for f in layout.files}
        self.by_key = {sc.slot.key: sc for sc in self.cov.slots}

    def name(self, nbytes: int) -> str:
        return self.layout.platform.name_of(nbytes)

    def congruence(self, a: int, b: int) -> int:
        """The largest ladder size modulo which a ≡ b."""
        return max(n for n in self.sizes if (a - b) % n == 0)

    def next_name(self, page: str) -> str:
        return self.names[min(self.names.index(page) + 1, len(self.names) - 1)]

    def maker(self, **settings: object):
        """A SlotFacts maker for this layout with VM-wide values changed (cached)."""
        key = tuple(sorted(settings.items()))
        if key not in self._makers:
            self._makers[key] = SlotFacts.maker(replace(self.layout, **settings), self.attrs)
        return self._makers[key]

    @property
    def bindings(self):
        if self._bindings is None:
            self._bindings = file_bindings(self.layout)
        return self._bindings

    def coverage(self, slot: Slot, make=None) -> SlotCoverage:
        return SlotCoverage(slot, slot_shape((make or self.make)(slot), self.memo))

    def verify(self, old: Iterable[SlotCoverage], new: Iterable[SlotCoverage]) -> Sweep | None:
        """The diff of the changed slots if the change is worth offering (gains, loses nothing, same GPAs)."""
        s = compare_slots(old, new, self.names)
        if s.any_loss or s.only_old or s.only_new or not any(s.gained.values()):
            return None
        return s

    def score(self, s: Sweep) -> int:
        idx = {n: i for i, n in enumerate(self.names)}
        return sum(c.size * (idx[c.new] - idx[c.old]) for c in s.changes)


def page_map(runs: Iterable[Run]) -> list[tuple[int, int, str]]:
    """The runs with only the page size kept, adjacent equal pages merged: what coverage *is*."""
    out: list[list] = []
    for r in runs:
        if out and out[-1][2] == r.page and out[-1][1] == r.gpa:
            out[-1][1] = r.end
        else:
            out.append([r.gpa, r.end, r.page])
    return [tuple(x) for x in out]


def _build(ctx: _Context, kind: str, sc: SlotCoverage, title: str, edits: list[Edit], changes: dict,
           cost: dict, cost_text: str, sweep: Sweep) -> Suggestion:
    helped = {(c.as_, sid) for c in sweep.changes for sid in c.old_slots}
    keys = tuple(sorted(helped | {sc.slot.key}))
    gained = {n: b for n, b in sweep.gained.items() if b}
    lost = {n: b for n, b in sweep.lost.items() if b}
    return Suggestion(kind, sc.slot.as_, sc.slot.slot, title, tuple(edits), changes, cost, cost_text,
                      gained, lost, ctx.score(sweep), keys, sweep)


# --- the kinds -------------------------------------------------------------------------------------


def _split(ctx: _Context, sc: SlotCoverage, notes: dict) -> Suggestion | None:
    slot = sc.slot
    make = ctx.maker(policy="per-range")
    facts = make(slot)
    target = slot_runs(facts, ctx.memo)
    cuts = split_cuts(slot, target, ctx.page_bytes, ctx.base, facts.uses_gmem)
    ua_old = slot.ua
    if not cuts and any(r.reason == "ua-misaligned" and facts.uses_gmem(r.private) for r in target):
        # QEMU 10's memfd RAM: ua 4K past a 2M boundary. Neither a split nor a ua move helps alone
        # under whole-binding; together they do. The ua move is the smallest that gives the per-range
        # target its best, then the cuts are made on that target.
        pick = _smallest_reaching(ctx, _ua_moves(ctx, slot, make))
        if pick is not None:
            moved = replace(slot, ua=slot.ua + pick[1])
            target = pick[2].runs
            new_cuts = split_cuts(moved, target, ctx.page_bytes, ctx.base, facts.uses_gmem)
            if new_cuts:
                slot, cuts = moved, new_cuts
    if not cuts:
        stuck = next((r for r in target if facts.uses_gmem(r.private) and r.reason), None)
        why = f" ({stuck.reason} at {ctx.next_name(stuck.page)})" if stuck else ""
        notes[slot.key].append(("whole-binding", "a split cannot help: without the whole-binding rule these "
                                f"frames would be no larger{why}"))
        return None
    ids = ctx.ids.smallest(slot.as_, len(cuts))
    if ids is None:
        notes[slot.key].append(("whole-binding", f"a split needs {len(cuts)} more slot ids; address space "
                                f"{slot.as_} has {ctx.ids.left(slot.as_)} left"))
        return None
    parts = split_parts(slot, cuts, ids)
    sweep = ctx.verify([sc], [ctx.coverage(p) for p in parts])
    if sweep is None:
        return None
    at = ", ".join(hex(c) for c in cuts)
    left = ctx.ids.left(slot.as_) - len(cuts)
    changes: dict = {"at": list(cuts), "parts": [{"slot": p.slot, "gpa": p.gpa, "size": p.size, "ua": p.ua,
                                                  "offset": p.offset} for p in parts]}
    cost: dict = {"slots_added": len(cuts), "slot_ids_left": left}
    text = f"{len(cuts)} slot{'s' if len(cuts) > 1 else ''} more, {left} ids left in AS {slot.as_}"
    title = f"split slot {slot.slot} at {at}"
    if slot.ua != ua_old:
        n = ctx.name(ctx.congruence(slot.gpa, slot.ua))
        changes["ua"] = {"old": ua_old, "new": slot.ua}
        cost["host_mapping"] = f"map slot {slot.slot}'s memory at a ua congruent with its gpa mod {n}"
        text += f"; the host mapping must move: ua ≡ gpa mod {n}"
        title += f" and move its ua {ua_old:#x} -> {slot.ua:#x}"
    edit = Edit("split", slot.key, "parts", sc.slot, parts)
    return _build(ctx, "split", sc, title, [edit], changes, cost, text, sweep)


def _then(old: SlotCoverage, new: SlotCoverage, reason: str) -> str:
    """``: folio-cap stops the same frames at 1G``: what stops the frames of ``reason`` once it is fixed."""
    for r in old.runs:
        if r.reason == reason:
            after = next((n for n in new.runs if n.gpa <= r.gpa < n.end), None)
            if after is not None and after.reason not in (None, reason) and after.page == r.page:
                return f": {after.reason} stops the same frames"
    return ""


def _smallest_reaching(ctx: _Context, tried: list[tuple]) -> tuple | None:
    """Of (rung, ..., new SlotCoverage, ...) results by ascending rung: the first that reaches the
    coverage of the best one (the largest rung's move gives the most; a smaller move may give as much)."""
    if not tried:
        return None
    best = max(tried, key=lambda t: sum(ctx.page_bytes[r.page].bit_length() * r.size for r in t[2].runs))
    want = page_map(best[2].runs)
    return next(t for t in tried if page_map(t[2].runs) == want)


def _offset(ctx: _Context, sc: SlotCoverage, notes: dict) -> Suggestion | None:
    slot = sc.slot
    fid = slot.gmem
    assert fid is not None
    B, P, O = slot.gpa, slot.size, slot.offset
    whole = ctx.layout.policy == "whole-binding"
    f = ctx.files.get(fid)
    old_size = f.size if f is not None and f.size is not None else ctx.bindings[fid].end
    tried = []
    for n in ctx.sizes[1:]:
        if (B - O) % n == 0:
            continue
        if whole and (B % n or P % n):
            what = "gpa" if B % n else "size"
            notes[slot.key].append(("whole-binding" if whole else "offset-misaligned",
                                    f"an offset move alone cannot help at {ctx.name(n)}: under whole-binding "
                                    f"the binding must start and end {ctx.name(n)}-aligned, and its {what} "
                                    f"{(B if B % n else P):#x} is not"))
            break
        options = []
        for d in congruent_moves(O, B, n):  # smallest first; a tie in size goes to the smaller growth
            if options and abs(d) > options[0][0]:
                break
            placed = ctx.bindings[fid].place(slot, O + d, ctx.top)
            if placed is not None:
                options.append((abs(d), max(0, placed.file_end - old_size), d, placed))
        if not options:
            continue
        _, growth, d, placed = min(options, key=lambda o: o[:2])
        tried.append((n, d, ctx.coverage(replace(slot, offset=O + d)), placed, growth))
    pick = _smallest_reaching(ctx, tried)
    if pick is None:
        return None
    n, d, new_sc, placed, growth = pick
    edits = [Edit("slot", slot.key, "offset", O, O + d)]
    # A pushed binding moves by a multiple of the largest page: every rule reads its offset only modulo
    # a ladder size (rules 10 and 11), so its coverage is unchanged and needs no recompute (the
    # property tests check this against the reference).
    edits += [Edit("slot", key, "offset", old, new) for key, old, new in placed.pushed]
    if f is not None and f.size is not None and placed.file_end > f.size:
        edits.append(Edit("file", fid, "size", f.size, placed.file_end))
    sweep = ctx.verify([sc], [new_sc])
    if sweep is None:
        return None
    moved = [k[1] for k, _, _ in placed.pushed]
    cost = {"file_grows": growth, "bindings_moved": moved}
    text = f"guest_memfd {fid} grows by {fmt_size(growth)}" if growth else f"guest_memfd {fid} does not grow"
    if moved:
        many = len(moved) > 1
        text += f"; slot{'s' if many else ''} {', '.join(map(str, moved))} "
        text += f"move{'' if many else 's'} up in the file"
    changes = {"offset": {"old": O, "new": O + d}, "congruent_mod": ctx.name(ctx.congruence(B, O + d)),
               "moved": [{"slot": k[1], "old": a, "new": b} for k, a, b in placed.pushed]}
    title = f"move slot {slot.slot}'s guest_memfd {fid} offset {O:#x} -> {O + d:#x}"
    return _build(ctx, "offset", sc, title, edits, changes, cost, text, sweep)


def _ua_moves(ctx: _Context, slot: Slot, make) -> list[tuple]:
    """(rung, move, coverage) for the smallest ua move that makes gfn ≡ ugfn modulo each rung."""
    tried = []
    for n in ctx.sizes[1:]:
        if (slot.gpa - slot.ua) % n:
            moves = [d for d in congruent_moves(slot.ua, slot.gpa, n) if slot.ua + d + slot.size <= 1 << 64]
            if moves:
                tried.append((n, moves[0], ctx.coverage(replace(slot, ua=slot.ua + moves[0]), make)))
    return tried


def _ua(ctx: _Context, sc: SlotCoverage, notes: dict) -> Suggestion | None:
    slot = sc.slot
    B, U = slot.gpa, slot.ua
    tried = _ua_moves(ctx, slot, ctx.make)
    pick = _smallest_reaching(ctx, tried)
    if pick is None:
        return None
    n, d, new_sc = pick
    sweep = ctx.verify([sc], [new_sc])
    if sweep is None:
        notes[slot.key].append(("ua-misaligned", "a ua move alone gains nothing" +
                                _then(sc, tried[-1][2], "ua-misaligned")))
        return None
    cost = {"host_mapping": f"map slot {slot.slot}'s memory at a ua congruent with its gpa mod {ctx.name(n)}"}
    text = f"none in the guest; the host mapping must move: ua ≡ gpa mod {ctx.name(n)} (RAMBlock alignment)"
    n = ctx.congruence(B, U + d)
    changes = {"ua": {"old": U, "new": U + d}, "congruent_mod": ctx.name(n)}
    return _build(ctx, "ua", sc, f"move slot {slot.slot}'s ua {U:#x} -> {U + d:#x}",
                  [Edit("slot", slot.key, "ua", U, U + d)], changes, cost, text, sweep)


def _setting(ctx: _Context, scs: list[SlotCoverage], field_name: str, current: int, fid: int | None,
             notes: dict) -> Suggestion | None:
    """Raise a file's ``max_page`` (``fid``) or ``host_max_page`` to the smallest size that gains the most."""
    tried = []
    for n in ctx.sizes:
        if n <= current:
            continue
        if fid is None:
            make = ctx.maker(host_max_page=n)
        else:  # only this file's slots are recomputed: change their facts, not the layout's file list
            def make(slot: Slot, n: int = n) -> SlotFacts:
                facts = ctx.make(slot)
                return replace(facts, folio_max=n >> facts.base_shift)
        new = [ctx.coverage(sc.slot, make) for sc in scs]
        sweep = ctx.verify(scs, new)
        if sweep is not None:
            tried.append((n, ctx.score(sweep), sweep))
    if not tried:
        reason = "host-page" if fid is None else "folio-cap"
        for sc in scs:
            notes[sc.slot.key].append((reason, f"raising {field_name} alone gains nothing: another rule "
                                       "stops the same frames"))
        return None
    best = max(t[1] for t in tried)
    n, _, sweep = next(t for t in tried if t[1] == best)
    first = scs[0]
    if fid is None:
        title = f"host_max_page {ctx.name(current)} -> {ctx.name(n)}"
        kind_of_page = "THP" if n == ctx.sizes[1] else "hugetlbfs"
        text = f"host configuration: back guest RAM with {ctx.name(n)} host pages ({kind_of_page})"
        edit = Edit("vm", None, "host_max_page", current, n)
    else:
        title = f"guest_memfd {fid} max_page {ctx.name(current)} -> {ctx.name(n)}"
        text = f"host configuration: guest_memfd {fid} must allocate {ctx.name(n)} folios"
        edit = Edit("file", fid, "max_page", current, n)
    changes = {"setting": field_name if fid is None else "max_page", "guest_memfd": fid,
               "old": ctx.name(current), "new": ctx.name(n)}
    return _build(ctx, "setting", first, title, [edit], changes, {"host_configuration": text}, text, sweep)


# --- the whole layout ------------------------------------------------------------------------------


def suggest(layout: Layout, keys: Iterable[Key] | None = None, cov: Coverage | None = None) -> Suggestions:
    """Every verified suggestion (for the slots ``keys`` only, if given), best gain first, and the slots
    nothing can help. ``cov``: the layout's coverage, if already computed."""
    ctx = _Context(layout, cov)
    wanted = None if keys is None else set(keys)
    out: list[Suggestion | None] = []
    notes: dict[Key, list[tuple[str, str]]] = defaultdict(list)  # (reason, why a kind did not help)
    small: list[SlotCoverage] = []
    host: list[SlotCoverage] = []  # settings change every slot they reach: collected over the layout
    folio: dict[int, list[SlotCoverage]] = {}
    settings_wanted = wanted is None
    for sc in ctx.cov.slots:
        reasons = {r.reason for r in sc.runs if r.reason is not None}
        if not reasons:
            continue
        if "host-page" in reasons:
            host.append(sc)
        if "folio-cap" in reasons and sc.slot.gmem is not None:
            folio.setdefault(sc.slot.gmem, []).append(sc)
        if wanted is not None and sc.slot.key not in wanted:
            continue
        settings_wanted = settings_wanted or bool(reasons & {"host-page", "folio-cap"})
        small.append(sc)
        if layout.policy == "whole-binding" and reasons & {"whole-binding", "ua-misaligned"}:
            out.append(_split(ctx, sc, notes))
        if reasons & {"whole-binding", "offset-misaligned"} and sc.slot.gmem is not None:
            out.append(_offset(ctx, sc, notes))
        if "ua-misaligned" in reasons:
            out.append(_ua(ctx, sc, notes))
    if settings_wanted:
        if host:
            out.append(_setting(ctx, host, "host_max_page", layout.host_max_page, None, notes))
        for fid, scs in folio.items():
            f = ctx.files.get(fid)
            if f is not None:
                out.append(_setting(ctx, scs, "max_page", f.max_page, fid, notes))
    found = [s for s in out if s is not None and (wanted is None or wanted & set(s.slots))]
    found.sort(key=lambda s: (-s.score, s.as_, KINDS.index(s.kind), s.slot))
    helped = {k for s in found for k in s.slots}
    unfixable = [u for sc in small if sc.slot.key not in helped
                 for u in _unfixable(ctx, sc, notes[sc.slot.key])]
    return Suggestions(layout, tuple(found), tuple(unfixable))


def _unfixable(ctx: _Context, sc: SlotCoverage, notes: list[tuple[str, str]]) -> list[Unfixable]:
    """One entry per reason of the slot's small frames (smallest page first), with why no change of
    the layout recovers them."""
    groups: dict[tuple[int, str], int] = {}  # (ladder index, reason) -> bytes
    for r in sc.runs:
        if r.reason is not None:
            key = (ctx.names.index(r.page), r.reason)
            groups[key] = groups.get(key, 0) + r.size
    out = []
    for (k, reason), nbytes in sorted(groups.items()):
        why = next((w for code, w in notes if code == reason), None)
        if why is None:
            why = UNFIXABLE_WHY.get(reason, "no change of the layout affects this rule")
            bigger = ctx.sizes[k + 1]
            if reason == "slot-edge" and align_down(sc.slot.end, bigger) < sc.slot.gpa + bigger:
                size = fmt_size(sc.slot.size)
                why = f"the slot ({size}) holds no whole aligned {ctx.name(bigger)} block; {why}"
        out.append(Unfixable(sc.slot.as_, sc.slot.slot, reason, why, ctx.names[k], nbytes))
    return out


__all__ = ["KINDS", "Edit", "Suggestion", "Suggestions", "Unfixable", "page_map", "suggest"]
