"""The findings engine on hand-built snapshots (pure logic; the live tests build real ones)."""

import time

from console.core.assessment import assess
from console.core.settings import Levels, Thresholds
from console.core.snapshot import (
    OK,
    UNREACHABLE,
    ActivityCount,
    Backend,
    InstanceAge,
    PoolInstance,
    ServerInfo,
    ServicePools,
    Snapshot,
    SourceStatus,
)

SERVER = ServerInfo("16.4", 160004, 100, 3, 2)


def backend(pid, app, state, **kw):
    base = dict(
        pid=pid,
        application_name=app,
        usename="u",
        client_addr=None,
        state=state,
        backend_age_s=100.0,
        xact_age_s=None,
        query_age_s=None,
        state_age_s=None,
        wait_event_type=None,
        wait_event=None,
        lock_wait_s=None,
        blocking_pids=(),
        query="select 1",
    )
    base.update(kw)
    return Backend(**base)


def snap(**kw):
    base = dict(
        taken_at=time.time(),
        sources={"postgres": SourceStatus(OK)},
        server=SERVER,
        self_connections=1,
    )
    base.update(kw)
    return Snapshot(**base)


def rules(a):
    return {(f.rule, f.severity, f.service) for f in a.findings}


def test_pg16_reserved_connections_count(shipped_allocation):
    a = assess(snap(), shipped_allocation)
    assert a.budget.available == 95
    assert a.client_backends == 1


def test_thresholds_are_respected(shipped_allocation):
    b = [
        backend(1, "auth-service", "idle in transaction", state_age_s=31.0),
        backend(2, "auth-service", "idle in transaction", state_age_s=301.0),
        backend(3, "feed-service", "active", query_age_s=59.0),
    ]
    found = rules(assess(snap(backends=tuple(b)), shipped_allocation))
    assert ("idle-in-transaction", "warning", "auth-service") in found
    assert ("idle-in-transaction", "critical", "auth-service") in found
    assert not any(r[0] == "long-running-query" for r in found)
    t = Thresholds(long_running_query_s=Levels(10, 20), idle_in_transaction_s=Levels(400, 500))
    found = rules(assess(snap(backends=tuple(b)), shipped_allocation, t))
    assert ("long-running-query", "critical", "feed-service") in found
    assert not any(r[0] == "idle-in-transaction" for r in found)


def test_match_rules_attribute_other_names(shipped_allocation):
    import dataclasses

    auth = dataclasses.replace(
        shipped_allocation.service("auth-service"),
        match_application_names=("auth-svc",),
        match_prefix="auth-w",
    )
    alloc = shipped_allocation.replace_service(auth)
    a = assess(
        snap(
            activity=(
                ActivityCount("auth-svc", "idle", 2),
                ActivityCount("auth-worker-7", "active", 1),
                ActivityCount("auth-service", "idle", 1),
            )
        ),
        alloc,
    )
    assert a.service("auth-service").server_connections == 3
    assert a.unattributed.applications == ("auth-service",)


def test_pool_rules_and_replicas(shipped_allocation):
    pools = (
        PoolInstance("auth-service", "a", 12, 0, 12),
        PoolInstance("auth-service", "b", 11, 1, 12),
        PoolInstance("cdn-service", "c", 1, 1, 4, sample_age_s=100, scrape_interval_s=15),
    )
    a = assess(snap(pools=pools), shipped_allocation)
    auth = a.service("auth-service")
    assert (auth.replicas, auth.pool_size, auth.in_use, auth.fill_pct) == (2, 23, 22, 95.8)
    found = rules(a)
    assert ("pool-utilization-high", "warning", "auth-service") in found  # b has one idle
    assert ("pool-max-drift", "warning", "cdn-service") in found
    assert ("metrics-stale", "warning", "cdn-service") in found
    assert a.budget.allocated == 77 + 12  # auth-service: 2 live replicas × 12


def test_lifetimes_are_found_once_an_allocation_and_again_for_an_edited_one(shipped_allocation):
    """The lifetime rule reads the allocation alone: kept for it, found again for another
    (the what-if's edits are new allocations, even with the same services)."""
    import dataclasses

    def lifetimes(alloc):
        return [f for f in assess(snap(), alloc).findings if f.rule == "lifetime-no-jitter"]

    found = lifetimes(shipped_allocation)
    assert found and lifetimes(shipped_allocation) == found
    jittered = dataclasses.replace(
        shipped_allocation,
        defaults=dataclasses.replace(shipped_allocation.defaults, max_lifetime_jitter_secs=60),
        services=tuple(
            dataclasses.replace(s, max_lifetime_jitter_secs=None)
            for s in shipped_allocation.services
        ),
    )
    assert lifetimes(jittered) == []
    assert lifetimes(shipped_allocation) == found


