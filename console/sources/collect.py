"""Both sources → one Snapshot. Sources run concurrently, each bounded by its own timeouts; a
failing source becomes an `unreachable` status (and a finding), never an exception. In the
console's continuous mode a failed source is retried with exponential backoff, and the last good
data is kept, marked by its age."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from console.core import exported
from console.core.allocation import Allocation
from console.core.exported import ExportedServer
from console.core.settings import Settings
from console.core.snapshot import (
    ABSENT,
    OK,
    UNREACHABLE,
    PoolInstance,
    Snapshot,
    SourceName,
    SourceStatus,
)
from console.sources.postgres import PostgresReading, PostgresSource, describe_error
from console.sources.prometheus import PrometheusReading, PrometheusSource
from console.sources.scrape import ScrapeReading, ScrapeSource
from console.sources.threads import in_daemon_thread

BACKOFF_MAX_S = 30.0


@dataclass
class Health:
    """Reconnect bookkeeping for one source."""

    failures: int = 0
    next_try: float = 0.0
    last_ok: float | None = None
    last_error: str | None = None

    def failed(self, error: str, now: float) -> None:
        self.failures += 1
        self.last_error = error
        self.next_try = now + min(BACKOFF_MAX_S, 2.0 ** (self.failures - 1))

    def succeeded(self, now: float) -> None:
        self.failures, self.next_try, self.last_ok, self.last_error = 0, 0.0, now, None


# A reading from a thread-run source (Prometheus, the exporters' /metrics).
MetricsReading = PrometheusReading | ScrapeReading
MetricsSource = PrometheusSource | ScrapeSource
PG, PROM, SCRAPE = SourceName.POSTGRES, SourceName.PROMETHEUS, SourceName.SCRAPE


@dataclass
class Collector:
    settings: Settings
    allocation: Allocation
    backoff: bool = True  # False for one-shot `check`: try every source now
    # How long past its own timeouts (3 tries at most) a metrics read is waited for.
    grace_s: float = 2.0
    postgres: PostgresSource | None = None
    prometheus: PrometheusSource | None = None
    scrape: ScrapeSource | None = None
    health: dict[SourceName, Health] = field(default_factory=dict)
    last_postgres: PostgresReading | None = None  # the last good reading of each source
    last_metrics: dict[SourceName, MetricsReading] = field(default_factory=dict)
    # Reads running in worker threads, by source.
    inflight: dict[SourceName, asyncio.Future[MetricsReading]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.settings
        profiles = s.profiles
        if s.postgres_configured:
            self.postgres = PostgresSource(
                s.dsn,
                s.connect_timeout_s,
                s.statement_timeout_ms,
                by_client_addr=self.allocation.matches_client_addr,
            )
        if s.prometheus_url:
            self.prometheus = PrometheusSource(
                s.prometheus_url,
                profiles,
                s.prometheus_timeout_s,
                s.prometheus_headers,
                s.prometheus_verify_tls,
            )
        if s.scrape:
            self.scrape = ScrapeSource(tuple(s.scrape), profiles, s.prometheus_timeout_s)
        self.health = {name: Health() for name in SourceName}

    def _due(self, name: SourceName, now: float) -> bool:
        return not self.backoff or now >= self.health[name].next_try

    async def _pg(self, now: float) -> PostgresReading | Exception | None:
        if self.postgres is None or not self._due(PG, now):
            return None
        budget = (
            self.settings.connect_timeout_s + 2 * (self.settings.statement_timeout_ms / 1000) + 3
        )
        try:
            return await asyncio.wait_for(self.postgres.read(), timeout=budget)
        except Exception as exc:  # noqa: BLE001 - any failure is a status, not a crash
            await self.postgres.close()
            return exc

    async def _thread(
        self, name: SourceName, source: MetricsSource | None, now: float
    ) -> MetricsReading | Exception | None:
        if source is None or not self._due(name, now):
            return None
        # A thread cannot be cancelled: if the last read outlived our wait, wait for that one
        # again instead of starting a second read beside it on the same client.
        task = self.inflight.get(name)
        if task is None or task.done():
            read: Callable[[], MetricsReading] = source.read
            task = self.inflight[name] = in_daemon_thread(read, f"novapool-{name}")
        try:
            # The client's own timeouts bound the thread; wait_for bounds us if they do not.
            return await asyncio.wait_for(
                asyncio.shield(task), timeout=3 * self.settings.prometheus_timeout_s + self.grace_s
            )
        except Exception as exc:  # noqa: BLE001 - any failure is a status, not a crash
            return exc

    async def collect(self) -> Snapshot:
        now = time.time()
        pg, prom, scr = await asyncio.gather(
            self._pg(now),
            self._thread(PROM, self.prometheus, now),
            self._thread(SCRAPE, self.scrape, now),
        )
        sources = {
            PG: self._status(PG, self.postgres, pg, now),
            PROM: self._status(PROM, self.prometheus, prom, now),
        }
        if self.scrape is not None:
            sources[SCRAPE] = self._status(SCRAPE, self.scrape, scr, now)
        # The console (backoff mode) keeps the last good server data on screen while the
        # server is unreachable; its status says so and how old it is. `check` never does.
        pg_data = self.last_postgres if sources[PG].status == OK or self.backoff else None
        pools: list[PoolInstance] = []
        servers: list[ExportedServer] = []
        for name, reading in self.last_metrics.items():
            servers.extend(reading.servers)
            # While a source is down its last good pools stay, aged: metrics-stale fires once
            # they are older than their scrape intervals allow.
            age = now - (self.health[name].last_ok or now)
            pools.extend(
                replace(p, sample_age_s=(p.sample_age_s or 0) + age) if age else p
                for p in reading.pools
            )
        said = exported.notes(tuple(servers), pg_data.server.max_connections if pg_data else None)
        if said:  # about the metrics' view of the server: on the first metrics source that has it
            name = next(n for n, r in self.last_metrics.items() if r.servers)
            sources[name] = replace(sources[name], notes=sources[name].notes + said)
        return Snapshot(
            taken_at=now,
            sources=sources,
            server=pg_data.server if pg_data else None,
            activity=pg_data.activity if pg_data else (),
            self_connections=1 if pg_data else 0,
            backends=pg_data.backends if pg_data else (),
            pools=tuple(pools),
            exported=tuple(servers),
        )

    def _status(
        self,
        name: SourceName,
        source: PostgresSource | MetricsSource | None,
        result: PostgresReading | MetricsReading | Exception | None,
        now: float,
    ) -> SourceStatus:
        if source is None:
            return SourceStatus(ABSENT)
        h = self.health[name]
        if isinstance(result, Exception):
            h.failed(describe_error(result, self.settings.mask), now)
        elif isinstance(result, PostgresReading):
            h.succeeded(now)
            self.last_postgres = result
            return SourceStatus(
                OK, None, result.latency_ms, now, result.notes, limited=result.limited
            )
        elif result is not None:
            h.succeeded(now)
            self.last_metrics[name] = result
            if isinstance(result, ScrapeReading) and result.failed:
                url, err = next(iter(sorted(result.failed.items())))
                more = f" (+{len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
                return SourceStatus(
                    UNREACHABLE,
                    f"{url}: {err}{more}",
                    result.latency_ms,
                    now,
                    result.notes,
                    no_series=result.no_series,
                )
            return SourceStatus(
                OK, None, result.latency_ms, now, result.notes, no_series=result.no_series
            )
        return SourceStatus(
            UNREACHABLE,
            h.last_error or "not reached yet",
            None,
            h.last_ok,
            retry_in_s=max(0.0, h.next_try - now) if self.backoff else None,
        )

    async def close(self) -> None:
        if self.postgres:
            await self.postgres.close()
        for src in (self.prometheus, self.scrape):
            if src is not None:
                await asyncio.to_thread(src.close)


async def collect_once(settings: Settings, allocation: Allocation) -> Snapshot:
    collector = Collector(settings, allocation, backoff=False)
    try:
        return await collector.collect()
    finally:
        await collector.close()
