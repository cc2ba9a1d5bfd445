"""Read a YAML layout (docs/formats.md) into a Layout, with ``FILE:LINE`` for every problem.

The file is composed, not constructed (``yaml.compose`` with the safe loader): every key and value
keeps its mark, so an error names the line it is on, and numbers are parsed from the node's own
text. That sidesteps YAML 1.1's surprises (``0777`` as octal, ``1:30`` as sexagesimal, ``0x`` only
in some resolvers) and accepts ``"2G"``-style sizes. Problems of single values are collected, and
``validate.layout_errors`` adds what needs the whole layout (overlaps, duplicates, bindings inside
files); the first in file order is raised.

A layout at KVM's limit is tens of thousands of entries in one of two canonical shapes: those lists
are cut out of the text and read by regex (``yaml_lines``), and only the rest is composed; a file
the line reader is not sure of is composed whole (``_by_lines`` says when).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from yaml.nodes import MappingNode, Node, ScalarNode

from gmemtui.core.errors import InputError
from gmemtui.core.gcpause import paused_gc
from gmemtui.core.model import (
    DEFAULT_POLICY,
    KVM_MEM_GUEST_MEMFD,
    GmemFile,
    Layout,
    PrivateRange,
    Slot,
)
from gmemtui.core.platform import DEFAULT_ARCH, PLATFORMS, Platform
from gmemtui.core.validate import (
    as_problem,
    check_layout,
    layout_errors,
    no_attributes_problem,
    range_problem,
    slot_id_problem,
)
from gmemtui.formats import yaml_lines
from gmemtui.formats.yaml_compose import _NULL_RE, _NULLS, compose  # noqa: F401 - tests use both
from gmemtui.formats.yaml_fast import fast_private, fast_slot
from gmemtui.formats.yaml_values import (
    FILE_KEYS,
    PRIVATE_KEYS,
    SLOT_KEYS,
    TOP_KEYS,
    NodeProblem,
    as_aligned,
    as_bool,
    as_choice,
    as_flags,
    as_int,
    as_page,
    as_policy,
    as_size,
    as_str,
    describe,
    is_null,
    line_of,
    mapping_items,
    parse_int_text,
    sequence_of,
)


@dataclass(eq=False, repr=False)  # never compared or shown: fewer methods to generate at start-up
class _Reader:
    """Reads the nodes of one layout, collecting every problem rather than stopping at the first."""

    plat: Platform  # units and alignment (the arch looked at: the file's, or --arch)
    errors: list[NodeProblem] = field(default_factory=list)
    names: Platform | None = None  # the ladder page sizes are written in (the file's arch)

    def page(self, node: Node, what: str) -> int:
        return as_page(node, what, self.names or self.plat, self.plat)

    def get(
        self, items: dict[str, Node], key: str, parse: Callable[[Node], object], default: object
    ) -> object:
        """Parse ``items[key]`` (null or absent: the default); an error is recorded, None returned."""
        node = items.get(key)
        if node is None or (is_null(node) and default is not _REQUIRED):
            return default
        try:
            return parse(node)
        except NodeProblem as e:
            self.errors.append(e)
            return None

    def required(self, items: dict[str, Node], key: str, mapping: Node, where: str) -> bool:
        if key not in items:
            self.errors.append(NodeProblem(line_of(mapping), f"missing required key {key!r} in {where}"))
            return False
        return True

    def file(self, node: Node) -> GmemFile | None:
        before = len(self.errors)
        items = mapping_items(node, "guest_memfd file", FILE_KEYS, self.errors)
        p = self.plat
        ok = self.required(items, "id", node, "a guest_memfd file")
        fid = self.get(items, "id", lambda n: as_int(n, "id"), _REQUIRED)
        size = self.get(
            items, "size", lambda n: as_size(n, "size", p, "a guest_memfd file must not be empty"), None
        )
        max_page = self.get(items, "max_page", lambda n: self.page(n, "max_page"), p.second.bytes)
        mmap = self.get(items, "mmap", lambda n: as_bool(n, "mmap"), False)
        if not ok or len(self.errors) > before:
            return None
        return GmemFile(id=fid, size=size, max_page=max_page, mmap=mmap, line=line_of(node))

    def slot(self, node: Node) -> Slot | None:
        """A slot: a well-formed one by ``fast_slot``, anything else in detail (the messages)."""
        fast = fast_slot(node, self.plat)
        return fast if fast is not None else self.slot_in_detail(node)

    def slot_in_detail(self, node: Node) -> Slot | None:
        before = len(self.errors)
        items = mapping_items(node, "slot", SLOT_KEYS, self.errors)
        p = self.plat
        where = "a slot"
        slot_node = items.get("slot")
        if isinstance(slot_node, ScalarNode):
            try:
                where = f"slot {parse_int_text(slot_node.value.strip())}"
            except ValueError:
                pass  # reported below
        ok = all([self.required(items, k, node, where) for k in ("slot", "gpa", "size")])

        def sid(n: Node) -> int:
            v = as_int(n, "slot")
            problem = slot_id_problem(v, p)
            if problem:
                raise NodeProblem(line_of(n), problem)
            return v

        def asn(n: Node) -> int:
            v = as_int(n, "as")
            problem = as_problem(v, p)
            if problem:
                raise NodeProblem(line_of(n), problem)
            return v

        values = {
            "slot": self.get(items, "slot", sid, _REQUIRED),
            "as": self.get(items, "as", asn, 0),
            "name": self.get(items, "name", lambda n: as_str(n, "name"), None),
            "gpa": self.get(items, "gpa", lambda n: as_aligned(n, "gpa", p), _REQUIRED),
            "size": self.get(
                items, "size", lambda n: as_size(n, "size", p, "a slot must not be empty"), _REQUIRED
            ),
            "ua": self.get(items, "ua", lambda n: as_aligned(n, "ua", p), _DEFAULT),
            "flags": self.get(items, "flags", as_flags, 0),
            "guest_memfd": self.get(items, "guest_memfd", lambda n: as_int(n, "guest_memfd"), None),
            "offset": self.get(items, "offset", lambda n: as_aligned(n, "offset", p), 0),
        }
        if not ok or len(self.errors) > before:
            return None
        gmem = values["guest_memfd"]
        flags = values["flags"]
        if flags & KVM_MEM_GUEST_MEMFD and gmem is None:
            self.errors.append(
                NodeProblem(
                    line_of(items["flags"]),
                    "flags has bit 4 (guest_memfd) but the slot has no guest_memfd key",
                )
            )
            return None
        if "offset" in items and not is_null(items["offset"]) and gmem is None:
            self.errors.append(
                NodeProblem(line_of(items["offset"]), "offset without guest_memfd (it is the file offset)")
            )
            return None
        gpa, size = values["gpa"], values["size"]
        problem = range_problem(gpa, size, p)
        if problem:
            later = max(items["gpa"], items["size"], key=line_of)
            self.errors.append(NodeProblem(line_of(later), problem))
            return None
        ua = gpa if values["ua"] is _DEFAULT else values["ua"]
        return Slot(
            slot=values["slot"],
            gpa=gpa,
            size=size,
            ua=ua,
            as_=values["as"],
            flags=flags & ~KVM_MEM_GUEST_MEMFD,
            gmem=gmem,
            offset=values["offset"] if gmem is not None else 0,
            name=values["name"],
            line=line_of(node),
        )

    def private(self, node: Node) -> PrivateRange | None:
        fast = fast_private(node, self.plat)
        return fast if fast is not None else self.private_in_detail(node)

    def private_in_detail(self, node: Node) -> PrivateRange | None:
        before = len(self.errors)
        items = mapping_items(node, "private range", PRIVATE_KEYS, self.errors)
        p = self.plat
        ok = all([self.required(items, k, node, "a private range") for k in ("gpa", "size")])
        gpa = self.get(items, "gpa", lambda n: as_aligned(n, "gpa", p), _REQUIRED)
        size = self.get(
            items, "size", lambda n: as_size(n, "size", p, "a private range must not be empty"), _REQUIRED
        )
        if not ok or len(self.errors) > before:
            return None
        problem = range_problem(gpa, size, p)
        if problem:
            self.errors.append(NodeProblem(line_of(max(items["gpa"], items["size"], key=line_of)), problem))
            return None
        return PrivateRange(gpa, size, line=line_of(node))


_REQUIRED = object()  # sentinel default: the key must be present and not null
_DEFAULT = object()  # sentinel default: computed from other keys (ua = gpa)


def load_yaml(text: str, path: str, arch: str | None = None) -> Layout:
    """Parse a YAML layout; raise the first problem (in file order) as ``InputError(msg, path, line)``.

    ``arch`` (``--arch``) looks at the file as that arch's KVM would map it: addresses and sizes must
    be multiples of its base page (``FILE:LINE`` otherwise), page sizes move to the same rung of its
    ladder (``Layout.for_arch``), and what the arch lacks is refused (``private:`` on arm64) or
    dropped (``private_max_page`` where there is no vendor cap)."""
    with paused_gc():  # a node tree and a layout, no cycles: collections would only re-scan them
        return _load_yaml(text, path, arch)


def _key_line(root: MappingNode, key: str) -> int:
    for k, _ in root.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return line_of(k)
    return 1


def _load_yaml(text: str, path: str, forced_arch: str | None = None) -> Layout:
    layout = _by_lines(text, path, forced_arch)
    if layout is None:
        layout = _read(compose(text, path), path, forced_arch)
    try:
        check_layout(layout, path)
    except InputError as e:
        if e.line is None:
            e.line = 1
        raise
    return layout


def _by_lines(text: str, path: str, forced_arch: str | None) -> Layout | None:
    """The layout read with its entry lists cut out by ``yaml_lines``, or None: read it all exactly.

    Only the skeleton (the text without the lists) is composed; it must read without a problem, and
    each list's key must be a key of the top-level block mapping, on its line, with nothing after it
    (null) -- then the list is exactly the entries that were cut, and ``yaml_lines.entries`` reads
    them with the fast path's checks."""
    cut = yaml_lines.cut(text)
    if cut is None:
        return None
    try:
        root = compose(cut.skeleton, path)
        layout = _read(root, path, forced_arch)
    except InputError:
        return None
    if not isinstance(root, MappingNode) or root.flow_style:
        return None
    keys = {k.value: (k, v) for k, v in root.value if isinstance(k, ScalarNode)}
    found: dict[str, list] = {}
    for run in cut.runs:
        key, value = keys.get(run.what, (None, None))
        if (key is None or key.start_mark.line != run.key_line or key.start_mark.column != 0
                or not is_null(value)):
            return None
        items = yaml_lines.entries(run, key.start_mark.line + 2, layout.platform)
        if items is None:
            return None
        found[run.what] = items
    return replace(layout, slots=tuple(found.get("slots", layout.slots)),
                   private=tuple(found["private"]) if "private" in found else layout.private)


