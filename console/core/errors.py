"""Errors a user can act on. The CLI prints them on one line and exits 64; never a traceback."""

from __future__ import annotations

EXIT_OK = 0
EXIT_WARNING = 1
EXIT_CRITICAL = 2
EXIT_UNKNOWN = 3
EXIT_USAGE = 64
EXIT_REFUSED = 73
EXIT_UNAVAILABLE = 69  # sysexits EX_UNAVAILABLE: `init` could not observe a configured source


class InputError(Exception):
    """Bad input: names the file, the line and the field when they are known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class ExportRefused(Exception):
    """The export would overwrite a changed file or write an overcommitted allocation."""
