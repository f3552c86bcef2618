"""The PostgreSQL source: one read-only asyncpg connection, one statement per refresh.

- application_name=novapool, default_transaction_read_only=on, a statement_timeout and a connect
  timeout protect the inspected server;
- the statement (sql/activity.sql) reads pg_stat_activity once: sessions counted in SQL, the
  backends worth showing (bounded) and the server's settings, in one answer;
- pg_locks refused for lack of privilege is done without once, with a note, not retried.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from importlib import resources
from operator import itemgetter
from typing import Any

import asyncpg

from console.core.allocation import Allocation
from console.core.settings import Settings
from console.core.snapshot import ActivityCount, Backend, ServerInfo, SourceName
from console.sources.base import Reading

BACKEND_ROWS = 200
COUNT_KEY = itemgetter("application_name", "state", "usename", "client_addr", "wal_sender")
QUERY_CHARS = 1000


def sql(name: str) -> str:
    return resources.files("console.sources").joinpath("sql", name).read_text(encoding="utf-8")


@dataclass
class PostgresSource:
    """A `Source` with the `BackendSignals` capability."""

    name = SourceName.POSTGRES
    dsn: str | None
    connect_timeout_s: float = 5
    statement_timeout_ms: int = 2000
    backend_rows: int = BACKEND_ROWS
    conn: asyncpg.Connection | None = None
    server: ServerInfo | None = None
    disabled: dict[str, str] = field(default_factory=dict)  # what is done without → why
    statements_total: int = 0
    by_client_addr: bool = False  # group sessions by client address too (a match needs it)
    # One connection: a refresh and a cancel/terminate from the console take turns on it.
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    server_name: str | None = None  # the allocation's server this source reads; None: all
    # the applications whose idle sessions are read too (the open detail's; see SessionFocus)
    focus_apps: tuple[str, ...] = ()
    # when each lock wait shown began, by wait (see wait_key in activity.sql): a wait seen
    # before is not looked up in pg_locks again
    _wait_since: dict[str, float] = field(default_factory=dict, repr=False)

    async def connection(self) -> Any:
        """The open connection, (re)connecting first if there is none."""
        if self.conn is None or self.conn.is_closed():
            await self.connect()
        return self.conn

    async def connect(self) -> None:
        self.conn = await asyncpg.connect(
            dsn=self.dsn or None,
            timeout=self.connect_timeout_s,
            command_timeout=None,
            statement_cache_size=8,
            server_settings={
                "application_name": "novapool",
                "default_transaction_read_only": "on",
                "statement_timeout": str(int(self.statement_timeout_ms)),
                "lock_timeout": str(int(self.statement_timeout_ms)),
                "idle_in_transaction_session_timeout": "60000",
            },
        )
        await self._prepare()

    async def _prepare(self) -> None:
        """Prepared once per connection: parsing happens here, so a refresh sends exactly its
        one statement (every column is of a type asyncpg knows: no introspection)."""
        assert self.conn is not None
        version = self.conn.get_server_version()  # from the connection: no query
        locks = version.major >= 14 and "locks" not in self.disabled
        waits = sql("waits_pg_locks.sql" if locks else "waits_query_start.sql")
        ids = sql("ids_by_position.sql" if version.major <= 15 else "ids_from_idset.sql")
        text = sql("activity.sql").replace("{{waits}}", waits.rstrip("\n"))
        self._activity = await self.conn.prepare(text.replace("{{ids}}", ids.rstrip("\n")))
        self._wait_since = {}  # a new connection reads every wait's start afresh

    async def _fetch(self, statement: Any, *args: Any) -> list[Any]:
        """The prepared statement. The client-side timeout backs up the server-side
        statement_timeout."""
        self.statements_total += 1
        call = statement.fetch(*args)
        rows: list[Any] = await asyncio.wait_for(call, self.statement_timeout_ms / 1000 + 2)
        return rows

    @property
    def read_every_s(self) -> float:
        return 0.0  # sessions change at any moment: read every refresh

    @property
    def wait_s(self) -> float:
        """Connect, then the statement (twice when pg_locks is refused), each bounded by its
        own timeout; then a margin."""
        return self.connect_timeout_s + 2 * (self.statement_timeout_ms / 1000) + 3

    async def read(self) -> Reading:
        """One refresh. On any failure the connection is dropped (the next read reconnects)."""
        try:
            return await asyncio.wait_for(self._locked_read(), timeout=self.wait_s)
        except Exception:
            await self.close()
            raise

    async def _locked_read(self) -> Reading:
        async with self.busy:
            return await self._read()

    def _settings(self, r: Any) -> ServerInfo:
        """The server's settings, from the activity statement's settings row."""
        info = ServerInfo(
            r["server_version"].split()[0],
            r["server_version_num"],
            r["max_connections"],
            r["superuser_reserved_connections"],
            r["reserved_connections"],
            bool(r["sees_all_sessions"]),
            in_recovery=r["in_recovery"],
            max_worker_processes=r["max_worker_processes"],
            max_wal_senders=r["max_wal_senders"],
            max_prepared_transactions=r["max_prepared_transactions"],
            max_locks_per_transaction=r["max_locks_per_transaction"],
        )
        if not info.sees_all_sessions:
            self.disabled["sessions"] = (
                f"role {r['current_user']} cannot see other roles' sessions (their state, "
                f"queries, locks): GRANT pg_monitor TO {r['current_user']}"
            )
        return info

    async def _read(self) -> Reading:
        await self.connection()
        t0 = time.perf_counter()
        before = self.statements_total
        args = (
            self.by_client_addr,
            self.backend_rows,
            QUERY_CHARS,
            list(self.focus_apps),
            list(self._wait_since),
        )
        try:
            rows = await self._fetch(self._activity, *args)
        except asyncpg.InsufficientPrivilegeError as exc:
            if "locks" in self.disabled:
                raise
            # pg_locks refused (a hardened role): lock waits are timed from their query's start
            self.disabled["locks"] = f"lock waits timed from their query's start: {exc}"
            await self._prepare()
            rows = await self._fetch(self._activity, *args[:4], [])
        latency = (time.perf_counter() - t0) * 1000
        settings = next(r for r in rows if r["kind"] is None)  # there is always one
        self.server = self._settings(settings)
        now = settings["now"]
        # the statement's rows come unordered: the backends by rank, the counts by their key
        counts = sorted((r for r in rows if r["kind"] == "count"), key=COUNT_KEY)
        shown = sorted((r for r in rows if r["kind"] == "backend"), key=itemgetter("rank"))
        timed = [(r, self._since(r)) for r in shown]
        # the waits shown now with a known start (the ones no longer shown are forgotten)
        self._wait_since = {r["wait_key"]: s for r, s in timed if r["wait_key"] and s is not None}
        return Reading(
            latency_ms=latency,
            requests=self.statements_total - before,
            notes=tuple(self.disabled.values()),
            limited=bool(self.disabled),
            server=self.server,
            activity=tuple(
                ActivityCount(
                    r["application_name"], r["state"], r["n"], r["usename"], r["client_addr"]
                )
                for r in counts
                if not r["wal_sender"]
            ),
            backends=tuple(_backend(r, now, s) for r, s in timed),
            self_connections=1,
            wal_senders=sum(r["n"] for r in counts if r["wal_sender"]),
        )

    def _since(self, r: Any) -> float | None:
        """When a shown lock wait began (the server's clock, epoch seconds): read this time,
        or known from before."""
        if r["lock_since"] is not None:
            return float(r["lock_since"])
        return self._wait_since.get(r["wait_key"]) if r["wait_key"] else None

    async def signal_backend(
        self, pid: int, terminate: bool, backend_start: float | None = None
    ) -> bool:
        """pg_cancel_backend / pg_terminate_backend (the console asks first, and only with
        --allow-signal). Not a write: allowed in our read-only session. With `backend_start`,
        only the session that started then: a pid reused since is never signalled."""
        fn = "pg_terminate_backend" if terminate else "pg_cancel_backend"
        async with self.busy:
            conn = await self.connection()
            sent = await conn.fetchval(
                f"SELECT {fn}(pid) FROM pg_stat_activity WHERE pid = $1 "
                "AND ($2::float8 IS NULL OR date_part('epoch', backend_start) = $2)",
                pid,
                backend_start,
            )
            return bool(sent)

    async def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), timeout=2)
            except Exception:  # noqa: BLE001 - closing a broken connection may fail; drop it
                conn.terminate()


def from_settings(s: Settings, allocation: Allocation) -> list[PostgresSource]:
    """One source per server of the allocation that has a DSN (the first server: the usual
    DSN or libpq environment)."""
    out = []
    names = allocation.server_names()
    for i, name in enumerate(names):
        target = s.server_target(name, first=i == 0)
        if not target.configured:
            continue
        out.append(
            PostgresSource(
                target.dsn,
                s.connect_timeout_s,
                s.statement_timeout_ms,
                by_client_addr=allocation.matches_client_addr,
                server_name=name if allocation.servers else None,
            )
        )
    return out


def pids_of(text: str | None) -> tuple[int, ...]:
    """'{12,34}' (an int[] as text) → (12, 34)."""
    if not text or text == "{}":  # nearly every row: no lock wait
        return ()
    inner = text.strip("{}")
    return tuple(int(p) for p in inner.split(",") if p.strip())


def _backend(r: Any, now: float, since: float | None) -> Backend:
    """A backend row; its ages from the server's clock (`now`) where the row has a start."""
    return Backend(
        pid=r["pid"],
        application_name=r["application_name"],
        usename=r["usename"],
        client_addr=r["client_addr"],
        state=r["state"],
        backend_age_s=None if r["backend_start"] is None else now - r["backend_start"],
        xact_age_s=r["xact_age_s"],
        query_age_s=r["query_age_s"],
        state_age_s=r["state_age_s"],
        wait_event_type=r["wait_event_type"],
        wait_event=r["wait_event"],
        lock_wait_s=None if since is None else now - since,
        blocking_pids=pids_of(r["blocking_pids"]),
        query=r["query"],
        backend_start=r["backend_start"],
    )
