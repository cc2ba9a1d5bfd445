"""The layout options every command shares (docs/commands.md): ``--arch``, ``--policy`` and the caps,
which override the file. They live here, below the commands, so that ``cli`` (parsing) imports them
and no command imports ``cli``; ``diff`` adds the ``--old-``/``--new-`` forms with a prefix.

The model is imported when a parser is built, not with this module: ``cli`` imports it at start-up,
and builds the parser while the cyclic GC is paused."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of start-up)
if TYPE_CHECKING:
    from gmemtui.core.model import Overrides


def page_size(text: str) -> int:
    """A page size on the command line: ``2M``, ``1G``, ``4K`` (checked against the ladder later)."""
    from gmemtui.core.platform import PLATFORMS
    from gmemtui.core.units import parse_size

    try:
        return parse_size(text)  # the spellings a YAML layout takes: 2M, 2MiB, 0x200000 (not "2 M")
    except ValueError:
        names = dict.fromkeys(n for p in PLATFORMS.values() for n in p.names)  # every arch's, in order
        raise argparse.ArgumentTypeError(f"{text!r} is not a page size ({', '.join(names)})") from None


def byte_size(text: str) -> int:
    """A size on the command line (``512M``, ``1G``, ``0x40000000``), spelled as in a YAML layout."""
    from gmemtui.core.units import parse_size

    try:
        return parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 512M, 1G)") from None


def add_layout_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--policy`` and the caps, which override the file; ``prefix`` gives diff's ``--old-``/``--new-``."""
    from gmemtui.core.model import POLICY_NAMES
    from gmemtui.core.platform import PLATFORMS

    dest = prefix.replace("-", "_")
    p.add_argument(f"--{prefix}arch", dest=f"{dest}arch", choices=tuple(PLATFORMS), metavar="ARCH",
                   help="look at the layout as this arch's KVM maps it: " + ", ".join(PLATFORMS)
                   + " (page sizes move to the same rung of its ladder)")
    p.add_argument(f"--{prefix}policy", dest=f"{dest}policy", choices=POLICY_NAMES,
                   help="rule of guest_memfd (4k-only is read as mainline)")
    p.add_argument(f"--{prefix}host-max-page", dest=f"{dest}host_max_page", type=page_size, metavar="SIZE",
                   help="largest host page behind ua (e.g. 2M)")
    p.add_argument(f"--{prefix}private-max-page", dest=f"{dest}private_max_page", type=page_size,
                   metavar="SIZE",
                   help="platform cap for private memory (SNP 2M, TDX 4K)")
    p.add_argument(f"--{prefix}gmem-max-page", dest=f"{dest}gmem_max_page", type=page_size, metavar="SIZE",
                   help="largest folio of every guest_memfd file")
    p.add_argument(f"--{prefix}gmem-mmap", dest=f"{dest}gmem_mmap", action="store_true",
                   help="every guest_memfd file created with GUEST_MEMFD_FLAG_MMAP")


def overrides_from(args: argparse.Namespace, prefix: str = "") -> Overrides:
    """The Overrides of one side. Page sizes are checked against the ladder when applied (the arch is
    the file's or ``--arch``): a bad value is ``gmemtui: ...``, exit 2."""
    from gmemtui.core.model import Overrides

    values = {k: getattr(args, prefix + k, None) for k in
              ("arch", "policy", "host_max_page", "private_max_page", "gmem_max_page")}
    flag = prefix.replace("_", "-")
    return Overrides(gmem_mmap=bool(getattr(args, prefix + "gmem_mmap", False)),
                     prefixes={k: flag for k, v in values.items() if v is not None}, **values)
