"""What a source is: one protocol, one reading shape, optional capabilities.

A source reads one kind of system (a PostgreSQL server, a Prometheus, exporters' /metrics) and
returns a `Reading`, filling the parts it knows. It bounds its own read: `read()` returns or
raises within `wait_s`. Capabilities beyond reading are protocols a source may also satisfy
(`PoolHistory`: history and peaks of the pools; `BackendSignals`: cancel/terminate), found by
asking the collector for them, never by naming a source. Sources are built from the settings
by `registry.py`, the one place that lists them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from console.core.exported import ExportedServer
from console.core.history import Peaks
from console.core.snapshot import (
    ActivityCount,
    Backend,
    PoolInstance,
    ServerInfo,
    ServicePools,
    SourceName,
)
from console.sources.threads import in_daemon_thread

# How long past its own client timeouts a blocking read is waited for.
GRACE_S = 2.0


@dataclass
class Reading:
    """One read of one source. Parts a source does not know stay empty."""

    latency_ms: float
    requests: int = 0  # statements or HTTP requests the read cost the inspected system
    notes: tuple[str, ...] = ()
    limited: bool = False  # it answered, but cannot see everything (see notes)
    no_series: bool = False  # it answered, with none of the configured profiles' series
    failed: dict[str, str] = field(default_factory=dict)  # part of it down: target → error
    # a server read directly
    server: ServerInfo | None = None
    activity: tuple[ActivityCount, ...] = ()
    backends: tuple[Backend, ...] = ()
    self_connections: int = 0  # our own session(s) on that server, left out of activity
    wal_senders: int | None = None  # replication connections on that server
    # metrics: instances one by one (--scrape: all; Prometheus: the focused service's), and
    # pools added up per service by the source itself (Prometheus)
    pools: tuple[PoolInstance, ...] = ()
    pool_totals: tuple[ServicePools, ...] = ()
    exported: tuple[ExportedServer, ...] = ()


class Source(Protocol):
    name: SourceName

    @property
    def server_name(self) -> str | None:
        """The allocation's server whose facts this source reads (a PostgreSQL connection);
        None: a source of every server's (the pool metrics)."""
        ...

    @property
    def wait_s(self) -> float:
        """The longest a read may take: read() has returned or raised by then."""
        ...

    @property
    def read_every_s(self) -> float:
        """The shortest time between two reads that can tell something new (0: every
        refresh). In between, the console shows the last reading, aged."""
        ...

    async def read(self) -> Reading: ...

    async def close(self) -> None: ...


@runtime_checkable
class PoolHistory(Protocol):
    """A source that keeps the pools' past (Prometheus), and adds the pools up itself: one
    service's instances are read one by one only while it is the `focus` (its detail)."""

    focus: str | None

    async def history(self, service: str, seconds: float) -> list[float]: ...

    async def peaks(self, window: str) -> Peaks: ...


@runtime_checkable
class SessionFocus(Protocol):
    """A source that reads the sessions worth a look (waiting, in a transaction, active) and,
    besides them, every session of the applications in `focus_apps` (a detail's service)."""

    focus_apps: tuple[str, ...]


@runtime_checkable
class BackendSignals(Protocol):
    """A source that can cancel or terminate a server backend (PostgreSQL)."""

    async def signal_backend(
        self, pid: int, terminate: bool, backend_start: float | None = None
    ) -> bool: ...


class BlockingRead:
    """For a source with a synchronous client: `read_blocking()` runs in a daemon thread (a
    read stuck on a source that trickles can be abandoned at exit). A read that outlives
    `wait_s` is waited for again by the next read() instead of starting a second one beside it
    on the same client: threads cannot be cancelled."""

    name: SourceName
    _inflight: asyncio.Future[Reading] | None = None

    @property
    def wait_s(self) -> float:
        raise NotImplementedError

    @property
    def read_every_s(self) -> float:
        return 0.0

    def read_blocking(self) -> Reading:
        raise NotImplementedError

    def close_blocking(self) -> None:
        raise NotImplementedError

    async def read(self) -> Reading:
        if self._inflight is None or self._inflight.done():
            self._inflight = in_daemon_thread(self.read_blocking, f"novapool-{self.name}")
        return await asyncio.wait_for(asyncio.shield(self._inflight), timeout=self.wait_s)

    async def close(self) -> None:
        await asyncio.to_thread(self.close_blocking)


def read_bounded(
    read1: Callable[[int], bytes], started: float, timeout_s: float, max_bytes: int
) -> bytes:
    """A whole HTTP body through `read1` (returns as soon as some bytes arrived), cut off when
    it is not all there `timeout_s` after `started` (time.monotonic()) or passes max_bytes: a
    source that trickles or never ends cannot hold a read."""
    chunks: list[bytes] = []
    size = 0
    while chunk := read1(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise ValueError(f"answer larger than {max_bytes // 2**20} MiB")
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"no whole answer within {timeout_s:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


def describe_error(exc: BaseException, mask: Callable[[str], str]) -> str:
    """One line for a failed read, secrets masked."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError) and not str(exc).strip():
        return "timed out"
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return mask(msg)
