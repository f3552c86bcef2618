"""Findings sorted by severity, each naming the service, the pids and the number behind it.
The columns follow the terminal's width: rule and service names whole when there is room, the
message taking the rest."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events

from console.core.findings import Finding
from console.tui.text import safe, severity
from console.tui.widgets.lines_table import PADDING as CELL_PADDING
from console.tui.widgets.lines_table import LinesTable, TableColumn

SEV, RULE, SERVICE = 4, 26, 22  # widest rule id and a long service name
PADDING = 2 * CELL_PADDING  # a column's padding, left and right, as the table draws it


NARROW = 100  # below this: severity and one line (rule, service and message in it)


def column_widths(width: int) -> tuple[int, ...]:
    """Severity, rule, service and message widths for a table `width` cells wide; below
    NARROW, severity and one line."""
    if width < NARROW:
        return SEV, max(20, width - SEV - 2 * PADDING - 2)
    rule, service = (RULE, SERVICE) if width >= 120 else (18, 12)
    message = max(20, width - SEV - rule - service - 4 * PADDING - 2)
    return SEV, rule, service, message


class FindingsPanel(LinesTable):
    """A LinesTable: a finding is a row whose version is the finding itself, so a refresh
    that only moves some ages renders those rows again and nothing else."""

    DEFAULT_CSS = "FindingsPanel { height: 1fr; min-height: 5; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.show_cursor = False  # a cursor only while it is the list keys act on
        self._shown: tuple[Finding, ...] = ()
        self._widths: tuple[int, ...] | None = None

    def on_mount(self) -> None:
        self._layout(self.app.size.width)

    def on_focus(self) -> None:
        self.show_cursor = True
        super().on_focus()

    def on_blur(self) -> None:
        self.show_cursor = False
        super().on_blur()

    def finding_at(self, row_key: str | None) -> Finding | None:
        if not row_key or not row_key.startswith("f"):
            return None
        i = int(row_key[1:])
        return self._shown[i] if i < len(self._shown) else None

    def on_resize(self, event: events.Resize) -> None:
        self._layout(event.size.width)

    @property
    def narrow(self) -> bool:
        return len(self.columns) == 2

    def _layout(self, width: int) -> None:
        widths = column_widths(width)
        if widths == self._widths:
            return
        self._widths = widths
        columns: tuple[tuple[str, str], ...] = (
            ("sev", "Sev"),
            ("rule", "Rule"),
            ("service", "Service"),
            ("message", "Finding"),
        )
        if len(widths) == 2:
            columns = (("sev", "Sev"), ("message", "Finding: rule, service, what (tab, enter)"))
        self.set_columns(
            [
                TableColumn(key, Text(label), w)
                for (key, label), w in zip(columns, widths, strict=True)
            ]
        )
        self._rows_for(self._shown)

    def show(self, findings: tuple[Finding, ...]) -> None:
        if findings == self._shown and self.row_count:
            return
        self._shown = findings
        self._rows_for(findings)

    def _finding_cells(self, f: Finding) -> list[Text]:
        if self.narrow:  # rule, service and message in one line
            line = Text(f.rule, style="bold")
            line.append_text(safe(f" {f.service}" if f.service else ""))
            line.append(": ")
            line.append_text(safe(f.message))
            return [severity(f.severity), line]
        return [severity(f.severity), Text(f.rule), safe(f.service or "—"), safe(f.message)]

    def _rows_for(self, findings: tuple[Finding, ...]) -> None:
        if not findings:
            blank = [] if self.narrow else [Text(""), Text("")]
            none = [Text("ok", style="green"), Text("no findings"), *blank]
            self.set_rows(["ok"], {"ok": "ok"}, lambda key: none)
            return
        keys = [f"f{i}" for i in range(len(findings))]
        self.set_rows(
            keys,
            dict(zip(keys, findings, strict=True)),
            lambda key: self._finding_cells(findings[int(key[1:])]),
        )
