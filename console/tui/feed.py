"""Where the console's snapshots come from. The live one is the Collector; a ReplayFeed serves
prepared snapshots (screenshots, snapshot tests, and a demo of any state without a server)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from console.snapshot import Snapshot


class Feed(Protocol):
    async def collect(self) -> Snapshot: ...

    async def close(self) -> None: ...

    async def signal_backend(self, pid: int, terminate: bool) -> bool: ...


@dataclass
class ReplayFeed:
    """Serves the snapshots in order, then keeps serving the last one."""

    snapshots: Sequence[Snapshot]
    served: int = 0
    signals: list[tuple[int, bool]] = field(default_factory=list)

    async def collect(self) -> Snapshot:
        snap = self.snapshots[min(self.served, len(self.snapshots) - 1)]
        self.served += 1
        return snap

    async def close(self) -> None:
        return None

    async def signal_backend(self, pid: int, terminate: bool) -> bool:
        self.signals.append((pid, terminate))
        return True


class CollectorFeed:
    """The live feed: a Collector, plus backend signalling through its PostgreSQL source."""

    def __init__(self, collector) -> None:
        self.collector = collector

    async def collect(self) -> Snapshot:
        return await self.collector.collect()

    async def close(self) -> None:
        await self.collector.close()

    async def signal_backend(self, pid: int, terminate: bool) -> bool:
        if self.collector.postgres is None:
            return False
        return await self.collector.postgres.signal_backend(pid, terminate)

    async def history(self, service: str, seconds: float = 3600) -> list[float] | None:
        """In-use over the last hour from Prometheus (one range query), if configured."""
        import asyncio

        from console.sources.prometheus import history_query
        prom = self.collector.prometheus
        if prom is None:
            return None
        points = await asyncio.to_thread(prom.range, history_query(prom.profile, service),
                                         seconds, max(15, seconds / 120))
        return [v for _, v in points]

    async def peaks(self, window: str = "7d") -> dict[str, float] | None:
        """Peak in-use per service over the window: one query for every service."""
        import asyncio

        prom = self.collector.prometheus
        if prom is None:
            return None
        p = prom.profile
        lbl = p.service_label
        in_use = f"(sum by ({lbl}) ({p.size}) - sum by ({lbl}) ({p.idle}))"
        # The window's peak (minute steps) or the value now, whichever is higher: a `src`
        # label keeps both sides of the `or` apart so that `max by` can compare them.
        q = (f'max by ({lbl}) (label_replace(max_over_time({in_use}[{window}:1m]), "src", '
             f'"window", "", "") or label_replace({in_use}, "src", "now", "", ""))')
        result = await asyncio.to_thread(prom._query, q)
        return {r["metric"].get(lbl, ""): float(r["value"][1]) for r in result
                if r["metric"].get(lbl)}
