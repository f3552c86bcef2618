"""With no allocation file the console and `check` observe: every service the sources show, at
the size it reports, marked `observed` (pure logic on hand-built snapshots)."""

import time

from console.core import observe, report
from console.core.assessment import assess
from console.core.snapshot import ActivityCount, PoolInstance, ServerInfo, Snapshot

SERVER = ServerInfo("16.4", 160004, 50, 3, 0)


def pool(service, instance, size, idle, max_):
    return PoolInstance(service, instance, size, idle, max_, 1.0, True, 15.0)


def snapshot(**kw):
    base = dict(taken_at=time.time(), server=SERVER, self_connections=1)
    return Snapshot(**{**base, **kw})


def test_services_come_from_pool_metrics_and_application_names():
    snap = snapshot(
        pools=(pool("orders", "a", 5, 1, 10), pool("orders", "b", 3, 3, 12)),
        activity=(
            ActivityCount("orders", "idle", 6),
            ActivityCount("billing-worker", "active", 2),
            ActivityCount("billing-worker", "idle", 3),
            ActivityCount("novapool", "active", 1),  # another console: not a service
            ActivityCount("", "idle", 2),  # no name: unattributed
            ActivityCount("metabase [prod]", "idle", 1),  # not a service name: unattributed
        ),
    )
    a = assess(snap, observe.observer())
    assert a.allocation.observed
    orders, billing = a.service("orders"), a.service("billing-worker")
    assert (orders.allocated_max, orders.replicas, orders.allocation_source) == (12, 2, "observed")
    assert (billing.allocated_max, billing.replicas) == (5, 1)  # the sessions it holds
    assert [r.name for r in a.services] == ["billing-worker", "orders"]
    assert a.unattributed.applications == ("", "metabase [prod]", "novapool")
    assert a.budget.allocated == 12 * 2 + 5
    rules = {f.rule for f in a.findings}
    assert "pool-max-drift" not in rules and "lifetime-no-jitter" not in rules
    doc = report.to_json(a)
    assert doc["allocation_observed"] is True
    assert {s["allocation_source"] for s in doc["services"]} == {"observed"}


def test_an_observed_fleet_can_still_be_overcommitted():
    pools = tuple(pool(f"svc-{i}", "pod", 1, 1, 20) for i in range(3))  # 3 × 20 > 47
    a = assess(snapshot(pools=pools), observe.observer())
    assert a.budget.overcommitted
    assert "budget-overcommitted" in {f.rule for f in a.findings}


def test_nothing_seen_is_an_empty_budget_not_a_crash():
    a = assess(Snapshot(taken_at=time.time()), observe.observer())
    assert a.services == () and a.budget.allocated == 0
