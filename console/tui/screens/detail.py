"""A service's detail: its pools per instance, its server backends, its history."""

from __future__ import annotations

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from console.core.assessment import Assessment
from console.core.findings import RuleId
from console.core.locks import blocking_trees
from console.core.snapshot import Backend
from console.core.untrusted import clean
from console.tui import keys
from console.tui.screens.base import ConsoleScreen
from console.tui.screens.blocking import lead, lock_text
from console.tui.screens.confirm import ConfirmScreen
from console.tui.text import alarm, duration, gauge, num, safe, severity
from console.tui.widgets.cluster_header import ClusterHeader
from console.tui.widgets.history_line import HistoryLine
from console.tui.widgets.keys_footer import KeysFooter

IN_USE_SESSION = "In use (pool), this session"


def query_text(b: Backend | None) -> Text:
    if b is None:
        return Text("no backend selected", style="dim")
    t = Text()
    t.append(f"pid {b.pid}", style="bold")
    t.append(" · ")
    t.append_text(safe(b.state))
    if b.blocking_pids:
        t.append(" · blocked by ", style=alarm())
        t.append(", ".join(map(str, b.blocking_pids)), style=alarm())
    if b.xact_age_s is not None:
        t.append(f" · transaction {duration(b.xact_age_s)}")
    t.append(" · query: ")
    t.append(clean(b.query) or "—")
    return t


