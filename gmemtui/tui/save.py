"""Saving from the TUI (SPEC §3, §6). A YAML file the user opened is rewritten in place, only the
changed values, atomically. Anything else (a trace, the built-in seed layout from the package data)
is never overwritten: the user picks a new path, and an existing file there is replaced only after
asking."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from .app import GmemApp


def suggested_path(app: GmemApp) -> str:
    """Beside a trace: the same name with ``.yaml``; for the built-in layout: its name in the cwd."""
    path = Path(app.loaded.path)
    if app.path_opened:
        if path.suffix != ".yaml":
            return str(path.with_suffix(".yaml"))
        return str(path.with_name(path.stem + "-edited.yaml"))
    return path.name


def save(app: GmemApp) -> None:
    layout = app.history.present
    if app.loaded.kind == "yaml" and app.path_opened:
        try:
            from ..fileio import atomic_write
            from ..yaml_save import save_text
        except ImportError as e:
            app.notify(f"cannot save yet: {e}", severity="error")
            return
        try:
            text = save_text(app.original_text, app.original_layout, layout)
            atomic_write(app.loaded.path, text)
        except (InputError, OSError, ValueError) as e:
            app.notify(f"not saved: {e}", severity="error")
            return
        app.saved(text, app.loaded.path)
        return
    try:
        from .screens.confirm import ConfirmScreen, SaveAsScreen
    except ImportError as e:
        app.notify(f"cannot save: {e}", severity="error")
        return

    def write(path: str, force: bool) -> bool:
        try:
            from ..fileio import write_new
            from ..yaml_dump import dump_yaml
        except ImportError as e:
            app.notify(f"cannot save yet: {e}", severity="error")
            return True
        try:
            text = dump_yaml(layout)
            write_new(path, text, force=force)
        except InputError as e:
            if not force and Path(path).exists():
                return False
            app.notify(str(e), severity="error")
            return True
        except OSError as e:
            app.notify(f"cannot write {path}: {e.strerror or e}", severity="error")
            return True
        app.saved(text, path)
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
