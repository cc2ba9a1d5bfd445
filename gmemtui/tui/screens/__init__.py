"""Modal screens of the TUI: help, yes/no questions, "save as", and the suggestions panel (``suggest``,
imported where it is opened)."""

from gmemtui.tui.screens.confirm import ConfirmScreen, SaveAsScreen
from gmemtui.tui.screens.help import HelpScreen

__all__ = ["ConfirmScreen", "HelpScreen", "SaveAsScreen"]
