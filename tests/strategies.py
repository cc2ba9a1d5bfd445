"""Hypothesis strategies for VALID layouts (docs/formats.md), built straight as gmemtui.core.model values.

Small layouts (``layouts()``) keep every slot to a few thousand frames, so the brute-force reference
can enumerate every frame; they still reach 2M behaviour because slot starts, ua and offsets are
drawn near 2M and 1G boundaries and several aligned 2M ranges fit. ``big_layouts()`` adds slots of
one to a few GiB (1G behaviour); compare those by sampling, never by full enumeration.

Each layout draws a ``chaos`` level: at 0 every slot is tidy (ua and offset congruent at every
size, no dirty logging, the largest caps), so huge pages are common; higher levels perturb each
value with growing probability, so every reason code is reached.

Every layout is valid: slots of one address space do not overlap, slot ids are unique per space,
bindings of one file do not overlap and lie inside the file, file ids are unique, sizes are non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import strategies as st

from gmemtui.core.model import POLICIES, GmemFile, Layout, PrivateRange, Slot
from gmemtui.core.platform import DEFAULT_ARCH, PLATFORMS, X86_64, Platform

PLAT = X86_64
SHIFT = PLAT.base_shift
LADDER = tuple(p.bytes for p in PLAT.ladder)  # bytes per ladder size
FR = tuple(PLAT.frames(p) for p in PLAT.ladder)  # frames per ladder size (1, 512, 262144 on x86)
TOP = FR[-1]
MAX_GFN = 1 << (PLAT.gpa_bits - SHIFT)


def _align_up(x: int, n: int) -> int:
    return -(-x // n) * n


@dataclass(frozen=True)
class Ladder:
    """The numbers a strategy needs of one platform (frames are base pages)."""

    plat: Platform

    @property
    def shift(self) -> int:
        return self.plat.base_shift

    @property
    def sizes(self) -> tuple[int, ...]:  # bytes per ladder size
        return tuple(p.bytes for p in self.plat.ladder)

    @property
    def fr(self) -> tuple[int, ...]:  # frames per ladder size
        return tuple(self.plat.frames(p) for p in self.plat.ladder)

    @property
    def top(self) -> int:
        return self.fr[-1]

    @property
    def max_gfn(self) -> int:
        return 1 << (self.plat.gpa_bits - self.shift)


@st.composite
def _near(draw: st.DrawFn, cursor: int, spread: int, lad: Ladder) -> int:
    """A frame number >= cursor: free, or a few frames around an aligned boundary of some ladder size."""
    mode = draw(st.sampled_from(["free", "edge", "edge", "exact", "exact"]))
    if mode == "free" or len(lad.fr) < 2:
        return cursor + draw(st.integers(0, spread))
    n = draw(st.sampled_from(lad.fr[1:]))
    base = _align_up(cursor, n) + n * draw(st.integers(0, 1))
    if mode == "exact":
        return base
    return max(cursor, base + draw(st.integers(-3, 3)))


@st.composite
def _low_bits(draw: st.DrawFn, like: int, bad: bool, lad: Ladder) -> int:
    """Frame bits below the top size for ua/offset: congruent with ``like`` at every size unless ``bad``
    (then congruent below some size only, off by a few frames, or random)."""
    top, fr = lad.top, lad.fr
    if not bad:
        return like % top
    mode = draw(st.sampled_from(["some", "near", "random"]))
    if mode == "some":  # congruent at sizes up to n only (mostly every size but the top)
        n = draw(st.sampled_from([*fr[:-1], *fr[1:-1], *fr[1:-1]]))
        return (like % n) + n * draw(st.integers(0, top // n - 1))
    if mode == "near":
        return (like + draw(st.integers(-3, 3))) % top
    return draw(st.integers(0, top - 1))


@st.composite
def layouts(
    draw: st.DrawFn,
    max_slots: int = 4,
    max_frames: int = 3000,
    big: bool = False,
    max_private: int = 5,
    arch: str = DEFAULT_ARCH,
) -> Layout:
    """A valid layout of ``arch``. ``big``: some slots of 1..4 top-size pages (plus up to ``max_frames``
    frames). On an arch without memory attributes (arm64) there is no ``private:`` list."""
    lad = Ladder(PLATFORMS[arch])
    plat, SHIFT, LADDER, FR, TOP, MAX_GFN = lad.plat, lad.shift, lad.sizes, lad.fr, lad.top, lad.max_gfn
    spaces = tuple(range(plat.address_spaces))
    chaos = draw(st.sampled_from([0, 0, 1, 1, 1, 2, 2, 3, 5, 10]))

    def bad() -> bool:
        return draw(st.integers(0, 9)) < chaos

    def cap() -> int:  # the largest size, or (bad) any, mostly the one just below
        return draw(st.sampled_from([*LADDER[:-1], *LADDER[1:-1]])) if bad() else LADDER[-1]

    nfiles = draw(st.integers(0, 3))
    file_ids = draw(st.lists(st.integers(0, 2**31 - 1), min_size=nfiles, max_size=nfiles, unique=True))
    file_cursor = {fid: draw(st.integers(0, 3)) * draw(st.sampled_from(FR)) for fid in file_ids}
    file_ends = {fid: 0 for fid in file_ids}

    nslots = draw(st.integers(1, max_slots))
    slots: list[Slot] = []
    cursors = {a: draw(st.sampled_from([0, 0, 0x100, TOP, 3 * TOP - 700, MAX_GFN // 2])) for a in spaces}
    ids: dict[int, set[int]] = {a: set() for a in spaces}
    for _ in range(nslots):
        as_ = draw(st.sampled_from([0, 0, 1])) if len(spaces) > 1 else 0
        start = draw(_near(cursors[as_], 3000, lad))
        if big and draw(st.booleans()):
            extra = draw(st.sampled_from([0, 0, FR[min(1, len(FR) - 1)]]) | st.integers(-3, max_frames))
            frames = draw(st.integers(1, 4)) * TOP + extra
            if not bad():  # start on a top-size boundary, so whole aligned top-size ranges fit
                start = _align_up(cursors[as_], TOP)
        else:
            f1 = FR[min(1, len(FR) - 1)]
            frames = draw(st.integers(1, max_frames) | st.sampled_from([1, f1, 2 * f1, 3 * f1 + 1]))
        frames = max(1, frames)
        if start + frames > MAX_GFN:
            continue
        cursors[as_] = start + frames
        sid = draw(st.integers(0, plat.max_slot_id))
        while sid in ids[as_]:
            sid = (sid + 1) % (plat.max_slot_id + 1)
        ids[as_].add(sid)
        ua_top = draw(st.integers(0, (1 << 47 - SHIFT) // TOP - 8))
        ua = ua_top * TOP + draw(_low_bits(start, bad(), lad))
        flags = (1 if bad() and bad() else 0) | (2 if draw(st.booleans()) else 0)
        gmem = None
        if file_ids and draw(st.integers(0, 3)) > 0:
            gmem = draw(st.sampled_from(file_ids))
        offset = 0
        if gmem is not None:
            cur = file_cursor[gmem]
            mode = draw(st.sampled_from(["cursor", "zero"])) if bad() else "cong"
            if mode == "cong":  # congruent with the gpa at every size, unless bad
                offset = _align_up(cur, TOP) + draw(_low_bits(start, bad(), lad))
                if offset - TOP >= cur:
                    offset -= TOP
            elif mode == "zero" and cur == 0:
                offset = 0
            else:
                offset = cur + draw(st.integers(0, 600))
            file_cursor[gmem] = offset + frames
            file_ends[gmem] = max(file_ends[gmem], offset + frames)
        slots.append(
            Slot(
                slot=sid, gpa=start << SHIFT, size=frames << SHIFT, ua=ua << SHIFT, as_=as_,
                flags=flags, gmem=gmem, offset=offset << SHIFT,
            )
        )
    if not slots:  # every draw fell beyond the gpa limit: one plain slot
        slots.append(Slot(slot=0, gpa=0, size=1 << SHIFT, ua=0))

    files = []
    for fid in file_ids:
        end = file_ends[fid]
        choice = draw(st.sampled_from(["none", "exact", "more"]))
        if choice == "none" or (choice == "exact" and end == 0):
            size = None
        else:
            size = end + (draw(st.integers(1, 2000)) if choice == "more" else 0)
        files.append(
            GmemFile(id=fid, size=None if size is None else size << SHIFT, max_page=cap(),
                     mmap=draw(st.booleans()))
        )

    private: tuple[PrivateRange, ...] | None
    modes = ["default", "default", "list", "list", "empty"] if plat.memory_attributes else ["default"]
    mode = draw(st.sampled_from(modes))
    if mode == "default":
        private = None
    elif mode == "empty":
        private = ()
    else:
        ranges = []
        f1 = FR[min(1, len(FR) - 1)]
        for _ in range(draw(st.integers(1, max_private))):
            s = draw(st.sampled_from(slots))
            B, P = s.gpa >> SHIFT, s.size >> SHIFT
            if draw(st.booleans()):  # anywhere near the slot, any length
                lo = draw(st.integers(max(0, B - 600), B + P))
                n = draw(st.integers(1, 1500))
            else:  # the whole slot, or aligned pieces of it
                n = draw(st.sampled_from([P, f1, 2 * f1, TOP]))
                lo = draw(st.sampled_from([B, _align_up(B, f1), _align_up(B, f1) + f1]))
            lo = min(lo, MAX_GFN - 1)
            n = max(1, min(n, MAX_GFN - lo))
            ranges.append(PrivateRange(lo << SHIFT, n << SHIFT))
        private = tuple(ranges)

    return Layout(
        slots=tuple(slots),
        files=tuple(files),
        private=private,
        arch=arch,
        policy=draw(st.sampled_from(POLICIES)),
        host_max_page=cap(),
        private_max_page=cap() if plat.private_cap else LADDER[-1],
    )


def any_arch_layouts(**kwargs: object) -> st.SearchStrategy[Layout]:
    """``layouts`` of every arch of the platform table (base pages of 4K, 16K and 64K)."""
    return st.sampled_from(tuple(PLATFORMS)).flatmap(lambda arch: layouts(arch=arch, **kwargs))


PERTURBATIONS = (
    "ua-2M", "ua-random", "offset-2M", "offset-random", "host-cap", "private-cap", "folio-cap",
    "policy", "size", "start", "private-holes", "private-list", "log-dirty", "mmap", "no-file", "as1",
)


@st.composite
def perturbed_big_layouts(draw: st.DrawFn) -> Layout:
    """Tidy guest_memfd slots of 1..3 GiB where every frame maps at the top size, then 0..3 targeted
    changes (``PERTURBATIONS``): each makes one reason likely at the top size or the one below."""
    nslots = draw(st.integers(1, 3))
    slots: list[Slot] = []
    gfn, off = TOP, 0
    for i in range(nslots):
        frames = draw(st.integers(1, 3)) * TOP
        ua = draw(st.integers(1, 64)) * TOP * TOP + (gfn % TOP)
        slots.append(Slot(slot=i, gpa=gfn << SHIFT, size=frames << SHIFT, ua=ua << SHIFT, gmem=7,
                          offset=off << SHIFT))
        gfn += frames + draw(st.sampled_from([0, TOP]))
        off += frames + TOP  # room for an offset change below the top size
    lay = Layout(slots=tuple(slots), files=(GmemFile(id=7, max_page=LADDER[-1]),),
                 host_max_page=LADDER[-1], private_max_page=LADDER[-1])
    below = draw(st.sampled_from(FR[1:-1] or FR[:1]))  # frames of the size just below the top
    for what in draw(st.lists(st.sampled_from(PERTURBATIONS), max_size=3, unique=True)):
        i = draw(st.integers(0, len(slots) - 1))
        s = lay.slots[i]
        fix: dict = {}
        if what == "ua-2M":
            fix["ua"] = s.ua + (below << SHIFT) * draw(st.integers(1, TOP // below - 1))
        elif what == "ua-random":
            fix["ua"] = s.ua + (draw(st.integers(1, TOP - 1)) << SHIFT)
        elif what == "offset-2M":
            fix["offset"] = s.offset + (below << SHIFT) * draw(st.integers(1, TOP // below - 1))
        elif what == "offset-random":
            fix["offset"] = s.offset + (draw(st.integers(1, TOP - 1)) << SHIFT)
        elif what == "size":
            fix["size"] = s.size - (draw(st.sampled_from([1, below, below + 1, TOP - below])) << SHIFT)
        elif what == "start":
            d = draw(st.sampled_from([1, below, below + 1])) << SHIFT
            fix.update(gpa=s.gpa + d, size=s.size - d, ua=s.ua + d, offset=s.offset + d)
        elif what == "log-dirty":
            fix["flags"] = 1
        elif what == "no-file":
            fix.update(gmem=None, offset=0)
        elif what == "as1":
            fix["as_"] = 1
        if fix:
            lay = lay.with_slot(i, **fix)
            continue
        if what == "host-cap":
            lay = replace(lay, host_max_page=draw(st.sampled_from(LADDER[:-1])), private=())
        elif what == "private-cap":
            lay = replace(lay, private_max_page=draw(st.sampled_from(LADDER[:-1])))
        elif what == "folio-cap":
            lay = replace(lay, files=(replace(lay.files[0], max_page=draw(st.sampled_from(LADDER[:-1]))),))
        elif what == "policy":
            lay = replace(lay, policy=draw(st.sampled_from(POLICIES[1:])))
        elif what == "mmap":
            lay = replace(lay, files=(replace(lay.files[0], mmap=True),))
        elif what in ("private-holes", "private-list"):
            ranges = []
            for _ in range(draw(st.integers(1, 4))):
                t = draw(st.sampled_from(lay.slots))
                B, P = t.gpa >> SHIFT, t.size >> SHIFT
                lo = B + draw(st.sampled_from([0, below, TOP]) | st.integers(0, P))
                n = draw(st.sampled_from([1, below, TOP, P]) | st.integers(1, 3 * below))
                ranges.append(PrivateRange(lo << SHIFT, min(n, MAX_GFN - lo) << SHIFT))
            if what == "private-holes":  # mostly private: alternate ranges between the drawn edges
                edges = sorted({0, MAX_GFN, *(x for r in ranges for x in (r.gpa >> SHIFT, r.end >> SHIFT))})
                pairs = zip(edges[::2], edges[1::2], strict=False)
                ranges = [PrivateRange(a << SHIFT, (b - a) << SHIFT) for a, b in pairs if b > a]
            lay = replace(lay, private=tuple(ranges))
    # still valid: changes only shrink a slot or move its start inside itself (its binding moves with
    # it), and an offset change stays below the gap of one top size left between bindings
    return lay


def big_layouts(max_slots: int = 3) -> st.SearchStrategy[Layout]:
    """Layouts with slots of 1..4 GiB: 1G behaviour. Compare by sampling frames."""
    return st.one_of(layouts(max_slots=max_slots, max_frames=3000, big=True), perturbed_big_layouts())
