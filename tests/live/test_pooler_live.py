"""A real PgBouncer (Debian's) in transaction mode in front of a real PostgreSQL: its server
sessions are attributed to the pooler by role and address (not to the application that used
them last), it is budgeted as pool size × pairs, and the attribution is noted."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.live.conftest import novapool, rules_of, service, wait_for_targets

ALLOCATION = """\
cluster: {max_connections: 100, superuser_reserved_connections: 3}
services:
  feed-service: {max_connections: 5}
poolers:
  pgbouncer:
    mode: transaction
    default_pool_size: 3
    pairs: 1
    match: {usename: bouncer, client_addr: 127.0.0.0/8}
"""


async def test_pgbouncer_transaction_mode_sessions_are_the_poolers(
    pg1, pgbouncer, pgbouncer_exporter, prometheus, tmp_path
):
    admin = await asyncpg.connect(pg1.dsn)
    await admin.execute("CREATE ROLE bouncer LOGIN")
    bouncer = pgbouncer(pg1.port, "bouncer", mode="transaction", pool_size=3)
    clients = [
        await asyncpg.connect(
            bouncer.dsn,
            statement_cache_size=0,  # transaction mode: no prepared statements across calls
            server_settings={"application_name": "feed-service"},
        )
        for _ in range(3)
    ]
    try:
        for c in clients:  # three open transactions hold three server connections
            await c.execute("BEGIN; SELECT 1")
        truth = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'bouncer'"
        )
        apps = await admin.fetch(
            "SELECT DISTINCT application_name FROM pg_stat_activity WHERE usename = 'bouncer'"
        )
        assert truth == 3 and [r[0] for r in apps] == ["feed-service"]  # as PgBouncer set it
        path = tmp_path / "allocation.yaml"
        path.write_text(ALLOCATION)
        code, doc, err = await novapool("check", "--json", "--dsn", pg1.dsn, allocation=str(path))
        assert isinstance(doc, dict), err
        assert service(doc, "pgbouncer")["server_connections"] == truth
        assert service(doc, "pgbouncer")["allocated_max"] == 3
        assert service(doc, "feed-service")["server_connections"] == 0
        assert doc["budget"]["allocated"] == 5 + 3
        (note,) = rules_of(doc)["pooler-attribution"]
        assert note["service"] == "pgbouncer" and "3 server sessions" in note["message"]
        # its pools, from the real PgBouncer exporter: through --scrape and through Prometheus
        exporter = pgbouncer_exporter(bouncer, "bouncer")
        assert exporter.value("pgbouncer_pools_server_active_connections") == 3
        assert exporter.value("pgbouncer_databases_database_current_connections") == 3
        prometheus.set_targets([exporter.url])
        await asyncio.to_thread(wait_for_targets, prometheus.url, [exporter.url])
        for flags in (["--scrape", exporter.url], ["--prometheus", prometheus.url]):
            code, doc, err = await novapool(
                "check",
                "--json",
                "--dsn",
                pg1.dsn,
                *flags,  # no --metrics: an allocation with poolers reads the pgbouncer profile
                allocation=str(path),
            )
            row = service(doc, "pgbouncer")
            assert (row["pool_size"], row["in_use"], row["pool_idle"]) == (3, 3, 0), flags
            assert row["server_connections"] == 3 and row["replicas"] == 1
            assert row["pool_pending"] == exporter.value(
                "pgbouncer_pools_client_waiting_connections"
            )
            assert "source-no-series" not in rules_of(doc)
        assert "lifetime-no-jitter" in rules_of(doc)  # of feed-service alone: not the pooler's
        assert "1 services" in rules_of(doc)["lifetime-no-jitter"][0]["message"]
        unknown = rules_of(doc).get("unknown-application", [])
        assert not [f for f in unknown if "feed-service" in f["message"]]
    finally:
        for c in clients:
            c.terminate()
        await admin.close()