def _read(root: Node | None, path: str, forced_arch: str | None) -> Layout:
    """The layout of a composed file, before the whole-layout checks; the first problem raised."""
    if root is None:
        raise InputError("empty file: expected a mapping with 'slots' (docs/formats.md)", path, 1)
    if not isinstance(root, MappingNode):
        raise InputError(f"not a layout: expected a mapping with 'slots', got {describe(root)}", path, 1)

    errors: list[NodeProblem] = []
    top = mapping_items(root, "layout", TOP_KEYS, errors)
    arch = DEFAULT_ARCH
    arch_node = top.get("arch")
    if arch_node is not None and not is_null(arch_node):
        try:
            arch = as_choice(arch_node, "arch", tuple(PLATFORMS))
        except NodeProblem as e:
            errors.append(e)
    file_plat = PLATFORMS[arch]
    if forced_arch is not None:
        if forced_arch not in PLATFORMS:
            raise InputError(f"--arch: unknown arch {forced_arch!r} (known: {', '.join(PLATFORMS)})")
        arch = forced_arch
    plat = PLATFORMS[arch]
    r = _Reader(plat, errors, file_plat)
    name = r.get(top, "name", lambda n: as_str(n, "name"), None)
    policy = r.get(top, "policy", as_policy, DEFAULT_POLICY)
    host = r.get(top, "host_max_page", lambda n: r.page(n, "host_max_page"), plat.second.bytes)
    private_max: object = plat.largest.bytes
    if "private_max_page" in top and not file_plat.private_cap:
        errors.append(NodeProblem(_key_line(root, "private_max_page"),
                           f"private_max_page: {file_plat.arch} has no vendor cap on private pages "
                           "(only x86_64 has one: SEV-SNP, TDX)"))
    elif plat.private_cap:
        private_max = r.get(top, "private_max_page", lambda n: r.page(n, "private_max_page"),
                            plat.largest.bytes)
    if "private" in top and not plat.memory_attributes:
        errors.append(NodeProblem(_key_line(root, "private"), no_attributes_problem(plat)))

    def each(key: str, read: Callable[[Node], object]) -> list:
        out = []
        try:
            nodes = sequence_of(top[key], key) if key in top else []
        except NodeProblem as e:
            errors.append(e)
            return out
        for n in nodes:
            try:
                item = read(n)
            except NodeProblem as e:
                errors.append(e)
                continue
            if item is not None:
                out.append(item)
        return out

    n_errors = len(errors)
    files = each("guest_memfd", r.file)
    files_complete = len(errors) == n_errors
    slots = each("slots", r.slot)
    private: list[PrivateRange] | None = None
    if "private" in top and not is_null(top["private"]):
        private = each("private", r.private)

    layout = Layout(
        slots=tuple(slots),
        files=tuple(files),
        private=tuple(private) if private is not None else None,
        name=name,
        arch=arch,
        policy=policy if policy is not None else DEFAULT_POLICY,
        host_max_page=host if host is not None else plat.second.bytes,
        private_max_page=private_max if isinstance(private_max, int) else plat.largest.bytes,
    )
    if errors:
        first = min(errors, key=lambda e: e.line)
        # a whole-layout error (overlap, duplicate ...) among the entries that did parse, on an
        # earlier line, comes first; those about files only count if every file entry parsed
        for e in layout_errors(layout, path):
            if (
                e.line is not None
                and e.line < first.line
                and (files_complete or "guest_memfd" not in e.message)
            ):
                raise e
        raise InputError(first.message, path, first.line)
    return layout
