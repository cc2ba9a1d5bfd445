"""Modal screens of the TUI: help, yes/no questions and "save as"."""

from gmemtui.tui.screens.confirm import ConfirmScreen, SaveAsScreen
from gmemtui.tui.screens.help import HelpScreen

__all__ = ["ConfirmScreen", "HelpScreen", "SaveAsScreen"]
