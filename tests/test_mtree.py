"""Monitor dumps (``info mtree -f`` [+ ``info ramblock``]): slots, ua, readonly, every warning,
``FILE:LINE`` errors, the CLI, and a hypothesis fuzz (one-line errors, never another exception)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmemtui.cli import main
from gmemtui.core.errors import InputError
from gmemtui.formats.detect import is_dump
from gmemtui.formats.loader import is_trace, load
from gmemtui.formats.mtree import ASSUMED_BASE, load_dump

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(ROOT.glob("layouts/qemu-*/*.mtree"))

HEAD = """\
(qemu) info mtree -f
FlatView #0
 AS "I/O", root: io
 Root memory region: io
  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan

FlatView #1
 AS "memory", root: system
 AS "cpu-memory-0", root: system
 Root memory region: system
"""
PC = HEAD + """\
  0000000000000000-000000000009ffff (prio 0, ram): pc.ram KVM
  00000000000a0000-00000000000bffff (prio 1, i/o): vga-lowmem
  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom KVM
  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000 KVM
  0000000000100000-000000007fffffff (prio 0, ram): pc.ram @0000000000100000 KVM
  00000000fd000000-00000000fdffffff (prio 1, ram): vga.vram KVM
  00000000fe000000-00000000fe000fff (prio 1, ram): no-kvm-mark
  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios KVM
"""
def ramblock_row(name: str, offset: int, used: int, hva: int | None = None, ro: str = "rw") -> str:
    """A row as ram_block_format() prints it (HVA and RO columns only on newer QEMU)."""
    row = f"{name:>24} {'4 KiB':>8}  0x{offset:016x} 0x{used:016x} 0x{used:016x}"
    return row + (f" 0x{hva:016x} {ro:>3}" if hva is not None else "") + "\n"


RAMBLOCK_10 = (
    "(qemu) info ramblock\n"
    f"{'Block Name':>24} {'PSize':>8}  {'Offset':>18} {'Used':>18} {'Total':>18} {'HVA':>18} {'RO':>3}\n"
    + ramblock_row("pc.ram", 0, 0x80000000, 0x7F2CC7E00000)
    + ramblock_row("0000:00:02.0/vga.vram", 0x80080000, 0x1000000, 0x7F2CC6C00000)
    + ramblock_row("pc.bios", 0x80000000, 0x40000, 0x7F2DD4200000, "ro")
    + ramblock_row("pc.rom", 0x80040000, 0x20000, 0x7F2DCF600000, "ro")
)
RAMBLOCK_72 = """\
(qemu) info ramblock
              Block Name    PSize              Offset               Used              Total
                  pc.ram    4 KiB  0x0000000000000000 0x0000000080000000 0x0000000080000000
                 pc.bios    4 KiB  0x0000000080000000 0x0000000000040000 0x0000000000040000
