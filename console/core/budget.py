"""The budget arithmetic, one definition for the console, `check`, `audit` and the what-if editor.

    available   = max_connections − superuser_reserved_connections − reserved_connections
    allocated   = Σ services (max × replicas) + Σ reserved line items
    min_floor   = Σ services (min × replicas)
    headroom    = available − allocated;  headroom_pct = 100 × headroom / available
    overcommitted = allocated > available

WAL senders, autovacuum and background workers have slots of their own and are not subtracted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

from console.core.allocation import Allocation, EffectivePool, Service
from console.core.memo import kept_while_same


@dataclass(frozen=True)
class Slots:
    """The server's connection slots: live from the server, or the allocation's `cluster:`."""

    max_connections: int
    superuser_reserved_connections: int
    reserved_connections: int = 0  # PostgreSQL 16+; 0 before

    @property
    def available(self) -> int:
        return (
            self.max_connections - self.superuser_reserved_connections - self.reserved_connections
        )


@dataclass(frozen=True)
class ServiceBudget:
    name: str
    tier: str | None
    max_connections: int
    min_connections: int
    replicas: int
    replicas_source: str  # "metrics" | "allocation"
    allocation_source: str  # "allocation" | "library-default"

    @property
    def allocated(self) -> int:
        return self.max_connections * self.replicas

    @property
    def floor(self) -> int:
        return self.min_connections * self.replicas


@dataclass(frozen=True)
class Budget:
    slots: Slots
    services: tuple[ServiceBudget, ...]
    reserved: tuple[tuple[str, int], ...]

    @property
    def available(self) -> int:
        return self.slots.available

    @cached_property
    def reserved_total(self) -> int:
        return sum(n for _, n in self.reserved)

    @cached_property
    def allocated(self) -> int:
        return sum(s.allocated for s in self.services) + self.reserved_total

    @cached_property
    def min_floor(self) -> int:
        return sum(s.floor for s in self.services)

    @property
    def headroom(self) -> int:
        return self.available - self.allocated

    @property
    def headroom_pct(self) -> float | None:
        if self.available <= 0:
            return None
        return round(100.0 * self.headroom / self.available, 1)

    @property
    def overcommitted(self) -> bool:
        return self.allocated > self.available

    @property
    def allocated_pct(self) -> float | None:
        if self.available <= 0:
            return None
        return round(100.0 * self.allocated / self.available, 1)

    def service(self, name: str) -> ServiceBudget:
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "allocated": self.allocated,
            "min_floor": self.min_floor,
            "available": self.available,
            "headroom": self.headroom,
            "headroom_pct": self.headroom_pct,
            "overcommitted": self.overcommitted,
        }


def slots_of(allocation: Allocation) -> Slots:
    c = allocation.cluster
    return Slots(c.max_connections, c.superuser_reserved_connections, c.reserved_connections)


# a service's name → the last budget line made for it, with what it was made of (one a name:
# an observer's services are new objects every refresh, and must not pile up)
_KEPT: dict[str, tuple[tuple[Any, ...], ServiceBudget]] = {}


def _line(svc: Service, pool: EffectivePool, live: int | None) -> ServiceBudget:
    return ServiceBudget(
        name=svc.name,
        tier=svc.tier,
        max_connections=pool.max_connections,
        min_connections=pool.min_connections,
        replicas=live if live else svc.replicas,
        replicas_source="metrics" if live else "allocation",
        allocation_source=pool.source,
    )


def compute(
    allocation: Allocation,
    slots: Slots | None = None,
    live_replicas: Mapping[str, int] | None = None,
) -> Budget:
    """The budget of allocation against slots (default: the file's), replicas from metrics
    where known (instances reporting the service's pool gauge), else from the file."""
    live_replicas = live_replicas or {}
    services = []
    for svc in allocation.services:
        pool = allocation.effective(svc)
        live = live_replicas.get(svc.name)
        # the same service, pool and live count as last time: the same ServiceBudget (the
        # facts then see an unchanged service at a glance: it is the very object)
        services.append(
            kept_while_same(_KEPT, svc.name, (svc, pool, live), partial(_line, svc, pool, live))
        )
    return Budget(
        slots=slots or slots_of(allocation), services=tuple(services), reserved=allocation.reserved
    )


def overcommit_cause(b: Budget, allocation: Allocation) -> str | None:
    """Why a budget is overcommitted, in words: the services scaled past the allocation's
    replicas (with the connections each added), slots below the file's, or the allocation
    itself."""
    if not b.overcommitted:
        return None
    causes = []
    for s in b.services:
        try:
            planned = allocation.service(s.name).replicas
        except KeyError:
            continue
        if s.replicas_source == "metrics" and s.replicas > planned:
            causes.append(
                f"{s.name} scaled {planned} → {s.replicas} replicas "
                f"(+{(s.replicas - planned) * s.max_connections})"
            )
    planned_slots = slots_of(allocation).available
    if b.available < planned_slots:
        causes.append(f"the server has {b.available} slots, the allocation {planned_slots}")
    return "; ".join(causes) if causes else "the allocation itself"
