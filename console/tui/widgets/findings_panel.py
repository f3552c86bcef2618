"""Findings sorted by severity, each naming the service, the pids and the number behind it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from console.core.findings import Finding
from console.tui.text import safe, severity


class FindingsPanel(DataTable[Text]):
    DEFAULT_CSS = "FindingsPanel { height: 1fr; min-height: 5; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", show_cursor=False, **kwargs)
        self._shown: tuple[Finding, ...] = ()

    def on_mount(self) -> None:
        narrow = self.app.size.width < 120
        self.add_column(Text("Sev"), key="sev", width=4)
        self.add_column(Text("Rule"), key="rule", width=18 if narrow else 26)
        self.add_column(Text("Service"), key="service", width=12 if narrow else 20)
        self.add_column(Text("Finding"), key="message")

    def show(self, findings: tuple[Finding, ...]) -> None:
        if findings == self._shown:
            return
        self._shown = findings
        self.clear()
        if not findings:
            self.add_row(Text("ok", style="green"), Text("no findings"), Text(""), Text(""))
            return
        for i, f in enumerate(findings):
            self.add_row(
                severity(f.severity),
                Text(f.rule),
                safe(f.service or "—"),
                safe(f.message),
                key=f"f{i}",
            )
