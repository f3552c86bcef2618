"""One collection's worth of facts, immutable. Sources build it; everything else only reads it."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from console.core.exported import ExportedServer


class SourceName(StrEnum):
    """The sources a snapshot can come from (the keys of `sources` in the JSON)."""

    POSTGRES = "postgres"
    PROMETHEUS = "prometheus"
    SCRAPE = "scrape"


# Listed in every snapshot and `check --json`, `absent` when not configured (the contract's
# keys); other sources appear when configured.
ALWAYS_LISTED = (SourceName.POSTGRES, SourceName.PROMETHEUS)


class SourceState(StrEnum):
    OK = "ok"
    UNREACHABLE = "unreachable"
    ABSENT = "absent"  # not configured


# Short names: most call sites compare a status with one of these.
OK, UNREACHABLE, ABSENT = SourceState.OK, SourceState.UNREACHABLE, SourceState.ABSENT


@dataclass(frozen=True)
class SourceStatus:
    status: SourceState = ABSENT
    error: str | None = None  # one line, never a password
    latency_ms: float | None = None
    as_of: float | None = None  # epoch seconds of the newest good data
    notes: tuple[str, ...] = ()  # e.g. a query switched off for lack of privilege
    no_series: bool = False  # it answered, with none of the pool series it was asked for
    limited: bool = False  # it answered, but cannot see everything (privileges): see notes
    retry_in_s: float | None = None  # the console's reconnect countdown

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "status": self.status,
            "error": self.error,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
        }
        if self.notes:
            d["notes"] = list(self.notes)
        return d


@dataclass(frozen=True)
class ServerInfo:
    """Read once per connection."""

    server_version: str
    server_version_num: int
    max_connections: int
    superuser_reserved_connections: int
    reserved_connections: int  # 0 before PostgreSQL 16
    sees_all_sessions: bool = True  # False: a role without pg_read_all_stats (pg_monitor)
    in_recovery: bool | None = None  # pg_is_in_recovery(): a standby
    # The settings a hot standby must not have below its primary's (allocation.STANDBY_SETTINGS
    # except max_connections, which is above), as the server says.
    max_worker_processes: int | None = None
    max_wal_senders: int | None = None
    max_prepared_transactions: int | None = None
    max_locks_per_transaction: int | None = None


@dataclass(frozen=True)
class ActivityCount:
    """Client backends grouped in SQL by application name, state, role and (when the
    allocation matches by address) client address."""

    application_name: str
    state: str
    count: int
    usename: str = ""
    client_addr: str = ""  # "" unless asked for


@dataclass(frozen=True)
class Backend:
    """A backend worth showing: idle in transaction, long-running, waiting, blocking, or top."""

    pid: int
    application_name: str
    usename: str | None
    client_addr: str | None
    state: str
    backend_age_s: float | None
    xact_age_s: float | None
    query_age_s: float | None
    state_age_s: float | None
    wait_event_type: str | None
    wait_event: str | None
    lock_wait_s: float | None
    blocking_pids: tuple[int, ...]
    query: str
    # when it started (epoch s, as the server says): with the pid, names this session and no
    # later one that reuses the pid
    backend_start: float | None = None


@dataclass(frozen=True)
class PoolInstance:
    """One pool (one process) as its gauges report it."""

    service: str
    instance: str
    size: float | None
    idle: float | None
    max: float | None
    sample_age_s: float | None = None
    up: bool | None = None
    scrape_interval_s: float | None = None
    pending: float | None = None  # callers waiting for a connection, where the library says
    unlimited: bool = False  # the pool reports no max (e.g. Go's SetMaxOpenConns(0))
    server: str = ""  # the server it connects to, where its labels say; "": its service's home

    @property
    def in_use(self) -> float | None:
        return None if self.size is None or self.idle is None else self.size - self.idle

    @property
    def fill_pct(self) -> float | None:
        """size / max: the seed's 'utilization', which counts idle connections."""
        return percent(self.size, self.max)

    @property
    def busy_pct(self) -> float | None:
        """(size − idle) / max: how much of the pool is really working."""
        return percent(self.in_use, self.max)


@dataclass(frozen=True)
class InstanceAge:
    """How old an instance's newest pool sample is, against its target's scrape interval.
    No instance named (""): every instance of the service is at least this old (Prometheus
    sent none of their ages: all younger than a read needs to know)."""

    instance: str
    age_s: float
    scrape_interval_s: float | None = None