def test_pools_measured_earlier_are_as_old_as_the_time_since(shipped_allocation):
    """A Prometheus answer's sample ages are as of its read; between reads the same pools
    stand, and the rules add the time since (10 s old at the read, 3 × 5 s allowed)."""
    read = ServicePools("cdn-service", 1, 1, 1, oldest=(InstanceAge("c", 10.0, 5.0),))
    stamped = read.measured_at(1000.0)
    assert stamped.oldest == read.oldest and stamped.ages_at == 1000.0

    def stale(now):
        a = assess(snap(taken_at=now, pool_totals=(stamped,)), shipped_allocation)
        return [f for f in a.findings if f.rule == "metrics-stale"]

    assert stale(1004.0) == []
    (finding,) = stale(1006.0)
    assert finding.value == 16.0 and "16 s old" in finding.message
    # not stamped: as of the snapshot, whenever it is taken
    a = assess(snap(taken_at=5000.0, pool_totals=(read,)), shipped_allocation)
    assert not [f for f in a.findings if f.rule == "metrics-stale"]


def test_a_service_whose_inputs_did_not_change_keeps_its_row(shipped_allocation):
    """Rows are kept by what they are made of (the services table then keeps their lines);
    any input that changes makes the row again."""
    pools = ServicePools("auth-service", 2, 10, 4, maxes=((12.0, 2),))
    sessions = (ActivityCount("auth-service", "idle", 3),)
    first = assess(snap(pool_totals=(pools,), activity=sessions), shipped_allocation)
    again = assess(snap(pool_totals=(pools,), activity=sessions), shipped_allocation)
    assert again.service("auth-service") is first.service("auth-service")
    busier = (ActivityCount("auth-service", "idle", 2), ActivityCount("auth-service", "active", 1))
    moved = assess(snap(pool_totals=(pools,), activity=busier), shipped_allocation)
    row = moved.service("auth-service")
    assert row is not first.service("auth-service")
    assert row.states == {"active": 1, "idle": 2} and row.server_connections == 3
    fuller = ServicePools("auth-service", 2, 14, 4, maxes=((12.0, 2),))
    grown = assess(snap(pool_totals=(fuller,), activity=busier), shipped_allocation)
    assert grown.service("auth-service").pool_size == 14


def test_an_unlimited_pool_is_its_own_finding_not_drift(shipped_allocation):
    pools = (
        PoolInstance("cdn-service", "c1", 9, 1, None, unlimited=True),
        PoolInstance("cdn-service", "c2", 3, 1, 4),
    )
    a = assess(snap(pools=pools), shipped_allocation)
    found = {(f.rule, f.service): f for f in a.findings}
    unlimited = found[("pool-unlimited", "cdn-service")]
    assert "c1" in unlimited.message and "c2" not in unlimited.message
    assert "c1" not in found[("pool-max-drift", "cdn-service")].message
    assert a.service("cdn-service").as_dict()["pool_unlimited_instances"] == 1
    bounded = assess(snap(pools=pools[1:]), shipped_allocation)
    assert ("pool-unlimited", "cdn-service") not in {(f.rule, f.service) for f in bounded.findings}


def test_source_unreachable_gives_unknown_but_critical_data_wins(shipped_allocation):
    from console.core.report import exit_code

    down = {"postgres": SourceStatus(OK), "prometheus": SourceStatus(UNREACHABLE, "refused")}
    a = assess(snap(sources=down), shipped_allocation)
    assert exit_code(a) == 3
    over = (ActivityCount("cdn-service", "idle", 5),)
    assert exit_code(assess(snap(sources=down, activity=over), shipped_allocation)) == 2


def test_findings_are_sorted_by_severity(shipped_allocation):
    b = (
        backend(1, "x", "idle in transaction", state_age_s=40.0),
        backend(2, "y", "idle in transaction", state_age_s=400.0),
    )
    a = assess(
        snap(backends=b, activity=(ActivityCount("cdn-service", "idle", 5),)), shipped_allocation
    )
    ranks = [f.severity for f in a.findings]
    order = {"critical": 0, "warning": 1, "info": 2}
    assert ranks == sorted(ranks, key=order.get)
