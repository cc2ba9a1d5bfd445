"""The layout options every command shares (docs/commands.md): ``--policy`` and the caps, which override the
file. They live here, below the commands, so that ``cli`` (parsing) imports them and no command
imports ``cli``; ``diff`` adds the ``--old-``/``--new-`` forms with a prefix."""

from __future__ import annotations

import argparse

from gmemtui.core.errors import InputError
from gmemtui.core.model import POLICIES, Overrides


def page_size(text: str) -> int:
    """A page size on the command line: ``2M``, ``1G``, ``4K`` (checked against the ladder later)."""
    from gmemtui.core.platform import X86_64
    from gmemtui.core.units import parse_size

    try:
        return parse_size(text)  # the spellings a YAML layout takes: 2M, 2MiB, 0x200000 (not "2 M")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a page size ({', '.join(X86_64.names)})") from None


def byte_size(text: str) -> int:
    """A size on the command line (``512M``, ``1G``, ``0x40000000``), spelled as in a YAML layout."""
    from gmemtui.core.units import parse_size

    try:
        return parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 512M, 1G)") from None


def add_layout_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--policy`` and the caps, which override the file; ``prefix`` gives diff's ``--old-``/``--new-``."""
    dest = prefix.replace("-", "_")
    p.add_argument(f"--{prefix}policy", dest=f"{dest}policy", choices=POLICIES, help="rule of guest_memfd")
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
    """The Overrides of one side, checked against the ladder (a bad value is ``gmemtui: ...``, exit 2)."""
    from gmemtui.core.platform import X86_64

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


