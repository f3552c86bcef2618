"""Snapshot + allocation → the plain facts the rules and the views read: the budget, one row per
service (pool gauges beside server sessions), the unattributed sessions. Pure."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from console.core import budget as budget_mod
from console.core.allocation import Allocation
from console.core.exported import the_server
from console.core.memo import kept_while_same
from console.core.pools import totals_of
from console.core.snapshot import Backend, PoolInstance, ServicePools, Snapshot, percent


@dataclass(frozen=True)
class ServiceRow:
    name: str
    tier: str | None
    allocation_source: str  # allocation | library-default | observed
    allocated_max: int
    allocated_min: int
    replicas: int
    replicas_source: str
    pool_size: float | None
    pool_idle: float | None
    pool_max_reported: float | None
    pool_unlimited: int  # instances whose pool reports no max at all
    pool_pending: float | None  # callers waiting for a connection, where the library says
    in_use: float | None
    fill_pct: float | None
    busy_pct: float | None
    server_connections: int | None
    states: dict[str, int]
    # its pools added up (None: no gauges seen); the instances one by one where the source
    # lists them (--scrape: always; Prometheus: while this service's detail is open)
    pools: ServicePools | None = None
    instances: tuple[PoolInstance, ...] = ()

    @property
    def allocated(self) -> int:
        return self.allocated_max * self.replicas

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tier": self.tier,
            "allocation_source": self.allocation_source,
            "allocated_max": self.allocated_max,
            "allocated_min": self.allocated_min,
            "replicas": self.replicas,
            "replicas_source": self.replicas_source,
            "pool_size": _num(self.pool_size),
            "pool_idle": _num(self.pool_idle),
            "pool_max_reported": _num(self.pool_max_reported),
            "pool_unlimited_instances": self.pool_unlimited,
            "pool_pending": _num(self.pool_pending),
            "in_use": _num(self.in_use),
            "fill_pct": self.fill_pct,
            "busy_pct": self.busy_pct,
            "server_connections": self.server_connections,
            "states": dict(self.states),
            "instances": self.pools.instances if self.pools else 0,
        }


@dataclass(frozen=True)
class Unattributed:
    server_connections: int | None
    applications: tuple[str, ...]
    states: dict[str, int] = field(default_factory=dict)
    by_application: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    snapshot: Snapshot
    allocation: Allocation
    budget: budget_mod.Budget
    services: tuple[ServiceRow, ...]
    unattributed: Unattributed
    client_backends: int | None
    by_state: dict[str, int]

    def service(self, name: str) -> ServiceRow:
        for row in self.services:
            if row.name == name:
                return row
        raise KeyError(name)

    def service_of(self, b: Backend) -> str | None:
        """The service a backend belongs to (None: unattributed)."""
        return self.allocation.service_for(b.application_name, b.usename or "", b.client_addr or "")

    def backends_of(self, name: str | None) -> tuple[Backend, ...]:
        """Backends of service `name`; None for the unattributed ones."""
        return tuple(b for b in self.snapshot.backends if self.service_of(b) == name)


NO_STATES: Mapping[str, int] = {}  # a service with no session (one empty map, not one each)


def _num(x: float | None) -> float | int | None:
    if x is None:
        return None
    return int(x) if float(x).is_integer() else round(x, 2)


def _pct(part: float | None, whole: float | None) -> float | None:
    value = percent(part, whole)
    return None if value is None else round(value, 1)


def slots_for(snapshot: Snapshot, allocation: Allocation) -> budget_mod.Slots:
    """The server's own slots when it answered, else its exporter's (live values win), else
    the allocation's."""
    server = snapshot.server or the_server(snapshot.exported)
    if server is None:
        return budget_mod.slots_of(allocation)
    return budget_mod.Slots(
        server.max_connections, server.superuser_reserved_connections, server.reserved_connections
    )


def slots_from(snapshot: Snapshot) -> str:
    """Where the slots came from: `postgres`, `prometheus` (postgres_exporter's metrics, read
    through Prometheus or --scrape) or `allocation`."""
    if snapshot.server is not None:
        return "postgres"
    return "prometheus" if the_server(snapshot.exported) else "allocation"


