"""Writing a suggested layout into the user's YAML (formats/yaml_slots.py): comments kept, and it
reads back as the suggested layout."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from strategies import layouts
from test_suggest_property import fixable_layouts

from gmemtui.core.model import Layout
from gmemtui.core.suggest import suggest
from gmemtui.core.suggest_apply import apply, combine
from gmemtui.formats.yaml_dump import dump_yaml
from gmemtui.formats.yaml_load import load_yaml
from gmemtui.formats.yaml_slots import _canon, save_split


def comments(text: str) -> list[str]:
    return [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]


def check(text: str) -> int:
    raw = load_yaml(text, "in.yaml")
    found = suggest(raw)
    written = 0
    for s in [*found.suggestions, None]:
        new = combine(raw, found).layout if s is None else apply(raw, s)
        out = save_split(text, raw, new)  # raises ValueError if it does not read back as `new`
        assert _canon(load_yaml(out, "out.yaml")) == _canon(new)
        kept = comments(out)
        assert all(c in kept for c in comments(text))
        written += 1
    return written


@settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_random_layouts_round_trip_with_comments(layout: Layout) -> None:
    written = check(dump_yaml(layout, "a header\nof two lines"))
    event(f"{written - 1} suggestions written")


@settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(fixable_layouts(("split", "offset", "ua", "folio", "host")))
def test_every_kind_round_trips(layout: Layout) -> None:
    assert check(dump_yaml(layout, "header")) >= 1


HAND = """\
# my VM
policy: whole-binding   # the Sep 2023 patch
guest_memfd:
- {id: 19, size: 0x80000000}   # RAM
slots:
- {slot: 0, gpa: 0x0, size: 0xc0000, ua: 0x7f24afc00000, guest_memfd: 19}   # low RAM
- slot: 5            # main RAM
  name: pc.ram
  gpa: 0x10_0000
  size: 2047M
  ua: 0x7F24AFD00000
  flags: [readonly]
  guest_memfd: 19
  offset: 0x10_0000  # unaligned
"""


def test_hand_written_styles_are_followed() -> None:
    raw = load_yaml(HAND, "hand.yaml")
    (s,) = suggest(raw).suggestions
    out = save_split(HAND, raw, apply(raw, s))
    assert comments(HAND) == [c for c in comments(out) if "gmemtui suggest" not in c]
    new_entry = out.split("offset: 0x10_0000  # unaligned\n")[1]
    assert new_entry.startswith("- slot: 1   # split from slot 5 by gmemtui suggest\n")
    assert "  gpa: 0x20_0000\n" in new_entry and "  size: 2046M\n" in new_entry  # number styles kept
    assert "  ua: 0x7F24AFE00000\n" in new_entry and "  flags: [readonly]\n" in new_entry
    assert "  size: 1M\n" in out.split("- slot: 5")[1].split("- slot: 1")[0]


def test_a_flow_entry_gets_a_flow_sibling() -> None:
    text = HAND.replace("- slot: 5            # main RAM\n  name: pc.ram\n  gpa: 0x10_0000\n  size: 2047M\n"
                        "  ua: 0x7F24AFD00000\n  flags: [readonly]\n  guest_memfd: 19\n"
                        "  offset: 0x10_0000  # unaligned\n",
                        "- {slot: 5, gpa: 0x100000, size: 0x7ff00000, ua: 0x7f24afd00000, guest_memfd: 19,"
                        " offset: 0x100000}   # main RAM\n")
    raw = load_yaml(text, "flow.yaml")
    (s,) = suggest(raw).suggestions
    out = save_split(text, raw, apply(raw, s))
    assert out.endswith("- {slot: 1, gpa: 0x200000, size: 0x7fe00000, ua: 0x7f24afe00000, guest_memfd: 19, "
                        "offset: 0x200000}   # split from slot 5 by gmemtui suggest\n")
    assert "size: 0x100000, ua: 0x7f24afd00000, guest_memfd: 19, offset: 0x100000}   # main RAM" in out
