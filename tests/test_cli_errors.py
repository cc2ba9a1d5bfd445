"""Every command-line mistake is one line ``gmemtui: what is wrong`` and exit 2, naming the nearest valid
choice where there is one; ``--help`` stays argparse's usage block (exit 0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gmemtui.cli import COMMANDS as COMMAND_TABLE
from gmemtui.cli import main

ROOT = Path(__file__).resolve().parent.parent
Y = str(ROOT / "layouts" / "qemu-snp-seed.yaml")
T = str(ROOT / "layouts" / "qemu-snp-seed.trace")
COMMANDS = ", ".join(COMMAND_TABLE)  # other commands may join the five

CASES = [
    (["report", Y, "--policy", "foo"], "--policy: 'foo' is not a policy (per-range, whole-binding, 4k-only)"),
    (["report", Y, "--policy", "per"],
     "--policy: 'per' is not a policy (per-range, whole-binding, 4k-only; did you mean per-range?)"),
    (["--policy", "whole-bindng"], "--policy: 'whole-bindng' is not a policy "
     "(per-range, whole-binding, 4k-only; did you mean whole-binding?)"),
    (["diff", Y, Y, "--new-policy", "4k"],
     "--new-policy: '4k' is not a policy (per-range, whole-binding, 4k-only; did you mean 4k-only?)"),
    (["explain", Y, "0", "--as", "2"], "--as: 2 is not an address space (0, 1)"),
    (["explain", Y, "0", "--as", "x"], "--as: 'x' is not an address space (0, 1)"),
    (["report", T, "--state", "x"], "--state: 'x' is not a state number (0 = before the first change)"),
    (["diff", Y, Y, "--old-state", "y"],
     "--old-state: 'y' is not a state number (0 = before the first change)"),
    (["report", Y, "--host-max-page", "-2M"], "--host-max-page: '-2M' is not a page size (4K, 2M, 1G)"),
    (["report", Y, "--gmem-max-page", "2 M"], "--gmem-max-page: '2 M' is not a page size (4K, 2M, 1G)"),
    (["report", Y, "--private-max-page", "٤K"], "--private-max-page: '٤K' is not a page size (4K, 2M, 1G)"),
    (["report", Y, "--host-max-page", "3M"],
     "--host-max-page: 0x300000 bytes is not a page size (4K, 2M, 1G)"),
    (["check", Y, "--memory-limit", "x"], "--memory-limit: 'x' is not a size (e.g. 512M, 1G)"),
    (["report", Y, "--json", "--markdown"], "--markdown and --json cannot be used together (pick one)"),
    (["report", Y, "--json=1"], "--json takes no value ('1' given)"),
    (["report", Y, "--policy"], "--policy needs a value (per-range, whole-binding, 4k-only)"),
    (["report", Y, "--bogus"], "unknown option --bogus for gmemtui report (see gmemtui report --help)"),
    (["report", Y, "--jsn"], "unknown option --jsn for gmemtui report (did you mean --json?)"),
    (["--bogus"], "unknown option --bogus for gmemtui (see gmemtui --help)"),
    (["--polcy", "per-range"], "unknown option --polcy for gmemtui (did you mean --policy?)"),
    (["report", Y, "extra"], "unexpected argument 'extra' for gmemtui report (see gmemtui report --help)"),
    ([Y, Y], f"unexpected argument {Y!r} for gmemtui (see gmemtui --help)"),
    (["report"], "report: missing FILE (see gmemtui report --help)"),
    (["explain", Y], "explain: missing GPA (see gmemtui explain --help)"),
    (["diff", Y], "diff: missing NEW (see gmemtui diff --help)"),
    (["report", "nosuch.yaml"], "nosuch.yaml: no such file"),
    (["frobnicate"], f"'frobnicate' is neither a command ({COMMANDS}) nor a file"),
    (["repot", Y], f"'repot' is neither a command ({COMMANDS}) nor a file; did you mean report?"),
    (["explain", Y, "0x" + "f" * 40],
     "GPA '0xffffffffffffffffffffffffffffffffffffff' is beyond the 52-bit guest-physical space "
     "(at most 0xfffffffffffff)"),
    (["explain", Y, "0x"], "not a GPA: '0x' (write 0x..., a decimal number or e.g. \"2G\")"),
    (["explain", Y, "٤K"], "not a GPA: '٤K' (write 0x..., a decimal number or e.g. \"2G\")"),
]


@pytest.mark.parametrize("argv,message", CASES, ids=[" ".join(a)[-40:] for a, _ in CASES])
def test_one_line_and_exit_2(capsys, argv: list[str], message: str) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"gmemtui: {message}\n"


@pytest.mark.parametrize("argv", [["--help"], ["report", "--help"], ["explain", "-h"], ["diff", "--help"]])
def test_help_is_still_the_usage_block(capsys, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: gmemtui") and "options:" in out and "-h, --help" in out
    assert len(out.splitlines()) > 5


def test_page_sizes_parse_like_the_yaml(capsys) -> None:
    """2M, 2MiB, 2m and 0x200000 are one page size on the command line, as in a layout file."""
    outs = []
    for spelling in ("2M", "2MiB", "2m", "0x200000", "2097152"):
        assert main(["report", Y, "--json", "--host-max-page", spelling]) == 0
        outs.append(capsys.readouterr().out)
    assert len(set(outs)) == 1
    assert main(["report", Y, "--json", "--host-max-page", "4K"]) == 0
    assert capsys.readouterr().out != outs[0]


@pytest.mark.parametrize("size", ["٤K", "２M", "2 M", "0777"])
def test_yaml_sizes_take_ascii_digits_and_no_inner_space(tmp_path, capsys, size: str) -> None:
    path = tmp_path / "l.yaml"
    path.write_text(f"slots:\n  - slot: 0\n    gpa: 0\n    size: '{size}'\n    ua: 0x7f0000000000\n",
                    encoding="utf-8")
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:4: size: ") and err.count("\n") == 1


def test_units_refuse_non_ascii_digits() -> None:
    from gmemtui.core.units import parse_size

    assert parse_size("4K") == 4096 and parse_size(" 2MiB ") == 2 << 20
    for text in ("٤K", "١٠٢٤", "１", "2 M", "9" * 100):
        with pytest.raises(ValueError):
            parse_size(text)


def test_an_option_of_a_command_given_without_it_names_the_command(capsys) -> None:
    assert main(["--json", Y]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gmemtui: --json is an option of gmemtui report / explain") and err.count("\n") == 1
