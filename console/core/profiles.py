"""Naming profiles: which metric names and which label mean pool size/idle/max and service.

Other pool libraries are a profile, not code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricsProfile:
    name: str
    size: str
    idle: str
    max: str
    service_label: str

    @property
    def gauges(self) -> tuple[str, str, str]:
        return (self.size, self.idle, self.max)

    def no_series_note(self) -> str:
        """What a source says when it answers with none of this profile's series."""
        return (
            f"no pool series of profile {self.name} ({', '.join(self.gauges)} with a "
            f"{self.service_label} label): another naming profile? (prometheus.metrics)"
        )


PROFILES = {
    # The seed's db-pool library (sqlx): one series per pool instance, label `service`.
    "nova-db-pool": MetricsProfile(
        "nova-db-pool", "db_pool_size", "db_pool_idle", "db_pool_max", "service"
    ),
    # HikariCP via Micrometer: label `pool` names the pool.
    "hikaricp": MetricsProfile(
        "hikaricp",
        "hikaricp_connections",
        "hikaricp_connections_idle",
        "hikaricp_connections_max",
        "pool",
    ),
    # Go database/sql via sqlstats: label `db_name`.
    "go-sql": MetricsProfile(
        "go-sql",
        "go_sql_stats_connections_open",
        "go_sql_stats_connections_idle",
        "go_sql_stats_connections_max_open",
        "db_name",
    ),
}


class GaugeChecks:
    """Every number read from outside is checked before use: a NaN, infinite or negative gauge
    is unknown (None), and said once per series in a note — never a crash, never invalid JSON."""

    SHOWN = 3

    def __init__(self) -> None:
        self.bad: list[str] = []

    def value(self, raw: str | float, series: str) -> float | None:
        try:
            v = float(raw)
        except (TypeError, ValueError):
            v = math.nan
        if math.isfinite(v) and v >= 0:
            return v
        self.bad.append(f"{series} = {raw}")
        return None

    def notes(self) -> tuple[str, ...]:
        if not self.bad:
            return ()
        more = f" and {len(self.bad) - self.SHOWN} more" if len(self.bad) > self.SHOWN else ""
        shown = "; ".join(self.bad[: self.SHOWN])
        return (f"unusable gauge values, shown as unknown: {shown}{more}",)


def add_gauge(slot: dict[str, float | None], field: str, value: float | None) -> None:
    """Sum a gauge into slot[field] (two pools of one service in one process); one unknown
    part makes the sum unknown."""
    if field in slot and slot[field] is None:
        return
    slot[field] = None if value is None else (slot.get(field) or 0.0) + value


def series_name(metric: Mapping[str, str]) -> str:
    """name{label="value",...} of a series, for a note (untrusted: shown through clean())."""
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{metric.get('__name__', '')}{{{labels}}}"


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal for an untrusted label value."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'
