"""The findings engine. Each rule is declared once, here: its id, the severities it can raise, a
description rendered from the thresholds in force (help, audit) and its check, a pure function
of the facts and the thresholds. `evaluate` runs them all."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from console.core.allocation import STANDBY_SETTINGS, Allocation, Server
from console.core.facts import Facts
from console.core.findings import CRITICAL, INFO, WARNING, Finding, RuleId, Severity, first_few
from console.core.locks import blocking_trees
from console.core.memo import kept_while_same
from console.core.settings import Levels, Thresholds
from console.core.snapshot import UNREACHABLE, Backend, ServerInfo

Check = Callable[[Facts, Thresholds], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: RuleId
    severities: tuple[Severity, ...]
    describe: Callable[[Thresholds], str]  # "fires when …", with the live thresholds
    check: Check


RULES: dict[RuleId, Rule] = {}


def rule(
    rule_id: RuleId, severities: tuple[Severity, ...], describe: Callable[[Thresholds], str]
) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        assert rule_id not in RULES, f"rule {rule_id} declared twice"
        RULES[rule_id] = Rule(rule_id, severities, describe, check)
        return check

    return register


# Rules over several servers at once (console.core.fleet runs them): declared here like the
# others, so that help and the audit list them, with a check of their own.
FLEET_CHECKS: dict[RuleId, Callable[..., Iterable[Finding]]] = {}


def fleet_rule(
    rule_id: RuleId, severities: tuple[Severity, ...], describe: Callable[[Thresholds], str]
) -> Callable[[Callable[..., Iterable[Finding]]], Callable[..., Iterable[Finding]]]:
    def register(check: Callable[..., Iterable[Finding]]) -> Callable[..., Iterable[Finding]]:
        rule(rule_id, severities, describe)(lambda f, t: ())
        FLEET_CHECKS[rule_id] = check
        return check

    return register


def evaluate(facts: Facts, t: Thresholds) -> tuple[Finding, ...]:
    out = [f for r in RULES.values() for f in r.check(facts, t)]
    out.sort(key=lambda f: (-f.severity.rank, f.rule, f.service or "", -(f.value or 0)))
    return tuple(out)


def describe_all(t: Thresholds) -> list[tuple[RuleId, tuple[Severity, ...], str]]:
    """(id, severities, description) of every rule, for help and the audit."""
    return [(r.id, r.severities, r.describe(t)) for r in RULES.values()]


def level(value: float, levels: Levels) -> Severity | None:
    if value > levels.critical:
        return CRITICAL
    if value > levels.warning:
        return WARNING
    return None


def _fmt(n: float | None) -> str:
    if n is None:
        return "—"
    return str(int(n)) if float(n).is_integer() else f"{n:.1f}"


def _levels(levels: Levels, unit: str) -> str:
    return f"> {_fmt(levels.warning)} {unit} (critical > {_fmt(levels.critical)} {unit})"


# ---- sources and budget ---------------------------------------------------------------------


@rule(
    RuleId.SOURCE_UNREACHABLE,
    (CRITICAL,),
    lambda t: "a configured source cannot be reached or queried",
)
def _source_unreachable(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for name, status in f.snapshot.sources.items():
        if status.status == UNREACHABLE:
            yield Finding(
                RuleId.SOURCE_UNREACHABLE,
                CRITICAL,
                None,
                f"{name} unreachable: {status.error or 'no answer'}",
                source=name,
            )


@rule(
    RuleId.SOURCE_LIMITED,
    (WARNING,),
    lambda t: (
        "a source answers but its role cannot see everything (other roles' sessions, "
        "locks): findings about what it cannot see are missing"
    ),
)
def _source_limited(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for name, status in f.snapshot.sources.items():
        if status.limited:
            yield Finding(
                RuleId.SOURCE_LIMITED,
                WARNING,
                None,
                f"{name}: {'; '.join(status.notes)}",
                source=name,
            )


@rule(
    RuleId.SOURCE_NO_SERIES,
    (WARNING,),
    lambda t: "a metrics source answers but has no pool series of the naming profile",
)
def _source_no_series(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for name, status in f.snapshot.sources.items():
        if status.no_series:
            yield Finding(
                RuleId.SOURCE_NO_SERIES,
                WARNING,
                None,
                f"{name}: {status.notes[0] if status.notes else 'no pool series'}",
                source=name,
            )


@rule(
    RuleId.BUDGET_OVERCOMMITTED,
    (CRITICAL,),
    lambda t: "allocated > available: the pools can ask for more than the server has",
)
def _budget_overcommitted(f: Facts, t: Thresholds) -> Iterator[Finding]:
    b = f.budget
    if b.overcommitted:
        yield Finding(
            RuleId.BUDGET_OVERCOMMITTED,
            CRITICAL,
            None,
            f"allocated {b.allocated} > available {b.available}: overcommitted by {-b.headroom}",
            value=-b.headroom,
        )


@rule(
    RuleId.BUDGET_HEADROOM_LOW,
    (WARNING,),
    lambda t: f"allocated ≥ {_fmt(t.budget_near_max_pct)} % of available, not yet over",
)
def _budget_headroom_low(f: Facts, t: Thresholds) -> Iterator[Finding]:
    b = f.budget
    if (
        not b.overcommitted
        and b.available > 0
        and 100.0 * b.allocated / b.available >= t.budget_near_max_pct
    ):
        yield Finding(
            RuleId.BUDGET_HEADROOM_LOW,
            WARNING,
            None,
            f"allocated {b.allocated} of {b.available} available "
            f"({b.allocated_pct} %): headroom {b.headroom}",
            value=b.allocated_pct,
        )


@rule(
    RuleId.CLUSTER_NEAR_MAX,
    (WARNING, CRITICAL),
    lambda t: (
        f"client backends ≥ {_fmt(t.cluster_near_max_pct.warning)} % of available "
        f"(critical ≥ {_fmt(t.cluster_near_max_pct.critical)} %)"
    ),
)
def _cluster_near_max(f: Facts, t: Thresholds) -> Iterator[Finding]:
    if f.client_backends is None or f.budget.available <= 0:
        return
    pct = 100.0 * f.client_backends / f.budget.available
    sev = (
        CRITICAL
        if pct >= t.cluster_near_max_pct.critical
        else WARNING
        if pct >= t.cluster_near_max_pct.warning
        else None
    )
    if sev:
        yield Finding(
            RuleId.CLUSTER_NEAR_MAX,
            sev,
            None,
            f"{f.client_backends} client backends of {f.budget.available} available ({pct:.0f} %)",
            value=pct,
        )


# ---- services -------------------------------------------------------------------------------


@rule(
    RuleId.SERVICE_OVER_ALLOCATION,
    (CRITICAL,),
    lambda t: "a service holds more server connections than max × replicas",
)
def _service_over_allocation(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for row in f.services:
        if row.server_connections is not None and row.server_connections > row.allocated:
            yield Finding(
                RuleId.SERVICE_OVER_ALLOCATION,
                CRITICAL,
                row.name,
                f"{row.server_connections} server connections > allocated "
                f"{row.allocated_max} × {row.replicas} = {row.allocated}",
                value=row.server_connections - row.allocated,
            )


@rule(
    RuleId.POOL_UTILIZATION_HIGH,
    (WARNING, CRITICAL),
    lambda t: (
        f"a pool's fill (size / max) above {_fmt(t.pool_utilization_pct)} %; "
        "critical when full with none idle"
    ),
)
def _pool_utilization_high(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for row in f.services:
        if row.fill_pct is None or row.fill_pct <= t.pool_utilization_pct:
            continue
        exhausted = (
            row.pool_idle == 0
            and row.pool_size is not None
            and row.pools is not None
            and row.pools.instances > 0
            and row.pools.at_max == row.pools.instances  # every pool at its max
        )
        yield Finding(
            RuleId.POOL_UTILIZATION_HIGH,
            CRITICAL if exhausted else WARNING,
            row.name,
            f"pool fill {row.fill_pct:.0f} % (size {_fmt(row.pool_size)}, "
            f"idle {_fmt(row.pool_idle or 0)})" + (": exhausted, none idle" if exhausted else ""),
            value=row.fill_pct,
        )


@rule(
    RuleId.POOL_MAX_DRIFT,
    (WARNING,),
    lambda t: "a pool reports a max different from its allocation",
)
def _pool_max_drift(f: Facts, t: Thresholds) -> Iterator[Finding]:
    if f.allocation.observed:
        return  # the observed max is the reported one: there is nothing to drift from
    for row in f.services:
        if row.pools is None:
            continue
        drifted = [(m, n) for m, n in row.pools.maxes if m > 0 and m != row.allocated_max]
        if drifted:
            of = row.pools.instances
            named = [f"{i} max {_fmt(m)}" for i, m in row.pools.max_of if m != row.allocated_max]
            # the instances by name where the source lists them, else how many report what
            shown = first_few(named or [f"max {_fmt(m)} on {n} of {of}" for m, n in drifted])
            yield Finding(
                RuleId.POOL_MAX_DRIFT,
                WARNING,
                row.name,
                f"allocated max {row.allocated_max}, reported: {shown}",
                value=max(m for m, _ in drifted),
            )


@rule(
    RuleId.POOL_UNLIMITED,
    (WARNING,),
    lambda t: "a pool reports no max (0: unlimited): it can take every slot of the server",
)
def _pool_unlimited(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for row in f.services:
        if row.pools is None or not row.pools.unlimited:
            continue
        n, of = row.pools.unlimited, row.pools.instances
        shown = first_few(list(row.pools.unlimited_on)) or f"{n} of {of} instance(s)"
        yield Finding(
            RuleId.POOL_UNLIMITED,
            WARNING,
            row.name,
            f"no pool max on {shown}: each can open connections until the server refuses; "
            f"set the pool's max (allocation: {row.allocated_max})",
            value=float(n),
        )


@rule(
    RuleId.POOLER_ATTRIBUTION,
    (INFO,),
    lambda t: (
        "a pooler in transaction or statement mode: its server sessions are counted for the "
        "pooler, the services behind it cannot be told apart on the server"
    ),
)
def _pooler_attribution(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for row in f.services:
        pooler = f.allocation.service(row.name).pooler
        if pooler is not None and pooler.attributes_by_pooler:
            held = "" if row.server_connections is None else f"{row.server_connections} "
            yield Finding(
                RuleId.POOLER_ATTRIBUTION,
                INFO,
                row.name,
                f"{pooler.mode} mode: its {held}server sessions are the pooler's, whichever "
                f"client used them last; budgeted as {pooler.describe()}",
            )


@rule(
    RuleId.METRICS_STALE,
    (WARNING,),
    lambda t: (
        f"a service's newest pool sample older than {_fmt(t.stale_scrape_intervals)} "
        "scrape intervals, or its target down"
    ),
)
def _metrics_stale(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for row in f.services:
        if row.pools is None:
            continue
        stale = [
            (age, o)
            for o, age in row.pools.ages(f.snapshot.taken_at)
            if o.scrape_interval_s and age > t.stale_scrape_intervals * o.scrape_interval_s
        ]
        if row.pools.down_count:
            more = row.pools.down_count - len(row.pools.down[:3])
            yield Finding(
                RuleId.METRICS_STALE,
                WARNING,
                row.name,
                f"target down: {', '.join(sorted(row.pools.down)[:3])}"
                + (f" and {more} more" if more > 0 else ""),
                value=row.pools.down_count,
            )
        elif stale:
            age, oldest = max(stale, key=lambda s: s[0])
            yield Finding(
                RuleId.METRICS_STALE,
                WARNING,
                row.name,
                f"newest pool sample {age:.0f} s old "
                f"(> {t.stale_scrape_intervals:g} × {oldest.scrape_interval_s:g} s)",
                value=age,
            )


# ---- backends -------------------------------------------------------------------------------


@rule(
    RuleId.IDLE_IN_TRANSACTION,
    (WARNING, CRITICAL),
    lambda t: f"a backend idle in transaction {_levels(t.idle_in_transaction_s, 's')}",
)
def _idle_in_transaction(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for b in f.snapshot.backends:
        if b.state.startswith("idle in transaction") and b.state_age_s is not None:
            sev = level(b.state_age_s, t.idle_in_transaction_s)
            if sev:
                yield Finding(
                    RuleId.IDLE_IN_TRANSACTION,
                    sev,
                    _service(f, b),
                    f"{_who(b.pid, b.application_name)} {b.state} for {b.state_age_s:.0f} s",
                    (b.pid,),
                    value=b.state_age_s,
                )


@rule(
    RuleId.LONG_RUNNING_QUERY,
    (WARNING, CRITICAL),
    lambda t: f"an active query running {_levels(t.long_running_query_s, 's')}",
)
def _long_running_query(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for b in f.snapshot.backends:
        if b.state == "active" and b.query_age_s is not None and b.wait_event_type != "Lock":
            sev = level(b.query_age_s, t.long_running_query_s)
            if sev:
                yield Finding(
                    RuleId.LONG_RUNNING_QUERY,
                    sev,
                    _service(f, b),
                    f"{_who(b.pid, b.application_name)} running a query for {b.query_age_s:.0f} s",
                    (b.pid,),
                    value=b.query_age_s,
                )


@rule(
    RuleId.LOCK_WAIT,
    (WARNING, CRITICAL),
    lambda t: f"a backend waiting on a lock {_levels(t.lock_wait_s, 's')}, with the blocking pids",
)
def _lock_wait(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for b in f.snapshot.backends:
        if b.wait_event_type != "Lock":
            continue
        waited = (b.lock_wait_s if b.lock_wait_s is not None else b.query_age_s) or 0.0
        sev = level(waited, t.lock_wait_s)
        if sev:
            blockers = ", ".join(str(p) for p in b.blocking_pids) or "unknown"
            yield Finding(
                RuleId.LOCK_WAIT,
                sev,
                _service(f, b),
                f"{_who(b.pid, b.application_name)} waiting on a "
                f"{b.wait_event or 'lock'} lock for {waited:.0f} s, "
                f"blocked by pid {blockers}",
                (b.pid, *b.blocking_pids),
                value=waited,
            )


@rule(
    RuleId.LOCK_HOLDER,
    (WARNING, CRITICAL),
    lambda t: (
        "a backend holds a lock others wait on, itself waiting on nothing (the culprit of a "
        f"pile-up): the longest wait behind it {_levels(t.lock_wait_s, 's')}"
    ),
)
def _lock_holder(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for tree in blocking_trees(f.snapshot.backends):
        sev = level(tree.longest_wait_s, t.lock_wait_s)
        if not sev:
            continue
        b = tree.backend
        if b is None:
            who, service = f"pid {tree.pid} (not among the backends shown)", None
        else:
            age = b.xact_age_s if b.xact_age_s is not None else b.state_age_s
            who = f"{_who(b.pid, b.application_name)}, {b.state}" + (
                f" in a transaction open {age:.0f} s" if age is not None else ""
            )
            service = _service(f, b)
        behind = [n.backend.application_name or f"pid {n.pid}" for _, n in tree.walk() if n.backend]
        apps = first_few(sorted(set(behind[1:] if b else behind)))
        yield Finding(
            RuleId.LOCK_HOLDER,
            sev,
            service,
            f"{who}, blocks {tree.blocked} session(s) ({apps}) for up to "
            f"{tree.longest_wait_s:.0f} s",
            (tree.pid,),
            value=tree.longest_wait_s,
        )


@rule(
    RuleId.UNKNOWN_APPLICATION,
    (INFO, WARNING),
    lambda t: (
        "client backends whose application matches no service (warning above "
        f"{t.unknown_application_connections} connections)"
    ),
)
def _unknown_application(f: Facts, t: Thresholds) -> Iterator[Finding]:
    u = f.unattributed
    if not u.server_connections:
        return
    sev = WARNING if u.server_connections > t.unknown_application_connections else INFO
    apps = ", ".join(
        f"{name or '(no name)'} ×{n}" for name, n in list(u.by_application.items())[:5]
    )
    yield Finding(
        RuleId.UNKNOWN_APPLICATION,
        sev,
        None,
        f"{u.server_connections} client connections match no service: {apps}",
        value=u.server_connections,
    )


# ---- the allocation alone -------------------------------------------------------------------


@rule(
    RuleId.ALLOCATION_LIBRARY_DEFAULT,
    (INFO,),
    lambda t: "a service missing from the allocation table gets the library default",
)
def _allocation_library_default(f: Facts, t: Thresholds) -> Iterator[Finding]:
    for row in f.services:
        if row.allocation_source == "library-default":
            yield Finding(
                RuleId.ALLOCATION_LIBRARY_DEFAULT,
                INFO,
                row.name,
                f"no max_connections of its own: gets the library default "
                f"{row.allocated_max}/{row.allocated_min}",
            )


@rule(
    RuleId.LIFETIME_NO_JITTER,
    (INFO,),
    lambda t: "every pool of a service expires connections at the same max_lifetime",
)
def _lifetime_no_jitter(f: Facts, t: Thresholds) -> Iterator[Finding]:
    # of the allocation alone: found once for it, not every refresh (200 services: 0.2 ms)
    alloc = f.allocation
    found = kept_while_same(_LIFETIMES, 0, (alloc,), lambda: tuple(_lifetimes(alloc)))
    return iter(found)


# the last allocation's (one: an observer's allocation is a new one every refresh)
_LIFETIMES: dict[int, tuple[tuple[Any, ...], tuple[Finding, ...]]] = {}


def _lifetimes(alloc: Allocation) -> Iterator[Finding]:
    if alloc.observed:
        return  # an observed allocation knows no lifetimes
    pools = [s for s in alloc.services if s.pooler is None]  # a pooler's lifetime is its own
    no_jitter = [s.name for s in pools if not alloc.effective(s).max_lifetime_jitter_secs]
    if no_jitter and len(no_jitter) == len(pools):
        lifetimes = sorted({alloc.effective(s).max_lifetime_secs for s in pools})
        yield Finding(
            RuleId.LIFETIME_NO_JITTER,
            INFO,
            None,
            f"all {len(no_jitter)} services expire connections at exactly "
            f"{'/'.join(str(x) for x in lifetimes)} s with no jitter: "
            "synchronized reconnect storms",
        )
        return
    for name in no_jitter:
        secs = alloc.effective(alloc.service(name)).max_lifetime_secs
        yield Finding(
            RuleId.LIFETIME_NO_JITTER,
            INFO,
            name,
            f"every pool expires connections at exactly {secs} s, no jitter",
        )


# ---- several servers ------------------------------------------------------------------------


def setting_of(server: Server, info: ServerInfo | None, name: str) -> int | None:
    """A standby-checked setting: the server's own value when it answered, else the
    allocation's (None when neither says)."""
    if info is not None:
        live = getattr(info, name, None)
        if live is not None:
            return int(live)
    value = getattr(server.cluster, name, None)
    return None if value is None else int(value)


