"""Who blocks whom, as pg_activity's blocking view: each holder of a lock others wait on, and
its waiters under it (services, states, ages, queries). Enter opens the selected backend in its
service's detail."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from console.core.assessment import Assessment
from console.core.locks import Node, blocking_trees, waited_s
from console.core.snapshot import Backend
from console.tui import keys
from console.tui.screens.base import ConsoleScreen
from console.tui.text import alarm, duration, safe
from console.tui.widgets.cluster_header import ClusterHeader
from console.tui.widgets.keys_footer import KeysFooter


def lead(depth: int) -> str:
    """A tree node's prefix: ▶ a holder, └ a session waiting on the line above."""
    return "  " * (depth - 1) + "└ " if depth else "▶ "


def lock_text(tree: Node, depth: int, b: Backend) -> Text:
    """'holds 80s, blocks 2' for a holder, 'waits 70s' for a waiter."""
    if depth:
        return Text(f"waits {duration(waited_s(b))}", style=alarm())
    return Text(f"holds {duration(b.xact_age_s)}, blocks {tree.blocked}", style=alarm())


def tree_rows(a: Assessment) -> list[tuple[str, str | None, list[Text]]]:
    """(row key, service, cells) for every node of every tree, holders first."""
    out: list[tuple[str, str | None, list[Text]]] = []
    for t, tree in enumerate(blocking_trees(a.snapshot.backends)):
        for depth, node in tree.walk():
            b = node.backend
            key = f"{t}-{node.pid}-{depth}"
            pid = Text(f"{lead(depth)}{node.pid}", style="bold" if not depth else "")
            if b is None:
                blank = [Text("")] * 3
                out.append((key, None, [pid, Text("not among the rows read", style="dim"), *blank]))
                continue
            service = a.service_of(b)
            cells = [
                pid,
                safe(service or f"({b.application_name or 'no name'})"),
                safe(b.state.replace("idle in transaction", "idle in tx")),
                lock_text(tree, depth, b),
                safe(" ".join(b.query.split())),
            ]
            out.append((key, service, cells))
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
        yield KeysFooter()
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
