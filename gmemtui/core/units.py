"""Byte quantities as people write them: ``0x100000``, ``1048576``, ``"2G"``, ``"512MiB"``."""

from __future__ import annotations

import re
from functools import cache

_SUFFIX = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40, "P": 50}
# ASCII only (``re.ASCII``): ``\d`` would take ``٤`` or ``１`` and int() would read them as 4 and 1.
# The suffix follows the number directly, as docs/formats.md writes it (``2M``, not ``2 M``).
_SIZE = r"^\s*(\d[\d_]*)([KMGTP]?)(?:I?B)?\s*$"
_INT = r"^\s*(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*)\s*$"
_MAX_DIGITS = 80  # longer is beyond any 64-bit quantity (and int() refuses 4300+ digits)


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Compiled on first use: a report whose layout writes plain numbers never needs them."""
    return re.compile(_INT, re.ASCII), re.compile(_SIZE, re.IGNORECASE | re.ASCII)


def parse_size(text: str) -> int:
    """Parse ``"2G"``, ``"4k"``, ``"512MiB"``, ``"0x1000"`` or ``"4096"`` into bytes.

    Suffixes are powers of 1024 (docs/formats.md). Raises ValueError with a short reason.
    """
    if len(text.strip()) > _MAX_DIGITS:
        raise ValueError(f"not a size: {text[:40]!r}... is too long")
    bad = f"not a size: {text!r} (write an integer, 0x..., or e.g. \"2G\", \"512MiB\")"
    int_re, size_re = _patterns()
    m = int_re.match(text)
    if m:
        try:
            return int(m.group(1).replace("_", ""), 0)
        except ValueError:  # a leading zero (0777) or misplaced underscores
            raise ValueError(bad) from None
    m = size_re.match(text)
    if not m or (not m.group(2) and text.strip().upper().endswith("IB")):
        raise ValueError(bad)
    return int(m.group(1).replace("_", "")) << _SUFFIX[m.group(2).upper()]


def fmt_size(nbytes: int) -> str:
    """The shortest exact binary-suffixed form: 768K, 2047M, 2G, 4096 bytes -> 4K; 0 -> 0."""
    if nbytes == 0:
        return "0"
    for suffix, shift in sorted(_SUFFIX.items(), key=lambda kv: -kv[1]):
        if shift and nbytes % (1 << shift) == 0:
            return f"{nbytes >> shift}{suffix}"
    return str(nbytes)


def fmt_size_approx(nbytes: int) -> str:
    """A short size for tables: exact under five digits (2047M, 768K), else rounded (1.5T)."""
    if nbytes == 0:
        return "0"
    units = (("P", 50), ("T", 40), ("G", 30), ("M", 20), ("K", 10), ("B", 0))
    for suffix, shift in units:
        if nbytes % (1 << shift) == 0 and nbytes >> shift < 10000:
            return f"{nbytes >> shift}{suffix}" if shift else f"{nbytes}B"
    for suffix, shift in units:
        if nbytes >= 1 << shift:
            value = nbytes / (1 << shift)
            return f"{value:.1f}{suffix}" if value < 100 else f"{value:.0f}{suffix}"
    return f"{nbytes}B"


AMOUNT_UNITS = (("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10))


def fmt_amount(nbytes: int) -> str:
    """An amount of memory that cannot be read as a page size: ``2.0 MiB``, ``2046 MiB``, ``0 B``
    (``2M`` is a page size on this screen; the amounts always carry a binary unit). The largest unit
    it is at least one of, or a smaller one that shows it exactly in at most four digits."""
    for i, (unit, shift) in enumerate(AMOUNT_UNITS):
        if nbytes < 1 << shift:
            continue
        if nbytes % (1 << shift):
            for smaller, sshift in AMOUNT_UNITS[i + 1:]:
                if nbytes % (1 << sshift) == 0 and nbytes >> sshift < 10000:
                    return f"{nbytes >> sshift} {smaller}"
        value = nbytes / (1 << shift)
        return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{nbytes} B"
