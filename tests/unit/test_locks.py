"""The blocking tree and the lock holder's finding: pure logic on backends as the server
reports them (pg_blocking_pids). The live test (tests/live/test_postgres_live.py) builds a real
pile-up."""

from hypothesis import given
from hypothesis import strategies as st

from console.core import assessment
from console.core.allocation import load
from console.core.findings import CRITICAL, WARNING, RuleId
from console.core.locks import blocking_trees
from console.core.snapshot import Backend, ServerInfo, Snapshot
from tests.conftest import ALLOCATION
from tests.unit.test_rules import backend as rules_backend


def backend(pid, app="", state="active", blocked_by=(), wait=None, xact=None) -> Backend:
    """A backend as the server reports it, waiting on `blocked_by` for `wait` seconds."""
    return rules_backend(
        pid,
        app,
        state,
        usename="app",
        backend_age_s=100.0,
        xact_age_s=xact,
        query_age_s=wait,
        state_age_s=wait,
        wait_event_type="Lock" if blocked_by else None,
        wait_event="transactionid" if blocked_by else None,
        lock_wait_s=wait,
        blocking_pids=tuple(blocked_by),
        query="UPDATE demo_orders SET state = 'x' WHERE id = 1",
    )


PILE_UP = (
    backend(100, "content-service", "idle in transaction", xact=80.0),
    backend(101, "events-service", blocked_by=(100,), wait=70.0),
    backend(102, "notification-service", blocked_by=(100, 101), wait=12.0),
    backend(103, "auth-service"),
)


def test_the_holder_is_the_root_and_each_waiter_is_under_what_it_waits_on():
    (tree,) = blocking_trees(PILE_UP)
    assert tree.pid == 100 and tree.backend == PILE_UP[0]
    shape = [(depth, n.pid) for depth, n in tree.walk()]
    assert shape == [(0, 100), (1, 101), (2, 102), (1, 102)]
    assert tree.blocked == 2 and tree.longest_wait_s == 70.0


def test_a_holder_the_rows_do_not_show_and_a_deadlock():
    (tree,) = blocking_trees([backend(300, "a", blocked_by=(999,), wait=9.0)])
    assert (tree.pid, tree.backend, [n.pid for n in tree.waiters]) == (999, None, [300])
    (cycle,) = blocking_trees(
        [backend(200, "a", blocked_by=(201,), wait=1.0), backend(201, "b", blocked_by=(200,))]
    )
    assert [(d, n.pid) for d, n in cycle.walk()] == [(0, 200), (1, 201)]


def test_the_holder_gets_the_finding_on_its_service_and_pid():
    snap = Snapshot(taken_at=0, server=ServerInfo("16.4", 160004, 100, 3, 0), backends=PILE_UP)
    a = assessment.assess(snap, load(ALLOCATION))
    (f,) = [f for f in a.findings if f.rule == RuleId.LOCK_HOLDER]
    assert (f.severity, f.service, f.pids) == (CRITICAL, "content-service", (100,))
    assert f.message == (
        "pid 100 (content-service), idle in transaction in a transaction open 80 s, blocks 2 "
        "session(s) (events-service, notification-service) for up to 70 s"
    )
    quick = tuple(
        b if b.pid != 101 else backend(101, "x", blocked_by=(100,), wait=6.0) for b in PILE_UP
    )
    a = assessment.assess(snap.__class__(taken_at=0, backends=quick), load(ALLOCATION))
    assert [f.severity for f in a.findings if f.rule == RuleId.LOCK_HOLDER] == [WARNING]


@given(
    st.dictionaries(
        st.integers(1, 30),
        st.lists(st.integers(1, 40), max_size=3, unique=True),
        max_size=30,
    )
)
def test_every_waiter_is_in_a_tree_and_walking_ends(graph):
    rows = [
        backend(pid, f"app{pid}", blocked_by=[b for b in blockers if b != pid], wait=float(pid))
        for pid, blockers in graph.items()
    ]
    trees = blocking_trees(rows)
    seen = {n.pid for t in trees for _, n in t.walk()}
    waiting = {b.pid for b in rows if b.blocking_pids}
    assert waiting <= seen  # no waiter is lost, deadlock cycles included
    blockers = {p for b in rows for p in b.blocking_pids}
    roots = {t.pid for t in trees}
    assert blockers - waiting <= roots  # every blocker that waits on nothing is a root
    for t in trees:
        assert t.blocked <= len(seen)
