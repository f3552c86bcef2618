"""Log files: one per running instance, $XDG_STATE_HOME/novapool/novapool-<pid>.log, every line
with its pid, secrets masked; the oldest are pruned. Errors go here (and to a notification in the
console), never as a traceback on the screen."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

KEEP = 20  # newest log files kept; older ones are removed at start-up


class MaskSecrets(logging.Filter):
    def __init__(self, mask: Callable[[str], str]) -> None:
        super().__init__()
        self.mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.mask(record.getMessage())
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def log_dir() -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "novapool"


def _prune(directory: Path, keep: int) -> None:
    logs = sorted(directory.glob("novapool-*.log"), key=lambda p: p.stat().st_mtime)
    for old in logs[:-keep]:
        try:
            old.unlink()
        except OSError:
            pass


def setup(mask: Callable[[str], str] = lambda text: text) -> Path | None:
    """Send all logging to this instance's file (nothing to the terminal). Returns its path."""
    directory = log_dir()
    path: Path | None = directory / f"novapool-{os.getpid()}.log"
    root = logging.getLogger()
    handler: logging.Handler
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _prune(directory, KEEP - 1)
        handler = logging.FileHandler(directory / f"novapool-{os.getpid()}.log", encoding="utf-8")
    except OSError:
        handler, path = logging.NullHandler(), None
    handler.setFormatter(
        logging.Formatter("%(asctime)s pid %(process)d %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(MaskSecrets(mask))
    for old in list(root.handlers):
        if getattr(old, "_novapool", False):
            root.removeHandler(old)
            old.close()
    setattr(handler, "_novapool", True)  # noqa: B010 - marks our handler for a later setup()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path
