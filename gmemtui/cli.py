"""Command line (SPEC §5). Parsing only: each command's module is imported when it runs, and only
``gmemtui [FILE]`` imports the TUI (Textual)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from .errors import InputError
from .model import POLICIES, Overrides

COMMANDS = ("report", "explain", "diff", "convert", "check")


def _page(text: str) -> int:
    """A page size on the command line: ``2M``, ``1G``, ``4K`` (checked against the ladder later)."""
    from .units import parse_size

    try:
        return parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a page size: {text!r}") from None


def add_layout_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--policy`` and the caps, which override the file; ``prefix`` gives diff's ``--old-``/``--new-``."""
    dest = prefix.replace("-", "_")
    p.add_argument(f"--{prefix}policy", dest=f"{dest}policy", choices=POLICIES, help="rule of guest_memfd")
    p.add_argument(f"--{prefix}host-max-page", dest=f"{dest}host_max_page", type=_page, metavar="SIZE",
                   help="largest host page behind ua (e.g. 2M)")
    p.add_argument(f"--{prefix}private-max-page", dest=f"{dest}private_max_page", type=_page, metavar="SIZE",
                   help="platform cap for private memory (SNP 2M, TDX 4K)")
    p.add_argument(f"--{prefix}gmem-max-page", dest=f"{dest}gmem_max_page", type=_page, metavar="SIZE",
                   help="largest folio of every guest_memfd file")
    p.add_argument(f"--{prefix}gmem-mmap", dest=f"{dest}gmem_mmap", action="store_true",
                   help="every guest_memfd file created with GUEST_MEMFD_FLAG_MMAP")


def overrides_from(args: argparse.Namespace, prefix: str = "") -> Overrides:
    """The Overrides of one side, checked against the ladder (a bad value is ``gmemtui: ...``, exit 2)."""
    from .platform import X86_64

    values = {k: getattr(args, prefix + k, None) for k in
              ("policy", "host_max_page", "private_max_page", "gmem_max_page")}
    for key in ("host_max_page", "private_max_page", "gmem_max_page"):
        if values[key] is not None:
            try:
                X86_64.page(values[key])
            except KeyError:
                names = ", ".join(X86_64.names)
                flag = "--" + prefix.replace("_", "-") + key.replace("_", "-")
                raise InputError(f"{flag}: {values[key]:#x} bytes is not a page size ({names})") from None
    return Overrides(gmem_mmap=bool(getattr(args, prefix + "gmem_mmap", False)), **values)


def _state(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a state number: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gmemtui", description="KVM memslot / guest_memfd huge page explorer")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("report", help="coverage per slot and in total, with the runs")
    r.add_argument("file")
    fmt = r.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true")
    r.add_argument("--state", type=_state, help="for a trace: the layout after state N (0 = empty)")
    add_layout_options(r)

    e = sub.add_parser("explain", help="every rule at every size for the frame at GPA")
    e.add_argument("file")
    e.add_argument("gpa")
    e.add_argument("--as", dest="as_", type=int, default=0, choices=(0, 1), help="address space")
    e.add_argument("--json", action="store_true")
    add_layout_options(e)

    d = sub.add_parser("diff", help="where the page size changed between two layouts, by GPA")
    d.add_argument("old")
    d.add_argument("new")
    fmt = d.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true")
    d.add_argument("--fail-on-loss", action="store_true", help="exit 1 if any frame got a smaller page")
    d.add_argument("--old-state", type=_state, metavar="N", help="OLD is a trace: compare its state N")
    d.add_argument("--new-state", type=_state, metavar="N", help="NEW is a trace: compare its state N")
    add_layout_options(d)
    add_layout_options(d, "old-")
    add_layout_options(d, "new-")

    c = sub.add_parser("convert", help="write a trace's final layout as YAML")
    c.add_argument("file")
    c.add_argument("-o", "--output")
    c.add_argument("--force", action="store_true", help="overwrite an existing output file")
    add_layout_options(c)

    k = sub.add_parser("check", help="validate; with --kvm, ask this machine's /dev/kvm")
    k.add_argument("file")
    k.add_argument("--kvm", action="store_true", help="apply the layout on /dev/kvm and compare")
    k.add_argument("--levels", action="store_true", help="with --kvm: run a guest, compare page sizes")
    k.add_argument("--memory-limit", type=_page, default=1 << 30, metavar="SIZE",
                   help="with --levels: most guest memory to touch (default 1G)")
    add_layout_options(k)
    return p


def build_tui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gmemtui",
        description="Open the TUI on a layout or trace (no FILE: the seed layout). "
        f"Other commands: {', '.join(COMMANDS)} (gmemtui COMMAND --help).",
    )
    p.add_argument("file", nargs="?", help="YAML layout or QEMU kvm_set_user_memory trace")
    add_layout_options(p)
    return p


def _runner(command: str) -> Callable[[argparse.Namespace], int]:
    if command == "report":
        from .report import main as run
    elif command == "explain":
        from .explain import main as run
    elif command == "diff":
        from .diff import main as run
    elif command == "convert":
        from .convert import main as run
    else:
        from .check import main as run
    return run


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            args = build_parser().parse_args(argv)
            return _runner(args.command)(args)
        args = build_tui_parser().parse_args(argv)
        from .tui.run import main as run_tui

        return run_tui(args)
    except InputError as e:
        print(str(e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
