"""The words of ``suggest``: why a reason cannot be fixed by changing the layout, and gains as text."""

from __future__ import annotations

from gmemtui.core.units import fmt_size

# Why no change of the layout recovers frames stopped by each rule (docs/suggest.md).
UNFIXABLE_WHY: dict[str, str] = {
    "slot-edge": "the slot's ends are where the guest's memory map puts them; moving them changes what "
                 "the guest sees",
    "log-dirty": "dirty logging (migration) maps every frame at the base page until it is switched off",
    "mixed-attributes": "the guest converted part of the block between private and shared; the guest decides",
    "gmem-4k-only": "the merged kernel's guest_memfd hands out base pages only; no layout change helps",
    "platform-cap": "the hardware caps private pages (private_max_page: SEV-SNP RMP 2M, TDX 4K)",
    "no-guest-memfd": "private frames of a slot without guest_memfd are not mappable: an error in the "
                      "layout (bind a guest_memfd), not a tuning",
    # fixable reasons, when no single change of their kind gains anything
    "ua-misaligned": "no ua move alone gains anything here",
    "offset-misaligned": "no offset move fits: the bindings around it leave no room",
    "whole-binding": "no split or offset move alone gains anything here",
    "folio-cap": "raising the file's max_page alone gains nothing here",
    "host-page": "raising host_max_page alone gains nothing here",
}
UNFIXABLE_WHY["mainline"] = UNFIXABLE_WHY["gmem-4k-only"]


def gain_text(gained: dict[str, int]) -> str:
    """``+2046M at 2M`` (largest page first); ``no gain`` for an empty dict."""
    parts = [f"+{fmt_size(b)} at {name}" for name, b in reversed(list(gained.items())) if b]
    return ", ".join(parts) or "no gain"


def loss_text(lost: dict[str, int]) -> str:
    parts = [f"-{fmt_size(b)} at {name}" for name, b in reversed(list(lost.items())) if b]
    return ", ".join(parts) or "nothing lost"


# Each kind of suggestion in plain words (the TUI's help screen and panel, docs/suggest.md).
KIND_HELP: dict[str, str] = {
    "split": "cut the slot into consecutive slots at page-aligned guest addresses; each part keeps its "
             "host memory and file pages, so the guest sees the same memory. Helps against whole-binding: "
             "each part's binding is aligned on its own (with a ua move too where ua also disagrees).",
    "offset": "move the slot's binding inside its guest_memfd file so that guest frame and file index "
              "agree modulo the page size; bindings above it move up by whole large pages if they would "
              "overlap. Costs file size.",
    "ua": "map the slot's host memory at an address that agrees with the guest address modulo the page "
          "size. Nothing changes in the guest; QEMU must allocate the RAM block aligned.",
    "setting": "a host setting: a larger folio for the guest_memfd file (max_page) or larger host pages "
               "behind ua (THP, hugetlbfs).",
}
