"""Naming profiles: which metric names and which label mean pool size/idle/max and service.

Other pool libraries are a profile, not code.
"""

from __future__ import annotations

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


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal for an untrusted label value."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'
