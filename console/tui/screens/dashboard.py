"""The dashboard: header, budget bar, services table, findings. It only shows an assessment
and turns keys into app actions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from console.core.assessment import Assessment
from console.tui.widgets.budget_bar import BudgetBar
from console.tui.widgets.cluster_header import ClusterHeader
from console.tui.widgets.findings_panel import FindingsPanel
from console.tui.widgets.services_table import SORTS, UNATTRIBUTED, ServicesTable


class DashboardScreen(Screen):
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield BudgetBar(id="budget")
        with Vertical(id="main"):
            yield Static("", id="table-title")
            yield ServicesTable(id="services")
            yield Input(placeholder="filter services by name (enter to apply, escape to clear)",
                        id="filter")
            yield FindingsPanel(id="findings")
        yield Footer()

    ready = False  # composed and mounted: safe to query widgets

    def on_mount(self) -> None:
        self.ready = True
        self.query_one("#filter").display = False
        self.query_one(ServicesTable).focus()
        if self.app.assessment is not None:
            self.show_assessment(self.app.assessment)
        else:
            self.query_one(ClusterHeader).show(None)

    def show_assessment(self, a: Assessment) -> None:
        if not self.ready:
            return  # on_mount shows the latest assessment
        app = self.app
        self.query_one(ClusterHeader).show(a)
        self.query_one(BudgetBar).show(a.budget, a.client_backends)
        table = self.query_one(ServicesTable)
        table.show(a, app.history, self.size.width or 80,
                   app.settings.thresholds.pool_utilization_pct)
        self._title(table)
        self.query_one(FindingsPanel).show(a.findings)

    def _title(self, table: ServicesTable) -> None:
        from rich.text import Text
        t = Text(" Services", style="bold")
        t.append(f"  sorted by {table.sort_name}", style="dim")
        if table.filter_text:
            t.append("  filter: ", style="dim")
            t.append(table.filter_text, style="bold yellow")
        t.append("   enter: detail  /: filter  s: sort", style="dim")
        self.query_one("#table-title", Static).update(t)

    def on_resize(self) -> None:
        if self.app.assessment is not None:
            self.show_assessment(self.app.assessment)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "services":
            return
        key = event.row_key.value
        if key:
            self.app.open_detail(None if key == UNATTRIBUTED else key)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(ServicesTable).focus()
            event.input.display = bool(event.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_one(ServicesTable).filter_text = event.value
            if self.app.assessment is not None:
                self.show_assessment(self.app.assessment)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.query_one(ServicesTable).focus()

    def action_sort(self) -> None:
        table = self.query_one(ServicesTable)
        table.sort_index = (table.sort_index + 1) % len(SORTS)
        if self.app.assessment is not None:
            self.show_assessment(self.app.assessment)