"""


def dump(text: str, path: str = "d.mtree"):
    return load_dump(text, path)


def messages(layout) -> list[str]:
    return [w.message for w in layout.notes]


def test_slots_are_the_kvm_marked_ram_and_rom_lines_in_line_order() -> None:
    layout = dump(PC + RAMBLOCK_10)
    got = [(s.slot, s.as_, s.gpa, s.size, s.readonly, s.name, s.line) for s in layout.slots]
    assert got == [
        (0, 0, 0x0, 0xA0000, False, "pc.ram", 11),
        (1, 0, 0xC0000, 0x20000, True, "pc.rom", 13),
        (2, 0, 0xE0000, 0x20000, True, "pc.bios @0x20000", 14),
        (3, 0, 0x100000, 0x7FF00000, False, "pc.ram @0x100000", 15),
        (4, 0, 0xFD000000, 0x1000000, False, "vga.vram", 16),
        (5, 0, 0xFFFC0000, 0x40000, True, "pc.bios", 18),
    ]
    assert all(s.gmem is None and not s.log_dirty for s in layout.slots)


def test_ua_is_the_ramblock_hva_plus_the_offset_matching_device_blocks_by_suffix() -> None:
    ua = {s.name: s.ua for s in dump(PC + RAMBLOCK_10).slots}
    assert ua["pc.ram"] == 0x7F2CC7E00000
    assert ua["pc.ram @0x100000"] == 0x7F2CC7E00000 + 0x100000
    assert ua["pc.bios @0x20000"] == 0x7F2DD4200000 + 0x20000
    assert ua["vga.vram"] == 0x7F2CC6C00000  # block 0000:00:02.0/vga.vram
    assert ua["pc.rom"] == 0x7F2DCF600000


def test_an_ambiguous_suffix_falls_back_to_the_assumption() -> None:
    two = RAMBLOCK_10.replace(
        "                 pc.bios ",
        "   0000:00:03.0/vga.vram    4 KiB  0x0000000090000000 0x0000000001000000 0x0000000001000000 "
        "0x00007f0011000000  rw\n                 pc.bios ")
    layout = dump(PC + two)
    vram = next(s for s in layout.slots if s.name == "vga.vram")
    assert vram.ua not in (0x7F2CC6C00000, 0x7F0011000000) and vram.ua % (1 << 21) == 0
    assert any("ua is assumed" in m and "no host address for some regions" in m for m in messages(layout))


def test_without_ramblock_ua_is_assumed_2m_aligned_and_one_warning_names_info_ramblock() -> None:
    layout = dump(PC)
    assumed = [m for m in messages(layout) if "ua is assumed" in m]
    assert len(assumed) == 1 and "`info ramblock`" in assumed[0] and "2M boundary" in assumed[0]
    assert "no `info ramblock`" in assumed[0]
    by = {s.name: s for s in layout.slots}
    base = by["pc.ram"].ua
    assert base % (1 << 21) == 0 and base % (1 << 30) != 0 and base >= ASSUMED_BASE
    assert by["pc.ram @0x100000"].ua == base + 0x100000  # one RAMBlock, one base
    # different RAMBlocks never overlap in the assumed host addresses
    spans = sorted({(s.ua - int(s.name.split("@")[1], 16) if "@" in s.name else s.ua) for s in layout.slots})
    assert len(spans) == 4  # pc.ram, pc.rom, pc.bios, vga.vram


def test_a_72_ramblock_without_hva_warns_that_its_qemu_is_older() -> None:
    layout = dump(PC + RAMBLOCK_72)
    assumed = [m for m in messages(layout) if "ua is assumed" in m]
    assert len(assumed) == 1 and "no HVA column" in assumed[0]


def test_framebuffer_warns_that_log_dirty_is_assumed_off() -> None:
    text = PC.replace("vga.vram KVM", "qxl.vram KVM")
    for layout, name in ((dump(PC + RAMBLOCK_10), "vga.vram"), (dump(text), "qxl.vram")):
        fb = [w for w in layout.notes if "framebuffer" in w.message]
        assert len(fb) == 1 and name in fb[0].message and "log_dirty is assumed off" in fb[0].message
        assert fb[0].slot == 4 and fb[0].line == 16


def test_no_kvm_mark_warns_about_the_accelerator() -> None:
    layout = dump(HEAD + "  0000000000000000-000000000009ffff (prio 0, ram): pc.ram\n")
    assert layout.slots == ()
    assert any("-accel kvm" in m for m in messages(layout))


def test_pam_rom_alias_of_ram_is_writable_like_kvm_makes_it() -> None:
    """kvm_mem_flags() asks the target region: a read-only alias of pc.ram is a writable slot."""
    text = HEAD + """\
  0000000000000000-000000000009ffff (prio 0, ram): pc.ram KVM
  00000000000c0000-00000000000c9fff (prio 0, rom): pc.ram @00000000000c0000 KVM
  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios KVM
  00000000ffbc0000-00000000ffbfffff (prio 0, romd): system.flash0 KVM
"""
    for extra in ("", RAMBLOCK_10, RAMBLOCK_72):
        ro = {s.name: s.readonly for s in dump(text + extra).slots}
        assert ro == {"pc.ram": False, "pc.ram @0xc0000": False, "pc.bios": True, "system.flash0": True}
    # the RO column decides even without a ram line of that region
    only_rom = HEAD + "  00000000000c0000-00000000000c9fff (prio 0, rom): pc.ram @00000000000c0000 KVM\n"
    assert dump(only_rom + RAMBLOCK_10).slots[0].readonly is False
    assert dump(only_rom).slots[0].readonly is True


def test_smram_view_is_address_space_1_numbered_from_0() -> None:
    text = PC + """
FlatView #2
 AS "KVM-SMRAM", root: mem-container-smram
 Root memory region: mem-container-smram
  0000000000000000-000000000009ffff (prio 0, ram): pc.ram KVM
  00000000000a0000-00000000000bffff (prio 1, ram): pc.ram @00000000000a0000 KVM