def standby_conflicts(
    servers: Mapping[str, tuple[Server, ServerInfo | None]],
) -> Iterator[Finding]:
    """A hot standby must have each of STANDBY_SETTINGS at least as high as its primary.
    servers: name → (the allocation's server, what it said of itself if it answered)."""
    for name, (srv, info) in servers.items():
        if srv.role != "standby" or srv.follows is None or srv.follows not in servers:
            continue
        primary, primary_info = servers[srv.follows]
        for setting in STANDBY_SETTINGS:
            mine = setting_of(srv, info, setting)
            theirs = setting_of(primary, primary_info, setting)
            if mine is not None and theirs is not None and mine < theirs:
                yield Finding(
                    RuleId.STANDBY_SETTINGS_BELOW_PRIMARY,
                    CRITICAL,
                    None,
                    f"{name}: {setting} {mine} is below its primary {primary.name}'s {theirs}: "
                    "a hot standby stops replaying WAL (or will not start) until it is raised",
                    value=theirs - mine,
                    server=name,
                )


@fleet_rule(
    RuleId.STANDBY_SETTINGS_BELOW_PRIMARY,
    (CRITICAL,),
    lambda t: (
        "a standby's " + ", ".join(STANDBY_SETTINGS) + " is below its primary's "
        "(PostgreSQL stops replaying WAL, or refuses to start the standby)"
    ),
)
def _standby_settings(
    servers: list[Any], allocation: Allocation, t: Thresholds
) -> Iterator[Finding]:
    """servers: fleet.ServerAssessment (name, server, info)."""
    return standby_conflicts({s.name: (s.server, s.info) for s in servers})


@fleet_rule(
    RuleId.SERVER_ROLE_MISMATCH,
    (WARNING,),
    lambda t: "a server's pg_is_in_recovery() disagrees with its role in the allocation",
)
def _role_mismatch(servers: list[Any], allocation: Allocation, t: Thresholds) -> Iterator[Finding]:
    if not allocation.servers:
        return
    for sa in servers:
        if sa.in_recovery is None:
            continue
        actual = "standby" if sa.in_recovery else "primary"
        if actual != sa.server.role:
            yield Finding(
                RuleId.SERVER_ROLE_MISMATCH,
                WARNING,
                None,
                f"{sa.name} is a {actual} (pg_is_in_recovery() = {str(sa.in_recovery).lower()})"
                f" but the allocation says {sa.server.role}",
                server=sa.name,
            )


def _service(f: Facts, b: Backend) -> str | None:
    return f.service_of(b)


def _who(pid: int, application_name: str) -> str:
    return f"pid {pid}" + (f" ({application_name})" if application_name else "")


missing = set(RuleId) - set(RULES)
assert not missing, f"rule ids without a declaration: {missing}"
