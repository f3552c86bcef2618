"""Several servers at once: each server's assessment (its own budget, rows and findings, from
the one-server view of the allocation), the findings over all of them, and the rules that need
two servers (a standby against its primary). Pure: no I/O, no Textual.

One server (an allocation without `servers:`) is the same thing with one entry: `check`, the
audit and the console read a FleetAssessment either way.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

from console.core import assessment as assessment_mod
from console.core.allocation import Allocation, Server
from console.core.assessment import Assessment
from console.core.findings import Finding, Severity, worst
from console.core.rules import FLEET_CHECKS, standby_conflicts
from console.core.settings import Thresholds
from console.core.snapshot import Fleet, ServerInfo, Snapshot, SourceName, SourceStatus

# The one source a server has of its own (its connection); every other source is shared by all
# servers, and a finding about it, which each server's snapshot raises alike, is listed once.
PER_SERVER_SOURCES = (SourceName.POSTGRES,)


@dataclass(frozen=True)
class ServerAssessment:
    server: Server
    assessment: Assessment

    @property
    def name(self) -> str:
        return self.server.name

    @property
    def info(self) -> ServerInfo | None:
        return self.assessment.snapshot.server

    @property
    def status(self) -> SourceStatus:
        return self.assessment.snapshot.source(SourceName.POSTGRES)

    @property
    def in_recovery(self) -> bool | None:
        return self.info.in_recovery if self.info else None


@dataclass(frozen=True)
class FleetAssessment:
    taken_at: float
    allocation: Allocation  # the whole allocation (every server)
    servers: tuple[ServerAssessment, ...]
    findings: tuple[Finding, ...]  # every server's (tagged when several) and the fleet rules'

    @classmethod
    def single(cls, a: Assessment) -> FleetAssessment:
        """One server's assessment as a fleet of one."""
        srv = a.allocation.server(None)
        return cls(a.snapshot.taken_at, a.allocation, (ServerAssessment(srv, a),), a.findings)

    @property
    def several(self) -> bool:
        return len(self.servers) > 1

    @property
    def first(self) -> Assessment:
        return self.servers[0].assessment

    def server(self, name: str | None) -> ServerAssessment:
        """By name; None or an unknown name: the first."""
        return next((s for s in self.servers if s.name == name), self.servers[0])

    def findings_of(self, name: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.server in (name, None))

    def worst_of(self, name: str) -> Severity | None:
        return worst(self.findings_of(name) if self.several else self.findings)

    def by_worst(self) -> tuple[ServerAssessment, ...]:
        """Servers, the worst first (then the most findings, then the allocation's order)."""
        order = {s.name: i for i, s in enumerate(self.servers)}

        def key(s: ServerAssessment) -> tuple[int, int, int]:
            w = self.worst_of(s.name)
            return (-(w.rank if w else -1), -len(self.findings_of(s.name)), order[s.name])

        return tuple(sorted(self.servers, key=key))


def assess(
    fleet: Fleet | Snapshot, allocation: Allocation, thresholds: Thresholds | None = None
) -> FleetAssessment:
    thresholds = thresholds or Thresholds()
    if isinstance(fleet, Snapshot):  # one server's snapshot (tests, replays)
        fleet = Fleet.of(fleet, allocation.server_names()[0])
    # A service's pods are the same whichever server a pool of theirs draws on: the live
    # count comes from wherever their gauges are.
    replicas: dict[str, int] = {}
    for snap in fleet.snapshots.values():
        for name, n in Counter(p.service for p in snap.pools).items():
            replicas[name] = max(n, replicas.get(name, 0))
    servers = []
    for srv in allocation.server_list():
        snap = fleet.snapshots.get(srv.name) or Snapshot(taken_at=fleet.taken_at)
        a = assessment_mod.assess(snap, allocation.for_server(srv.name), thresholds, replicas)
        servers.append(ServerAssessment(srv, a))
    several = len(servers) > 1
    found: list[Finding] = []
    seen_shared: set[tuple[str, str]] = set()
    for sa in servers:
        for f in sa.assessment.findings:
            if several and f.source is not None and f.source not in PER_SERVER_SOURCES:
                if (f.rule, f.source) in seen_shared:
                    continue
                seen_shared.add((f.rule, f.source))
                found.append(f)
            else:
                found.append(dataclasses.replace(f, server=sa.name) if several else f)
    for check in FLEET_CHECKS.values():
        found.extend(check(servers, allocation, thresholds))
    found.sort(key=lambda f: (-f.severity.rank, f.rule, f.server or "", f.service or ""))
    return FleetAssessment(fleet.taken_at, allocation, tuple(servers), tuple(found))


def planned_conflicts(allocation: Allocation) -> list[Finding]:
    """The standby rule on an edited allocation (what-if, export): the allocation's values,
    which the what-if's start point already took from the live servers."""
    return list(standby_conflicts({s.name: (s, None) for s in allocation.server_list()}))
