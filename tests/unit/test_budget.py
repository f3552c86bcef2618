"""The budget arithmetic: the contract's figures for the shipped file, and its identities."""

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from console.core import budget
from console.core.allocation import Allocation, ClusterConfig, Service


def test_shipped_allocation_matches_the_contract(shipped_allocation):
    b = budget.compute(shipped_allocation)
    assert len(b.services) == 12
    assert (b.allocated, b.min_floor, b.available, b.headroom) == (77, 28, 97, 20)
    assert b.headroom_pct == 20.6
    assert not b.overcommitted
    messaging = b.service("messaging-service")
    assert (messaging.max_connections, messaging.min_connections) == (2, 1)
    assert messaging.allocation_source == "library-default"


def test_live_replicas_win_over_the_file(shipped_allocation):
    b = budget.compute(shipped_allocation, live_replicas={"auth-service": 3})
    auth = b.service("auth-service")
    assert (auth.replicas, auth.replicas_source, auth.allocated) == (3, "metrics", 36)
    assert b.allocated == 77 + 24


def test_an_unchanged_service_keeps_its_budget_line(shipped_allocation):
    """Each refresh computes the budget again: a service whose pool and live replicas did not
    change is the very same line (the facts then see it unchanged at a glance); any change,
    or the same services under other defaults (a what-if), makes it again."""
    first = budget.compute(shipped_allocation, live_replicas={"auth-service": 3})
    again = budget.compute(shipped_allocation, live_replicas={"auth-service": 3})
    assert again.service("feed-service") is first.service("feed-service")
    assert again.service("auth-service") is first.service("auth-service")
    scaled = budget.compute(shipped_allocation, live_replicas={"auth-service": 4})
    assert scaled.service("auth-service").replicas == 4
    assert scaled.service("feed-service") is first.service("feed-service")
    messaging = first.service("messaging-service")  # its max is the library default
    wider = dataclasses.replace(
        shipped_allocation,
        defaults=dataclasses.replace(shipped_allocation.defaults, max_connections=7),
    )
    assert wider.services[0] is shipped_allocation.services[0]  # the same Service objects
    moved = budget.compute(wider).service("messaging-service")
    assert (messaging.max_connections, moved.max_connections) == (2, 7)
    assert budget.compute(shipped_allocation).service("messaging-service").max_connections == 2


def test_reserved_line_items_and_pg16_reserved_slots(shipped_allocation):
    alloc = dataclasses.replace(shipped_allocation, reserved=(("migrations", 2), ("novapool", 1)))
    b = budget.compute(alloc, budget.Slots(100, 3, 5))
    assert b.available == 92
    assert b.allocated == 80
    assert b.headroom == 12


services = st.lists(
    st.tuples(st.integers(1, 50), st.integers(0, 50), st.integers(1, 20)), min_size=1, max_size=15
)


@given(
    services,
    st.integers(1, 2000),
    st.integers(0, 10),
    st.integers(0, 10),
    st.lists(st.integers(0, 10), max_size=3),
)
def test_budget_identities(svcs, max_conn, su, res, reserved):
    alloc = Allocation(
        cluster=ClusterConfig(max_conn, su, res),
        reserved=tuple((f"r{i}", n) for i, n in enumerate(reserved)),
        services=tuple(
            Service(name=f"s{i}", max_connections=mx, min_connections=min(mn, mx), replicas=r)
            for i, (mx, mn, r) in enumerate(svcs)
        ),
    )
    b = budget.compute(alloc)
    assert b.available == max_conn - su - res
    assert b.allocated == sum(mx * r for mx, _, r in svcs) + sum(reserved)
    assert b.min_floor == sum(min(mn, mx) * r for mx, mn, r in svcs)
    assert b.min_floor <= b.allocated
    assert b.headroom == b.available - b.allocated
    assert b.overcommitted == (b.headroom < 0)
    if b.available > 0:
        assert abs(b.headroom_pct - 100 * b.headroom / b.available) <= 0.05 + 1e-9
    else:
        assert b.headroom_pct is None


def test_an_overcommit_names_its_cause():
    from console.core.allocation import load
    from console.core.budget import Slots, compute, overcommit_cause
    from tests.conftest import ALLOCATION

    alloc = load(ALLOCATION)
    assert overcommit_cause(compute(alloc), alloc) is None  # 77 of 97: not overcommitted
    scaled = compute(alloc, live_replicas={"auth-service": 3})
    assert scaled.overcommitted  # 77 + 2 × 12 = 101
    assert overcommit_cause(scaled, alloc) == "auth-service scaled 1 → 3 replicas (+24)"
    small = compute(alloc, Slots(70, 3))
    assert overcommit_cause(small, alloc) == "the server has 67 slots, the allocation 97"
    tight = compute(alloc, Slots(80, 3))  # 77 of 77 is not over; the file itself at 76 is
    assert overcommit_cause(compute(alloc, Slots(79, 3)), alloc) == (
        "the server has 76 slots, the allocation 97"
    )
    assert not tight.overcommitted
