"""The top lines: the server, client backends against available slots, states, each source."""

from __future__ import annotations

from rich.text import Text

from console.core.assessment import Assessment, slots_from
from console.core.settings import Thresholds
from console.core.snapshot import ABSENT, OK
from console.tui.text import alarm, duration, pct_style, safe
from console.tui.widgets.quiet_static import QuietStatic


def render_header(
    a: Assessment | None,
    *,
    paused: bool,
    refresh_s: float,
    now: float,
    target: str,
    thresholds: Thresholds,
) -> Text:
    t = Text(overflow="ellipsis")
    t.append(" novapool ", style="bold reverse")
    t.append(" ")
    t.append_text(safe(target, "bold"))
    if a is None:
        t.append("  waiting for the first collection…", style="dim")
        return t
    server = a.snapshot.server
    if server:
        t.append(f"  PostgreSQL {server.server_version}", style="")
    elif slots_from(a.snapshot) == "prometheus":
        t.append("  slots from postgres_exporter", style="")
    elif a.snapshot.sources:
        t.append("  slots from the allocation file", style="dim")
    b = a.budget
    if a.client_backends is not None and b.available > 0:
        p = 100 * a.client_backends / b.available
        near = thresholds.cluster_near_max_pct
        t.append("  clients ")
        t.append(
            f"{a.client_backends}/{b.available}",
            style=pct_style(p, near.warning, near.critical) + " bold",
        )
        t.append(f" ({p:.0f}%")
        ours = a.snapshot.self_connections
        if ours:  # counted here, in no service's row: say so
            t.append(", this console's 1" if ours == 1 else f", {ours} of ours", style="dim")
        t.append(")")
    if a.by_state:
        states = " ".join(
            f"{k.replace('idle in transaction', 'idle-in-tx')} {v}" for k, v in a.by_state.items()
        )
        t.append(f"  [{states}]", style="dim")
    if a.snapshot.wal_senders:  # replication: slots of their own, never a client's
        t.append(f"  WAL senders {a.snapshot.wal_senders}", style="dim")
    if a.allocation.observed:
        t.append("  OBSERVED: no allocation file", style="bold yellow")
    t.append("\n ")
    for name, status in a.snapshot.sources.items():
        if status.status == ABSENT:
            t.append(f"{name} ", style="dim")
            t.append("— not configured  ", style="dim")
            continue
        ok = status.status == OK
        t.append("● " if ok else "✖ ", style="green" if ok else alarm())
        t.append(f"{name} ")
        if ok:
            t.append(
                f"{status.latency_ms:.0f}ms  " if status.latency_ms is not None else "ok  ",
                style="dim",
            )
        else:
            t.append("unreachable", style=alarm())
            if status.retry_in_s is not None:
                t.append(f", retry in {status.retry_in_s:.0f}s", style="red")
            if status.as_of:
                t.append(f", data {duration(now - status.as_of)} old", style="red")
            t.append("  ")
        for note in status.notes:
            t.append_text(safe(note, "yellow"))
            t.append("  ")
    t.append(f"refresh {refresh_s:g}s", style="dim")
    # One age: the snapshot's. A source that is down says its own data's age above; the
    # snapshot's is said when paused (the screen is frozen) or when collecting lags.
    age = now - a.snapshot.taken_at
    if paused:
        t.append(f"  ⏸ PAUSED, data {duration(age)} old", style="bold yellow")
    elif age > 2 * refresh_s + 1:
        t.append(f"  data {duration(age)} old", style="yellow")
    return t


class ClusterHeader(QuietStatic):
    # Wrapped, up to 3 lines: at 80 columns clients, states and sources all show.
    DEFAULT_CSS = "ClusterHeader { height: auto; max-height: 3; background: $panel; }"

    def show(
        self,
        a: Assessment | None,
        *,
        paused: bool,
        refresh_s: float,
        now: float,
        target: str,
        thresholds: Thresholds,
    ) -> None:
        self.show_text(
            render_header(
                a, paused=paused, refresh_s=refresh_s, now=now, target=target, thresholds=thresholds
            )
        )
