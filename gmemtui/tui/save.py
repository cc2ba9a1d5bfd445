"""Saving from the TUI (docs/tui.md). A YAML file the user opened is rewritten in place, only the
changed values, atomically. Anything else (a trace, the built-in seed layout from the package data)
is never overwritten: the user picks a new path, and an existing file there is replaced only after
asking."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from gmemtui.core.errors import InputError
from gmemtui.core.model import Layout
from gmemtui.formats.fileio import FileExists, atomic_write, write_new
from gmemtui.formats.loader import Loaded
from gmemtui.formats.yaml_dump import dump_yaml
from gmemtui.formats.yaml_save import save_text
from gmemtui.tui.history import History


class SaveHost(Protocol):
    """What saving needs of the app (the app calls ``save(self)``; this module never imports it)."""

    loaded: Loaded
    path_opened: bool
    history: History
    original_text: str
    original_layout: Layout

    def notify(self, message: str, *, severity: str = ...) -> None: ...

    def push_screen(self, screen: Any, callback: Callable[[Any], None] | None = ...) -> Any: ...

    def saved(self, text: str, path: str) -> None: ...


def suggested_path(app: SaveHost) -> str:
    """Beside a trace: the same name with ``.yaml``; for the built-in layout: its name in the cwd."""
    path = Path(app.loaded.path)
    if app.path_opened:
        if path.suffix != ".yaml":
            return str(path.with_suffix(".yaml"))
        return str(path.with_name(path.stem + "-edited.yaml"))
    return path.name


def save(app: SaveHost, then: Callable[[], object] | None = None) -> None:
    """Save; ``then`` runs after a successful write (quit after "Save and quit"), not after a failure
    or a cancelled "save as"."""
    layout = app.history.present
    if app.loaded.kind == "yaml" and app.path_opened:
        try:
            text = save_text(app.original_text, app.original_layout, layout)
            atomic_write(app.loaded.path, text)
        except (InputError, OSError, ValueError) as e:
            app.notify(f"not saved: {e}", severity="error")
            return
        app.saved(text, app.loaded.path)
        if then is not None:
            then()
        return
    from gmemtui.tui.screens.confirm import ConfirmScreen, SaveAsScreen

    def write(path: str, force: bool) -> bool:
        try:
            # a YAML layout (the built-in seed) keeps its comments and order; a trace is dumped
            text = save_text(app.original_text, app.original_layout, layout) if app.loaded.kind == "yaml" \
                else dump_yaml(layout)
        except (InputError, ValueError) as e:
            app.notify(f"not saved: {e}", severity="error")
            return True
        try:
            write_new(path, text, force=force)
        except FileExists:
            return False  # ask, then write with force
        except InputError as e:  # a directory, device, FIFO or socket: never replaced
            app.notify(str(e), severity="error")
            return True
        except OSError as e:
            app.notify(f"cannot write {path}: {e.strerror or e}", severity="error")
            return True
        app.saved(text, path)
        if then is not None:
            then()
        return True

    def chosen(path: str | None) -> None:
        if not path:
            return
        if write(path, force=False):
            return

        def overwrite(yes: bool | None) -> None:
            if yes:
                write(path, force=True)

        app.push_screen(ConfirmScreen(f"{path} exists. Overwrite it?"), overwrite)

    app.push_screen(SaveAsScreen(suggested_path(app)), chosen)
