"""The log file: $XDG_STATE_HOME/novapool/novapool.log, passwords masked. Errors go here (and
to a notification in the console), never as a traceback on the screen."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from console.sources.postgres import mask_password


class MaskPasswords(logging.Filter):
    def __init__(self, dsn: str | None) -> None:
        super().__init__()
        self.dsn = dsn

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_password(record.getMessage(), self.dsn)
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask_password(
                logging.Formatter().formatException(record.exc_info), self.dsn)
            record.exc_info = None
        return True


def log_path() -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "novapool" / "novapool.log"


def setup(dsn: str | None = None) -> Path | None:
    """Send all logging to the file (nothing to the terminal). Returns its path."""
    path = log_path()
    root = logging.getLogger()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler, path = logging.NullHandler(), None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskPasswords(dsn))
    for old in list(root.handlers):
        if getattr(old, "_novapool", False):
            root.removeHandler(old)
    handler._novapool = True
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path
