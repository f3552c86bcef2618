"""Poolers in the allocation: budgeted as consumers of their own, sessions attributed by role
and address (CIDR), transaction mode attributed to the pooler first; located errors."""

import time

import pytest

from console.core import allocation as alloc_mod
from console.core import export
from console.core.assessment import assess
from console.core.errors import InputError
from console.core.snapshot import ActivityCount, ServerInfo, Snapshot

BASE = """\
cluster: {max_connections: 100, superuser_reserved_connections: 3}
services:
  orders: {max_connections: 10, replicas: 2}
  billing: {max_connections: 5, match: {application_name_prefix: billing-, usename: billing}}
"""
POOLERS = """\
poolers:
  pgbouncer:
    mode: transaction
    replicas: 2
    default_pool_size: 10
    pairs: 3
    reserve_pool_size: 2
    match: {usename: pgbouncer, client_addr: [10.1.0.0/16, "fd00::/8"]}
"""


def load(text):
    return alloc_mod.parse(text, "alloc.yaml")


def test_a_pooler_is_budgeted_as_pairs_times_pool_plus_reserve():
    a = load(BASE + POOLERS)
    bouncer = a.service("pgbouncer")
    assert bouncer.pooler.server_connections == 3 * (10 + 2)
    assessed = assess(Snapshot(taken_at=time.time()), a)
    assert assessed.budget.allocated == 2 * 10 + 5 + 2 * 36
    capped = load(BASE + POOLERS.replace("reserve_pool_size: 2", "max_db_connections: 15"))
    assert capped.service("pgbouncer").max_connections == 15  # min(3 × 10, 15 × 1 database)


def test_sessions_are_attributed_by_role_address_and_application():
    a = load(BASE + POOLERS)
    assert a.matches_client_addr
    assert a.service_for("orders", "app", "10.2.0.1") == "orders"
    # transaction mode: the pooler first, whatever application the last client had
    assert a.service_for("orders", "pgbouncer", "10.1.4.5") == "pgbouncer"
    assert a.service_for("orders", "pgbouncer", "fd00::1") == "pgbouncer"
    assert a.service_for("x", "pgbouncer", "10.2.0.1") is None  # outside the CIDR
    assert a.service_for("x", "pgbouncer", "") is None  # address not known
    # every criterion of a match must hold
    assert a.service_for("billing-api", "billing") == "billing"
    assert a.service_for("billing-api", "someone") is None
    session = load(BASE + POOLERS.replace("transaction", "session"))
    assert session.service_for("orders", "pgbouncer", "10.1.4.5") == "orders"


def test_pooler_sessions_and_the_transaction_mode_note(shipped_allocation):
    a = load(BASE + POOLERS)
    snap = Snapshot(
        taken_at=time.time(),
        server=ServerInfo("16.4", 160004, 100, 3, 0),
        activity=(
            ActivityCount("orders", "idle", 30, "pgbouncer", "10.1.0.7"),
            ActivityCount("orders", "active", 3, "app", "10.9.0.1"),
        ),
    )
    result = assess(snap, a)
    assert result.service("pgbouncer").server_connections == 30
    assert result.service("orders").server_connections == 3
    (note,) = [f for f in result.findings if f.rule == "pooler-attribution"]
    assert note.service == "pgbouncer" and "30 server sessions" in note.message


def test_exports_leave_poolers_out():
    a = load(BASE + POOLERS)
    assert "pgbouncer" not in export.plan(a, a, all_keys=True)


@pytest.mark.parametrize(
    ("text", "line", "field", "says"),
    [
        (
            POOLERS.replace("10.1.0.0/16", "10.1.0.0/33"),
            12,
            "poolers.pgbouncer.match.client_addr",
            "not an address or CIDR",
        ),
        (POOLERS.replace("transaction", "bulk"), 7, "poolers.pgbouncer.mode", "one of"),
        (POOLERS.replace("pairs: 3", "pairs: 0"), 10, "poolers.pgbouncer.pairs", "≥ 1"),
        (
            POOLERS.replace(
                '    match: {usename: pgbouncer, client_addr: [10.1.0.0/16, "fd00::/8"]}\n', ""
            ),
            6,
            "poolers.pgbouncer.match",
            "told by role or address",
        ),
        (POOLERS.replace("pgbouncer:", "orders:"), 6, "poolers.orders", "service has this name"),
        (
            POOLERS.replace("reserve_pool_size", "reserve"),
            11,
            "poolers.pgbouncer.reserve",
            "unknown",
        ),
    ],
)
def test_pooler_mistakes_are_located(text, line, field, says):
    with pytest.raises(InputError) as err:
        load(BASE + text)
    e = err.value
    assert (e.line, e.field) == (line, field), str(e)
    assert says in e.message
