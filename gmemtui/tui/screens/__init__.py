"""Modal screens of the TUI: help, yes/no questions and "save as"."""

from .confirm import ConfirmScreen, SaveAsScreen
from .help import HelpScreen

__all__ = ["ConfirmScreen", "HelpScreen", "SaveAsScreen"]
