"""Each service's in-use connections over time, fed by each assessment (pure), bounded in
bytes: the sparklines and the session's peaks read it.

A point is one float64 in a ring of fixed capacity per service (no object per point): at most
`maxlen` points each, and fewer when there are so many services that the whole would exceed
`budget_bytes`, so memory stays flat whatever the fleet's size or the session's length.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from console.core.assessment import Assessment

POINT_BYTES = 8  # one float64
BUDGET_BYTES = 2 << 20  # 2 MiB: 600 points of both fields for 200 services, fewer beyond


class Ring:
    """The newest `capacity` values appended, in a preallocated array."""

    __slots__ = ("_values", "_start", "_size", "appended")

    def __init__(self, capacity: int) -> None:
        self._values = array("d", bytes(POINT_BYTES * max(1, capacity)))
        self._start = 0
        self._size = 0
        self.appended = 0  # values ever appended: the newest is number appended - 1

    @property
    def capacity(self) -> int:
        return len(self._values)

    def __len__(self) -> int:
        return self._size

    def append(self, value: float) -> None:
        self.appended += 1
        cap = len(self._values)
        if self._size < cap:
            self._values[(self._start + self._size) % cap] = value
            self._size += 1
        else:  # full: the oldest is overwritten
            self._values[self._start] = value
            self._start = (self._start + 1) % cap

    def tail(self, n: int | None = None) -> list[float]:
        """The newest n values (all when None), oldest first."""
        n = self._size if n is None else max(0, min(n, self._size))
        cap, first = len(self._values), self._start + self._size - n
        return [self._values[(first + i) % cap] for i in range(n)]

    def runs(self, count: int, length: int) -> list[float]:
        """The max of each of the newest `count` runs of `length` values, oldest first. Runs
        are counted from the first value ever appended, not back from the newest: a run's
        max changes only when a value lands in it, so what is drawn from them moves once a
        run, not on every value."""
        length = max(1, length)
        if not self._size or count <= 0:
            return []
        cap, total = len(self._values), self.appended
        oldest = total - self._size  # the number of the oldest value held
        newest_run = (total - 1) // length
        out = []
        for run in range(max(newest_run - count + 1, oldest // length), newest_run + 1):
            lo, hi = max(run * length, oldest), min((run + 1) * length, total)
            out.append(max(self._values[(self._start + i - oldest) % cap] for i in range(lo, hi)))
        return out

    def runs_version(self, count: int, length: int) -> object:
        """Equal while `runs(count, length)` is, found in O(length) when the ring holds every
        value of the runs shown (so from the first value on, while it fills: a console's
        first minute too): runs before the newest are complete and never change, so the
        first run's and the newest's numbers and the newest's max so far say it all. A ring
        too small for the window loses old values on every append: then the runs are their
        own version."""
        length = max(1, length)
        if not self._size or count <= 0:
            return None
        oldest = self.appended - self._size  # the number of the oldest value held
        newest_run = (self.appended - 1) // length
        first_run = max(newest_run - count + 1, oldest // length)
        if first_run * length < oldest:  # the first run shown has lost values
            return tuple(self.runs(count, length))
        newest = self.tail(self.appended - newest_run * length)  # the newest run's values
        return (first_run, newest_run, max(newest))

    def resized(self, capacity: int) -> Ring:
        ring = Ring(capacity)
        for v in self.tail(capacity):
            ring.append(v)
        ring.appended = self.appended
        return ring


FIELDS = ("in_use", "server_connections")  # what is drawn over time (detail, sparklines)


@dataclass
class History:
    maxlen: int = 600
    budget_bytes: int = BUDGET_BYTES
    # field → service → ring
    series: dict[str, dict[str, Ring]] = field(default_factory=lambda: {f: {} for f in FIELDS})
    _last_taken_at: float | None = None

    def capacity(self, services: int) -> int:
        """Points per service and field for this many services, within the byte budget."""
        per_point = POINT_BYTES * len(FIELDS) * max(1, services)
        return max(1, min(self.maxlen, self.budget_bytes // per_point))

    @property
    def services(self) -> list[str]:
        return list(self.series[FIELDS[0]])

    @property
    def nbytes(self) -> int:
        return POINT_BYTES * sum(
            r.capacity for rings in self.series.values() for r in rings.values()
        )

    def add(self, a: Assessment) -> None:
        t = a.snapshot.taken_at
        if t == self._last_taken_at:  # the same snapshot shown again (paused, a screen change)
            return
        self._last_taken_at = t
        known = self.series[FIELDS[0]]
        new = [row.name for row in a.services if row.name not in known]
        if new:
            cap = self.capacity(len(known) + len(new))
            for rings in self.series.values():
                for name, ring in rings.items():
                    if ring.capacity > cap:  # more services: every ring keeps fewer points
                        rings[name] = ring.resized(cap)
                for name in new:
                    rings[name] = Ring(cap)
        for row in a.services:
            for f, rings in self.series.items():
                rings[row.name].append(getattr(row, f) or 0.0)

    def values(self, service: str, attr: str = "in_use", last: int | None = None) -> list[float]:
        """A service's `attr` (one of FIELDS), oldest first; `last`: only the newest that many
        (a sparkline's width), read from the end of the ring."""
        ring = self.series[attr].get(service)
        return ring.tail(last) if ring is not None else []

    def runs(self, service: str, attr: str, count: int, length: int) -> list[float]:
        """A service's `attr`: the max of each of its newest `count` runs of `length` points
        (a sparkline of `count` characters, each `length` refreshes), oldest first."""
        ring = self.series[attr].get(service)
        return ring.runs(count, length) if ring is not None else []

    def runs_version(self, service: str, attr: str, count: int, length: int) -> object:
        """Equal while `runs(service, attr, count, length)` is."""
        ring = self.series[attr].get(service)
        return ring.runs_version(count, length) if ring is not None else None


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
