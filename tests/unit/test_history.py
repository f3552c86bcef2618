"""What the console keeps between refreshes, bounded whatever the fleet: the history (rings of
the newest values, in bytes) and the sessions' services (remembered, at most 10,000)."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from console.core.history import POINT_BYTES, History, Ring


def assessment(t: float, in_use: dict[str, float | None]):
    """What History reads of an assessment: when, and each service's in-use (and server
    connections: twice as many, in these tests)."""
    rows = [
        SimpleNamespace(name=n, in_use=v, server_connections=None if v is None else 2 * v)
        for n, v in in_use.items()
    ]
    return SimpleNamespace(snapshot=SimpleNamespace(taken_at=t), services=rows)


@given(st.lists(st.floats(0, 1e6), max_size=80), st.integers(1, 30), st.integers(0, 40))
def test_a_ring_keeps_the_newest_values_in_order(values, capacity, last):
    ring = Ring(capacity)
    for v in values:
        ring.append(v)
    assert ring.tail() == values[-capacity:]
    assert ring.tail(last) == (values[-capacity:][-last:] if last else [])
    assert ring.resized(max(1, capacity // 2)).tail() == values[-max(1, capacity // 2) :]


@given(
    st.lists(st.floats(0, 1e6), max_size=80),
    st.integers(1, 30),
    st.integers(0, 15),
    st.integers(1, 7),
    st.integers(1, 30),
)
def test_runs_are_the_max_of_each_run_counted_from_the_first_value(
    values, capacity, count, length, shrink_to
):
    """Run r holds values number r*length … (r+1)*length-1 (of all ever appended); the ring
    gives the max of what it still holds of each of the newest `count` runs — also after a
    resize, which keeps the count."""
    ring = Ring(capacity)
    for v in values:
        ring.append(v)
    if shrink_to < capacity:
        ring = ring.resized(shrink_to)
        capacity = shrink_to
    held = list(enumerate(values))[-capacity:] if values else []
    by_run: dict[int, list[float]] = {}
    for i, v in held:
        by_run.setdefault(i // length, []).append(v)
    expected = [max(by_run[r]) for r in sorted(by_run)][-count:] if count else []
    assert ring.runs(count, length) == expected
    assert ring.appended == len(values)


def test_a_run_drawn_moves_only_when_a_value_lands_in_a_new_run():
    """Five points a character: four more equal points change nothing drawn; the sixth
    starts a run of its own."""
    ring = Ring(60)
    for v in (1, 2, 3, 4, 5):
        ring.append(v)
    assert ring.runs(12, 5) == [5]
    ring.append(1)
    assert ring.runs(12, 5) == [5, 1]
    for _ in range(4):
        ring.append(1)
        assert ring.runs(12, 5) == [5, 1]


def test_history_is_bounded_in_bytes_and_keeps_the_newest_points():
    h = History(maxlen=600, budget_bytes=64 * 1024)
    for t in range(700):
        h.add(assessment(float(t), {"a": float(t), "b": None}))
    assert h.values("a") == [float(t) for t in range(100, 700)]  # 600 points, the newest
    assert h.values("a", "server_connections", last=2) == [1396.0, 1398.0]
    assert h.values("b", last=3) == [0.0, 0.0, 0.0]  # no gauge: 0, as the sparkline draws it
    # many more services: every ring keeps fewer points, the total stays within the budget
    many = {f"svc-{i}": float(i) for i in range(1000)}
    h.add(assessment(700.0, {"a": 700.0, **many}))
    assert h.nbytes <= 64 * 1024
    per = 64 * 1024 // (POINT_BYTES * 2 * 1002)  # two fields
    assert h.values("a") == [float(t) for t in range(701 - per, 701)]
    assert h.values("svc-7") == [7.0]


def test_the_same_snapshot_twice_is_one_point():
    h = History()
    h.add(assessment(1.0, {"a": 3.0}))
    h.add(assessment(1.0, {"a": 3.0}))  # shown again (a screen came back, paused)
    h.add(assessment(2.0, {"a": 4.0}))
    assert h.values("a") == [3.0, 4.0]


@given(st.lists(st.sampled_from(["auth-service", "feed-service", "psql", "", "x"]), max_size=40))
def test_service_for_remembers_its_answers_and_stays_bounded(names):
    from console.core import allocation as allocation_mod
    from tests.conftest import ALLOCATION

    a = allocation_mod.load(ALLOCATION)
    for name in names:
        assert a.service_for(name) == a._match(name, "", "")
    assert len(a._service_of) == len(set(names))


def test_the_remembered_services_are_bounded():
    from console.core import allocation as allocation_mod
    from console.core.memo import KEPT
    from tests.conftest import ALLOCATION

    a = allocation_mod.load(ALLOCATION)
    for i in range(KEPT + 5):  # hostile: every session a new name
        a.service_for(f"app-{i}")
    assert 0 < len(a._service_of) <= KEPT
    assert a.service_for("auth-service") == "auth-service"


@given(st.lists(st.floats(0, 1e6), max_size=60), st.integers(1, 6), st.integers(1, 90))
def test_runs_version_changes_whenever_the_runs_do(values, length, capacity):
    """The services table draws a row again only when its trend's version changes: every
    value appended that changes the runs drawn changes the version."""
    ring = Ring(capacity)
    for v in values:
        before = (ring.runs(12, length), ring.runs_version(12, length))
        ring.append(v)
        after = (ring.runs(12, length), ring.runs_version(12, length))
        if after[0] != before[0]:
            assert after[1] != before[1]


@given(
    st.lists(st.sampled_from(["auth", "feed", "user", "cdn", "x"]), max_size=8),
    st.sampled_from(["auth", "feed", "user", "cdn", "x", "absent"]),
)
def test_a_service_looked_up_by_name_is_the_first_of_that_name(names, wanted):
    """Allocation.service remembers the services by name: the same answer as a scan in
    order (KeyError when there is none), and a replaced service is the new one."""
    import dataclasses

    import pytest

    from console.core.allocation import Allocation, Service

    alloc = Allocation(services=tuple(Service(n, replicas=i + 1) for i, n in enumerate(names)))
    scanned = next((s for s in alloc.services if s.name == wanted), None)
    for _ in range(2):  # the first look-up fills the index, the second reads it
        if scanned is None:
            with pytest.raises(KeyError):
                alloc.service(wanted)
        else:
            assert alloc.service(wanted) is scanned
    if scanned is not None:
        edited = alloc.replace_service(dataclasses.replace(scanned, replicas=99))
        assert edited.service(wanted).replicas == 99 and alloc.service(wanted) is scanned
