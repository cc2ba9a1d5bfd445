"""Saving edits back into the user's YAML (docs/formats.md) and writing files atomically."""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmemtui.core.errors import InputError
from gmemtui.core.model import Layout
from gmemtui.core.validate import layout_errors
from gmemtui.formats import fileio
from gmemtui.formats.yaml_load import load_yaml
from gmemtui.formats.yaml_save import fmt_int_like, fmt_page_like, save_text

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "layouts").glob("*.yaml"))

# hand-written styles the shipped files do not use: flow mappings, quotes, suffixes, underscores,
# empty values, block flag lists, CRLF, no newline at the end
STYLED = {
    "flow": (
        "# flow style\n"
        "guest_memfd: [{id: 1, size: '64M'}, {id: 2}]\n"
        "slots:\n"
        '  - {slot: 0, gpa: 0x0, size: "2M", guest_memfd: 1}   # first\n'
        "  - {slot: 1, gpa: 0x0040_0000, size: 4_194_304, ua: 0X7F00_0040_0000, flags: [readonly]}\n"
        "  - {slot: 2, as: 1, gpa: 0x800000, size: 0x200000, guest_memfd: 2, offset: 0x0,}\n"
    ),
    "block": (
        "name: styled   # a name\n"
        "host_max_page: 2MiB\n"
        "guest_memfd:\n"
        "  - id: 5\n"
        "    max_page: 0x200000\n"
        "    mmap: False\n"
        "slots:\n"
        "  - slot: 7\n"
        "    size: '8m'\n"
        "    gpa: 16M\n"
        "    ua:\n"
        "    flags:\n"
        "      - log_dirty\n"
        "      # a comment inside the list\n"
        "    guest_memfd: 5\n"
        "  - slot: 8\n"
        "    gpa: 0x0100_0000_0000\n"
        "    size: 1G\n"
        "    flags: 0b10\n"
        "private:\n"
        "  - {gpa: 16M, size: 2M}\n"
    ),
    "reordered": (
        "slots:          # slots first, keys out of the usual order, no name/policy/caps\n"
        "  - size: 0x200000\n"
        "    gpa: 0x200000   # gpa after size\n"
        "    slot: 1\n"
        "    guest_memfd: 3\n"
        "  -\n"
        "    slot: 2\n"
        "    gpa: 0x400000\n"
        "    size: 0x200000\n"
        "    ua: ~\n"
        "\n"
        "# files last\n"
        "guest_memfd:\n"
        "  - max_page: 2M\n"
        "    id: 3\n"
    ),
    "bom": "\ufeff# a byte order mark\nslots:\n  - slot: 0\n    gpa: 0x0\n    size: 0x200000 # é\n",
    "crlf": "slots:\r\n  - slot: 0\r\n    gpa: 0x200000\r\n    size: 0x200000\r\n    flags: [log_dirty]",
}


def sources() -> list[tuple[str, str]]:
    return [(p.name, p.read_text()) for p in SHIPPED] + sorted(STYLED.items())


def load(text: str) -> Layout:
    return load_yaml(text, "t.yaml")


# ---------------------------------------------------------------- number style


@pytest.mark.parametrize(
    "old, value, address, expected",
    [
        ("0x100000", 0x200000, True, "0x200000"),
        ("0x7F24AFD00000", 0x7F24AFE00000, True, "0x7F24AFE00000"),
        ("0x1_0000_0000", 0x1_4000_0000, True, "0x1_4000_0000"),
        ("0x8000_0000", 0x1000, False, "0x1000"),
        ("0x00000000", 0x200000, True, "0x00200000"),
        ("1048576", 2097152, False, "2097152"),
        ("1_048_576", 2097152, False, "2_097_152"),
        ("0", 0x200000, True, "0x200000"),
        ("0", 8192, False, "8192"),
        ("2G", 1 << 30, False, "1G"),
        ("2G", 0x7FF00000, False, "2047M"),
        ("4k", 8192, False, "8k"),
        ("512MiB", 1 << 30, False, "1GiB"),
        ("2MB", 4 << 20, False, "4MB"),
        ("1G", (1 << 40) + 4096, False, hex((1 << 40) + 4096)),  # no short exact suffix: hex
        ("0o10000", 8192, False, "0o20000"),
        ("0b1000000000000", 8192, False, "0b10000000000000"),
        (None, 0x7F0000200000, True, "0x7f0000200000"),
    ],
)
def test_number_style_is_kept(old, value, address, expected):
    assert fmt_int_like(old, value, address) == expected


