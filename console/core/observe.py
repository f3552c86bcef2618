"""The observer's allocation: with no allocation file, the console and `check` still run, taking
every service the sources show — the pool metrics' service label, and the application_name of
client backends — at the size it reports (its pool max, else the server connections it holds).
Rows built this way are marked `observed`. Pure."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict

from console.core.allocation import SERVICE_NAME, Allocation, Service
from console.core.snapshot import Snapshot

CONSOLE_APPLICATION = "novapool"  # other novapool consoles are not a service


def service_named(application_name: str) -> str | None:
    """The observed service whose sessions carry this application name, if any: its own."""
    if application_name != CONSOLE_APPLICATION and SERVICE_NAME.fullmatch(application_name):
        return application_name
    return None


def observer() -> Allocation:
    """The allocation to start an observer with: no services yet."""
    return Allocation(observed=True)


def allocation_from(snapshot: Snapshot, base: Allocation) -> Allocation:
    maxes: dict[str, float] = {}
    instances: Counter[str] = Counter()
    for pool in snapshot.pools:
        if not SERVICE_NAME.fullmatch(pool.service):
            continue
        instances[pool.service] += 1
        if pool.max is not None and math.isfinite(pool.max) and pool.max > 0:
            maxes[pool.service] = max(maxes.get(pool.service, 0.0), pool.max)
    sessions: dict[str, int] = defaultdict(int)
    for row in snapshot.activity:
        name = service_named(row.application_name)
        if name is not None:
            sessions[name] += row.count
    services = []
    for name in sorted(set(instances) | set(sessions)):
        replicas = instances.get(name) or 1
        if name in maxes:
            max_connections = round(maxes[name])
        else:  # no pool max reported: what it holds on the server, spread over its replicas
            max_connections = math.ceil(sessions.get(name, 0) / replicas)
        services.append(
            Service(
                name=name,
                replicas=replicas,
                max_connections=max(1, max_connections),
                min_connections=0,
            )
        )
    return dataclasses.replace(base, services=tuple(services), observed=True)
