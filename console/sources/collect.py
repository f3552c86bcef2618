"""The sources → one Snapshot. Sources run concurrently, each bounded by its own timeouts; a
failing source becomes an `unreachable` status (and a finding), never an exception. In the
console's continuous mode a failed source is retried with exponential backoff, and the last good
data is kept, marked by its age."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace

from console.core import exported
from console.core.allocation import Allocation
from console.core.exported import ExportedServer
from console.core.settings import Settings
from console.core.snapshot import (
    ABSENT,
    ALWAYS_LISTED,
    OK,
    UNREACHABLE,
    PoolInstance,
    Snapshot,
    SourceName,
    SourceStatus,
)
from console.sources import registry
from console.sources.base import BackendSignals, PoolHistory, Reading, Source, describe_error

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


@dataclass
class Collector:
    """The configured sources → one Snapshot per collect(). Knows no source by name: what a
    source gives is in its Reading, what else it can do is a capability (`pool_history`, `backend_signals`)."""

    settings: Settings
    allocation: Allocation
    backoff: bool = True  # False for one-shot `check`: try every source now
    sources: dict[SourceName, Source] = field(default_factory=dict)
    health: dict[SourceName, Health] = field(default_factory=dict)
    last: dict[SourceName, Reading] = field(default_factory=dict)  # last good reading of each

    def __post_init__(self) -> None:
        self.sources = self.sources or registry.build(self.settings, self.allocation)
        self.health = {name: Health() for name in SourceName}

    @property
    def pool_history(self) -> PoolHistory | None:
        """The first source that keeps the pools' past, if any."""
        return next((s for s in self.sources.values() if isinstance(s, PoolHistory)), None)

    @property
    def backend_signals(self) -> BackendSignals | None:
        """The first source that can cancel or terminate a backend, if any."""
        return next((s for s in self.sources.values() if isinstance(s, BackendSignals)), None)

    def _due(self, name: SourceName, now: float) -> bool:
        return not self.backoff or now >= self.health[name].next_try

    async def _read(self, name: SourceName, now: float) -> Reading | Exception | None:
        if not self._due(name, now):
            return None
        try:
            return await self.sources[name].read()  # bounded by the source itself
        except Exception as exc:  # noqa: BLE001 - any failure is a status, not a crash
            return exc

    async def collect(self) -> Snapshot:
        now = time.time()
        names = list(self.sources)
        results = await asyncio.gather(*(self._read(name, now) for name in names))
        sources = {name: SourceStatus(ABSENT) for name in ALWAYS_LISTED}
        for name, result in zip(names, results, strict=True):
            sources[name] = self._status(name, result, now)
        # While a source is down the console (backoff mode) keeps its last good reading,
        # aged: the status says so, and metrics-stale fires once the pools are older than
        # their scrape intervals allow. `check` never shows old data.
        fresh = {name for name, r in zip(names, results, strict=True) if isinstance(r, Reading)}
        readings = {
            name: r
            for name, r in self.last.items()
            if name in sources and (name in fresh or self.backoff)
        }
        server = next((r for r in readings.values() if r.server is not None), None)
        pools: list[PoolInstance] = []
        exported_servers: list[ExportedServer] = []
        for name, reading in readings.items():
            exported_servers.extend(reading.exported)
            age = now - (self.health[name].last_ok or now)
            pools.extend(
                replace(p, sample_age_s=(p.sample_age_s or 0) + age) if age else p
                for p in reading.pools
            )
        said = exported.notes(
            tuple(exported_servers),
            server.server.max_connections if server and server.server else None,
        )
        if said:  # about the metrics' view of the server: on the first source that has it
            name = next(n for n, r in readings.items() if r.exported)
            sources[name] = replace(sources[name], notes=sources[name].notes + said)
        return Snapshot(
            taken_at=now,
            sources=sources,
            server=server.server if server else None,
            activity=server.activity if server else (),
            self_connections=server.self_connections if server else 0,
            backends=server.backends if server else (),
            pools=tuple(pools),
            exported=tuple(exported_servers),
        )

    def _status(
        self, name: SourceName, result: Reading | Exception | None, now: float
    ) -> SourceStatus:
        h = self.health[name]
        if isinstance(result, Exception):
            h.failed(describe_error(result, self.settings.mask), now)
        elif result is not None:
            h.succeeded(now)
            self.last[name] = result
            error = None
            if result.failed:  # part of the source is down: the rest is read all the same
                url, err = next(iter(sorted(result.failed.items())))
                more = f" (+{len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
                error = f"{url}: {err}{more}"
            return SourceStatus(
                UNREACHABLE if error else OK,
                error,
                result.latency_ms,
                now,
                result.notes,
                no_series=result.no_series,
                limited=result.limited,
            )
        return SourceStatus(
            UNREACHABLE,
            h.last_error or "not reached yet",
            None,
            h.last_ok,
            retry_in_s=max(0.0, h.next_try - now) if self.backoff else None,
        )

    async def close(self) -> None:
        for source in self.sources.values():
            await source.close()


async def collect_once(settings: Settings, allocation: Allocation) -> Snapshot:
    collector = Collector(settings, allocation, backoff=False)
    try:
        return await collector.collect()
    finally:
        await collector.close()