"""
    layout = dump(text)
    smm = [(s.slot, s.gpa, s.size) for s in layout.slots if s.as_ == 1]
    assert smm == [(0, 0, 0xA0000), (1, 0xA0000, 0x20000)]
    assert len([s for s in layout.slots if s.as_ == 0]) == 6


def test_other_views_prompts_comments_crlf_and_owner_suffixes_are_ignored() -> None:
    text = ("# pasted from a monitor\r\n" + PC.replace("\n", "\r\n")
            .replace("pc.rom KVM", "pc.rom owner:{dev id=pc.rom} KVM")
            + "(qemu) \r\n")
    layout = dump(text)
    assert [s.name for s in layout.slots][:2] == ["pc.ram", "pc.rom"]
    assert layout.slots[0].line == 12


def test_unaligned_range_keeps_its_page_aligned_interior_as_kvm_align_section_does() -> None:
    text = HEAD + "  0000000000000800-0000000000003fff (prio 0, ram): odd @0000000000000800 KVM\n" \
        "  0000000000004000-00000000000047ff (prio 0, ram): tiny KVM\n"
    (s,) = dump(text).slots
    assert (s.gpa, s.size, s.name) == (0x1000, 0x3000, "odd @0x1000")


def test_dump_detection_is_by_content() -> None:
    assert is_dump(PC) and not is_trace(PC)
    assert not is_dump("slots: []\n") and not is_dump("kvm_set_user_memory Slot#0 flags=0x0\n")
    for p in SHIPPED:
        assert is_dump(p.read_text()) and not is_trace(p.read_text())


@pytest.mark.parametrize("text", [
    "FlatView #0\n", "x\nFlatView #1\n", " FlatView #0\n", "FlatView #x\n", 'AS "memory", root: m\n',
    '\t AS "memory", root: m\n', 'x AS "memory", root: m\n', 'name: "FlatView #0"\n', "slots: []\n",
    'a\r\n  AS "memory", root: x\n', "FlatView #", "",
])
def test_dump_detection_is_the_anchored_regex(text: str) -> None:
    """The substring test before the regex only saves time: the answer is the regex's."""
    from gmemtui.formats.detect import _dump_re

    assert is_dump(text) == (_dump_re().search(text) is not None)


@pytest.mark.parametrize(("text", "line", "what"), [
    (HEAD + "  0000000000000000-00000000000bffff (prio 0, ram) pc.ram KVM\n", 11, "not a flat-view range"),
    (HEAD + "  0000000000000000-00000000000bfffg (prio 0, ram): pc.ram KVM\n", 11, "not a flat-view range"),
    (HEAD + "  00000000000c0000-00000000000bffff (prio 0, ram): pc.ram KVM\n", 11, "ends before it starts"),
    (HEAD + "  0000000000000000-00000000000bffff (prio 0, ram): KVM\n", 11, "no region name"),
    (HEAD + "  00000000000000000-00000000000bffff (prio 0, ram): pc.ram KVM\n", 11, "not a flat-view"),
    (HEAD + "  0000000000000000-00000000000bffff (prio 0, ram): a KVM\n"
     "  0000000000080000-00000000000fffff (prio 0, ram): b KVM\n", 12, "overlap"),
    (PC + "\nFlatView #9\n AS \"memory\", root: system\n", 21, "a second flat view"),
    (PC + RAMBLOCK_10.replace("0x00007f2dd4200000", "0x7f2dd42zz"), 23, "HVA"),
    (PC + RAMBLOCK_10.replace("  ro\n", "  maybe\n", 1), 23, "neither ro nor rw"),
    (PC + RAMBLOCK_10.replace("0x0000000000020000 0x00007f2dcf600000  ro", "ro"), 24, "columns"),
])
def test_malformed_lines_are_file_line_errors(text: str, line: int, what: str) -> None:
    with pytest.raises(InputError) as e:
        dump(text)
    assert e.value.line == line and what in str(e.value)
    assert str(e.value).startswith(f"d.mtree:{line}: ") and "\n" not in str(e.value)


def test_a_dump_without_the_memory_view_says_which_command_to_paste() -> None:
    with pytest.raises(InputError) as e:
        dump('FlatView #0\n AS "I/O", root: io\n')
    assert str(e.value).startswith("d.mtree: ") and "info mtree -f" in str(e.value)


def test_cli_reads_a_dump_and_reports_a_bad_one_in_one_line(tmp_path: Path, capsys) -> None:
    good = tmp_path / "good.txt"
    good.write_text(PC + RAMBLOCK_10)
    assert main(["report", str(good)]) == 0
    out = capsys.readouterr().out
    assert "pc.ram @0x100000" in out and "framebuffer" in out
    bad = tmp_path / "bad.txt"
    bad.write_text(HEAD + "  0000000000000000-00000000000bffff (prio 0, ram) pc.ram KVM\n")
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{bad}:11: ")
    assert main(["report", str(good), "--state", "0"]) == 2
    assert "monitor dump, not a trace" in capsys.readouterr().err


def test_convert_writes_yaml_that_loads_to_the_same_layout(tmp_path: Path, capsys) -> None:
    for src in (tmp_path / "d.txt", *SHIPPED):
        if not src.exists():
            src.write_text(PC + RAMBLOCK_10)
        out = tmp_path / (src.stem + src.parent.name + ".yaml")
        assert main(["convert", str(src), "-o", str(out)]) == 0
        text = out.read_text()
        assert "QEMU monitor dump" in text
        assert load(str(out)).layout.slots == load(str(src)).layout.slots


