"""What a rule reports: a Finding with a severity. Rule ids are stable API (check --json,
alerting): they are declared once, in `RuleId`, and never renamed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
INFO, WARNING, CRITICAL = Severity.INFO, Severity.WARNING, Severity.CRITICAL


class RuleId(StrEnum):
    """Every rule id novapool emits. Each has one declaration in `rules.RULES`."""

    SOURCE_UNREACHABLE = "source-unreachable"
    SOURCE_NO_SERIES = "source-no-series"
    SOURCE_LIMITED = "source-limited"
    BUDGET_OVERCOMMITTED = "budget-overcommitted"
    BUDGET_HEADROOM_LOW = "budget-headroom-low"
    CLUSTER_NEAR_MAX = "cluster-near-max"
    SERVICE_OVER_ALLOCATION = "service-over-allocation"
    POOL_UTILIZATION_HIGH = "pool-utilization-high"
    POOL_MAX_DRIFT = "pool-max-drift"
    POOL_UNLIMITED = "pool-unlimited"
    POOLER_ATTRIBUTION = "pooler-attribution"
    IDLE_IN_TRANSACTION = "idle-in-transaction"
    LONG_RUNNING_QUERY = "long-running-query"
    LOCK_WAIT = "lock-wait"
    LOCK_HOLDER = "lock-holder"
    UNKNOWN_APPLICATION = "unknown-application"
    METRICS_STALE = "metrics-stale"
    ALLOCATION_LIBRARY_DEFAULT = "allocation-library-default"
    LIFETIME_NO_JITTER = "lifetime-no-jitter"
    STANDBY_SETTINGS_BELOW_PRIMARY = "standby-settings-below-primary"
    SERVER_ROLE_MISMATCH = "server-role-mismatch"


def first_few(items: list[str], n: int = 3) -> str:
    """'a, b, c and 4 more': a message names a few instances, not hundreds."""
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


@dataclass(frozen=True)
class Finding:
    rule: RuleId
    severity: Severity
    service: str | None
    message: str
    pids: tuple[int, ...] = ()
    value: float | None = None  # the number behind it, for sorting and display
    server: str | None = None  # set when the allocation names several servers
    source: str | None = None  # the source it is about (the source-* rules), not in the JSON

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "rule": str(self.rule),
            "severity": str(self.severity),
            "service": self.service,
            "message": self.message,
        }
        if self.pids:
            d["pids"] = list(self.pids)
        if self.server is not None:
            d["server"] = self.server
        return d


def worst(findings: Iterable[Finding]) -> Severity | None:
    return max((f.severity for f in findings), key=lambda s: s.rank, default=None)
