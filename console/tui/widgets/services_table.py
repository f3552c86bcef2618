"""The services table: one row per service (and the unattributed connections). Drawn line by
line (LinesTable): a refresh renders again only the rows whose cells changed, a sort or a filter
re-orders rendered lines; the cursor stays on its row and the scroll position survives."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import BindingType

from console.core.assessment import Assessment, ServiceRow
from console.core.findings import Finding, RuleId, Severity, worst
from console.core.history import History
from console.tui import keys
from console.tui.text import alarm, gauge, num, safe, severity, sparkline
from console.tui.widgets.lines_table import LinesTable, TableColumn

UNATTRIBUTED = "__unattributed__"
UNATTRIBUTED_LABEL = "(unattributed)"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    min_screen: int  # shown from this terminal width on
    right: bool = True


# The in-use trend: a character is the max over TREND_CHAR_S seconds (or one refresh, when
# slower), so the line covers a minute at a 1 s refresh and moves once a character, not on
# every refresh: a pool scraped every 15 s would otherwise shift every row every second.
TREND_CHARS = 12
TREND_CHAR_S = 5.0
# What a service's row is drawn from: every field of its row but its pools and instances
# (their sample ages move every refresh; the row draws their totals, in fields of its own).
DRAWN = operator.attrgetter(
    *(f.name for f in dataclasses.fields(ServiceRow) if f.name not in ("pools", "instances"))
)

COLUMNS = [
    Column("name", "Service", 22, 0, right=False),
    Column("tier", "Tier", 11, 120, right=False),
    Column("replicas", "Rep", 3, 0),
    Column("max", "Max", 4, 0),  # as the pools report it (`!`: not the allocation's)
    Column("min", "Min", 4, 110),
    Column("size", "Size", 5, 100),
    Column("idle", "Idle", 4, 120),
    Column("in_use", "Use", 4, 0),
    Column("fill", "Fill", 10, 0),
    Column("busy", "Busy", 10, 90),
    Column("trend", "In use (hist)", 13, 140),
    Column("server", "Srv", 4, 0),
    Column("states", "Server states", 18, 150, right=False),
    Column("flags", "Flags", 8, 0, right=False),
]

# name → sort key of a row, given each service's (worst finding rank, findings count). The
# first is the default: the worst first, then the most findings, then the name.
SortKey = Callable[[ServiceRow, dict[str, tuple[int, int]]], Any]
SORTS: list[tuple[str, SortKey]] = [
    ("worst", lambda r, f: (-f.get(r.name, (-1, 0))[0], -f.get(r.name, (-1, 0))[1], r.name)),
    ("name", lambda r, f: r.name),
    ("busy", lambda r, f: (-(r.busy_pct or -1), r.name)),
    ("server conns", lambda r, f: (-(r.server_connections or -1), r.name)),
    ("allocated", lambda r, f: (-(r.allocated_max * r.replicas), r.name)),
    ("fill", lambda r, f: (-(r.fill_pct or -1), r.name)),
    ("in use", lambda r, f: (-(r.in_use or -1), r.name)),
    ("replicas", lambda r, f: (-r.replicas, r.name)),
    ("tier", lambda r, f: (r.tier or "~", r.name)),
]
SORT_NAMES = [name for name, _ in SORTS]
# A click on a column's header sorts by it (columns without a sort of their own: the worst).
SORT_OF_COLUMN = {
    "name": "name",
    "tier": "tier",
    "replicas": "replicas",
    "max": "allocated",
    "in_use": "in use",
    "fill": "fill",
    "busy": "busy",
    "server": "server conns",
    "flags": "worst",
}
CYCLE = 5  # `s` cycles the first five; the others are a header click away


def _right(t: Text | str) -> Text:
    t = Text(t) if isinstance(t, str) else t
    t.justify = "right"
    return t


def _states(states: dict[str, int]) -> Text:
    short = {
        "active": "act",
        "idle": "idle",
        "idle in transaction": "iitx",
        "idle in transaction (aborted)": "iitx!",
    }
    t = Text(no_wrap=True)
    for k, v in states.items():
        style = "yellow" if k.startswith("idle in") else "green" if k == "active" else "dim"
        t.append(f"{short.get(k, k[:4])} {v} ", style=style)
    return t


def max_cell(row: ServiceRow) -> Text:
    """The max the pools run with: what they report where they do (Fill and Busy are of it),
    else the allocation's. A reported max other than the allocation's is marked `!` (its
    pool-max-drift finding says both)."""
    if row.pool_max_reported is not None and row.pool_max_reported != row.allocated_max:
        return Text(f"{num(row.pool_max_reported)}!", style="bold yellow")
    return Text(
        str(row.allocated_max),
        style="italic yellow" if row.allocation_source == "library-default" else "",
    )


def row_cells(
    row: ServiceRow,
    keys: list[str],
    sev: Severity | None,
    rules: list[str],
    trend: list[float],
    threshold: float,
) -> list[Text]:
    over = (
        row.server_connections is not None
        and row.server_connections > row.allocated_max * row.replicas
    )
    values = {
        "name": safe(row.name, "bold" if sev == Severity.CRITICAL else ""),
        "tier": safe(row.tier or "—", "dim"),
        "replicas": _right(
            Text(str(row.replicas), style="bold" if row.replicas_source == "metrics" else "dim")
        ),
        "max": _right(max_cell(row)),
        "min": _right(str(row.allocated_min)),
        "size": _right(num(row.pool_size)),
        "idle": _right(num(row.pool_idle)),
        "in_use": _right(num(row.in_use)),
        "fill": gauge(row.fill_pct, crit=threshold),
        "busy": gauge(row.busy_pct, crit=threshold),
        "trend": sparkline(trend, TREND_CHARS),
        "server": _right(Text(num(row.server_connections), style=alarm() if over else "")),
        "states": _states(row.states),
        "flags": _flags(sev, rules),
    }
    return [values[k] for k in keys]


def _flags(sev: Severity | None, rules: list[str]) -> Text:
    if not rules:
        return Text("")
    t = severity(sev)
    if len(rules) > 1:
        t.append(f" +{len(rules) - 1}", style="dim")
    return t


NO_MARKS: tuple[Severity | None, tuple[str, ...]] = (None, ())  # a service with no finding


class ServicesTable(LinesTable):
    BINDINGS: ClassVar[list[BindingType]] = keys.bindings(keys.ROWS)
    DEFAULT_CSS = "ServicesTable { height: auto; max-height: 60%; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keys: list[str] = []
        self.filter_text = ""
        self.sort_index = 0

    @property
    def sort_name(self) -> str:
        return SORTS[self.sort_index][0]

    def ensure_columns(self, screen_width: int) -> None:
        keys = [c.key for c in COLUMNS if screen_width >= c.min_screen]
        if keys == self.keys:
            return
        self.keys = keys
        self.set_columns(
            [
                TableColumn(c.key, _right(c.label) if c.right else Text(c.label), c.width)
                for c in COLUMNS
                if c.key in keys
            ]
        )

    def show(
        self,
        a: Assessment,
        history: History,
        screen_width: int,
        threshold: float,
        refresh_s: float = 1.0,
    ) -> None:
        self.ensure_columns(screen_width)
        by_service: dict[str, list[Finding]] = {}
        for f in a.findings:
            if f.service:
                by_service.setdefault(f.service, []).append(f)
        # each service with findings: its worst severity and its findings' rules, made once
        marks = {name: (worst(fs), tuple(f.rule for f in fs)) for name, fs in by_service.items()}
        sev_rank = {name: (sev.rank if sev else -1, len(r)) for name, (sev, r) in marks.items()}
        rows = [r for r in a.services if self.filter_text.lower() in r.name.lower()]
        rows.sort(key=lambda r: SORTS[self.sort_index][1](r, sev_rank))
        wanted = [r.name for r in rows]
        if self.filter_text.lower() in UNATTRIBUTED_LABEL:  # a filter hides it, unless it names it
            wanted.append(UNATTRIBUTED)
        # What each row's cells are made from: a row whose inputs did not change keeps its
        # cells and its rendered line; the others are made again once they are shown.
        shown = {r.name: r for r in rows}
        versions: dict[str, object] = {}
        per_char = max(1, round(TREND_CHAR_S / refresh_s))
        for r in rows:
            # the trend is made only for the rows drawn: its version costs O(1) a row
            trend = history.runs_version(r.name, "in_use", TREND_CHARS, per_char)
            # what the row draws: not its instances' sample ages, which move every refresh
            versions[r.name] = (DRAWN(r), marks.get(r.name, NO_MARKS), trend, threshold)
        unknown = [f for f in a.findings if f.rule == RuleId.UNKNOWN_APPLICATION]
        versions[UNATTRIBUTED] = (a.unattributed, tuple(unknown))

        def make(key: str) -> list[Text]:
            if key == UNATTRIBUTED:
                return self._unattributed(a, unknown)
            sev, rules = marks.get(key, NO_MARKS)
            trend = history.runs(key, "in_use", TREND_CHARS, per_char)
            return row_cells(shown[key], self.keys, sev, list(rules), trend, threshold)

        selected = self.selected_key()
        self.set_rows(wanted, versions, make)
        # The cursor stays on its row, or goes to the first: never on a row not shown.
        if selected in wanted:
            if wanted.index(selected) != self.cursor_row:
                self.move_cursor(row=wanted.index(selected))
        else:
            self.move_cursor(row=0)

    def _unattributed(self, a: Assessment, unknown: list[Finding]) -> list[Text]:
        u = a.unattributed
        apps = ", ".join(x or "(no name)" for x in u.applications[:3])
        values = {k: Text("") for k in self.keys}
        values["name"] = Text(UNATTRIBUTED_LABEL, style="italic dim")
        values["server"] = _right(num(u.server_connections))
        values["states"] = _states(u.states)
        if "tier" in values:
            values["tier"] = safe(apps, "dim")
        if u.server_connections:
            values["flags"] = _flags(worst(unknown), [f.rule for f in unknown])
        return [values[k] for k in self.keys]

    def selected_key(self) -> str | None:
        """The row under the cursor: a service name, or UNATTRIBUTED."""
        keys = self.row_keys
        return keys[self.cursor_row] if self.cursor_row < len(keys) else None

    def selected_service(self) -> str | None:
        key = self.selected_key()
        return None if key == UNATTRIBUTED else key
