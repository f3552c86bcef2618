"""Several servers, live: a real primary and a real streaming hot standby made from it with
pg_basebackup (the same binaries), read by one connection each, concurrently.

Shown: replication works (a row written on the primary is read on the standby); each server has
its own budget and sessions in `check --json`'s `servers` array; WAL senders are shown on the
primary and never counted as clients; a standby whose max_connections is below its primary's is
a critical finding naming both values; a standby that hangs never delays the primary's refresh.
Waits are on the servers' own answers, each with a generous hang guard, never a sleep."""

from __future__ import annotations

import ast
import asyncio
import time

import asyncpg
import pytest

from console.core import fleet
from console.core.allocation import load as load_allocation
from console.core.settings import load as load_settings
from console.demo.pgserver import LocalPostgres
from console.sources.collect import Collector
from tests.live.conftest import PG1, novapool, rules_of, service, sessions, write_settings

ALLOCATION = """\
servers:
  primary: {role: primary}
  replica-1: {role: standby, follows: primary}
services:
  auth-service: {max_connections: 10, min_connections: 2, replicas: 2}
  feed-service:
    max_connections: 8
    min_connections: 2
    pools:
      replica-1: {max_connections: 6, min_connections: 1, env_prefix: DB_READ_}
"""


@pytest.fixture
def primary_and_standby():
    primary = LocalPostgres(bindir=PG1).start()
    try:
        standby = LocalPostgres(bindir=PG1).start(standby_of=primary)
    except BaseException:
        primary.stop()
        raise
    yield primary, standby
    standby.stop()
    primary.stop()


async def until(check, guard_s: float = 120.0):
    """Poll check() (async) until it returns a true value; the guard only stops a hang."""
    deadline = time.monotonic() + guard_s
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.1)


async def replicated(primary: LocalPostgres, standby: LocalPostgres) -> None:
    conn = await asyncpg.connect(primary.dsn)
    try:
        await conn.execute("CREATE TABLE proof (x text); INSERT INTO proof VALUES ('from primary')")
    finally:
        await conn.close()

    async def on_standby():
        c = await asyncpg.connect(standby.dsn)
        try:
            exists = await c.fetchval("SELECT to_regclass('proof') IS NOT NULL")
            return exists and await c.fetchval("SELECT x FROM proof") == "from primary"
        finally:
            await c.close()

    await until(on_standby)


def files(tmp_path, primary, standby, allocation=ALLOCATION):
    alloc = tmp_path / "allocation.yaml"
    alloc.write_text(allocation)
    cfg = write_settings(
        tmp_path, f"servers:\n  primary: {primary.dsn}\n  replica-1: {standby.dsn}\n"
    )
    return str(alloc), cfg


async def test_a_primary_and_its_standby_each_have_their_budget_and_sessions(
    primary_and_standby, tmp_path
):
    primary, standby = primary_and_standby
    await replicated(primary, standby)
    alloc, cfg = files(tmp_path, primary, standby)
    async with sessions(primary.dsn, {"feed-service": 2, "auth-service": 1}):
        async with sessions(standby.dsn, {"feed-service": 3}):
            code, doc, err = await novapool("check", "--json", "--config", cfg, allocation=alloc)
    assert code in (0, 1), err
    by_name = {s["name"]: s for s in doc["servers"]}
    assert list(by_name) == ["primary", "replica-1"]
    p, r = by_name["primary"], by_name["replica-1"]
    assert (p["role"], p["in_recovery"], r["role"], r["in_recovery"]) == (
        "primary",
        False,
        "standby",
        True,
    )
    assert p["status"]["status"] == r["status"]["status"] == "ok"
    # each server's sessions, counted on that server only
    assert service(p, "feed-service")["server_connections"] == 2
    assert service(p, "auth-service")["server_connections"] == 1
    assert service(r, "feed-service")["server_connections"] == 3
    assert [s["name"] for s in r["services"]] == ["feed-service"]
    # each server's budget: primary 10×2 + 8 of 97; replica-1 6 of 97
    assert (p["budget"]["allocated"], r["budget"]["allocated"]) == (28, 6)
    # the standby streams from the primary: one WAL sender there, not a client backend
    assert p["cluster"]["wal_senders"] == 1 and r["cluster"]["wal_senders"] == 0
    assert p["cluster"]["client_backends"] == 2 + 1 + 1  # ours included, the sender not
    # the one-server fields stay, as the first server's
    assert doc["budget"] == p["budget"] and doc["cluster"]["max_connections"] == 100
    assert "standby-settings-below-primary" not in rules_of(doc)

    # The primary gets more connections than its standby has: the standby pauses replay.
    primary.restart(max_connections="120")
    code, doc, err = await novapool("check", "--json", "--config", cfg, allocation=alloc)
    assert code == 2, err
    (finding,) = rules_of(doc)["standby-settings-below-primary"]
    assert finding["severity"] == "critical" and finding["server"] == "replica-1"
    assert "max_connections 100 is below its primary primary's 120" in finding["message"]
    text = (await novapool("check", "--config", cfg, allocation=alloc, parse=False))[1]
    assert "server replica-1 (standby)" in text and "standby-settings-below-primary" in text


