"""Samples → pool gauges, through the configured metric profiles. Pure.

Both metrics sources feed it: the scrape source with the samples of each target's exposition
text, the Prometheus source with the answer of its one values query. A sample belongs to the
first profile that has a use for it and names a service; per pool (service, instance) and
field, the first alternative selector that has samples wins (two generations of a library's
names are never added up), and samples of one selector are summed (two pools of one service in
one process).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from console.core.profiles import FIELDS, GaugeChecks, MetricsProfile, add_gauge, series_name
from console.core.snapshot import InstanceAge, PoolInstance, ServicePools

# A reported max of this is no limit at all: Go's SetMaxOpenConns(0), the default.
UNLIMITED_MAX = 0.0


@dataclass(frozen=True)
class PoolGauges:
    size: float | None = None
    idle: float | None = None
    max: float | None = None
    pending: float | None = None
    unlimited: bool = False  # the pool reports no max: it can open as many as the server allows


@dataclass
class PoolSamples:
    profiles: tuple[MetricsProfile, ...]
    checks: GaugeChecks = field(default_factory=GaugeChecks)
    # (service, instance key) → (field, alternative) → {"v": sum}
    _slots: dict[tuple[str, Hashable], dict[tuple[str, int], dict[str, float | None]]] = field(
        default_factory=dict
    )
    # service → the (profile, label, value) its series carry: how to select it again in PromQL
    service_keys: dict[str, set[tuple[str, str, str]]] = field(default_factory=dict)

    def add(
        self, name: str, labels: Mapping[str, str], raw: str | float, instance: Hashable
    ) -> bool:
        """Take one sample; False when no profile has a use for it."""
        for profile in self.profiles:
            hit = profile.match(name, labels)
            if hit is None:
                continue
            service = profile.service_of(labels)
            if not service:
                continue
            where = f"{instance} " if isinstance(instance, str) and instance else ""
            value = self.checks.value(raw, where + series_name({"__name__": name, **labels}))
            slot = self._slots.setdefault((service, instance), {})
            add_gauge(slot.setdefault(hit, {}), "v", value)
            label = next((k for k in profile.service_labels if labels.get(k)), None)
            if label is not None:  # else the profile's default service: no label to select by
                keys = self.service_keys.setdefault(service, set())
                keys.add((profile.name, label, labels[label]))
            return True
        return False

    def gauges(self) -> dict[tuple[str, Hashable], PoolGauges]:
        out = {}
        for key, slot in self._slots.items():
            values: dict[str, float | None] = {}
            for f in FIELDS:
                chosen = min((i for (sf, i) in slot if sf == f), default=None)
                if chosen is not None:
                    values[f] = slot[(f, chosen)]["v"]
            out[key] = derive(values)
        return out


def derive(values: Mapping[str, float | None]) -> PoolGauges:
    """The fields a library does not export, from those it does; a max of 0 is unlimited."""
    size, idle, in_use = values.get("size"), values.get("idle"), values.get("in_use")
    if "size" not in values and idle is not None and in_use is not None:
        size = idle + in_use if math.isfinite(idle + in_use) else None
    if "idle" not in values and size is not None and in_use is not None:
        idle = max(0.0, size - in_use)
    max_ = values.get("max")
    unlimited = max_ == UNLIMITED_MAX
    return PoolGauges(
        size=size,
        idle=idle,
        max=None if unlimited else max_,
        pending=values.get("pending"),
        unlimited=unlimited,
    )


def totals_of(instances: Iterable[PoolInstance]) -> tuple[ServicePools, ...]:
    """Pool instances added up per service (what PromQL does for the Prometheus source):
    unknown gauges are left out of the sums; every instance's sample age is kept."""
    by_service: dict[str, list[PoolInstance]] = {}
    for p in instances:
        by_service.setdefault(p.service, []).append(p)
    out = []
    for service, pools in by_service.items():
        maxes = Counter(0.0 if p.unlimited else p.max for p in pools if p.unlimited or p.max)
        oldest = sorted(
            (
                InstanceAge(p.instance, p.sample_age_s, p.scrape_interval_s)
                for p in pools
                if p.sample_age_s is not None
            ),
            key=lambda o: -o.age_s,
        )
        down = tuple(sorted(p.instance for p in pools if p.up is False))
        out.append(
            ServicePools(
                service,
                len(pools),
                size=sum_known(p.size for p in pools),
                idle=sum_known(p.idle for p in pools),
                pending=sum_known(p.pending for p in pools),
                maxes=tuple(sorted((m, n) for m, n in maxes.items() if m is not None)),
                at_max=sum(1 for p in pools if p.max and p.size is not None and p.size >= p.max),
                oldest=tuple(oldest),
                down=down,
                down_count=len(down),
                unlimited_on=tuple(sorted(p.instance for p in pools if p.unlimited)),
                max_of=tuple(sorted((p.instance, p.max) for p in pools if p.max)),
            )
        )
    return tuple(out)


def sum_known(values: Iterable[float | None]) -> float | None:
    """The sum of the known values (None: none is known)."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None
