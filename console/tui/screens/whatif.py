"""The what-if editor: the allocation's copy, before → after per service and for the budget,
recomputed on every edit by the same budget code as everywhere else."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from console.core import budget as budget_mod
from console.core.allocation import EditError
from console.core.assessment import Assessment
from console.core.findings import CRITICAL
from console.core.fleet import planned_conflicts
from console.core.whatif import suggest
from console.tui import keys
from console.tui.screens.base import ConsoleScreen
from console.tui.screens.edit_form import ClusterForm, ServiceForm
from console.tui.screens.suggest_dialog import SuggestDialog, SuggestRequest
from console.tui.text import SEVERITY_STYLE, alarm, safe
from console.tui.widgets.budget_bar import BudgetBar, scale_of
from console.tui.widgets.keys_footer import KeysFooter

CLUSTER_ROW = "__cluster__"


def arrow(before: int, after: int) -> Text:
    if before == after:
        return Text(str(after), justify="right")
    t = Text(justify="right")
    t.append(f"{before}→", style="dim")
    t.append(str(after), style="bold green" if after < before else "bold yellow")
    return t


def budget_summary(before: budget_mod.Budget, after: budget_mod.Budget) -> Text:
    t = Text(no_wrap=True)
    for label, b, a in (
        ("allocated", before.allocated, after.allocated),
        ("available", before.available, after.available),
        ("headroom", before.headroom, after.headroom),
        ("min floor", before.min_floor, after.min_floor),
    ):
        t.append(f" {label} ")
        if a != b:
            t.append(f"{b} → ", style="dim")
            t.append(str(a), style="bold")
        else:
            t.append(str(a))
        t.append("  ")
    if after.overcommitted:
        t.append(f"OVERCOMMITTED by {-after.headroom}: export needs confirmation", style=alarm())
    else:
        t.append(f"headroom {after.headroom_pct}%", style="green")
    return t


class WhatIfScreen(ConsoleScreen):
    BINDINGS = keys.bindings(keys.WHAT_IF)
    DEFAULT_CSS = """
    WhatIfScreen #title { height: 1; background: $boost; padding: 0 1; }
    WhatIfScreen #summary { height: 1; }
    WhatIfScreen #edits { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    WhatIfScreen #whatif-table { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(
            Text(
                " What-if: edits apply to a copy of the allocation; nothing changes "
                "until you export.",
                style="bold",
            ),
            id="title",
        )
        yield BudgetBar(id="before")
        yield BudgetBar(id="after")
        yield Static(id="summary")
        yield DataTable(id="whatif-table", cursor_type="row")
        yield Static(id="edits")
        yield KeysFooter()

    _drawn: tuple[object, ...] | None = None  # what the table and the edits line show now

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key, width in (
            ("Service", "name", 22),
            ("Tier", "tier", 11),
            ("Max", "max", 8),
            ("Min", "min", 7),
            ("Replicas", "replicas", 8),
            ("Allocated", "allocated", 10),
            ("Floor", "floor", 7),
            ("Timeouts c/a/i/life (s)", "timeouts", 26),
        ):
            table.add_column(Text(label), key=key, width=width)
        table.focus()
        self.refresh_view()

    def show_assessment(self, a: Assessment) -> None:
        """Live values may have moved (the app replays the edits on top of them)."""
        self.refresh_view()

    @property
    def server(self) -> str | None:
        """The server whose budget is edited: the dashboard's, when there are several."""
        if not self.console.allocation.several_servers:
            return None
        return self.console.server_name or self.console.allocation.server_names()[0]

    def target(self, name: str) -> str:
        """An edit's target: `feed-service@replica-1` when there are several servers."""
        return name if self.server is None else f"{name}@{self.server}"

    def refresh_view(self) -> None:
        w = self.console.whatif
        server = self.server
        before, after = w.budget_before(server), w.budget_after(server)
        latest = self.console.assessment
        clients = latest.client_backends if latest else None
        scale = scale_of(before, after, client_backends=clients)  # one scale: they compare
        self.query_one("#before", BudgetBar).show(before, clients, "Before", scale)
        self.query_one("#after", BudgetBar).show(after, clients, "After ", scale)
        summary = budget_summary(before, after)
        for finding in planned_conflicts(w.current):
            summary.append(f"  {finding.message}", style=SEVERITY_STYLE[CRITICAL])
        self.query_one("#summary", Static).update(summary)
        if server is not None:
            self.query_one("#title", Static).update(
                Text(
                    f" What-if on {server} (its pools and slots; [ ] switches server): edits "
                    "apply to a copy of the allocation until you export.",
                    style="bold",
                )
            )
        drawn = (w.start_point, w.current, len(w.edits), w.dirty, server)
        if drawn == self._drawn:
            return  # a refresh that moved no live value: only the bars' clients changed
        self._drawn = drawn
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        start, cur = w.start_point.for_server(server), w.current.for_server(server)
        for svc0, svc1 in zip(start.services, cur.services, strict=True):
            p0, p1 = start.effective(svc0), cur.effective(svc1)
            changed = p0 != p1 or svc0.replicas != svc1.replicas
            timeouts = Text()
            for f in (
                "connect_timeout_secs",
                "acquire_timeout_secs",
                "idle_timeout_secs",
                "max_lifetime_secs",
            ):
                a, b = getattr(p0, f), getattr(p1, f)
                timeouts.append(
                    str(b) if a == b else f"{a}→{b}", style="" if a == b else "bold yellow"
                )
                timeouts.append("/")
            timeouts.right_crop(1)
            table.add_row(
                safe(svc1.name, "bold" if changed else ""),
                safe(svc1.tier or "—", "dim"),
                arrow(p0.max_connections, p1.max_connections),
                arrow(p0.min_connections, p1.min_connections),
                arrow(svc0.replicas, svc1.replicas),
                arrow(p0.max_connections * svc0.replicas, p1.max_connections * svc1.replicas),
                arrow(p0.min_connections * svc0.replicas, p1.min_connections * svc1.replicas),
                timeouts,
                key=svc1.name,
            )
        c0, c1 = start.cluster, cur.cluster
        table.add_row(
            Text("cluster", style="bold"),
            Text("slots", style="dim"),
            arrow(c0.max_connections, c1.max_connections),
            arrow(c0.superuser_reserved_connections, c1.superuser_reserved_connections),
            arrow(c0.reserved_connections, c1.reserved_connections),
            Text(f"avail {after.available}", justify="right"),
            Text(""),
            Text("max/su-res/res (16+)", style="dim"),
            key=CLUSTER_ROW,
        )
        if cursor < table.row_count:
            table.move_cursor(row=cursor, animate=False)
        edits = Text()
        if w.edits:
            edits.append(
                f"{len(w.edits)} edit(s){' (exported)' if not w.dirty else ''}: ", style="bold"
            )
            edits.append(" ".join(e.describe() for e in w.edits[-12:]))
        else:
            edits.append("no edits yet: +/- max, enter edits a row, g suggests from observed peaks")
        self.query_one("#edits", Static).update(edits)

    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value

    def action_nudge(self, delta: int) -> None:
        name = self.selected()
        if name is None or name == CLUSTER_ROW:
            if name == CLUSTER_ROW:
                self._apply(
                    self.target("cluster"),
                    "max_connections",
                    self.console.whatif.current.server(self.server).cluster.max_connections + delta,
                )
            return
        try:
            self.console.whatif.nudge(self.target(name), delta)
        except EditError as exc:
            self.app.notify(str(exc), severity="warning", markup=False)
        self.refresh_view()

    def _apply(self, target: str, field: str, value: int) -> None:
        try:
            self.console.whatif.apply(target, field, value)
        except EditError as exc:
            self.app.notify(str(exc), severity="warning", markup=False)
        self.refresh_view()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        name = event.row_key.value
        w = self.console.whatif
        if name is None:
            return
        if name == CLUSTER_ROW:
            self.app.push_screen(
                ClusterForm(w, self.target("cluster")), lambda _: self.refresh_view()
            )
        else:
            self.app.push_screen(ServiceForm(w, self.target(name)), lambda _: self.refresh_view())

    def action_undo(self) -> None:
        last = self.console.whatif.undo()
        self.app.notify(f"undid {last.describe()}" if last else "nothing to undo", markup=False)
        self.refresh_view()

    def action_export(self) -> None:
        self.console.action_export()

    def action_suggest(self) -> None:
        def chosen(request: SuggestRequest | None) -> None:
            if request is not None:
                self.suggest(request)

        self.app.push_screen(SuggestDialog(self.console.feed.has_history), chosen)

    @work(exit_on_error=False, group="suggest")
    async def suggest(self, request: SuggestRequest) -> None:
        app = self.console
        peaks, where = await app.fetch_peaks(request.window)
        if not peaks:
            app.notify(
                "no observed in-use figures for that window: suggest needs pool metrics",
                severity="warning",
                markup=False,
            )
            return
        w = app.whatif
        proposal = suggest(
            w.current.for_server(self.server),
            peaks,
            w.budget_after(self.server).available,
            margin_pct=request.margin_pct,
        )
        n = 0
        for name, value in proposal.items():
            target = self.target(name)
            if value == w.value(w.current, target, "max"):
                continue
            if value < w.value(w.current, target, "min"):
                w.apply(target, "min", value)  # the min comes down with the max
            w.apply(target, "max", value)
            n += 1
        app.notify(
            f"suggested {n} change(s) from peak in-use ({where}) + "
            f"{request.margin_pct} %; u undoes them one by one",
            markup=False,
            severity="warning" if "SHORT" in where else "information",
            timeout=12,
        )
        self.refresh_view()