class QueryScreen(ModalScreen[None]):
    """A backend's whole query (as far as the server's track_activity_query_size and our own
    bound allow), wrapped and scrollable."""

    BINDINGS = keys.bindings(keys.DIALOG)
    DEFAULT_CSS = """
    QueryScreen { align: center middle; }
    QueryScreen > VerticalScroll { width: 90%; height: 80%; border: thick $primary;
                                   background: $surface; padding: 0 1; }
    """

    def __init__(self, text: Text) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.text)
            yield Static(Text("escape: back", style="dim"))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ServiceDetailScreen(ConsoleScreen):
    BINDINGS = keys.bindings(keys.BACKENDS_LIST)
    DEFAULT_CSS = """
    ServiceDetailScreen #title { height: auto; max-height: 25%; padding: 0 1; background: $boost;
                                 overflow-y: auto; }
    ServiceDetailScreen #pools { height: auto; max-height: 10; }
    ServiceDetailScreen #backends { height: 1fr; }
    ServiceDetailScreen #locks { height: auto; max-height: 5; padding: 0 1; overflow-y: auto; }
    ServiceDetailScreen #query { height: auto; max-height: 15%; padding: 0 1;
                                 background: $boost; overflow-y: auto; }
    ServiceDetailScreen #history { height: 2; }
    ServiceDetailScreen HistoryLine { width: 1fr; }
    ServiceDetailScreen .section { height: 1; padding: 0 1; text-style: bold; }
    """

    def __init__(self, service: str | None = None, pid: int | None = None) -> None:
        super().__init__()
        self.service = service
        self.pid = pid  # the backend to put the cursor on first (from a finding, a tree)
        self._backend_rows: list[Backend] = []
        self.remote_history: list[float] | None = None

    def show_service(self, service: str | None, pid: int | None = None) -> None:
        """Point this screen at another service (None: the unattributed sessions), the cursor
        to go on `pid`. The console keeps one detail screen and retargets it before each
        push: composing a screen of tables anew on every Enter was most of opening one."""
        self.service = service
        self.pid = pid
        self._backend_rows = []
        self.remote_history = None
        if self.is_mounted:
            self._retarget()

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield Static(id="title")
        yield Static("Pools per instance", classes="section", id="pools-title")
        yield DataTable(id="pools", cursor_type="none")
        yield Static(
            "Server backends  (c: cancel, k: terminate — with --allow-signal)",
            classes="section",
            id="backends-title",
        )
        yield Static(id="locks")
        yield DataTable(id="backends", cursor_type="row")
        yield Static(id="query")
        with Horizontal(id="history"):
            yield HistoryLine(IN_USE_SESSION, id="h-in-use")
            yield HistoryLine("Server connections, this session", id="h-server")
        yield KeysFooter()

    def on_mount(self) -> None:
        pools = self.query_one("#pools", DataTable)
        for label, w in (
            ("Instance", 24),
            ("Size", 5),
            ("Idle", 5),
            ("Use", 5),
            ("Max", 5),
            ("Fill", 10),
            ("Busy", 10),
            ("Sample age", 10),
            ("Up", 4),
        ):
            pools.add_column(Text(label), width=w)
        backends = self.query_one("#backends", DataTable)
        for label, w in (
            ("PID", 7),
            ("Application", 18),
            ("State", 19),
            ("In state", 8),
            ("Xact", 8),
            ("Wait", 14),
            ("Blocked by", 10),
            ("Client", 15),
            ("User", 10),
            ("Query", 60),
        ):
            backends.add_column(Text(label), width=w)
        self._retarget()

    def _retarget(self) -> None:
        """Everything shown of the previous service goes; this one's history is asked for."""
        for table in self.query(DataTable):
            table.clear()
        self.query_one("#query", Static).update("")
        self.query_one("#locks", Static).display = False
        self.query_one("#h-in-use", HistoryLine).set([], IN_USE_SESSION)
        self.query_one("#h-server", HistoryLine).set([])
        pooled = self.service is not None
        for part in ("#history", "#pools", "#pools-title"):
            self.query_one(part).display = pooled
        self.query_one("#backends", DataTable).focus()
        if pooled:
            self.load_remote_history()

    @on(events.ScreenResume)
    def _watch_instances(self) -> None:
        # its instances one by one and its idle sessions while it is shown; not beneath a
        # dialog, not once left
        self.console.feed.focus(self.service)

    @on(events.ScreenSuspend)
    def _unwatch_instances(self) -> None:
        self.console.feed.unfocus()

    def on_unmount(self) -> None:
        self.console.feed.unfocus()

    @work(exit_on_error=False, group="history", exclusive=True)
    async def load_remote_history(self) -> None:
        service = self.service
        assert service is not None
        values = await self.console.fetch_history(service)
        if values and service == self.service:  # not retargeted meanwhile
            self.remote_history = values
            self.query_one("#h-in-use", HistoryLine).set(
                values, "In use (pool), Prometheus, last hour"
            )

    def show_assessment(self, a: Assessment) -> None:
        self.show_header(a)
        title = Text()
        if self.service is None:
            u = a.unattributed
            title.append("(unattributed)", style="bold")
            title.append(f"  {num(u.server_connections)} client connections matching no service: ")
            title.append_text(
                safe(", ".join(f"{k or '(no name)'} ×{v}" for k, v in u.by_application.items()))
            )
        else:
            row = a.service(self.service)
            title.append_text(safe(row.name, "bold"))
            title.append(
                f"   tier {clean(row.tier or '—')}  max {row.allocated_max} min "
                f"{row.allocated_min} × {row.replicas} replicas "
                f"({'live' if row.replicas_source == 'metrics' else 'allocation file'})"
                f"  = {row.allocated_max * row.replicas} allocated"
                f"  server connections {num(row.server_connections)}"
            )
            if row.allocation_source == "library-default":
                title.append("  library default", style="italic yellow")
        for f in a.findings:
            if f.service == self.service and (self.service or f.rule == RuleId.UNKNOWN_APPLICATION):
                title.append("\n")
                title.append_text(severity(f.severity))
                title.append(f"  {f.rule}: ")
                title.append_text(safe(f.message))
        self.query_one("#title", Static).update(title)
        if self.service is not None:
            self._pools(a, self.service)
            hist = self.console.history
            if self.remote_history is None:
                self.query_one("#h-in-use", HistoryLine).set(hist.values(self.service, "in_use"))
            self.query_one("#h-server", HistoryLine).set(
                hist.values(self.service, "server_connections")
            )
        self._backends(a)
        self._locks(a)

    def _locks(self, a: Assessment) -> None:
        """The blocking trees this service is in (as holder or waiter): who blocks whom."""
        lines = Text()
        for tree in blocking_trees(a.snapshot.backends):
            nodes = list(tree.walk())
            mine = [n for _, n in nodes if n.backend and a.service_of(n.backend) == self.service]
            if not mine:
                continue
            for depth, n in nodes:
                b = n.backend
                lines.append(f"{lead(depth)}pid {n.pid} ", style="bold" if n in mine else "")
                if b is None:
                    lines.append("(not among the rows read)\n", style="dim")
                    continue
                lines.append_text(safe(b.application_name or "(no name)"))
                lines.append(" " if depth else f" {b.state}, ")
                lines.append_text(lock_text(tree, depth, b))
                lines.append("\n")
        lines.rstrip()
        box = self.query_one("#locks", Static)
        box.display = bool(lines.plain)
        box.update(lines)

    def _pools(self, a: Assessment, service: str) -> None:
        table = self.query_one("#pools", DataTable)
        table.clear()
        row = a.service(service)
        for p in row.instances:
            drift = p.max is not None and p.max != row.allocated_max
            table.add_row(
                safe(p.instance),
                Text(num(p.size)),
                Text(num(p.idle)),
                Text(num(p.in_use)),
                Text("unlimited", style=alarm())
                if p.unlimited
                else Text(num(p.max), style="bold yellow" if drift else ""),
                gauge(p.fill_pct),
                gauge(p.busy_pct),
                Text(duration(p.sample_age_s)),
                Text(
                    "yes" if p.up else "—" if p.up is None else "DOWN",
                    style="" if p.up is not False else alarm(),
                ),
            )
        if not row.instances:
            n = row.pools.instances if row.pools else 0
            table.add_row(
                Text(
                    f"{n} instance(s), added up; one by one from the next refresh"
                    if n
                    else "no pool metrics for this service",
                    style="dim",
                ),
                *[Text("")] * 8,
            )

    def _backends(self, a: Assessment) -> None:
        table = self.query_one("#backends", DataTable)
        rows = a.backends_of(self.service)
        # Keep the cursor on the same backend (by pid), never on whatever row moved under it:
        # c / k act on the selected backend.
        selected = self.selected_backend()
        table.clear()
        self._backend_rows = list(rows)
        for b in rows:
            state_style = (
                "yellow"
                if b.state.startswith("idle in")
                else "green"
                if b.state == "active"
                else "dim"
            )
            wait = f"{b.wait_event_type}:{b.wait_event}" if b.wait_event_type else ""
            table.add_row(
                Text(str(b.pid)),
                safe(b.application_name),
                safe(b.state, state_style),
                Text(duration(b.state_age_s)),
                Text(duration(b.xact_age_s)),
                safe(wait, "red" if b.wait_event_type == "Lock" else ""),
                Text(", ".join(map(str, b.blocking_pids)), style=alarm()),
                safe(b.client_addr or "local"),
                safe(b.usename or ""),
                safe(" ".join(b.query.split())),
                key=str(b.pid),
            )
        pids = [b.pid for b in rows]
        want = selected.pid if selected is not None else self.pid
        if want is not None and want in pids:
            table.move_cursor(row=pids.index(want), animate=False)
        self._show_query()

    @on(DataTable.RowHighlighted, "#backends")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_query()

    def _show_query(self) -> None:
        """The selected backend's whole query, wrapped, with what blocks it: no sideways
        scrolling at any width."""
        self.query_one("#query", Static).update(query_text(self.selected_backend()))

    @on(DataTable.RowSelected, "#backends")
    def _open_query(self, event: DataTable.RowSelected) -> None:
        b = self.selected_backend()
        if b is not None:
            self.app.push_screen(QueryScreen(query_text(b)))

    def selected_backend(self) -> Backend | None:
        table = self.query_one("#backends", DataTable)
        if not self._backend_rows or table.cursor_row >= len(self._backend_rows):
            return None
        return self._backend_rows[table.cursor_row]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """c / k are offered only when signalling is on (--allow-signal)."""
        if action == "signal":
            return self.console.settings.allow_signal
        return True

    def action_signal(self, terminate: bool) -> None:
        verb = "terminate" if terminate else "cancel"
        if not self.console.settings.allow_signal:
            self.app.notify(
                f"{verb} is off: start novapool with --allow-signal",
                severity="warning",
                markup=False,
            )
            return
        b = self.selected_backend()
        if b is None:
            return
        if not terminate and b.state.startswith("idle"):
            # PostgreSQL ignores a cancel when no query runs: saying "sent" would be a lie.
            self.app.notify(
                f"cancel has no effect on pid {b.pid}: it is {b.state}, no query is running. "
                "k terminates it (and rolls back its transaction).",
                severity="warning",
                markup=False,
            )
            return
        q = Text(f"{verb.capitalize()} backend pid {b.pid}?\n\n", style="bold")
        q.append("service: ")
        q.append_text(safe(self.service or b.application_name or "(unattributed)"))
        q.append("\nstate: ")
        q.append_text(safe(b.state))
        q.append("\nquery: ")
        q.append_text(safe(" ".join(b.query.split())[:200]))
        if terminate:
            q.append(
                "\n\nTerminating closes the connection and rolls back its transaction.",
                style="yellow",
            )

        def done(yes: bool | None) -> None:
            if yes:
                self.console.signal_backend(b, self.service, terminate)

        self.app.push_screen(ConfirmScreen(q, yes=verb.capitalize(), no="Keep"), done)