# --- fuzz ---------------------------------------------------------------------------------------

SEED_TEXTS = [PC + RAMBLOCK_10, PC + RAMBLOCK_72] + [p.read_text() for p in SHIPPED[:4]]
TOKENS = ["KVM", " @", "@0000000000020000", "(prio 0, ram):", "(prio 1, rom):", "(prio -1, romd):", "-",
          "ffffffffffffffff", "0000000000000000", "FlatView #1", ' AS "memory", root: system',
          ' AS "KVM-SMRAM", root: x', "Block Name    PSize  Offset Used Total HVA  RO", "0x", "0xzz", "rw",
          "ro", "(qemu)", "#", "\r", "\t", "\x85", "\u2028", "\x00", "9" * 40, "owner:{", "}", "Dispatch"]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(text: str) -> None:
    """A layout, or an InputError that is one ``FILE[:LINE]: message`` line; nothing else."""
    is_dump(text)  # detection reads it too (and must stay linear)
    is_trace(text)
    try:
        load_dump(text, "f.mtree")
    except InputError as e:
        message = str(e)
        assert re.fullmatch(r"f\.mtree(:[0-9]+)?: [^\n\r]+", message), message
        assert e.line is None or 1 <= e.line <= text.count("\n") + 1


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(SEED_TEXTS)).split("\n")
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.integers(0, 4))
        line = lines[i]
        if op == 0:  # cut the line
            lines[i] = line[: draw(st.integers(0, len(line)))]
        elif op == 1:  # insert a token
            j = draw(st.integers(0, len(line)))
            lines[i] = line[:j] + draw(st.sampled_from(TOKENS)) + line[j:]
        elif op == 2:  # replace a character
            if line:
                j = draw(st.integers(0, len(line) - 1))
                lines[i] = line[:j] + draw(st.characters()) + line[j + 1:]
        elif op == 3:  # duplicate a line elsewhere
            lines.insert(draw(st.integers(0, len(lines))), line)
        else:
            del lines[i]
    return "\n".join(lines)


@SETTINGS
@given(mutated())
def test_fuzz_mutated_dumps(text: str) -> None:
    check(text)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS + ["\n", " ", "  0", "-0 "]), max_size=60).map("".join))
def test_fuzz_token_soup(text: str) -> None:
    check(HEAD + text)


@pytest.mark.parametrize("unit", [
    "  0000000000000000-", " @0", "KVM ", "(prio 0, ram): ", "0-0 ", "/", ' AS "memory", root: ',
    "kvm_set_user_memory ", "FlatView #1 ",
])
def test_repeated_tokens_stay_linear(unit: str) -> None:
    """A 4 MB line (or 200k lines) of one token: a quadratic scan would not finish in a test run."""
    n = (4 << 20) // len(unit)
    check(HEAD + unit * n + "\n")
    check(HEAD + (unit + "\n") * (n // 20))
    ram = "  0000000000000000-0000000000000fff (prio 0, ram): " + unit * (n // 2) + " KVM\n"
    check(HEAD + ram)


def test_many_regions_and_blocks_stay_linear() -> None:
    """30k regions (about KVM's slot limit) against 200k RAMBlocks sharing suffixes: hashed lookups."""
    n = 30_000
    regions = "".join(
        f"  {i << 12:016x}-{(i << 12) + 0xfff:016x} (prio 0, ram): r{i % 7} @{i << 12:016x} KVM\n"
        for i in range(n))
    blocks = "".join(ramblock_row(f"d{i}/r{i % 7}", 0, 1 << 30) for i in range(200_000))
    layout = load_dump(HEAD + regions + "\n              Block Name    PSize  Offset Used Total\n" + blocks,
                       "big.mtree")
    assert len(layout.slots) == n


def test_a_blank_line_ends_the_view_so_a_following_info_mtree_tree_is_not_read() -> None:
    tree = """
(qemu) info mtree
address-space: memory
  0000000000000000-ffffffffffffffff (prio 0, i/o): system
    0000000000000000-000000007fffffff (prio 0, ram): alias ram-below-4g @pc.ram 0000000000000000 KVM
    zzzz-not-a-range-line
"""
    assert dump(PC + tree).slots == dump(PC).slots


def test_region_and_block_names_with_spaces_like_vfio_bars() -> None:
    name = "0000:01:00.0 BAR 0 mmaps[0]"
    text = HEAD + f"  00000000fc000000-00000000fdffffff (prio 0, ramd): {name} KVM\n" + RAMBLOCK_10 \
        + ramblock_row(name, 0x90000000, 0x2000000, 0x7F0040000000)
    (s,) = dump(text).slots
    assert (s.name, s.ua, s.readonly, s.size) == (name, 0x7F0040000000, False, 0x2000000)
