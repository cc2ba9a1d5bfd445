"""The main screen's keys and mouse gestures, in one place (docs/tui.md lists the same).

Each key is a ``Binding`` with an id (Textual's ``App.set_keymap`` rebinds keys by these ids);
``GmemApp`` takes them as its ``BINDINGS`` and ``MOUSE_HELP``, and the help screen lists both.
"""

from __future__ import annotations

from textual.binding import Binding


def B(key: str, action: str, description: str, id: str, show: bool = True, priority: bool = False,
      group: Binding.Group | None = None) -> Binding:
    return Binding(key, action, description, show=show, id=id, priority=priority, group=group)


ZOOM = Binding.Group("Zoom", compact=True)  # the footer shows "+- Zoom" (narrow terminals: every key fits)
TRACE = Binding.Group("Trace", compact=True)


BINDINGS = [
    B("q", "quit", "Quit", "quit"),
    B("question_mark,f1", "help", "Help", "help"),
    B("plus,equals_sign", "zoom(1)", "Zoom in", "zoom_in", group=ZOOM),
    B("minus", "zoom(-1)", "Zoom out", "zoom_out", group=ZOOM),
    B("0", "fit", "Fit: all of the guest on the bar", "fit", show=False),
    B("left", "pan(-1)", "Pan left", "pan_left", show=False),
    B("right", "pan(1)", "Pan right", "pan_right", show=False),
    B("home", "view_home", "View start", "view_home", show=False),
    B("end", "view_end", "View end", "view_end", show=False),
    B("s", "toggle_scale", "Slot scale", "toggle_scale"),
    B("tab", "select(1)", "Next slot", "next_slot", show=False, priority=True),
    B("down", "select(1)", "Next slot", "row_down", show=False),
    B("up", "select(-1)", "Previous slot", "row_up", show=False),
    B("shift+tab", "select(-1)", "Previous slot", "prev_slot", show=False, priority=True),
    B("e", "cycle_part", "Edit part (start/end/slot/binding)", "cycle_part", show=False),
    B("n", "cycle_step", "Nudge step (page sizes)", "cycle_step", show=False),
    B("comma", "nudge(-1)", "Nudge down", "nudge_down", show=False),
    B("full_stop", "nudge(1)", "Nudge up", "nudge_up", show=False),
    B("p", "cycle_policy", "Policy", "cycle_policy"),
    B("h", "cycle_host", "Host page", "cycle_host", show=False),
    B("v", "cycle_private", "Private cap", "cycle_private", show=False),
    B("g", "cycle_gmem", "Folio size", "cycle_gmem", show=False),
    B("left_square_bracket", "trace_step(-1)", "Trace back", "trace_back", group=TRACE),
    B("right_square_bracket", "trace_step(1)", "Trace forward", "trace_forward", group=TRACE),
    B("u,ctrl+z", "undo", "Undo", "undo"),
    B("U,ctrl+y", "redo", "Redo", "redo", show=False),
    B("ctrl+s", "save", "Save", "save"),
    B("f", "suggest_fixes", "Suggest fixes", "suggest_fixes", show=False),
]
MOUSE_HELP = (
    ("move over a bar", "explain the frame under the mouse"),
    ("drag a slot's start or end edge", "resize it (moving the start moves ua and the "
                                        "guest_memfd offset too)"),
    ("drag the middle of a slot", "move the whole slot (gpa only)"),
    ("drag a binding on a file bar", "move the binding in its file (offset only)"),
    ("hold shift/ctrl/alt while dragging",
     "snap to the next page size instead of the base page (two modifiers: the one after)"),
    ("wheel over a bar", "zoom in and out around the mouse"),
    ("click a table row", "select that slot"),
)
