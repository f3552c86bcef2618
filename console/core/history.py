"""A small ring buffer of per-service figures over time, fed by each assessment (pure)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import islice

from console.core.assessment import Assessment


@dataclass(frozen=True, slots=True)  # slots: 600 points × every service stay small
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

    def values(self, service: str, attr: str, last: int | None = None) -> list[float]:
        """A series, oldest first; `last`: only the newest that many (a sparkline's width),
        read from the end without walking the whole ring."""
        points = self.series.get(service, deque())
        if last is not None:
            newest = list(islice(reversed(points), last))
            return [getattr(p, attr) or 0.0 for p in reversed(newest)]
        return [getattr(p, attr) or 0.0 for p in points]


@dataclass(frozen=True)
class Peaks:
    """Peak in-use per service over a window, and how much of the window the data really
    covers (seconds since the oldest sample in it; None: unknown)."""

    by_service: dict[str, float]
    covered_s: float | None = None


WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def window_seconds(window: str) -> float | None:
    """'7d' → 604800.0; None for what is not a simple PromQL duration."""
    unit = WINDOW_UNITS.get(window[-1:])
    try:
        return float(window[:-1]) * unit if unit else None
    except ValueError:
        return None
