"""SVG snapshots of the main views (pytest-textual-snapshot), at a fixed 140x45 terminal.

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and
look at the SVGs in ``__snapshots__/test_snapshots/`` before committing them. Everything shown must
be the same on every machine: layouts are loaded by a relative path, and nothing shows a clock.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gmemtui.formats.loader import load
from gmemtui.tui.app import GmemApp

ROOT = Path(__file__).resolve().parent.parent.parent
SIZE = (140, 45)


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (as a user types them) so no machine-specific path can reach the screen."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("NO_COLOR", raising=False)


def app_for(path: str) -> GmemApp:
    return GmemApp(load(path), path_opened=True)


def test_seed_layout(snap_compare) -> None:
    """The seed layout as it opens: slot 5's 4K head (slot-edge), the rest 2M, explain on slot 5."""
    assert snap_compare(app_for("layouts/qemu-snp-seed.yaml"), terminal_size=SIZE)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40", "200x60"])
def test_seed_at_terminal_size(snap_compare, size: tuple[int, int]) -> None:
    """docs/tui.md "Every terminal size": at 80x24 the map folds (file bars without offset ticks),
    nothing is clipped, slot 5's row, an explain line, ^s and ? show; taller terminals thicken the bars."""
    assert snap_compare(app_for("layouts/qemu-snp-seed.yaml"), terminal_size=size)


def test_zoomed_view(snap_compare) -> None:
    """Zoomed in around the start of the GPA axis: the ROM slots and slot 5's 4K head get cells."""
    assert snap_compare(app_for("layouts/qemu-snp-seed.yaml"), terminal_size=SIZE,
                        press=["plus"] * 8 + ["home"])


def test_whole_binding_policy(snap_compare) -> None:
    """One key: under whole-binding every 2M page of slot 5 is gone (the thread's story)."""
    assert snap_compare(app_for("layouts/qemu-snp-seed.yaml"), terminal_size=SIZE, press=["p"])


def test_help_screen(snap_compare) -> None:
    """The help screen over the seed layout: legend, reason codes (the keys are further down)."""
    assert snap_compare(app_for("layouts/qemu-snp-seed.yaml"), terminal_size=SIZE, press=["question_mark"])


def test_trace_intermediate_state(snap_compare) -> None:
    """The seed trace three states back from the end: slot 0 shrunk to 0xc0000, slots 3-5 not made yet."""
    app = app_for("layouts/qemu-snp-seed.trace")
    assert app.loaded.kind == "trace"
    assert snap_compare(app, terminal_size=SIZE, press=["left_square_bracket"] * 3)


def test_no_color(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR: Textual renders in monochrome; the page sizes still differ by glyph."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for("layouts/qemu-snp-seed.yaml")  # Textual reads NO_COLOR when the App is made
    assert app.no_color
    assert snap_compare(app, terminal_size=SIZE)
    assert "NO_COLOR" in os.environ
