"""QEMU monitor dumps (docs/monitor-dumps.md): ``info mtree -f``, optionally with ``info ramblock``.

``info mtree -f`` prints one block per FlatView (``mtree_print_flatview``, system/memory.c): a
``FlatView #N`` header, the address spaces that share it (`` AS "memory", root: system``), then one
line per flat range, ``START-END (prio P, TYPE): NAME [@OFFSET] [KVM]``, END inclusive. ``KVM`` is
printed when the accelerator's ``has_memory`` finds a memslot over the range (``kvm_accel_has_memory``,
accel/kvm/kvm-all.c), so each marked ``ram``/``rom`` line of the ``AS "memory"`` view is one slot of
address space 0, and of the ``AS "KVM-SMRAM"`` view one of address space 1. Slot numbers are not
printed: slots are numbered in line order.

READONLY: ``kvm_mem_flags`` asks the *target* region (``memory_region_is_rom``), while the dump
prints ``rom`` for a read-only range, alias included. A read-only alias of RAM (the PAM ``pam-rom``
windows SeaBIOS sets up) prints ``rom`` yet KVM maps it writable. So a ``rom`` line is READONLY
unless its region is writable: ``info ramblock`` says ``rw`` in its RO column, or (without that
column) the same region also has a ``ram`` line. ``romd`` (a ROM device in ROMD mode) is READONLY.

``info ramblock`` (``ram_block_format``) gives each RAMBlock's host address in its ``HVA`` column
on newer QEMU (10.0 has it, 7.2 not): ``ua = HVA + @OFFSET``. Without it the RAMBlock is assumed to
start on a 2M boundary (QEMU's ``QEMU_VMALLOC_ALIGN`` on x86-64 hosts), and a warning says so.

Every line is read once with anchored regexes: the cost is linear in the dump.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from gmemtui.core import validate
from gmemtui.core.errors import InputError
from gmemtui.core.model import KVM_MEM_READONLY, Layout, Overrides, Slot, Warning_

# The address spaces whose flat views become slots, and their KVM address space ids.
ADDRESS_SPACES = {"memory": 0, "KVM-SMRAM": 1}
PAGE = 1 << 12
TWO_M = 1 << 21
ONE_G = 1 << 30
# Where assumed RAMBlocks go: 2M- but not 1G-aligned host addresses, like QEMU's real allocations.
ASSUMED_BASE = 0x7F0000000000 + TWO_M
# Types printed by memory_region_type(); readonly ranges print "rom"; "nv-" marks nonvolatile memory.
_SLOT_TYPES = {"ram": 0, "ramd": 0, "rom": KVM_MEM_READONLY, "romd": KVM_MEM_READONLY}
_ROM_LINE = -1  # a "rom" line: READONLY unless its region turns out writable (see above)

_FLATVIEW_RE = re.compile(r"FlatView #[0-9]{1,10}\s*$")
_AS_RE = re.compile(r'\s*AS "([^"\n]{0,200})", root: ')
_RANGE_START_RE = re.compile(r"\s*[0-9a-fA-F]{1,64}-")
_RANGE_RE = re.compile(
    r"\s*([0-9a-fA-F]{1,16})-([0-9a-fA-F]{1,16}) \(prio (-?[0-9]{1,10}), (?:nv-)?([a-z/]{1,8})\): (.*)$"
)
_HEX_RE = re.compile(r"[0-9a-fA-F]{1,16}")
_RAMBLOCK_HEADER_RE = re.compile(r"\s*Block Name\s+PSize\s+(.*)$")
_HEX_FIELD_RE = re.compile(r"0x([0-9a-fA-F]{1,16})")
_PROMPT = "(qemu)"
FRAMEBUFFER_SUFFIX = ".vram"  # vga.vram, qxl.vram, ... (hw/display/*)


@dataclass(frozen=True)
class Region:
    """A slot line of a flat view: the KVM slot over it, before its ua is known."""

    as_: int
    gpa: int
    size: int
    flags: int
    region: str  # the memory region's name, as printed
    offset: int  # @OFFSET: the range's offset in that region (and its RAMBlock)
    line: int


@dataclass(frozen=True)
class RamBlock:
    name: str
    used: int
    hva: int | None
    readonly: bool | None  # the RO column (None: not printed)
    line: int


def _lines(text: str):
    for no, raw in enumerate(text.split("\n"), 1):
        yield no, raw.rstrip("\r")


def _ignored(line: str) -> bool:
    stripped = line.lstrip()
    return not stripped or stripped.startswith("#") or stripped.startswith(_PROMPT)


def _parse_range(line: str, as_: int, path: str, no: int) -> Region | None:
    m = _RANGE_RE.match(line)
    if m is None:
        raise InputError(
            "not a flat-view range line (expected 'START-END (prio P, TYPE): NAME [@OFFSET] [KVM]', "
            f"hex, END inclusive): {line.strip()[:80]!r}", path, no)
    start, end, _prio, kind, tail = m.groups()
    lo, hi = int(start, 16), int(end, 16)
    if hi < lo:
        raise InputError(f"range {start}-{end} ends before it starts", path, no)
    tail = tail.rstrip()
    kvm = tail.endswith(" KVM") or tail == "KVM"
    if kvm:
        tail = tail[:-3].rstrip()
    if tail.endswith("}") and " owner:{" in tail:  # info mtree -f -o
        tail = tail[: tail.rfind(" owner:{")].rstrip()
    name, sep, off_text = tail.rpartition(" @")
    offset = 0
    if sep and _HEX_RE.fullmatch(off_text):
        offset = int(off_text, 16)
    else:
        name = tail
    if not name:
        raise InputError(f"range {start}-{end} has no region name", path, no)
    if not kvm or kind not in _SLOT_TYPES:
        return None
    flags = _SLOT_TYPES[kind]
    if kind == "rom":
        flags = _ROM_LINE
    # kvm_align_section(): KVM maps the host-page-aligned interior of a section.
    gpa = -(-lo // PAGE) * PAGE
    last = (hi + 1) // PAGE * PAGE
    if last <= gpa:
        return None
    return Region(as_, gpa, last - gpa, flags, name, offset + gpa - lo, no)


def _parse_ramblock_row(line: str, columns: list[str], path: str, no: int) -> RamBlock:
    parts = line.rsplit(None, len(columns) + 2)  # NAME, PSize as "4 KiB", then the columns
    if len(parts) != len(columns) + 3:
        raise InputError(f"info ramblock row with {len(parts) - 3} of {len(columns)} columns: "
                         f"{line.strip()[:80]!r}", path, no)
    values = dict(zip(columns, parts[3:], strict=True))

    def hex_of(col: str) -> int | None:
        if col not in values:
            return None
        m = _HEX_FIELD_RE.fullmatch(values[col])
        if m is None:
            raise InputError(f"info ramblock {col} {values[col][:40]!r} is not 0x-hex", path, no)
        return int(m.group(1), 16)

    used = hex_of("Used")
    hex_of("Offset")
    ro = values.get("RO")
    if ro not in (None, "ro", "rw"):
        raise InputError(f"info ramblock RO {ro[:40]!r} is neither ro nor rw", path, no)
    return RamBlock(parts[0].strip(), used or 0, hex_of("HVA"), None if ro is None else ro == "ro", no)


def parse_dump(text: str, path: str) -> tuple[list[Region], list[RamBlock], list[Warning_]]:
    """The slot lines of the ``memory``/``KVM-SMRAM`` flat views and the RAMBlocks, in file order."""
    regions: list[Region] = []
    blocks: list[RamBlock] = []
    notes: list[Warning_] = []
    seen_as: dict[int, int] = {}  # address space -> line of its flat view
    in_view = False
    view_as: int | None = None
    columns: list[str] | None = None  # inside an info ramblock table
    for no, line in _lines(text):
        if _ignored(line):
            if not line.strip():  # a blank line ends a FlatView block and an info ramblock table
                columns, in_view = None, False
            continue
        if columns is not None:
            if _RANGE_START_RE.match(line) or _FLATVIEW_RE.match(line):
                columns = None
            else:
                blocks.append(_parse_ramblock_row(line, columns, path, no))
                continue
        if _FLATVIEW_RE.match(line):
            in_view, view_as = True, None
            continue
        m = _RAMBLOCK_HEADER_RE.match(line)
        if m is not None:
            columns = m.group(1).split()
            in_view = False
            continue
        if not in_view:
            continue
        m = _AS_RE.match(line)
        if m is not None:
            as_ = ADDRESS_SPACES.get(m.group(1))
            if as_ is not None:
                if as_ in seen_as:
                    raise InputError(f'a second flat view of AS "{m.group(1)}" (the first is on line '
                                     f"{seen_as[as_]}): one dump per file", path, no)
                seen_as[as_] = no
                view_as = as_
            continue
        if line.lstrip().startswith("Dispatch"):  # info mtree -f -d: the dispatch tree follows
            in_view = False
            continue
        if view_as is not None and _RANGE_START_RE.match(line):
            region = _parse_range(line, view_as, path, no)
            if region is not None:
                regions.append(region)
    if 0 not in seen_as:
        raise InputError('no flat view of AS "memory" (paste the output of `info mtree -f`)', path)
    return regions, blocks, notes


SUFFIX_SLASHES = 16  # a block name is indexed after each of its first 16 slashes (QEMU's have 1-3)


class _Blocks:
    """RAMBlocks by name and by what follows a ``/`` in their name (``0000:00:02.0/vga.vram``).

    Hash lookups, so matching every region costs time linear in the dump.
    """

    def __init__(self, blocks: list[RamBlock]) -> None:
        self.exact: dict[str, RamBlock] = {}
        self.suffix: dict[str, list[RamBlock]] = {}
        for b in blocks:
            self.exact.setdefault(b.name, b)
            pos = -1
            for _ in range(SUFFIX_SLASHES):
                pos = b.name.find("/", pos + 1)
                if pos < 0:
                    break
                self.suffix.setdefault(b.name[pos + 1:], []).append(b)

    def find(self, name: str) -> RamBlock | None:
        """The RAMBlock named NAME, else the only one whose name ends with /NAME (a device's block)."""
        b = self.exact.get(name)
        if b is not None:
            return b
        ends = self.suffix.get(name, ())
        return ends[0] if len(ends) == 1 else None


def load_dump(text: str, path: str, overrides: Overrides | None = None) -> Layout:
    """A monitor dump as a layout (raises ``InputError`` ``FILE:LINE: ...`` on a malformed line)."""
    overrides = overrides or Overrides()
    regions, blocks, notes = parse_dump(text, path)
    numbers = {0: 0, 1: 0}
    assumed: dict[str, int] = {}  # region name -> assumed host address of its RAMBlock
    extent: dict[str, int] = {}
    writable_ram: set[str] = set()
    for r in regions:
        extent[r.region] = max(extent.get(r.region, 0), r.offset + r.size)
        if r.flags == 0:
            writable_ram.add(r.region)
    index = _Blocks(blocks)
    cursor = ASSUMED_BASE
    slots: list[Slot] = []
    assumed_first: Region | None = None
    for r in regions:
        block = index.find(r.region)
        if block is not None and block.hva is not None:
            base = block.hva
        else:
            if r.region not in assumed:
                assumed[r.region] = cursor
                size = max(extent[r.region], block.used if block is not None else 0)
                cursor = -(-(cursor + size) // ONE_G) * ONE_G + TWO_M
            base = assumed[r.region]
            assumed_first = assumed_first or r
        flags = r.flags
        if flags == _ROM_LINE:
            ro = block.readonly if block is not None else None
            flags = 0 if (ro is False or ro is None and r.region in writable_ram) else KVM_MEM_READONLY
        slot_no = numbers[r.as_]
        numbers[r.as_] += 1
        name = f"{r.region} @{r.offset:#x}" if r.offset else r.region
        slots.append(Slot(slot=slot_no, gpa=r.gpa, size=r.size, ua=base + r.offset, as_=r.as_,
                          flags=flags, name=name, line=r.line))
        if r.region == "vga.vram" or r.region.endswith(FRAMEBUFFER_SUFFIX):
            notes.append(Warning_(
                f"slot {slot_no} ({name}): a display framebuffer; the dump does not show dirty logging, "
                "so log_dirty is assumed off (a running display turns it on, and then this slot "
                "maps only 4K pages)", r.as_, slot_no, r.line))
    if assumed_first is not None:
        r = assumed_first
        where = "the dump has no `info ramblock`" if not blocks else \
            "`info ramblock` here has no HVA column (an older QEMU)" if all(
                b.hva is None for b in blocks) else "`info ramblock` lists no host address for some regions"
        notes.append(Warning_(
            f"ua is assumed ({where}): each RAMBlock is taken to start on a 2M boundary; "
            "`info ramblock` on a newer QEMU (e.g. 10.0) prints the real host addresses (HVA)",
            None, None, r.line))
    if not slots:
        notes.append(Warning_('no range of AS "memory" carries the KVM mark: was QEMU run with -accel kvm?'))
    notes.sort(key=lambda w: w.line or 0)
    layout = Layout(slots=tuple(slots), name=f"QEMU monitor dump {PurePath(path).name}", notes=tuple(notes))
    layout = overrides.apply(layout)
    validate.check_layout(layout, path)
    return layout
