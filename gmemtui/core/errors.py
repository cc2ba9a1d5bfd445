"""Errors the user sees as one line: ``FILE:LINE: what is wrong`` (or ``gmemtui: ...``), exit 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad input. ``str()`` is the one line printed to stderr."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        if self.path is None:
            return f"gmemtui: {self.message}"
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"
