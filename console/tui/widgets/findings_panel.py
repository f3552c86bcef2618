"""Findings sorted by severity, each naming the service, the pids and the number behind it.
The columns follow the terminal's width: rule and service names whole when there is room, the
message taking the rest."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events

from console.core.findings import Finding
from console.tui.text import safe, severity
from console.tui.widgets.table import RowCachedTable

SEV, RULE, SERVICE = 4, 26, 22  # widest rule id and a long service name
PADDING = 2  # DataTable's cell padding, left and right of each column


NARROW = 100  # below this: severity and one line (rule, service and message in it)


def column_widths(width: int) -> tuple[int, ...]:
    """Severity, rule, service and message widths for a table `width` cells wide; below
    NARROW, severity and one line."""
    if width < NARROW:
        return SEV, max(20, width - SEV - 2 * PADDING - 2)
    rule, service = (RULE, SERVICE) if width >= 120 else (18, 12)
    message = max(20, width - SEV - rule - service - 4 * PADDING - 2)
    return SEV, rule, service, message


def _identity(f: Finding) -> tuple[object, ...]:
    """What makes a finding the same one from refresh to refresh: not its message, whose
    ages move every second."""
    return (f.rule, f.severity, f.service, f.server, f.pids)


class FindingsPanel(RowCachedTable[Text]):
    DEFAULT_CSS = "FindingsPanel { height: 1fr; min-height: 5; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", show_cursor=False, **kwargs)
        self._shown: tuple[Finding, ...] = ()
        self._widths: tuple[int, ...] | None = None

    def on_mount(self) -> None:
        self._layout(self.app.size.width)

    def on_focus(self) -> None:
        self.show_cursor = True  # a cursor only while it is the list keys act on

    def on_blur(self) -> None:
        self.show_cursor = False

    def finding_at(self, row_key: str | None) -> Finding | None:
        if not row_key or not row_key.startswith("f"):
            return None
        i = int(row_key[1:])
        return self._shown[i] if i < len(self._shown) else None

    def on_resize(self, event: events.Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        widths = column_widths(width)
        if widths == self._widths:
            return
        self._widths = widths
        self.clear(columns=True)
        columns: tuple[tuple[str, str], ...] = (
            ("sev", "Sev"),
            ("rule", "Rule"),
            ("service", "Service"),
            ("message", "Finding"),
        )
        if len(widths) == 2:
            columns = (("sev", "Sev"), ("message", "Finding: rule, service, what (tab, enter)"))
        for (key, label), w in zip(columns, widths, strict=True):
            self.add_column(Text(label), key=key, width=w)
        self._rows_for(self._shown)

    def show(self, findings: tuple[Finding, ...]) -> None:
        """Rebuilt only when the findings themselves change; a refresh that only moves their
        numbers (ages) updates the message cells in place."""
        if findings == self._shown and self.row_count:
            return
        same = [_identity(f) for f in findings] == [_identity(f) for f in self._shown]
        old, self._shown = self._shown, findings
        if same and findings and self.row_count == len(findings):
            self.update_cells(
                (f"f{i}", "message", self._message(f))
                for i, (f, was) in enumerate(zip(findings, old, strict=True))
                if f.message != was.message
            )
            return
        self.clear()
        self._rows_for(findings)

    def _message(self, f: Finding) -> Text:
        if len(self.columns) == 2:  # narrow: rule, service and message in one line
            line = Text(f.rule, style="bold")
            line.append_text(safe(f" {f.service}" if f.service else ""))
            line.append(": ")
            line.append_text(safe(f.message))
            return line
        return safe(f.message)

    def _rows_for(self, findings: tuple[Finding, ...]) -> None:
        narrow = len(self.columns) == 2
        if not findings:
            blank = [] if narrow else [Text(""), Text("")]
            self.add_row(Text("ok", style="green"), Text("no findings"), *blank)
            return
        for i, f in enumerate(findings):
            if narrow:
                self.add_row(severity(f.severity), self._message(f), key=f"f{i}")
                continue
            self.add_row(
                severity(f.severity),
                Text(f.rule),
                safe(f.service or "—"),
                self._message(f),
                key=f"f{i}",
            )