# Each service's last row, by name, with what it was made of. Between two Prometheus reads a
# service's pools are the same object (`ServicePools.measured_at`) and most services' sessions
# do not change: their rows are kept, not made again each refresh (200 services: ~1 ms a
# refresh). One row a name (a service with pools on two servers is made again each time).
_ROWS: dict[str, tuple[tuple[Any, ...], ServiceRow]] = {}


def _service_row(
    sb: budget_mod.ServiceBudget,
    pools: ServicePools | None,
    instances: tuple[PoolInstance, ...],
    states: tuple[tuple[str, int], ...],
    have_activity: bool,
) -> ServiceRow:
    size = pools.size if pools else None
    idle = pools.idle if pools else None
    max_total = pools.max_total if pools else None
    in_use = None if size is None or idle is None else size - idle
    denominator = max_total if max_total else (sb.allocated if pools else None)
    return ServiceRow(
        name=sb.name,
        tier=sb.tier,
        allocation_source=sb.allocation_source,
        allocated_max=sb.max_connections,
        allocated_min=sb.min_connections,
        replicas=sb.replicas,
        replicas_source=sb.replicas_source,
        pool_size=size,
        pool_idle=idle,
        pool_max_reported=pools.max_reported if pools else None,
        pool_unlimited=pools.unlimited if pools else 0,
        pool_pending=pools.pending if pools else None,
        in_use=in_use,
        fill_pct=_pct(size, denominator),
        busy_pct=_pct(in_use, denominator),
        server_connections=sum(n for _, n in states) if have_activity else None,
        states=dict(states),
        pools=pools,
        instances=instances,
    )


def derive(
    snapshot: Snapshot, allocation: Allocation, replicas: Mapping[str, int] | None = None
) -> Facts:
    """replicas: live instance counts seen elsewhere (another server's snapshot has the
    pods' gauges): used for services whose gauges this snapshot does not have."""
    pools_by_service: dict[str, list[PoolInstance]] = defaultdict(list)
    for pool in snapshot.pools:
        pools_by_service[pool.service].append(pool)
    # a source's own sums win (Prometheus also lists one service's instances one by one)
    totals = {t.service: t for t in (*totals_of(snapshot.pools), *snapshot.pool_totals)}
    live_replicas = {**(replicas or {}), **{n: t.instances for n, t in totals.items()}}
    budget = budget_mod.compute(allocation, slots_for(snapshot, allocation), live_replicas)

    have_activity = snapshot.server is not None
    states_by_service: dict[str | None, Counter[str]] = defaultdict(Counter)
    unattributed_apps: Counter[str] = Counter()
    by_state: Counter[str] = Counter()
    for row in snapshot.activity:
        service = allocation.service_for(row.application_name, row.usename, row.client_addr)
        states_by_service[service][row.state] += row.count
        by_state[row.state] += row.count
        if service is None:
            unattributed_apps[row.application_name] += row.count

    rows = []
    for sb in budget.services:
        pools = totals.get(sb.name)
        states = tuple(sorted(states_by_service.get(sb.name, NO_STATES).items()))
        instances = tuple(pools_by_service.get(sb.name, ()))
        inputs = (sb, pools, instances, states, have_activity)
        rows.append(kept_while_same(_ROWS, sb.name, inputs, partial(_service_row, *inputs)))
    unattributed = Unattributed(
        server_connections=sum(unattributed_apps.values()) if have_activity else None,
        applications=tuple(sorted(unattributed_apps)),
        states=dict(sorted(states_by_service.get(None, Counter()).items())),
        by_application=dict(unattributed_apps.most_common()),
    )
    exported = the_server(snapshot.exported)
    client_backends = (
        (sum(by_state.values()) + snapshot.self_connections)
        if have_activity
        else exported.sessions
        if exported
        else None
    )
    if have_activity and snapshot.self_connections:
        by_state["active"] += snapshot.self_connections
    return Facts(
        snapshot=snapshot,
        allocation=allocation,
        budget=budget,
        services=tuple(rows),
        unattributed=unattributed,
        client_backends=client_backends,
        by_state=dict(sorted(by_state.items())),
    )
