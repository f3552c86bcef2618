"""Cluster facts from postgres_exporter's metrics, for when novapool has no database access.

postgres_exporter exports the server's settings (`pg_settings_max_connections`,
`..._superuser_reserved_connections`, `..._reserved_connections` from PostgreSQL 16) and
`pg_stat_activity_count{datname,state}`. Read through Prometheus or straight from the
exporter's /metrics, they give the slots the server really has ("live values win" over the
allocation file's `cluster:`) and its client sessions. Pure: the metrics sources feed samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from console.core.findings import first_few
from console.core.profiles import GaugeChecks

SETTINGS = {
    "pg_settings_max_connections": "max_connections",
    "pg_settings_superuser_reserved_connections": "superuser_reserved_connections",
    "pg_settings_reserved_connections": "reserved_connections",
}
ACTIVITY = "pg_stat_activity_count"
NAMES = (*SETTINGS, ACTIVITY)


@dataclass(frozen=True)
class ExportedServer:
    """One PostgreSQL server as its exporter reports it."""

    server: str  # the exporter's `server` label (host:port as it connects), else its target
    max_connections: int
    superuser_reserved_connections: int
    reserved_connections: int  # 0 before PostgreSQL 16 (not exported there)
    sessions: int | None  # sum of pg_stat_activity_count: sessions with a database


@dataclass
class ExportedSamples:
    checks: GaugeChecks = field(default_factory=GaugeChecks)
    _values: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def add(self, name: str, labels: Mapping[str, str], raw: str | float, target: str) -> bool:
        """Take one sample; False when it is not one of the exporter's cluster facts."""
        if name not in NAMES:
            return False
        server = labels.get("server") or target
        value = self.checks.value(raw, f"{server} {name}")
        slot = self._values.setdefault(server, {})
        key = SETTINGS.get(name, "sessions")
        if key == "sessions":
            if "sessions" not in slot or slot["sessions"] is not None:
                slot["sessions"] = None if value is None else (slot.get("sessions") or 0) + value
        else:
            slot[key] = value
        return True

    def servers(self) -> tuple[ExportedServer, ...]:
        out = []
        for server, v in sorted(self._values.items()):
            max_connections = v.get("max_connections")
            if max_connections is None:
                continue  # activity without settings: no slots to tell
            sessions = v.get("sessions")
            out.append(
                ExportedServer(
                    server=server,
                    max_connections=int(max_connections),
                    superuser_reserved_connections=int(
                        v.get("superuser_reserved_connections") or 0
                    ),
                    reserved_connections=int(v.get("reserved_connections") or 0),
                    sessions=None if sessions is None else int(sessions),
                )
            )
        return tuple(out)


def the_server(servers: tuple[ExportedServer, ...]) -> ExportedServer | None:
    """The server the budget is about, when the metrics show exactly one (several servers are
    several budgets: named in the allocation, not guessed)."""
    distinct = {s.server: s for s in servers}
    return next(iter(distinct.values())) if len(distinct) == 1 else None


def notes(servers: tuple[ExportedServer, ...], dsn_max_connections: int | None) -> tuple[str, ...]:
    """What to say about the exporter's view: several servers, or a disagreement with the
    server novapool reads directly (the direct reading wins)."""
    distinct = sorted({s.server for s in servers})
    if len(distinct) > 1 and dsn_max_connections is None:
        return (
            f"postgres_exporter reports {len(distinct)} servers ({first_few(distinct)}): "
            "slots from the allocation file, not a guess between them",
        )
    one = the_server(servers)
    if one is not None and dsn_max_connections is not None:
        if one.max_connections != dsn_max_connections:
            return (
                f"postgres_exporter says max_connections {one.max_connections} for {one.server}, "
                f"the database itself {dsn_max_connections}: the database wins",
            )
    return ()
