"""The dashboard: header, budget bar, services table, findings. It only shows an assessment
and turns keys into app actions."""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from console.core.assessment import Assessment
from console.core.budget import overcommit_cause
from console.tui import keys
from console.tui.screens.base import ConsoleScreen
from console.tui.widgets.budget_bar import BudgetBar
from console.tui.widgets.cluster_header import ClusterHeader
from console.tui.widgets.findings_panel import FindingsPanel
from console.tui.widgets.keys_footer import KeysFooter
from console.tui.widgets.lines_table import LinesTable
from console.tui.widgets.quiet_static import QuietStatic
from console.tui.widgets.servers_strip import ServersStrip
from console.tui.widgets.services_table import (
    CYCLE,
    SORT_NAMES,
    SORT_OF_COLUMN,
    UNATTRIBUTED,
    ServicesTable,
)


class DashboardScreen(ConsoleScreen):
    BINDINGS = keys.bindings(keys.SERVICES_TABLE)

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield ServersStrip(id="servers-strip")
        yield BudgetBar(id="budget")
        with Vertical(id="main"):
            yield QuietStatic("", id="table-title")
            # in the title's line while it is typed: nothing else moves when it opens
            yield Input(
                placeholder="filter services by name (enter to apply, escape to clear)", id="filter"
            )
            yield ServicesTable(id="services")
            yield FindingsPanel(id="findings")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#filter").display = False
        self.query_one(ServicesTable).focus()

    @property
    def table(self) -> ServicesTable:
        return self.query_one(ServicesTable)

    def show_assessment(self, a: Assessment) -> None:
        c = self.console
        self.show_header(a)
        self.query_one(ServersStrip).show(c.fleet, c.server_name)
        self.query_one(BudgetBar).show(
            a.budget, a.client_backends, cause=overcommit_cause(a.budget, a.allocation)
        )
        self._show_table(a)
        self.query_one(FindingsPanel).show(a.findings)

    def _show_table(self, a: Assessment) -> None:
        c = self.console
        self.table.show(
            a,
            c.history,
            self.size.width or 80,
            c.settings.thresholds.pool_utilization_pct,
            c.refresh_s,
        )
        self._title()

    def refresh_view(self) -> None:
        """Show the latest assessment again (the view changed: its size)."""
        if self.console.assessment is not None:
            self.show_assessment(self.console.assessment)

    def refresh_table(self) -> None:
        """The services again (their sort or filter changed): nothing else moved."""
        if self.console.assessment is not None:
            self._show_table(self.console.assessment)

    def _title(self) -> None:
        table = self.table
        t = Text(" Services", style="bold")
        if self.console.assessment is not None and self.console.assessment.allocation.observed:
            t.append(
                " (observed: max as reported; `novapool init` writes an allocation)", style="yellow"
            )
        t.append(f"  sorted by {table.sort_name}", style="dim")
        if table.filter_text:
            t.append("  filter: ", style="dim")
            t.append(table.filter_text, style="bold yellow")
        t.append("   enter: detail  /: filter  s: sort", style="dim")
        self.query_one("#table-title", QuietStatic).show_text(t)

    def on_resize(self, event: events.Resize) -> None:
        self.refresh_view()

    @on(LinesTable.RowSelected, "#findings")
    def open_finding(self, event: LinesTable.RowSelected) -> None:
        """Enter on a finding: its service's detail, at its first pid."""
        f = self.query_one(FindingsPanel).finding_at(event.row_key)
        if f is None:
            return
        if f.service is None and not f.pids:
            self.app.notify(f"{f.rule}: {f.message}", markup=False, timeout=10)
            return
        self.console.open_detail(f.service, f.pids[0] if f.pids else None)

    @on(LinesTable.RowSelected, "#services")
    def open_detail(self, event: LinesTable.RowSelected) -> None:
        key = event.row_key
        if key:
            self.console.open_detail(None if key == UNATTRIBUTED else key)

    def on_key(self, event: events.Key) -> None:
        """The filter owns every key from the moment `/` is pressed. Keys typed in one burst
        are all queued for the table before the app's binding pass would open the filter, and
        a focused Input swallows printable keys there: so `/` opens the filter here, as its
        key goes by, and printable keys still on their way to the table go to the filter
        (typing `/sql` must never sort and then quit)."""
        box = self.query_one("#filter", Input)
        if event.key == "slash" and self.focused is not box:
            event.stop()
            event.prevent_default()
            self.action_filter()
        elif self.focused is box and event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            box.insert_text_at_cursor(event.character)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        # Focus now, not later (Widget.focus defers it): keys typed right after `/` are
        # already queued, and must reach the filter, not the global bindings (q quits).
        self.set_focus(box)
        self.query_one("#table-title").display = False
        # While typing, the table keeps its height: rows filtered out leave blank lines
        # instead of moving everything below (each move re-rendered the findings: 70 ms a
        # character at 200 services).
        self.table.styles.height = self.table.outer_size.height
        self.table.hold_size = True

    def _filter_closed(self) -> None:
        self.query_one("#table-title").display = True
        self.table.styles.height = None  # back to the stylesheet's (auto)
        self.table.fit()
        self.table.focus()

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False  # the title says what the filter is
        self._filter_closed()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.table.filter_text = event.value
        self.refresh_table()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self._filter_closed()

    def action_sort(self) -> None:
        table = self.table
        table.sort_index = (table.sort_index + 1) % CYCLE if table.sort_index < CYCLE else 0
        self.refresh_table()

    @on(LinesTable.HeaderSelected, "#services")
    def sort_by_header(self, event: LinesTable.HeaderSelected) -> None:
        """A click on a column's header sorts by that column."""
        name = SORT_OF_COLUMN.get(event.column_key, "worst")
        self.table.sort_index = SORT_NAMES.index(name)
        self.refresh_table()
