"""The sources → one Snapshot. Sources run concurrently, each bounded by its own timeouts; a
failing source becomes an `unreachable` status (and a finding), never an exception. In the
console's continuous mode a failed source is retried with exponential backoff, and the last good
data is kept, marked by its age; a source is read no more often than it can tell something new
(its `read_every_s`: Prometheus, its targets' scrape interval), its last reading aged in
between."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from console.core import exported, observe
from console.core.allocation import Allocation
from console.core.exported import ExportedServer
from console.core.settings import Settings
from console.core.snapshot import (
    ABSENT,
    ALWAYS_LISTED,
    OK,
    UNREACHABLE,
    ActivityCount,
    Fleet,
    PoolInstance,
    ServicePools,
    Snapshot,
    SourceStatus,
)
from console.sources import registry
from console.sources.base import (
    BackendSignals,
    PoolHistory,
    Reading,
    SessionFocus,
    Source,
    describe_error,
)

BACKOFF_MAX_S = 30.0
SERVER_READS = 8  # server connections read at the same time, at most
RETRY_READS = 4  # of those, for servers that failed last time (their own gate)
TICK_JITTER_S = 0.1  # how early a refresh tick may come: a read that much early is due


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
    """The configured sources → one Fleet (a Snapshot per server) per collect(). Knows no
    source by name: what a source gives is in its Reading, which server it reads is its
    `server_name`, what else it can do is a capability (`pool_history`, `backend_signals`).

    Reads run as tasks that outlive a collect(): in the console (`backoff`) a collect() waits
    `patience_s` at most, so a slow or dead server never delays the others' refresh; its read
    goes on, and its answer is taken by a later collect(). Server reads run at most
    `SERVER_READS` at a time."""

    settings: Settings
    allocation: Allocation
    backoff: bool = True  # False for one-shot `check`: try every source now, wait for all
    sources: dict[str, Source] = field(default_factory=dict)
    health: dict[str, Health] = field(default_factory=dict)
    last: dict[str, Reading] = field(default_factory=dict)  # last good reading of each
    statuses: dict[str, SourceStatus] = field(default_factory=dict)  # last status of each
    inflight: dict[str, asyncio.Task[Reading]] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)  # when the in-flight read began
    patience_s: float | None = None  # default: most of the refresh interval
    clock: Callable[[], float] = time.time  # the tests' own, to step time without sleeping
    # The detail open, if any (detail_open), and its service (None: the unattributed sessions):
    # its pool instances are read one by one, and its idle sessions besides the others'.
    detail_open: bool = False
    detail_service: str | None = None

    def __post_init__(self) -> None:
        self.sources = self.sources or registry.build(self.settings, self.allocation)
        self.health = {name: Health() for name in self.sources}
        if self.patience_s is None:
            self.patience_s = max(0.2, 0.75 * self.settings.refresh_s)
        self._gates: tuple[asyncio.Semaphore, ...] = ()
        self._homes = {s.name: self.allocation.home(s) for s in self.allocation.services}

    @property
    def pool_history(self) -> PoolHistory | None:
        """The first source that keeps the pools' past, if any."""
        return next((s for s in self.sources.values() if isinstance(s, PoolHistory)), None)

    def backend_signals_of(self, server: str | None = None) -> BackendSignals | None:
        """The source that can cancel or terminate a backend on `server` (None: the first)."""
        server = server or self.allocation.server_names()[0]
        return next(
            (
                s
                for s in self.sources.values()
                if isinstance(s, BackendSignals) and s.server_name in (None, server)
            ),
            None,
        )

    @property
    def backend_signals(self) -> BackendSignals | None:
        return self.backend_signals_of(None)

    def focus(self, service: str | None) -> None:
        """A detail is open on `service` (None: the unattributed sessions)."""
        self._detail(True, service)

    def unfocus(self) -> None:
        self._detail(False, None)

    def _detail(self, open_: bool, service: str | None) -> None:
        self.detail_open, self.detail_service = open_, service
        history = self.pool_history
        if history is not None:
            history.focus = service

    def _focus_apps(self, key: str) -> tuple[str, ...]:
        """The applications of the open detail's sessions, as this server's last reading
        counted them (a service matched by role or address: every application of its
        sessions; the rows of others' sessions under them are left out by the view)."""
        last = self.last.get(key)
        if not self.detail_open or last is None:
            return ()
        allocation = self.allocation

        def service_of(c: ActivityCount) -> str | None:
            if allocation.observed:  # an observer's services are the applications seen
                return observe.service_named(c.application_name)
            return allocation.service_for(c.application_name, c.usename, c.client_addr)

        apps = {c.application_name for c in last.activity if service_of(c) == self.detail_service}
        return tuple(sorted(apps))

    def _due(self, key: str, now: float, every_source: bool) -> bool:
        """One-shot, or asked for every source (`r`): each one. The console: not while backing
        off after a failure, nor before the source can tell anything new (`read_every_s` after
        its last read began)."""
        if every_source or not self.backoff:
            return True
        h = self.health[key]
        if h.failures:
            return now >= h.next_try
        # a refresh tick comes a few ms early as often as late: 5 ticks of 1 s are due for
        # a source read every 5 s, not 6
        every = self.sources[key].read_every_s - TICK_JITTER_S
        return now - self.started.get(key, -math.inf) >= every

    def _resting(self, key: str) -> bool:
        """Not read this refresh because its last reading is as new as a read would give."""
        return self.backoff and not self.health[key].failures and key in self.last

    async def _read(self, key: str) -> Reading:
        source = self.sources[key]
        if source.server_name is None:
            return await source.read()  # bounded by the source itself
        # Servers that answered last time and servers being retried take turns at gates of
        # their own: dead servers, each holding a slot until its connect timeout, never keep
        # the live ones waiting.
        if not self._gates:
            self._gates = (asyncio.Semaphore(SERVER_READS), asyncio.Semaphore(RETRY_READS))
        async with self._gates[1 if self.health[key].failures else 0]:
            return await source.read()

    async def collect(self, every_source: bool = False) -> Fleet:
        """Every server's snapshot. Reads start for the sources that are due (all of them
        when every_source) and are not still reading; the answers that come within patience
        are taken, the others' last readings stand, aged."""
        now = self.clock()
        for key in self.sources:
            if key not in self.inflight and self._due(key, now, every_source):
                source = self.sources[key]
                if isinstance(source, SessionFocus):
                    source.focus_apps = self._focus_apps(key)
                self.inflight[key] = asyncio.ensure_future(self._read(key))
                self.started[key] = now
        if self.inflight:
            await asyncio.wait(
                set(self.inflight.values()), timeout=self.patience_s if self.backoff else None
            )
        now = self.clock()
        fresh: set[str] = set()
        for key in self.sources:
            task = self.inflight.get(key)
            if task is None:  # not due: resting (its last reading stands, aged) or backing off
                if not self._resting(key):
                    self.statuses[key] = self._status(key, None, now)
            elif task.done():
                del self.inflight[key]
                error = task.exception()
                result = error if isinstance(error, Exception) else task.result()
                self.statuses[key] = self._status(key, result, now)
                fresh |= {key} if isinstance(result, Reading) else set()
            else:  # slow: its last answer stands, aged, until this read ends
                self.statuses[key] = self._slow(key, now)
        # While a source is down the console (backoff mode) keeps its last good reading,
        # aged: the status says so, and metrics-stale fires once the pools are older than
        # their scrape intervals allow. `check` never shows old data.
        readings = {key: r for key, r in self.last.items() if key in fresh or self.backoff}
        names = self.allocation.server_names()
        return Fleet(
            now, {name: self._snapshot(name, i == 0, readings, now) for i, name in enumerate(names)}
        )

    def _snapshot(
        self, server: str, first: bool, readings: dict[str, Reading], now: float
    ) -> Snapshot:
        """One server's snapshot: its own connection's reading, and the shared sources'
        pools of the services whose pool on it they are (a pool's labels name its server, or
        it is its service's home pool)."""
        names = self.allocation.server_names()
        here = [k for k, s in self.sources.items() if s.server_name in (None, server)]
        sources = {name: SourceStatus(ABSENT) for name in ALWAYS_LISTED}
        for key in here:
            sources[self.sources[key].name] = self.statuses[key]
        mine = {k: r for k, r in readings.items() if k in here}
        direct = next((r for r in mine.values() if r.server is not None), None)
        pools: list[PoolInstance] = []
        totals: list[ServicePools] = []
        exported_servers: list[ExportedServer] = []
        for key, reading in mine.items():
            if first:
                exported_servers.extend(reading.exported)
            age = now - (self.health[key].last_ok or now)
            pools.extend(
                replace(p, sample_age_s=(p.sample_age_s or 0) + age) if age else p
                for p in reading.pools
                if (p.server or self._homes.get(p.service, names[0])) == server
            )
            # their ages were stamped when the reading came (`_status`): the same objects
            # every refresh until the next read
            totals.extend(
                t for t in reading.pool_totals if self._homes.get(t.service, names[0]) == server
            )
        said = exported.notes(
            tuple(exported_servers),
            direct.server.max_connections if direct and direct.server else None,
        )
        if said:  # about the metrics' view of the server: on the first source that has it
            key = next(k for k, r in mine.items() if r.exported)
            name = self.sources[key].name
            sources[name] = replace(sources[name], notes=sources[name].notes + said)
        return Snapshot(
            taken_at=now,
            sources=sources,
            server=direct.server if direct else None,
            activity=direct.activity if direct else (),
            self_connections=direct.self_connections if direct else 0,
            backends=direct.backends if direct else (),
            pools=tuple(pools),
            pool_totals=tuple(totals),
            exported=tuple(exported_servers),
            wal_senders=direct.wal_senders if direct else None,
        )

    def _slow(self, key: str, now: float) -> SourceStatus:
        """A read still in flight past the collector's patience: the last answer stands."""
        waited = f"no answer for {now - self.started[key]:.0f} s (still waiting)"
        last = self.statuses.get(key)
        if last is not None and last.status == OK:
            return replace(last, notes=last.notes + (waited,))
        return SourceStatus(UNREACHABLE, waited, None, self.health[key].last_ok)

    def _status(self, key: str, result: Reading | Exception | None, now: float) -> SourceStatus:
        h = self.health[key]
        if isinstance(result, Exception):
            h.failed(describe_error(result, self.settings.mask), now)
        elif result is not None:
            h.succeeded(now)
            if result.pool_totals:  # their ages are as of now; the rules add the time since
                stamped = tuple(t.measured_at(now) for t in result.pool_totals)
                result = replace(result, pool_totals=stamped)
            self.last[key] = result
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
        for task in self.inflight.values():
            task.cancel()
        if self.inflight:
            await asyncio.wait(set(self.inflight.values()))
        self.inflight.clear()
        for source in self.sources.values():
            await source.close()


async def collect_once(settings: Settings, allocation: Allocation) -> Fleet:
    collector = Collector(settings, allocation, backoff=False)
    try:
        return await collector.collect()
    finally:
        await collector.close()
