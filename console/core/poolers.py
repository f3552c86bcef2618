"""Connection poolers (PgBouncer) as consumers of the server's slots. Pure.

A pooler opens server connections of its own — per database/user pair up to its pool size plus
its reserve, capped by `max_db_connections` per database when set — whatever number of clients
it serves. So it is budgeted like a service: its server connections per instance × instances.
In transaction (and statement) mode a server connection serves whichever client needs it
next: its application_name says nothing about the service, so such a pooler's sessions are
attributed to the pooler, first, before any service is tried.
"""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("session", "transaction", "statement")
# The allocation file's keys for a pooler, with the range each may take.
LIMITS = {
    "default_pool_size": (1, 100_000),
    "pairs": (1, 100_000),
    "reserve_pool_size": (0, 100_000),
    "max_db_connections": (0, 262_143),
    "databases": (1, 100_000),
}


@dataclass(frozen=True)
class Pooler:
    mode: str = "session"
    default_pool_size: int = 20  # PgBouncer's default
    pairs: int = 1  # database/user pairs it serves
    reserve_pool_size: int = 0
    max_db_connections: int = 0  # 0: no cap (PgBouncer's default)
    databases: int = 1

    @property
    def server_connections(self) -> int:
        """The most server connections one instance opens."""
        pools = self.pairs * (self.default_pool_size + self.reserve_pool_size)
        if self.max_db_connections:
            return min(pools, self.max_db_connections * self.databases)
        return pools

    @property
    def attributes_by_pooler(self) -> bool:
        """True when its server sessions cannot be told apart by service."""
        return self.mode != "session"

    def describe(self) -> str:
        base = (
            f"{self.pairs} pair(s) × ({self.default_pool_size} + {self.reserve_pool_size} reserve)"
        )
        if self.max_db_connections:
            base += f", capped at {self.max_db_connections} × {self.databases} database(s)"
        return f"{self.mode} mode, {base} = {self.server_connections} per instance"
