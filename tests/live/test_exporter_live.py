"""The cluster's real slots from a real postgres_exporter (Debian's), when novapool has no
database access: live values win over the allocation file's `cluster:`, and `check` exits on
the real budget. Read through a real Prometheus and straight from the exporter."""

from __future__ import annotations

import asyncio

from console.demo.pgserver import LocalPostgres
from tests.live.conftest import PG1, novapool, rules_of, sessions, wait_for_targets


async def test_slots_from_postgres_exporter_win_over_the_allocation(prometheus, postgres_exporter):
    # The shipped allocation says 100 − 3 = 97 available and allocates 77: fine on paper.
    # The server really has 20 − 3 = 17.
    # no autovacuum: its workers would come and go in the exporter's session count
    pg = LocalPostgres(bindir=PG1, max_connections=20, extra={"autovacuum": "off"}).start()
    try:
        exporter = postgres_exporter(pg.dsn)
        async with sessions(pg.dsn, {"auth-service": 4}):
            prometheus.set_targets([exporter.url])
            await asyncio.to_thread(wait_for_targets, prometheus.url, [exporter.url])
            before = await asyncio.to_thread(exporter.sessions)
            for flags in (["--scrape", exporter.url], ["--prometheus", prometheus.url]):
                code, doc, err = await novapool("check", "--json", *flags)
                assert isinstance(doc, dict), err
                cluster = doc["cluster"]
                assert cluster["slots_from"] == "prometheus", flags
                assert (
                    cluster["max_connections"],
                    cluster["superuser_reserved_connections"],
                    cluster["available"],
                ) == (20, 3, 17)
                assert doc["budget"]["available"] == 17 and doc["budget"]["allocated"] == 77
                assert code == 2  # budget-overcommitted, on the real budget
                assert rules_of(doc)["budget-overcommitted"]
                if flags[0] == "--scrape":  # the same exporter, asked just before and after
                    after = await asyncio.to_thread(exporter.sessions)
                    assert cluster["client_backends"] in (before, after)
                    assert before >= 4  # our four sessions at least
            # With the database too, the database wins, and agrees: no note.
            code, doc, err = await novapool(
                "check", "--json", "--dsn", pg.dsn, "--prometheus", prometheus.url
            )
            assert doc["cluster"]["slots_from"] == "postgres"
            assert doc["cluster"]["max_connections"] == 20
            assert not [n for n in doc["sources"]["prometheus"].get("notes", []) if "exporter" in n]
    finally:
        pg.stop()
