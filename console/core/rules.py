"""The findings engine: pure functions of an assessment and thresholds. Rule ids are stable API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.core.settings import Levels, Thresholds
from console.core.snapshot import UNREACHABLE

if TYPE_CHECKING:
    from console.core.assessment import Assessment

INFO, WARNING, CRITICAL = "info", "warning", "critical"
SEVERITY_RANK = {INFO: 0, WARNING: 1, CRITICAL: 2}

# rule id → (one-line description for help and the audit)
RULES: dict[str, str] = {
    "source-unreachable": "a configured source cannot be reached or queried",
    "budget-overcommitted": "allocated > available: the pools can ask for more than the server has",
    "budget-headroom-low": "allocated within the last slots of available (budget_near_max_pct)",
    "cluster-near-max": "client backends ≥ 80 % of available (critical ≥ 95 %)",
    "service-over-allocation": "a service holds more server connections than max × replicas",
    "pool-utilization-high": "a pool's fill (size / max) above 85 %; critical when full with none idle",
    "pool-max-drift": "a pool reports a max different from its allocation",
    "idle-in-transaction": "a backend idle in transaction > 30 s (critical > 300 s)",
    "long-running-query": "an active query running > 60 s (critical > 300 s)",
    "lock-wait": "a backend waiting on a lock > 5 s (critical > 60 s), with the blocking pids",
    "unknown-application": "client backends whose application matches no service",
    "metrics-stale": "a service's newest pool sample older than 3 scrape intervals, or target down",
    "allocation-library-default": "a service missing from the allocation table gets the library default",
    "lifetime-no-jitter": "every pool of a service expires connections at the same max_lifetime",
}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    service: str | None
    message: str
    pids: tuple[int, ...] = ()
    value: float | None = None    # the number behind it, for sorting and display

    def as_dict(self) -> dict:
        d = {"rule": self.rule, "severity": self.severity, "service": self.service,
             "message": self.message}
        if self.pids:
            d["pids"] = list(self.pids)
        return d


def worst(findings) -> str | None:
    return max((f.severity for f in findings), key=SEVERITY_RANK.__getitem__, default=None)


def level(value: float, levels: Levels) -> str | None:
    if value > levels.critical:
        return CRITICAL
    if value > levels.warning:
        return WARNING
    return None


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else f"{n:.1f}"


def evaluate(a: Assessment, t: Thresholds) -> tuple[Finding, ...]:
    out: list[Finding] = []
    for rule in (_sources, _budget, _cluster, _services, _backends, _unknown, _stale,
                 _allocation_only):
        out.extend(rule(a, t))
    out.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.rule, f.service or "",
                            -(f.value or 0)))
    return tuple(out)


def _sources(a: Assessment, t: Thresholds):
    for name, status in a.snapshot.sources.items():
        if status.status == UNREACHABLE:
            yield Finding("source-unreachable", CRITICAL, None,
                          f"{name} unreachable: {status.error or 'no answer'}")


def _budget(a: Assessment, t: Thresholds):
    b = a.budget
    if b.overcommitted:
        yield Finding("budget-overcommitted", CRITICAL, None,
                      f"allocated {b.allocated} > available {b.available}: "
                      f"overcommitted by {-b.headroom}", value=-b.headroom)
    elif b.available > 0 and 100.0 * b.allocated / b.available >= t.budget_near_max_pct:
        yield Finding("budget-headroom-low", WARNING, None,
                      f"allocated {b.allocated} of {b.available} available "
                      f"({b.allocated_pct} %): headroom {b.headroom}", value=b.allocated_pct)


def _cluster(a: Assessment, t: Thresholds):
    if a.client_backends is None or a.budget.available <= 0:
        return
    pct = 100.0 * a.client_backends / a.budget.available
    sev = (CRITICAL if pct >= t.cluster_near_max_pct.critical
           else WARNING if pct >= t.cluster_near_max_pct.warning else None)
    if sev:
        yield Finding("cluster-near-max", sev, None,
                      f"{a.client_backends} client backends of {a.budget.available} "
                      f"available ({pct:.0f} %)", value=pct)


def _services(a: Assessment, t: Thresholds):
    for row in a.services:
        limit = row.allocated_max * row.replicas
        if row.server_connections is not None and row.server_connections > limit:
            yield Finding("service-over-allocation", CRITICAL, row.name,
                          f"{row.server_connections} server connections > allocated "
                          f"{row.allocated_max} × {row.replicas} = {limit}",
                          value=row.server_connections - limit)
        if row.fill_pct is not None and row.fill_pct > t.pool_utilization_pct:
            exhausted = (row.pool_idle == 0 and row.pool_size is not None
                         and row.instances
                         and all(p.max is not None and p.size is not None and p.size >= p.max
                                 for p in row.instances))
            yield Finding("pool-utilization-high", CRITICAL if exhausted else WARNING, row.name,
                          f"pool fill {row.fill_pct:.0f} % (size {_fmt(row.pool_size)}, "
                          f"idle {_fmt(row.pool_idle or 0)})"
                          + (": exhausted, none idle" if exhausted else ""), value=row.fill_pct)
        drifted = sorted({(p.instance, p.max) for p in row.instances
                          if p.max is not None and p.max != row.allocated_max})
        if drifted:
            shown = ", ".join(f"{inst} max {_fmt(m)}" for inst, m in drifted[:3])
            more = f" and {len(drifted) - 3} more" if len(drifted) > 3 else ""
            yield Finding("pool-max-drift", WARNING, row.name,
                          f"allocated max {row.allocated_max}, reported: {shown}{more}",
                          value=max(m for _, m in drifted))


def _backends(a: Assessment, t: Thresholds):
    service_of = a.allocation.service_for_application
    for b in a.snapshot.backends:
        svc = service_of(b.application_name)
        who = f"pid {b.pid}" + (f" ({b.application_name})" if b.application_name else "")
        if b.state.startswith("idle in transaction") and b.state_age_s is not None:
            sev = level(b.state_age_s, t.idle_in_transaction_s)
            if sev:
                yield Finding("idle-in-transaction", sev, svc,
                              f"{who} {b.state} for {b.state_age_s:.0f} s", (b.pid,),
                              value=b.state_age_s)
        if b.state == "active" and b.query_age_s is not None and b.wait_event_type != "Lock":
            sev = level(b.query_age_s, t.long_running_query_s)
            if sev:
                yield Finding("long-running-query", sev, svc,
                              f"{who} running a query for {b.query_age_s:.0f} s", (b.pid,),
                              value=b.query_age_s)
        if b.wait_event_type == "Lock":
            waited = b.lock_wait_s if b.lock_wait_s is not None else b.query_age_s
            sev = level(waited or 0, t.lock_wait_s)
            if sev:
                blockers = ", ".join(str(p) for p in b.blocking_pids) or "unknown"
                yield Finding("lock-wait", sev, svc,
                              f"{who} waiting on a {b.wait_event or 'lock'} lock for "
                              f"{waited:.0f} s, blocked by pid {blockers}",
                              (b.pid, *b.blocking_pids), value=waited)


def _unknown(a: Assessment, t: Thresholds):
    u = a.unattributed
    if not u.server_connections:
        return
    sev = WARNING if u.server_connections > t.unknown_application_connections else INFO
    apps = ", ".join(f"{name or '(no name)'} ×{n}" for name, n in list(u.by_application.items())[:5])
    yield Finding("unknown-application", sev, None,
                  f"{u.server_connections} client connections match no service: {apps}",
                  value=u.server_connections)


def _stale(a: Assessment, t: Thresholds):
    for row in a.services:
        down = [p.instance for p in row.instances if p.up is False]
        stale = [p for p in row.instances if p.sample_age_s is not None and p.scrape_interval_s
                 and p.sample_age_s > t.stale_scrape_intervals * p.scrape_interval_s]
        if down:
            yield Finding("metrics-stale", WARNING, row.name,
                          f"target down: {', '.join(sorted(down)[:3])}", value=len(down))
        elif stale:
            oldest = max(p.sample_age_s for p in stale)
            yield Finding("metrics-stale", WARNING, row.name,
                          f"newest pool sample {oldest:.0f} s old "
                          f"(> {t.stale_scrape_intervals:g} × {stale[0].scrape_interval_s:g} s)",
                          value=oldest)


def _allocation_only(a: Assessment, t: Thresholds):
    alloc = a.allocation
    for row in a.services:
        if row.allocation_source == "library-default":
            yield Finding("allocation-library-default", INFO, row.name,
                          f"no max_connections of its own: gets the library default "
                          f"{row.allocated_max}/{row.allocated_min}")
    no_jitter = [s.name for s in alloc.services if not alloc.effective(s).max_lifetime_jitter_secs]
    if no_jitter and len(no_jitter) == len(alloc.services):
        lifetimes = sorted({alloc.effective(s).max_lifetime_secs for s in alloc.services})
        yield Finding("lifetime-no-jitter", INFO, None,
                      f"all {len(no_jitter)} services expire connections at exactly "
                      f"{'/'.join(str(x) for x in lifetimes)} s with no jitter: "
                      "synchronized reconnect storms")
    else:
        for name in no_jitter:
            secs = alloc.effective(alloc.service(name)).max_lifetime_secs
            yield Finding("lifetime-no-jitter", INFO, name,
                          f"every pool expires connections at exactly {secs} s, no jitter")