def test_page_style_is_kept():
    from gmemtui.core.platform import X86_64

    assert fmt_page_like("2M", 1 << 30, X86_64) == "1G"
    assert fmt_page_like("2m", 1 << 30, X86_64) == "1g"
    assert fmt_page_like("2MiB", 4096, X86_64) == "4KiB"
    assert fmt_page_like("0x200000", 1 << 30, X86_64) == "0x40000000"
    assert fmt_page_like("2097152", 4096, X86_64) == "4096"
    assert fmt_page_like(None, 4096, X86_64) == "4K"


# ---------------------------------------------------------------- concrete edits


def diff_lines(a: str, b: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_seed_drag_rewrites_only_those_values():
    text = (ROOT / "layouts" / "qemu-snp-seed.yaml").read_text()
    old = load(text)
    i = old.slot_index((0, 5))
    new = old.with_slot(i, gpa=0x200000, size=0x7FE00000, ua=0x7F24AFE00000, offset=0x200000)
    out = save_text(text, old, new)
    assert load(out) == new
    assert diff_lines(text, out) == [
        "-    gpa: 0x100000",
        "-    size: 0x7ff00000",
        "-    ua: 0x7f24afd00000",
        "+    gpa: 0x200000",
        "+    size: 0x7fe00000",
        "+    ua: 0x7f24afe00000",
        "-    offset: 0x100000         # not 2M-aligned: the point of the thread",
        "+    offset: 0x200000         # not 2M-aligned: the point of the thread",
    ]


def test_top_level_keys_go_before_the_first_key_when_none_precedes():
    text = STYLED["reordered"]
    old = load(text)
    new = old.with_settings(policy="whole-binding", private_max_page=2 << 20)
    out = save_text(text, old, new)
    assert out.startswith("policy: whole-binding\nprivate_max_page: 2M\nslots:          # slots first")
    assert load(out) == new
    i = old.slot_index((0, 1))
    new = old.with_slot(i, ua=0x7F0000200000, offset=0x200000)
    out = save_text(text, old, new)
    assert "    slot: 1\n    ua: 0x7f0000200000\n    guest_memfd: 3\n    offset: 0x200000\n  -\n" in out
    assert load(out) == new


def test_unchanged_layout_is_byte_identical():
    for _, text in sources():
        assert save_text(text, load(text), load(text)) == text


def test_absent_keys_are_inserted_in_their_mapping():
    text = "# top\nname: x\nslots:\n  - slot: 0   # s\n    gpa: 0x200000\n    size: 0x200000\n"
    old = load(text)
    new = old.with_slot(0, ua=0x7F0000200000, flags=1).with_settings(policy="4k-only", host_max_page=1 << 30)
    out = save_text(text, old, new)
    assert out == (
        "# top\nname: x\npolicy: mainline\nhost_max_page: 1G\nslots:\n  - slot: 0   # s\n"
        "    gpa: 0x200000\n    size: 0x200000\n    ua: 0x7f0000200000\n    flags: [log_dirty]\n"
    )
    assert load(out) == new


def test_ua_stays_absent_when_it_still_equals_gpa():
    text = "slots:\n  - slot: 0\n    gpa: 0x200000\n    size: 0x200000\n"
    old = load(text)
    new = old.with_slot(0, gpa=0x400000, ua=0x400000)
    assert save_text(text, old, new) == text.replace("0x200000\n    size", "0x400000\n    size")


def test_flow_mapping_gets_key_value_appended():
    text = STYLED["flow"]
    old = load(text)
    i = old.slot_index((0, 1))
    new = old.with_slot(i, flags=3).with_slot(old.slot_index((0, 0)), offset=0x200000, ua=0x7F0000000000)
    out = save_text(text, old, new)
    assert load(out) == new
    assert (
        '  - {slot: 0, gpa: 0x0, size: "2M", guest_memfd: 1, ua: 0x7f0000000000, offset: 0x200000}   # first'
        in out
    )
    assert "flags: [log_dirty, readonly]}" in out
    j = old.slot_index((1, 2))
    new2 = old.with_slot(j, offset=0x200000, flags=2)
    out2 = save_text(text, old, new2)
    assert "offset: 0x200000, flags: [readonly]}" in out2  # after a trailing comma: no second comma
    assert load(out2) == new2


def test_block_flag_list_items_are_edited_in_place():
    text = STYLED["block"]
    old = load(text)
    i = old.slot_index((0, 7))
    for flags in (0, 1, 2, 3):
        new = old.with_slot(i, flags=flags)
        out = save_text(text, old, new)
        assert load(out) == new, out
        if flags == 3:
            assert "      - log_dirty\n      # a comment inside the list\n      - readonly\n" in out or (
                "      - log_dirty\n      - readonly\n" in out
            )


def test_quotes_and_suffixes_are_kept():
    text = STYLED["block"]
    old = load(text)
    i = old.slot_index((0, 7))
    new = old.with_slot(i, size=16 << 20, gpa=32 << 20, ua=0x7F0002000000)
    new = replace(new, files=(replace(new.files[0], mmap=True, max_page=4096),))
    out = save_text(text, old, new)
    assert load(out) == new
    assert "    size: '16m'\n    gpa: 32M\n    ua: 0x7f0002000000\n" in out
    assert "    max_page: 0x1000\n    mmap: True\n" in out


def test_int_flags_keep_the_guest_memfd_bit():
    text = (ROOT / "layouts" / "qemu-snp-seed.yaml").read_text()
    old = load(text)
    i = old.slot_index((0, 3))
    new = old.with_slot(i, flags=0)
    out = save_text(text, old, new)
    assert load(out) == new
    assert "    flags: 0x4               # readonly + guest_memfd" in out
    unbound = old.with_slot(i, gmem=None, offset=0, flags=2)
    out = save_text(text, old, unbound)
    assert load(out) == unbound
    assert "    flags: 0x2 " in out and "    guest_memfd: null\n" in out


def test_crlf_and_missing_final_newline():
    text = STYLED["crlf"]
    old = load(text)
    new = old.with_slot(0, ua=0x7F0000200000, size=0x400000)
    out = save_text(text, old, new)
    assert load(out) == new
    assert out == (
        "slots:\r\n  - slot: 0\r\n    gpa: 0x200000\r\n    size: 0x400000\r\n    ua: 0x7f0000200000\r\n"
        "    flags: [log_dirty]"
    )


def test_unsupported_changes_raise_value_error():
    text = (ROOT / "layouts" / "qemu-snp-seed.yaml").read_text()
    old = load(text)
    with pytest.raises(ValueError):
        save_text(text, old, replace(old, slots=old.slots[:-1]))
    with pytest.raises(ValueError):
        save_text(text, old, replace(old, files=old.files[:-1]))
    with pytest.raises(ValueError):
        save_text(text, old, old.with_slot(0, slot=9))


# ---------------------------------------------------------------- property: random edits round trip


def _edited_lines(text: str, old: Layout, new: Layout) -> set[int]:
    """0-based lines of the original that hold a value that changed (the only ones allowed to change)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    top = {k.value: v for k, v in root.value}
    lines: set[int] = set()

    def mark(mapping, key):
        for k, v in mapping.value:
            if k.value == key:
                lines.update(range(k.start_mark.line, v.end_mark.line + 1))
                return
        if mapping.flow_style:  # `, key: value` goes inside the braces
            lines.update(range(mapping.start_mark.line, mapping.end_mark.line + 1))

    for key in ("policy", "host_max_page", "private_max_page"):
        if getattr(old, key) != getattr(new, key):
            mark(root, key)
    fields = {
        "gpa": "gpa",
        "size": "size",
        "ua": "ua",
        "flags": "flags",
        "gmem": "guest_memfd",
        "offset": "offset",
    }
    for node in top.get("slots", yaml.SequenceNode("", [])).value:
        p = {k.value: v for k, v in node.value}
        key = (int(p["as"].value, 0) if "as" in p else 0, int(p["slot"].value, 0))
        a, b = old.slots[old.slot_index(key)], new.slots[new.slot_index(key)]
        for attr, name in fields.items():
            if getattr(a, attr) != getattr(b, attr) or (name == "flags" and a.gmem != b.gmem):
                mark(node, name)
        if a.gpa != b.gpa:
            mark(node, "ua")  # an absent or empty ua meant ua = gpa
        if a.gmem != b.gmem:
            mark(node, "offset")
    for node in top.get("guest_memfd", yaml.SequenceNode("", [])).value:
        p = {k.value: v for k, v in node.value}
        fid = int(p["id"].value, 0)
        if old.file(fid) != new.file(fid):
            for name in ("size", "max_page", "mmap"):
                mark(node, name)
    return lines


@st.composite
def edits(draw, old: Layout) -> Layout:
    """A valid random edit: each proposed change is kept only if the layout stays valid."""
    plat = old.platform
    pages = [p.bytes for p in plat.ladder]
    new = old
    base = plat.base.bytes

    def attempt(candidate: Layout) -> Layout:
        return candidate if not layout_errors(candidate, "x") else new

    if draw(st.booleans()):
        new = new.with_settings(policy=draw(st.sampled_from(["per-range", "whole-binding", "4k-only"])))
    if draw(st.booleans()):
        new = new.with_settings(host_max_page=draw(st.sampled_from(pages)))
    if draw(st.booleans()):
        new = new.with_settings(private_max_page=draw(st.sampled_from(pages)))
    steps = st.sampled_from([base, 2 << 20, 1 << 30])
    delta = st.builds(lambda n, s: n * s, st.integers(-3, 3), steps)
    for i in range(len(old.slots)):
        s = new.slots[i]
        for _ in range(draw(st.integers(0, 3))):
            what = draw(st.sampled_from(["gpa", "size", "ua", "offset", "flags", "gmem", "move"]))
            s = new.slots[i]
            if what == "offset" and s.gmem is None:
                continue  # an unbound slot has no offset (the loader refuses one)
            if what in ("gpa", "size", "ua", "offset"):
                value = getattr(s, what) + draw(delta)
                if value >= 0:
                    new = attempt(new.with_slot(i, **{what: value}))
            elif what == "move":  # a TUI start-edge drag: gpa, ua and offset move together
                d = draw(delta)
                if min(s.gpa, s.ua, s.offset) + d >= 0 and s.size - d > 0:
                    new = attempt(
                        new.with_slot(
                            i,
                            gpa=s.gpa + d,
                            ua=s.ua + d,
                            size=s.size - d,
                            offset=s.offset + d if s.gmem else 0,
                        )
                    )
            elif what == "flags":
                new = attempt(new.with_slot(i, flags=draw(st.integers(0, 3))))
            elif what == "gmem":
                ids = [f.id for f in new.files]
                gmem = draw(st.sampled_from([None, *ids]))
                offset = 0 if gmem is None else draw(st.integers(0, 8)) * (2 << 20)
                new = attempt(new.with_slot(i, gmem=gmem, offset=offset))
    files = list(new.files)
    for j, f in enumerate(files):
        if draw(st.booleans()):
            g = replace(f, max_page=draw(st.sampled_from(pages)), mmap=draw(st.booleans()))
            size = draw(st.sampled_from([f.size, None, new.file_size(f.id) + draw(st.integers(0, 4)) * base]))
            g = replace(g, size=size if size != 0 else None)
            cand = replace(new, files=tuple(files[:j] + [g] + files[j + 1 :]))
            new = attempt(cand)
            files = list(new.files)
    return new


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_edits_round_trip_and_touch_only_edited_lines(data):
    name, text = data.draw(st.sampled_from(sources()), label="source")
    old = load(text)
    new = data.draw(edits(old), label="edit")
    out = save_text(text, old, new)
    assert load(out) == new
    allowed = _edited_lines(text, old, new)
    # every line not holding an edited value survives byte for byte, in order
    out_lines = out.splitlines(keepends=True)
    j = 0
    for i, line in enumerate(text.splitlines(keepends=True)):
        if i in allowed:
            continue
        while j < len(out_lines) and out_lines[j] != line and out_lines[j].rstrip("\r\n") != line:
            j += 1
        assert j < len(out_lines), (name, i, line)
        j += 1
    # and the lines that are new are key lines or flag list items
    extra = len(out_lines) - len(text.splitlines())
    assert extra <= 8 * len(old.slots) + 4 * len(old.files) + 3


# ---------------------------------------------------------------- atomic writes


def test_atomic_write_replaces_and_keeps_mode(tmp_path):
    path = tmp_path / "l.yaml"
    path.write_text("old\n")
    os.chmod(path, 0o640)
    fileio.atomic_write(str(path), "new\n")
    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["l.yaml"]  # no temporary file left


def test_atomic_write_keeps_old_file_when_rename_fails(tmp_path, monkeypatch):
    path = tmp_path / "l.yaml"
    path.write_text("old\n")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", boom)
    with pytest.raises(OSError):
        fileio.atomic_write(str(path), "new\n")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["l.yaml"]


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "l.yaml"
    path.write_text("old\n")

    def boom(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fileio.os, "fsync", boom)
    with pytest.raises(OSError):
        fileio.atomic_write(str(path), "new\n")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["l.yaml"]


def test_atomic_write_through_a_symlink_replaces_the_target(tmp_path):
    target = tmp_path / "real.yaml"
    target.write_text("old\n")
    link = tmp_path / "link.yaml"
    link.symlink_to("real.yaml")
    fileio.atomic_write(str(link), "new\n")
    assert link.is_symlink() and target.read_text() == "new\n"


def test_write_new_refuses_to_overwrite(tmp_path):
    path = tmp_path / "out.yaml"
    fileio.write_new(str(path), "a\n", force=False)
    assert path.read_text() == "a\n"
    with pytest.raises(InputError) as info:
        fileio.write_new(str(path), "b\n", force=False)
    assert str(info.value) == f"gmemtui: {path} exists (use --force)"
    assert path.read_text() == "a\n"
    fileio.write_new(str(path), "b\n", force=True)
    assert path.read_text() == "b\n"


def test_write_new_into_missing_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as info:
        fileio.write_new(str(tmp_path / "no" / "out.yaml"), "a\n", force=False)
    assert str(info.value).startswith("gmemtui: cannot write ")
