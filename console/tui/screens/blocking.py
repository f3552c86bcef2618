"""Who blocks whom, as pg_activity's blocking view: each holder of a lock others wait on, and
its waiters under it (services, states, ages, queries). Enter opens the selected backend in its
service's detail."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Static

from console.core.assessment import Assessment
from console.core.locks import blocking_trees, waited_s
from console.tui import keys
from console.tui.screens.base import ConsoleScreen
from console.tui.text import alarm, duration, safe
from console.tui.widgets.cluster_header import ClusterHeader


def tree_rows(a: Assessment) -> list[tuple[str, str | None, list[Text]]]:
    """(row key, service, cells) for every node of every tree, holders first."""
    out: list[tuple[str, str | None, list[Text]]] = []
    for t, tree in enumerate(blocking_trees(a.snapshot.backends)):
        for depth, node in tree.walk():
            b = node.backend
            lead = "  " * (depth - 1) + "└ " if depth else "▶ "
            pid = Text(f"{lead}{node.pid}", style="bold" if not depth else "")
            if b is None:
                out.append(
                    (
                        f"{t}-{node.pid}-{depth}",
                        None,
                        [pid, Text("not among the rows read", style="dim")] + [Text("")] * 3,
                    )
                )
                continue
            service = a.allocation.service_for(
                b.application_name, b.usename or "", b.client_addr or ""
            )
            if depth:
                age = Text(f"waits {duration(waited_s(b))}", style="red")
            else:
                age = Text(
                    f"holds {duration(b.xact_age_s)}, blocks {tree.blocked}",
                    style=alarm(),
                )
            out.append(
                (
                    f"{t}-{node.pid}-{depth}",
                    service,
                    [
                        pid,
                        safe(service or f"({b.application_name or 'no name'})"),
                        safe(b.state.replace("idle in transaction", "idle in tx")),
                        age,
                        safe(" ".join(b.query.split())),
                    ],
                )
            )
    return out


class BlockingScreen(ConsoleScreen):
    BINDINGS = keys.bindings(keys.BLOCKING_VIEW)

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield Static(
            Text(
                " Blocking: who holds the locks others wait on (▶ holder, └ waiting on the "
                "line above)   enter: open in its service",
                style="bold",
            ),
            id="table-title",
        )
        table: DataTable[Text] = DataTable(id="blocking", cursor_type="row")
        for label, width in (  # 80 columns show all but most of the query
            ("PID", 10),
            ("Service (app)", 16),
            ("State", 12),
            ("Lock", 24),
            ("Query", 80),
        ):
            table.add_column(Text(label), width=width)
        yield table
        yield Footer()
        self._services: dict[str, str | None] = {}

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def show_assessment(self, a: Assessment) -> None:
        self.show_header(a)
        table: DataTable[Text] = self.query_one(DataTable)
        table.clear()
        self._services = {}
        rows = tree_rows(a)
        for key, service, cells in rows:
            self._services[key] = service
            table.add_row(*cells, key=key)
        if not rows:
            table.add_row(
                Text("no backend waits on another's lock", style="green"), *[Text("")] * 5
            )

    @on(DataTable.RowSelected, "#blocking")
    def open_backend(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None or key not in self._services:
            return
        pid = int(key.split("-")[1])
        self.console.open_detail(self._services[key], pid)
