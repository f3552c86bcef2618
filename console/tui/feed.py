"""Where the console's snapshots come from. The live one is the Collector; a ReplayFeed serves
prepared snapshots (screenshots, snapshot tests, and a demo of any state without a server)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from console.core.history import Peaks
from console.core.snapshot import Fleet, Snapshot

if TYPE_CHECKING:
    from console.sources.collect import Collector


class Feed(Protocol):
    @property
    def has_history(self) -> bool:
        """History and peaks of the pools can be asked for (a PoolHistory source)."""
        ...

    async def collect(self, every_source: bool = False) -> Snapshot | Fleet:
        """The sources, as of now. every_source (`r`): read each of them now, even one that
        has nothing new yet or is being retried later (see Collector.collect)."""
        ...

    async def close(self) -> None: ...

    def set_refresh(self, seconds: float) -> None:
        """The console's refresh interval changed (a read waits most of one, at most)."""
        ...

    async def signal_backend(
        self,
        pid: int,
        terminate: bool,
        backend_start: float | None = None,
        server: str | None = None,
    ) -> bool: ...

    async def history(self, service: str, seconds: float = 3600) -> list[float] | None: ...

    async def peaks(self, window: str = "7d") -> Peaks | None: ...

    def focus(self, service: str | None) -> None:
        """A detail is open on `service` (None: the unattributed sessions): a source that adds
        the pools up reads its instances one by one, a server its idle sessions too, from the
        next refresh on."""
        ...

    def unfocus(self) -> None:
        """No detail is open."""
        ...


@dataclass
class ReplayFeed:
    """Serves the snapshots in order, then keeps serving the last one."""

    snapshots: Sequence[Snapshot | Fleet]
    served: int = 0
    signals: list[tuple[int, bool]] = field(default_factory=list)
    has_history: bool = False

    async def collect(self, every_source: bool = False) -> Snapshot | Fleet:
        snap = self.snapshots[min(self.served, len(self.snapshots) - 1)]
        self.served += 1
        return snap

    async def close(self) -> None:
        return None

    def set_refresh(self, seconds: float) -> None:
        return None

    async def signal_backend(
        self,
        pid: int,
        terminate: bool,
        backend_start: float | None = None,
        server: str | None = None,
    ) -> bool:
        self.signals.append((pid, terminate))
        return True

    async def history(self, service: str, seconds: float = 3600) -> list[float] | None:
        return None

    async def peaks(self, window: str = "7d") -> Peaks | None:
        return None

    def focus(self, service: str | None) -> None:
        return None

    def unfocus(self) -> None:
        return None


class CollectorFeed:
    """The live feed: a Collector, and its sources' capabilities (history, backend signals)."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    @property
    def has_history(self) -> bool:
        return self.collector.pool_history is not None

    async def collect(self, every_source: bool = False) -> Snapshot | Fleet:
        return await self.collector.collect(every_source)

    async def close(self) -> None:
        await self.collector.close()

    def set_refresh(self, seconds: float) -> None:
        self.collector.patience_s = max(0.2, 0.75 * seconds)

    async def signal_backend(
        self,
        pid: int,
        terminate: bool,
        backend_start: float | None = None,
        server: str | None = None,
    ) -> bool:
        source = self.collector.backend_signals_of(server)
        if source is None:
            return False
        return await source.signal_backend(pid, terminate, backend_start)

    async def history(self, service: str, seconds: float = 3600) -> list[float] | None:
        """In-use over the last hour, where a source keeps the pools' past."""
        source = self.collector.pool_history
        return None if source is None else await source.history(service, seconds)

    async def peaks(self, window: str = "7d") -> Peaks | None:
        """Peak in-use per service over the window, where a source keeps the pools' past."""
        source = self.collector.pool_history
        return None if source is None else await source.peaks(window)

    def focus(self, service: str | None) -> None:
        self.collector.focus(service)

    def unfocus(self) -> None:
        self.collector.unfocus()
