"""Per-refresh cost of novapool on the inspected systems, at many client backends.

Starts a throwaway PostgreSQL with statement logging, opens N client sessions spread over the
allocation's services (plus unknown ones, some idle in transaction), then runs R refreshes of
the PostgreSQL source and reports: statements per refresh and their server-side time (from the
server's own log), client-side latency, and rows returned. With --prometheus it also runs a
real Prometheus scraping S exporters and reports requests per refresh and latency.

    .venv/bin/python bench/refresh_cost.py --backends 1000 --refreshes 20 --exporters 40
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402

from console.core.allocation import load as load_allocation  # noqa: E402
from console.core.profiles import PROFILES  # noqa: E402
from console.demo.exporter import PoolExporter, PoolGauges  # noqa: E402
from console.demo.pgserver import LocalPostgres  # noqa: E402
from console.demo.promserver import LocalPrometheus, find_prometheus  # noqa: E402
from console.sources.postgres import PostgresSource  # noqa: E402
from console.sources.prometheus import PrometheusSource  # noqa: E402

DURATION = re.compile(r"^novapool\|LOG:  duration: ([\d.]+) ms  execute ")
# The floor of any statement that reads pg_stat_activity: the scan alone. The server looks each
# backend's process up in its process array (its wait event, its lock group), so the scan grows
# faster than the backends.
SCAN = "SELECT count(*) FROM pg_stat_get_activity(NULL)"
SCAN_DURATION = re.compile(r"^scan-alone\|LOG:  duration: ([\d.]+) ms  execute ")


def server_statements(log: str, pattern: re.Pattern[str] = DURATION) -> list[float]:
    return [float(m.group(1)) for line in log.splitlines() if (m := pattern.match(line))]


async def bench_postgres(n_backends: int, refreshes: int) -> None:
    pg = LocalPostgres(
        max_connections=n_backends + 20,
        extra={"log_min_duration_statement": "0", "log_line_prefix": "%a|"},
    ).start()
    services = load_allocation("config/allocation.yaml").names()
    conns = []
    try:
        sem = asyncio.Semaphore(50)

        async def open_one(i: int):
            app = services[i % len(services)] if i % 10 else f"adhoc-{i % 7}"
            async with sem:
                c = await asyncpg.connect(pg.dsn, server_settings={"application_name": app})
            if i % 50 == 0:
                await c.execute("BEGIN; SELECT 1")
            return c

        t0 = time.perf_counter()
        conns = await asyncio.gather(*(open_one(i) for i in range(n_backends)))
        print(f"opened {len(conns)} client backends in {time.perf_counter() - t0:.1f} s")
        src = PostgresSource(pg.dsn)
        await src.connect()
        await src.read()  # warm
        scan = await asyncpg.connect(pg.dsn, server_settings={"application_name": "scan-alone"})
        await asyncio.sleep(0.5)
        log_at = len(pg.log_tail(10**7))
        latencies, rows = [], []
        for _ in range(refreshes):
            r = await src.read()
            latencies.append(r.latency_ms)
            rows.append(len(r.activity) + len(r.backends))
            await scan.fetchval(SCAN)  # right after: the same moment's server
        await scan.close()
        await asyncio.sleep(1.0)  # the log is written behind
        log = pg.log_tail(10**7)[log_at:]
        durations = server_statements(log)
        per = len(durations) / refreshes
        print(f"PostgreSQL, {n_backends} client backends, {refreshes} refreshes:")
        print(f"  statements per refresh (server log): {per:g}")
        per_refresh = _per_refresh(durations, max(1, round(per)))
        print(f"  server time per refresh: median {statistics.median(per_refresh):.2f} ms")
        print(
            f"  client latency per refresh: median {statistics.median(latencies):.1f} ms, "
            f"max {max(latencies):.1f} ms"
        )
        print(
            f"  rows returned per refresh: {statistics.median(rows):g} "
            f"(activity groups + at most {src.backend_rows} backends)"
        )
        await src.close()
        floor = statistics.median(server_statements(log, SCAN_DURATION))
        print(
            f"  one scan of pg_stat_get_activity alone: median {floor:.2f} ms (the floor of any "
            "statement reading pg_stat_activity; pg_activity's refresh has two such statements)"
        )
    finally:
        for c in conns:
            c.terminate()
        pg.stop()


def _per_refresh(durations: list[float], per: int) -> list[float]:
    """Sum each refresh's statements (`per` consecutive ones)."""
    return [sum(durations[i : i + per]) for i in range(0, len(durations) - per + 1, per)]


def bench_prometheus(n_exporters: int, refreshes: int) -> None:
    if not find_prometheus():
        print("no prometheus binary: skipping the Prometheus part")
        return
    services = load_allocation("config/allocation.yaml").names()
    exporters = [
        PoolExporter(services[i % len(services)], lambda: PoolGauges(4, 1, 12)).start()
        for i in range(n_exporters)
    ]
    prom = LocalPrometheus(scrape_interval_s=1).start([e.url for e in exporters])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{prom.url}/api/v1/query?query=count(db_pool_max)") as r:
                body = r.read().decode()
            if f'"{n_exporters}"' in body:
                break
            time.sleep(0.5)
        src = PrometheusSource(prom.url, (PROFILES["nova-db-pool"],))
        src.read_blocking()
        lat, reqs = [], []
        for _ in range(refreshes):
            r = src.read_blocking()
            lat.append(r.latency_ms)
            reqs.append(r.requests)
        print(
            f"Prometheus, {n_exporters} pool instances of {len(services)} services, "
            f"{refreshes} refreshes:"
        )
        print(f"  requests per refresh: {statistics.median(reqs):g}")
        print(
            f"  latency per refresh: median {statistics.median(lat):.1f} ms, max {max(lat):.1f} ms"
        )
    finally:
        prom.stop()
        for e in exporters:
            e.stop()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--backends", type=int, default=1000)
    p.add_argument("--refreshes", type=int, default=20)
    p.add_argument("--exporters", type=int, default=40)
    args = p.parse_args()
    asyncio.run(bench_postgres(args.backends, args.refreshes))
    bench_prometheus(args.exporters, args.refreshes)


if __name__ == "__main__":
    main()
