"""A small ring buffer of per-service figures over time, fed by each assessment (pure)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from console.core.assessment import Assessment


@dataclass(frozen=True)
class Point:
    t: float
    in_use: float | None
    busy_pct: float | None
    server_connections: int | None


@dataclass
class History:
    maxlen: int = 600
    series: dict[str, deque[Point]] = field(default_factory=dict)

    def add(self, a: Assessment) -> None:
        t = a.snapshot.taken_at
        for row in a.services:
            buf = self.series.setdefault(row.name, deque(maxlen=self.maxlen))
            if buf and buf[-1].t == t:
                continue
            buf.append(Point(t, row.in_use, row.busy_pct, row.server_connections))

    def values(self, service: str, attr: str) -> list[float]:
        points = self.series.get(service, ())
        return [getattr(p, attr) or 0.0 for p in points]
