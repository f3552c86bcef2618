"""Every server of the allocation, the worst first: role and recovery, state and latency, the
age of its data, clients and budget. Enter shows that server in the dashboard."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from console.core.assessment import Assessment
from console.core.findings import CRITICAL
from console.core.fleet import FleetAssessment, ServerAssessment
from console.core.snapshot import OK
from console.tui import keys
from console.tui.screens.base import ConsoleScreen
from console.tui.text import SEVERITY_STYLE, alarm, duration, safe, severity
from console.tui.widgets.cluster_header import ClusterHeader
from console.tui.widgets.keys_footer import KeysFooter

BAR = 10


def budget_cell(sa: ServerAssessment) -> Text:
    """'███████░░░ 61/97': allocated against available, on the server's own scale."""
    b = sa.assessment.budget
    filled = 0 if b.available <= 0 else min(BAR, round(BAR * b.allocated / b.available))
    t = Text(no_wrap=True)
    style = SEVERITY_STYLE[CRITICAL] if b.overcommitted else "green"
    t.append("█" * filled, style=style)
    t.append("░" * (BAR - filled), style="dim")
    t.append(f" {b.allocated}/{b.available}")
    if b.overcommitted:
        t.append(f" OVER by {-b.headroom}", style=style)
    return t


def role_cell(sa: ServerAssessment) -> Text:
    """The allocation's role, and what the server says when that differs."""
    t = Text(sa.server.role)
    if sa.in_recovery is not None and sa.in_recovery != (sa.server.role == "standby"):
        t.append(" (in recovery!)" if sa.in_recovery else " (not in recovery!)", style="bold")
    return t


def rows(fa: FleetAssessment, now: float) -> list[tuple[str, list[Text | str]]]:
    out: list[tuple[str, list[Text | str]]] = []
    for sa in fa.by_worst():
        status = sa.status
        if status.status == OK:
            state = Text(
                f"ok {status.latency_ms:.0f}ms" if status.latency_ms is not None else "ok",
                style="green",
            )
        else:
            state = Text(status.status, style=alarm())
        age = duration(now - status.as_of) if status.as_of else "—"
        a: Assessment = sa.assessment
        clients = "—" if a.client_backends is None else f"{a.client_backends}/{a.budget.available}"
        out.append(
            (
                sa.name,
                [
                    safe(sa.name, "bold"),
                    role_cell(sa),
                    state,
                    severity(fa.worst_of(sa.name)),
                    str(len(fa.findings_of(sa.name))),
                    budget_cell(sa),
                    clients,
                    age,
                ],
            )
        )
    return out


class ServersScreen(ConsoleScreen):
    BINDINGS = keys.bindings(keys.SERVERS_LIST)

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield Static(
            Text(" Servers, the worst first   enter: show in the dashboard", style="bold"),
            id="table-title",
        )
        table: DataTable[Text | str] = DataTable(id="servers", cursor_type="row")
        for label in ("Server", "Role", "State", "Worst", "#", "Budget allocated/available"):
            table.add_column(label)
        table.add_column("Clients")
        table.add_column("Data age")
        yield table
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def show_assessment(self, a: Assessment) -> None:
        self.show_header(a)
        fa = self.console.fleet
        if fa is None:
            return
        table: DataTable[Text | str] = self.query_one(DataTable)
        keep = table.cursor_row
        selected = None
        if table.row_count:
            selected = table.coordinate_to_cell_key(Coordinate(keep, 0)).row_key.value
        table.clear()
        for name, cells in rows(fa, self.console.clock()):
            table.add_row(*cells, key=name)
        names = [s.name for s in fa.by_worst()]
        if selected in names:
            table.move_cursor(row=names.index(selected))

    @on(DataTable.RowSelected, "#servers")
    def open_server(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.console.show_server(event.row_key.value)
            self.app.pop_screen()