@dataclass(frozen=True)
class ServicePools:
    """A service's pools added up over its instances: what the services table and the rules
    read. The Prometheus source has PromQL add them up (its answer grows with services, not
    instances); the scrape source's instances are added up in Python (`pools.totals_of`).
    Unusable gauges (NaN, negative) are left out of the sums."""

    service: str
    instances: int
    size: float | None = None
    idle: float | None = None
    pending: float | None = None
    # each reported max and how many instances report it (0: no max at all, unlimited)
    maxes: tuple[tuple[float, int], ...] = ()
    at_max: int = 0  # instances whose pool is at its max (size ≥ max)
    oldest: tuple[InstanceAge, ...] = ()  # the instances with the oldest samples (a few)
    down: tuple[str, ...] = ()  # instances whose target is down (the first few)
    down_count: int = 0
    unlimited_on: tuple[str, ...] = ()  # the unlimited instances' names, where known
    max_of: tuple[tuple[str, float], ...] = ()  # each instance's reported max, where known
    # when oldest's ages were measured (the collector's clock); None: as of the snapshot
    ages_at: float | None = None

    # remembered (each read several times a refresh, by the facts and the rules)
    @cached_property
    def max_total(self) -> float | None:
        """The sum of the reported maxes (unlimited pools have none)."""
        limited = [(m, n) for m, n in self.maxes if m > 0]
        return sum(m * n for m, n in limited) if limited else None

    @cached_property
    def max_reported(self) -> float | None:
        return max((m for m, _ in self.maxes if m > 0), default=None)

    @cached_property
    def unlimited(self) -> int:
        return sum(n for m, n in self.maxes if m == 0)

    def measured_at(self, when: float) -> ServicePools:
        """This one with `oldest`'s ages said to be as of `when` (the collector's clock, once
        a reading comes in): `ages` adds the time since. Every refresh between two reads
        then shows the same object, not a copy of every service with its ages moved on (the
        facts and the services table keep what they made of an unchanged service)."""
        if not self.oldest:
            return self
        # 200 services a read: a copy of this one's fields (and of what it remembered) made
        # without __init__ (replace() costs 12 µs a service, this 2)
        stamped = object.__new__(ServicePools)
        stamped.__dict__.update(self.__dict__, ages_at=when)
        return stamped

    def ages(self, now: float) -> Iterator[tuple[InstanceAge, float]]:
        """`oldest`, each with its age as seen at `now` (the snapshot's `taken_at`): as
        measured, plus the time since (the last reading stands between two reads)."""
        since = now - self.ages_at if self.ages_at is not None else 0.0
        for o in self.oldest:
            yield o, o.age_s + since


def percent(part: float | None, whole: float | None) -> float | None:
    """100 × part / whole; None when either is unknown, whole is 0, or the result is not a
    number a screen or JSON can hold (a denormal max from a hostile exporter overflows)."""
    if part is None or not whole:
        return None
    value = 100.0 * part / whole
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Snapshot:
    taken_at: float
    sources: Mapping[SourceName, SourceStatus] = field(default_factory=dict)
    server: ServerInfo | None = None
    activity: tuple[ActivityCount, ...] = ()
    self_connections: int = 0  # the console's own session(s), left out of `activity`
    backends: tuple[Backend, ...] = ()
    # pool instances one by one: every one from --scrape; from Prometheus, the instances of
    # the service whose detail is open (the others come added up, in pool_totals)
    pools: tuple[PoolInstance, ...] = ()
    pool_totals: tuple[ServicePools, ...] = ()  # added up by the source (Prometheus)
    # postgres_exporter's view of the servers (their settings and sessions), from the metrics
    exported: tuple[ExportedServer, ...] = ()
    wal_senders: int | None = None  # replication connections: own slots, not client ones

    def source(self, name: SourceName) -> SourceStatus:
        return self.sources.get(name, SourceStatus())


@dataclass(frozen=True)
class Fleet:
    """One collection of every server the allocation names: a Snapshot each, by name, in the
    allocation's order. Sources shared by all servers (the metrics) appear in each."""

    taken_at: float
    snapshots: Mapping[str, Snapshot]

    @classmethod
    def of(cls, snapshot: Snapshot, server: str) -> Fleet:
        return cls(snapshot.taken_at, {server: snapshot})

    @property
    def first(self) -> Snapshot:
        """The first server's (the only one's, for a one-server allocation)."""
        return next(iter(self.snapshots.values()))