async def test_a_hung_standby_never_delays_the_primarys_refresh(primary_and_standby, tmp_path):
    primary, standby = primary_and_standby
    alloc, cfg = files(tmp_path, primary, standby)
    allocation = load_allocation(alloc)
    collector = Collector(load_settings(cfg, env={}), allocation, patience_s=0.5)
    try:
        first = await collector.collect()
        assert {n: s.source("postgres").status for n, s in first.snapshots.items()} == {
            "primary": "ok",
            "replica-1": "ok",
        }
        standby.freeze()  # accepts TCP, never answers: a hung host
        try:
            async with sessions(primary.dsn, {"late-comer": 2}):

                async def primary_shows_the_late_comers():
                    f = await collector.collect()
                    # each collect returned while the standby's read is still pending (or
                    # has failed): its answer was never waited for
                    replica = f.snapshots["replica-1"].source("postgres")
                    assert "postgres@replica-1" in collector.inflight or replica.status != "ok"
                    snap = f.snapshots["primary"]
                    seen = sum(a.count for a in snap.activity if a.application_name == "late-comer")
                    return f if seen == 2 else None

                f = await until(primary_shows_the_late_comers)
            assert f.snapshots["primary"].source("postgres").status == "ok"
            a = fleet.assess(f, allocation)
            assert a.server("primary").status.status == "ok"
        finally:
            standby.thaw()
    finally:
        await collector.close()


async def test_the_servers_bench_runs_at_its_smallest_size():
    """`make bench`'s many-servers script, as a smoke run (its numbers are read by people,
    not asserted): a real server, a slow one and a dead one, the console driven by keys."""
    import sys

    from tests.conftest import ROOT

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "servers.py"),
        *("--servers", "3", "--real", "1", "--slow", "1", "--services", "4", "--seconds", "3"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 300)  # a hang guard only
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "servers 3 (1 real, 1 slow" in text and "1 dead" in text
    for line in ("refresh interval (ms):", "collect() (ms):", "key → handled (ms):"):
        assert line in text
    states = ast.literal_eval(text.split("server states at the end: ")[1].strip())
    assert sum(states.values()) == 3 and states.get("ok", 0) >= 1


async def test_the_side_by_side_bench_runs_at_its_smallest_size():
    """`make bench`'s novapool-beside-pg_activity harness, as a smoke run: it installs
    pg_activity, runs both in tmux against one server, and prints its table; then the fleet
    through Prometheus, whose key steps each wait for their effect on the screen."""
    import sys

    from tests.conftest import ROOT

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "side_by_side.py"),
        # 8 s: Prometheus is read every 5–6 s there (its 5 s scrape interval, on a 1 s
        # refresh), so that a read falls in the window whatever its phase
        *("--backends", "20", "--seconds", "8", "--fleet", "60x2", "--key-rounds", "1"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 600)  # a hang guard only
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    (row,) = [line for line in text.splitlines() if line.startswith("| 20 |")]
    assert "ended" not in row, row  # a console that stopped is no measure
    server = row.split("|")[2]  # "novapool / pg_activity" server ms per refresh
    ours, theirs = (float(x) for x in server.split("/"))
    assert ours > 0 and theirs > 0  # both consoles refreshed against the server
    scan = float(row.split("|")[4].split("(")[0])  # the bare scan, timed beside them
    rates = [float(x) for x in row.split("|")[5].split("/")]  # refreshes per second
    assert scan > 0 and all(r > 0 for r in rates), row
    collections, skipped = row.split("|")[-2].replace("(", " ").replace(")", " ").split()
    assert int(collections) > 0 and int(skipped) >= 0  # as the console logged them, on quit
    assert "| 60 services × 2 (Prometheus)" in text
    queries = float(text.split("Prometheus, per second (1 refresh): ")[1].split(" queries")[0])
    assert 0 < queries < 5  # a constant few per refresh
    for step in ("sort", "filter char", "page down", "open detail", "back"):
        assert f"  {step} " in text, text[-2000:]
