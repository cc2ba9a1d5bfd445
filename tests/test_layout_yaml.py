"""The YAML layout loader (docs/formats.md): values, defaults, size syntax, every error with its line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gmemtui.core import coverage
from gmemtui.core.errors import InputError
from gmemtui.core.model import GmemFile, PrivateRange, Slot
from gmemtui.core.validate import layout_warnings
from gmemtui.formats.yaml_load import load_yaml

ROOT = Path(__file__).resolve().parent.parent
LAYOUTS = ROOT / "layouts"
SEED = ROOT / "gmemtui" / "data" / "qemu-snp-seed.yaml"


def load(text: str):
    return load_yaml(textwrap.dedent(text), "t.yaml")


def error(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        load(text)
    err = info.value
    assert str(err) == f"t.yaml:{err.line}: {err.message}"
    return err


# ---------------------------------------------------------------- values and defaults


def test_seed_layout_values_are_the_threads():
    layout = load_yaml(SEED.read_text(), str(SEED))
    assert layout.name == "QEMU q35 SEV-SNP, 2 GiB (seed thread)"
    assert layout.policy == "per-range"
    assert [s.slot for s in layout.slots] == [0, 3, 4, 5]
    by = {s.slot: s for s in layout.slots}
    # kvm_set_user_memory lines of the thread, restricted_fd / restricted_offset included
    assert by[0] == Slot(0, 0x0, 0xC0000, 0x7F24AFC00000, 0, 0, 19, 0x0, "pc.ram below 0xc0000")
    assert by[3] == Slot(3, 0xC0000, 0x20000, 0x7F2575000000, 0, 2, 33, 0x0, "pc.rom")
    assert by[4] == Slot(4, 0xE0000, 0x20000, 0x7F2575400000, 0, 2, 31, 0x0, "isa-bios")
    assert by[5] == Slot(5, 0x100000, 0x7FF00000, 0x7F24AFD00000, 0, 0, 19, 0x100000, "pc.ram")
    assert by[3].kvm_flags == 0x6 and by[5].kvm_flags == 0x4
    assert layout.file(19) == GmemFile(19, 0x80000000, 1 << 21, False)
    assert {f.id for f in layout.files} == {19, 31, 33}
    warned = {w.slot for w in layout_warnings(layout)}
    assert warned == {3, 4}


def test_seed_symlink_is_relative_and_points_at_package_data():
    link = LAYOUTS / "qemu-snp-seed.yaml"
    assert link.is_symlink()
    assert os.readlink(link) == "../gmemtui/data/qemu-snp-seed.yaml"
    assert link.resolve() == SEED.resolve()


def test_seed_check_per_range():
    layout = load_yaml(SEED.read_text(), str(SEED))
    runs = coverage.compute(layout).slot((0, 5)).runs
    assert [(r.gpa, r.size, r.page, r.reason) for r in runs] == [
        (0x100000, 0x100000, "4K", "slot-edge"),
        (0x200000, 0x40000000 - 0x200000, "2M", "slot-edge"),
        (0x40000000, 0x40000000, "2M", "ua-misaligned"),
    ]


def test_defaults():
    layout = load(
        """
        guest_memfd:
          - id: 7
        slots:
          - slot: 1
            gpa: 0x200000
            size: 0x200000
            guest_memfd: 7
        """
    )
    assert layout.name is None and layout.arch == "x86_64" and layout.policy == "per-range"
    assert layout.host_max_page == 2 << 20 and layout.private_max_page == 1 << 30
    assert layout.private is None
    (s,) = layout.slots
    assert (s.as_, s.ua, s.flags, s.offset, s.name) == (0, 0x200000, 0, 0, None)
    assert s.line == 5
    (f,) = layout.files
    assert (f.size, f.max_page, f.mmap, f.line) == (None, 2 << 20, False, 3)
    assert layout.file_size(7) == 0x200000  # end of the furthest binding


def test_no_slots_is_an_empty_layout_and_null_means_default():
    layout = load(
        """
        name:
        policy: ~
        slots:
        """
    )
    assert layout.slots == () and layout.policy == "per-range" and layout.name is None


@pytest.mark.parametrize(
    "text, value",
    [
        ("0x100000", 0x100000),
        ("0X10_0000", 0x100000),
        ("1048576", 1 << 20),
        ("1_048_576", 1 << 20),
        ("0x1_0000_0000", 1 << 32),
        ('"2G"', 2 << 30),
        ("2G", 2 << 30),
        ("'512MiB'", 512 << 20),
        ('"4k"', 4096),
        ("4KB", 4096),
        ("1t", 1 << 40),
        ('"0x2000"', 0x2000),
        ("0o10000", 0o10000),
        ("0b1000000000000", 4096),
        ("0", 0),
    ],
)
def test_size_syntax(text, value):
    layout = load(f"slots:\n  - slot: 0\n    gpa: {text}\n    size: 4K\n")
    assert layout.slots[0].gpa == value


@pytest.mark.parametrize(
    "name, value",
    [
        ("2M", 2 << 20),
        ("2m", 2 << 20),
        ("1GiB", 1 << 30),
        ("4096", 4096),
        ("0x200000", 2 << 20),
        ('"1G"', 1 << 30),
        ("4K", 4096),
    ],
)
def test_page_size_syntax(name, value):
    layout = load(
        f"host_max_page: {name}\nprivate_max_page: {name}\nguest_memfd:\n  - id: 1\n    max_page: {name}\n"
    )
    assert layout.host_max_page == layout.private_max_page == layout.files[0].max_page == value


def test_flags_forms():
    layout = load(
        """
        guest_memfd: [{id: 3}]
        slots:
          - {slot: 0, gpa: 0, size: 4K, flags: [log_dirty]}
          - {slot: 1, gpa: 4K, size: 4K, flags: [readonly, log_dirty]}
          - {slot: 2, gpa: 8K, size: 4K, flags: 3}
          - {slot: 3, gpa: 12K, size: 4K, flags: 0x6, guest_memfd: 3}
          - {slot: 4, gpa: 16K, size: 4K, flags: [], guest_memfd: 3, offset: 4K}
          - slot: 5
            gpa: 20K
            size: 4K
            flags:
              - readonly
        """
    )
    assert [s.flags for s in layout.slots] == [1, 3, 3, 2, 0, 2]
    assert layout.slots[3].gmem == 3 and layout.slots[3].kvm_flags == 6


def test_private_list_forms():
    assert load("private: []\n").private == ()
    layout = load("private:\n  - {gpa: 0x0, size: 2M}\n  - gpa: 4M\n    size: 4K\n")
    assert layout.private == (PrivateRange(0, 2 << 20), PrivateRange(4 << 20, 4096))
    assert [r.line for r in layout.private] == [2, 3]


def test_same_slot_number_in_both_address_spaces():
    layout = load("slots:\n  - {slot: 0, gpa: 0, size: 4K}\n  - {slot: 0, as: 1, gpa: 0, size: 4K}\n")
    assert [s.key for s in layout.slots] == [(0, 0), (1, 0)]


def test_file_without_bindings_and_without_size_loads():
    layout = load("guest_memfd:\n  - id: 4\n")
    assert layout.file_size(4) == 0
    (w,) = layout_warnings(layout)
    assert "guest_memfd 4" in w.message and w.line == 2 and w.slot is None


# ---------------------------------------------------------------- every error of docs/formats.md


SLOT = "slots:\n  - slot: 0\n    gpa: 0x0\n    size: 0x1000\n"


@pytest.mark.parametrize(
    "text, line, message",
    [
        # not YAML
        ("slots: [\n  - a\n", 2, "not YAML"),
        ("a: 1\n b: 2\n", 2, "not YAML"),
        ("x: '\n", 2, "not YAML"),
        ("---\na: 1\n---\nb: 2\n", 3, "not YAML"),
        # not a mapping / empty
        ("", 1, "empty file"),
        ("# only a comment\n", 1, "empty file"),
        ("- slot: 0\n", 1, "not a layout: expected a mapping"),
        ("\n\njust text\n", 1, "not a layout: expected a mapping"),
        # unknown keys, with the nearest known one
        ("polcy: per-range\n", 1, "unknown key 'polcy' (did you mean 'policy'?)"),
        (SLOT + "    offest: 0\n", 5, "unknown key 'offest' (did you mean 'offset'?)"),
        (
            "guest_memfd:\n  - id: 1\n    max_pages: 2M\n",
            3,
            "unknown key 'max_pages' (did you mean 'max_page'?)",
        ),
        ("private:\n  - {gpa: 0, sise: 4K}\n", 2, "unknown key 'sise' (did you mean 'size'?)"),
        ("zzz: 1\n", 1, "unknown key 'zzz' (known: name, arch, policy"),
        ("policy: per-range\npolicy: 4k-only\n", 2, "duplicate key 'policy' (first on line 1)"),
        # missing required keys
        ("slots:\n  - gpa: 0\n    size: 4K\n", 2, "missing required key 'slot' in a slot"),
        ("slots:\n  - slot: 0\n    size: 4K\n", 2, "missing required key 'gpa' in slot 0"),
        ("slots:\n  - slot: 0\n    gpa: 0\n", 2, "missing required key 'size' in slot 0"),
        ("guest_memfd:\n  - size: 4K\n", 2, "missing required key 'id' in a guest_memfd file"),
        ("private:\n  - size: 4K\n", 2, "missing required key 'gpa' in a private range"),
        ("private:\n  - gpa: 0\n", 2, "missing required key 'size' in a private range"),
        # wrong types
        ("slots: 5\n", 1, "slots: expected a list, got '5'"),
        ("slots:\n  - 5\n", 2, "slot: expected a mapping, got '5'"),
        ("slots:\n  - slot: 0\n    gpa: [1]\n    size: 4K\n", 3, "gpa: expected an integer or a size"),
        ("slots:\n  - slot: x\n    gpa: 0\n    size: 4K\n", 2, "slot: 'x' is not a non-negative integer"),
        ("slots:\n  - slot: -1\n    gpa: 0\n    size: 4K\n", 2, "slot: '-1' is not a non-negative integer"),
        ("slots:\n  - slot: 0\n    gpa: 1.5G\n    size: 4K\n", 3, "gpa: '1.5G' is not a byte count"),
        ("slots:\n  - slot: 0\n    gpa: true\n    size: 4K\n", 3, "gpa: 'true' is not a byte count"),
        ("slots:\n  - slot: 0\n    gpa: 0777\n    size: 4K\n", 3, "gpa: '0777' has a leading zero"),
        ("slots:\n  - slot: 0\n    gpa: 1:30\n    size: 4K\n", 3, "gpa: '1:30' is not a byte count"),
        ("slots:\n  - slot: 0\n    gpa: ~\n    size: 4K\n", 3, "gpa: expected an integer or a size"),
        ("guest_memfd:\n  - id: 1\n    mmap: yes\n", 3, "mmap: expected true or false, got 'yes'"),
        ("name: {a: 1}\n", 1, "name: expected a string, got a mapping"),
        ("private: {gpa: 0}\n", 1, "private: expected a list, got a mapping"),
        (
            "slots:\n  - slot: 0\n    gpa: 0\n    size: 4K\n    flags: [[x]]\n",
            5,
            "flags: expected a flag name",
        ),
        (
            "slots:\n  - slot: 0\n    gpa: 0x10000000000000000\n    size: 4K\n",
            3,
            "gpa: '0x10000000000000000' is too large",
        ),
        (
            "host_max_page: " + "9" * 100 + "\n",
            1,
            "host_max_page: '" + "9" * 37 + "...' is not a page size of x86_64",
        ),
        # unknown arch, policy, flag
        ("arch: arm64\n", 1, "unknown arch 'arm64' (known: x86_64, arm64-4k, arm64-16k, arm64-64k, riscv64)"),
        ("policy: per_range\n", 1,
         "unknown policy 'per_range' (known: per-range, whole-binding, mainline; 4k-only = mainline)"),
        (SLOT + "    flags: [log-dirty]\n", 5, "unknown flag 'log-dirty' (did you mean 'log_dirty'?)"),
        (SLOT + "    flags: [guest_memfd]\n", 5, "unknown flag 'guest_memfd' (bind a file"),
        (SLOT + "    flags: 8\n", 5, "flags: unknown bits 0x8"),
        # not a multiple of 4 KiB
        ("slots:\n  - slot: 0\n    gpa: 0x800\n    size: 4K\n", 3, "gpa 0x800 is not a multiple of 4 KiB"),
        ("slots:\n  - slot: 0\n    gpa: 0\n    size: 5K\n", 4, "size 0x1400 is not a multiple of 4 KiB"),
        (SLOT + "    ua: 0x7f0000000010\n", 5, "ua 0x7f0000000010 is not a multiple of 4 KiB"),
        (
            "guest_memfd: [{id: 1}]\n" + SLOT + "    guest_memfd: 1\n    offset: 512\n",
            7,
            "offset 0x200 is not a multiple of 4 KiB",
        ),
        ("guest_memfd:\n  - id: 1\n    size: 0x1800\n", 3, "size 0x1800 is not a multiple of 4 KiB"),
        ("private:\n  - {gpa: 0x10, size: 4K}\n", 2, "gpa 0x10 is not a multiple of 4 KiB"),
        # size 0
        ("slots:\n  - slot: 0\n    gpa: 0\n    size: 0\n", 4, "size 0: a slot must not be empty"),
        ("private:\n  - {gpa: 0, size: 0}\n", 2, "size 0: a private range must not be empty"),
        ("guest_memfd:\n  - id: 1\n    size: 0\n", 3, "size 0: a guest_memfd file must not be empty"),
        # page sizes not on the ladder
        ("host_max_page: 4M\n", 1, "host_max_page 4M is not a page size of x86_64 (4K, 2M, 1G)"),
        ("private_max_page: 8K\n", 1, "private_max_page 8K is not a page size of x86_64"),
        ("guest_memfd:\n  - id: 1\n    max_page: 0x300000\n", 3, "max_page 3M is not a page size"),
        ("host_max_page: huge\n", 1, "host_max_page: 'huge' is not a page size of x86_64"),
        # slot number, address space, gpa range
        ("slots:\n  - slot: 32764\n    gpa: 0\n    size: 4K\n", 2, "slot 32764 is outside 0..32763"),
        ("slots:\n  - slot: 0\n    as: 2\n    gpa: 0\n    size: 4K\n", 3, "as 2 is not an address space"),
        (
            "slots:\n  - slot: 0\n    gpa: 0xfffffffff000\n    size: 0x10000000000000\n",
            4,
            "gpa+size 0x10fffffffff000 is beyond 2^52",
        ),
        ("private:\n  - {gpa: 0x10000000000000, size: 4K}\n", 2, "gpa+size 0x10000000001000 is beyond 2^52"),
        # duplicates and overlaps
        (
            SLOT + "  - slot: 0\n    gpa: 0x1000\n    size: 0x1000\n",
            5,
            "duplicate slot 0 in address space 0 (first on line 2)",
        ),
        ("guest_memfd:\n  - id: 1\n  - id: 1\n", 3, "duplicate guest_memfd id 1 (first listed on line 2)"),
        (
            "slots:\n  - {slot: 0, gpa: 0, size: 8K}\n  - {slot: 1, gpa: 4K, size: 8K}\n",
            3,
            "slot 1 [0x1000, 0x3000) overlaps slot 0 [0x0, 0x2000) in address space 0",
        ),
        (
            "slots:\n  - {slot: 1, gpa: 4K, size: 8K}\n  - {slot: 0, gpa: 0, size: 8K}\n",
            3,
            "slot 0 [0x0, 0x2000) overlaps slot 1 [0x1000, 0x3000) in address space 0",
        ),
        # guest_memfd bindings
        (SLOT + "    guest_memfd: 9\n", 2, "slot 0: guest_memfd 9 is not listed under guest_memfd"),
        (SLOT + "    flags: 4\n", 5, "flags has bit 4 (guest_memfd) but the slot has no guest_memfd key"),
        (SLOT + "    flags: 0x5\n", 5, "flags has bit 4 (guest_memfd)"),
        (SLOT + "    offset: 4K\n", 5, "offset without guest_memfd"),
        (
            "guest_memfd:\n  - {id: 1, size: 8K}\n" + SLOT + "    guest_memfd: 1\n    offset: 8K\n",
            4,
            "slot 0: binding [0x2000, 0x3000) of guest_memfd 1 ends beyond the file's size 0x2000",
        ),
        (
            "guest_memfd: [{id: 1}]\nslots:\n  - {slot: 0, gpa: 0, size: 8K, guest_memfd: 1}\n"
            "  - {slot: 1, gpa: 1M, size: 8K, guest_memfd: 1, offset: 4K}\n",
            4,
            "slot 1 [0x1000, 0x3000) overlaps slot 0 [0x0, 0x2000) in guest_memfd 1 (offsets)",
        ),
    ],
)
def test_errors(text, line, message):
    err = error(text)
    assert err.line == line, str(err)
    assert message in err.message, str(err)
    assert "\n" not in str(err)


def test_first_error_in_file_order_wins():
    # the missing 'gpa' of the first slot (line 2) comes before the bad size (line 3)
    err = error("slots:\n  - slot: 0\n    size: 5K\n  - slot: 1\n    gpa: 0x800\n    size: 4K\n")
    assert (err.line, err.message) == (2, "missing required key 'gpa' in slot 0")
    # a bad policy at the end does not hide a typo earlier
    err = error("slots:\n  - {slot: 0, gpa: 0, size: 4K, sise: 1}\npolicy: nope\n")
    assert err.line == 2 and "sise" in err.message


def test_an_earlier_overlap_comes_before_a_later_typo():
    err = error(
        "slots:\n  - {slot: 0, gpa: 0, size: 8K}\n  - {slot: 1, gpa: 4K, size: 8K}\n"
        "  - {slot: 2, gpa: 1M, size: 8K, flags: [bad]}\n"
    )
    assert err.line == 3 and "overlaps slot 0" in err.message
    # but a slot naming a file whose entry is broken is not blamed for it
    err = error(
        "slots:\n  - {slot: 0, gpa: 0, size: 8K, guest_memfd: 1}\nguest_memfd:\n  - {id: 1, mmap: maybe}\n"
    )
    assert err.line == 4 and "mmap" in err.message


def test_unique_and_overlap_checks_are_per_address_space():
    layout = load("slots:\n  - {slot: 0, gpa: 0, size: 8K}\n  - {slot: 1, as: 1, gpa: 0, size: 8K}\n")
    assert len(layout.slots) == 2


def test_flags_bit4_with_guest_memfd_key_is_fine():
    layout = load("guest_memfd: [{id: 2}]\n" + SLOT + "    flags: 4\n    guest_memfd: 2\n")
    assert layout.slots[0].flags == 0 and layout.slots[0].gmem == 2


def test_bad_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SLOT + "    offest: 0\n")
    proc = subprocess.run(
        [sys.executable, "-m", "gmemtui", "report", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr == f"{bad}:5: unknown key 'offest' (did you mean 'offset'?)\n"
    assert proc.stdout == ""


# ---------------------------------------------------------------- warnings


def test_warnings_of_spec_3_in_file_order():
    layout = load(
        """
        guest_memfd:
          - id: 1
          - id: 2
            size: 8K
        slots:
          - {slot: 0, gpa: 0, size: 8K, guest_memfd: 1, flags: [readonly]}
          - {slot: 1, gpa: 1M, size: 8K, guest_memfd: 1, offset: 8K, flags: [log_dirty, readonly]}
          - {slot: 2, gpa: 2M, size: 16K}
          - {slot: 3, as: 1, gpa: 2M, size: 16K, flags: 1}
        private:
          - {gpa: 2M, size: 8K}
        """
    )
    warnings = layout_warnings(layout)
    assert [(w.line, w.as_, w.slot) for w in warnings] == [
        (4, None, None),
        (7, 0, 0),
        (8, 0, 1),
        (9, 0, 2),
        (10, 1, 3),
    ]
    assert "guest_memfd 2 is listed but no slot binds it" in warnings[0].message
    assert "readonly" in warnings[1].message and "KVM rejects this since 6.8" in warnings[1].message
    assert "check_memory_region_flags" in warnings[1].message
    assert "log_dirty and readonly" in warnings[2].message
    assert warnings[3].message.startswith("slot 2: 8K of private frames but no guest_memfd")
    assert warnings[4].message.startswith("slot 3: 8K of private frames")  # private is per gfn, any AS


# ---------------------------------------------------------------- shipped layouts


TEACHING = [
    "log-dirty",
    "slot-edge",
    "ua-misaligned",
    "mixed-attributes",
    "host-page",
    "no-guest-memfd",
    "gmem-4k-only",
    "platform-cap",
    "folio-cap",
    "whole-binding",
    "offset-misaligned",
]


@pytest.mark.parametrize("reason", TEACHING)
def test_teaching_layout_shows_its_reason(reason):
    path = LAYOUTS / f"teach-{reason}.yaml"
    text = path.read_text()
    assert text.startswith("# Teaching layout: reason `" + reason + "`")
    layout = load_yaml(text, str(path))
    runs = [r for sc in coverage.compute(layout).slots for r in sc.runs]
    shown = [r for r in runs if r.reason == reason]
    assert shown, f"{path.name} never shows {reason}"
    # it shows clearly: at least 1 MiB of it, and below the largest page (an actual loss)
    assert sum(r.size for r in shown) >= 1 << 20
    assert all(r.page != layout.platform.largest.name for r in shown)
    assert 1 << 20 <= sum(s.size for s in layout.slots) <= 4 << 30


def test_every_shipped_layout_loads():
    for path in sorted(LAYOUTS.glob("*.yaml")):
        layout = load_yaml(path.read_text(), str(path))
        assert layout.slots and path.read_text().startswith("#"), path


def test_q35_layout_is_qemus():
    layout = load_yaml((LAYOUTS / "q35-4g.yaml").read_text(), "q35-4g.yaml")
    ram = [s for s in layout.slots if not s.readonly]
    assert sum(s.size for s in ram) == (4 << 30) - 0x60000  # 4 GiB minus the VGA window and ROM holes
    roms = sorted((s.gpa, s.size) for s in layout.slots if s.readonly)
    assert roms == [(0xC0000, 0x20000), (0xE0000, 0x20000), (0xFFFC0000, 0x40000)]
    high = max(layout.slots, key=lambda s: s.gpa)
    low = next(s for s in layout.slots if s.gpa == 0x100000)
    assert (high.gpa, high.size, high.ua - low.ua) == (1 << 32, 2 << 30, 0x80000000 - 0x100000)
    assert low.end == 0x80000000 and low.ua % (2 << 20) == 0x100000
    assert all(s.gmem is None for s in layout.slots) and layout_warnings(layout) == []
