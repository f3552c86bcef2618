"""The metrics path against a real Prometheus scraping real exporters, and the scrape source."""

from __future__ import annotations

import asyncio
import json
import time

from console.core.allocation import load as load_allocation
from console.core.profiles import PROFILES
from console.core.settings import Settings
from console.core.snapshot import SourceName
from console.demo.promserver import LocalPrometheus
from console.sources.collect import Collector
from console.sources.prometheus import PrometheusSource, read_query
from tests.conftest import ALLOCATION
from tests.live.conftest import (
    novapool,
    rules_of,
    service,
    sessions,
    wait_for_series,
    wait_for_targets,
)


async def test_pools_replicas_drift_and_utilization_from_prometheus(prometheus, exporters, pg1):
    auth = [exporters("auth-service", 8, 3, 12) for _ in range(3)]  # three replicas
    user = exporters("user-service", 20, 0, 20)  # the wrapper's max() raised it: drift
    feed = exporters("feed-service", 3, 2, 8)
    prometheus.set_targets([e.url for e in (*auth, user, feed)])
    await asyncio.to_thread(wait_for_targets, prometheus.url, [e.url for e in (*auth, user, feed)])
    async with sessions(pg1.dsn, {"auth-service": 20, "user-service": 14}):
        code, doc, err = await novapool(
            "check", "--json", "--dsn", pg1.dsn, "--prometheus", prometheus.url
        )
    assert code == 2, err
    assert doc["sources"]["prometheus"]["status"] == "ok"
    a = service(doc, "auth-service")
    assert (a["replicas"], a["replicas_source"], a["instances"]) == (3, "metrics", 3)
    assert (a["pool_size"], a["pool_idle"], a["in_use"], a["pool_max_reported"]) == (24, 9, 15, 12)
    assert (a["fill_pct"], a["busy_pct"]) == (66.7, 41.7)
    assert a["server_connections"] == 20  # ≤ 12 × 3: not over allocation
    # 77 + 2 more replicas of auth-service × 12 = 101 > 97
    assert doc["budget"]["allocated"] == 101 and doc["budget"]["overcommitted"] is True
    rules = rules_of(doc)
    assert rules["budget-overcommitted"][0]["message"].endswith("overcommitted by 4")
    (drift,) = rules["pool-max-drift"]
    assert drift["service"] == "user-service" and "max 20" in drift["message"]
    (util,) = rules["pool-utilization-high"]
    assert (util["service"], util["severity"]) == ("user-service", "critical")
    (over,) = rules["service-over-allocation"]
    assert over["service"] == "user-service"  # 14 > 12 × 1
    assert "metrics-stale" not in rules
    assert service(doc, "feed-service")["busy_pct"] == 12.5


async def test_prometheus_answers_grow_with_services_not_instances(prometheus, exporters):
    """A refresh costs the same queries at 5 or 20 instances of a service, and the same answer
    size (PromQL adds the pools up); only an open detail (`focus`) lists its service's
    instances, with one query more."""
    src = PrometheusSource(prometheus.url, (PROFILES["nova-db-pool"],), timeout_s=5)
    started = [exporters("auth-service", 2, 1, 12) for _ in range(5)]

    async def read_with(instances):
        urls = [e.url for e in instances]
        prometheus.set_targets(urls)
        await asyncio.to_thread(wait_for_targets, prometheus.url, urls)
        await asyncio.to_thread(wait_for_series, prometheus.url, "db_pool_size", len(urls))
        src.read_blocking()  # the targets' intervals and the down check, read once
        before = src.answer_bytes_total
        reading = src.read_blocking()
        return reading, src.answer_bytes_total - before

    small, small_bytes = await read_with(started)
    started += [exporters("auth-service", 2, 1, 12) for _ in range(15)]
    large, large_bytes = await read_with(started)
    (few,), (many,) = small.pool_totals, large.pool_totals
    assert (few.instances, few.size, few.idle) == (5, 10, 5)
    assert (many.instances, many.size, many.idle, many.maxes) == (20, 40, 20, ((12.0, 20),))
    assert small.pools == large.pools == ()  # no instance one by one
    assert small.requests == large.requests == 1  # totals and oldest in one (down: every 15 s)
    assert abs(large_bytes - small_bytes) < 64, (small_bytes, large_bytes)  # digits only
    others = [exporters(f"svc-{i}", 1, 0, 5) for i in range(10)]
    more, more_bytes = await read_with(started + others)
    assert more.requests == 1 and more_bytes > large_bytes  # services: more to say
    # read no more often than Prometheus can tell something new: the 1 s scrape interval its
    # targets API gives; at once when a detail opens on a service
    assert src.read_every_s == 1.0
    src.focus = "auth-service"
    assert src.read_every_s == 0
    focused = src.read_blocking()
    assert src.read_every_s == 1.0
    assert len(focused.pools) == 20 and focused.requests == 2
    assert {p.service for p in focused.pools} == {"auth-service"}
    assert all(p.up and p.sample_age_s is not None for p in focused.pools)


async def test_fresh_instances_ages_are_not_sent_and_still_turn_stale(prometheus, exporters):
    """Once the scrape interval is known (1 s here), a read asks only for ages that could turn
    stale (3 intervals) before the next read: a healthy fleet's are not sent. Each service is
    then at least as old as the time since the read — so with no new read, metrics-stale
    fires all the same once 3 intervals have passed."""
    from console.core.assessment import assess
    from console.core.snapshot import InstanceAge, Snapshot

    started = [exporters("auth-service", 2, 1, 12) for _ in range(4)]
    urls = [e.url for e in started]
    prometheus.set_targets(urls)
    await asyncio.to_thread(wait_for_targets, prometheus.url, urls)
    await asyncio.to_thread(wait_for_series, prometheus.url, "db_pool_size", len(urls))
    src = PrometheusSource(prometheus.url, (PROFILES["nova-db-pool"],), timeout_s=5)
    first = src.read_blocking()  # the intervals are not known yet: every age is asked for
    (every,) = first.pool_totals
    assert len(every.oldest) == 3 and all(o.instance for o in every.oldest)
    assert src.age_floor_s == 2.0  # (3 − 1) × 1 s
    before = src.answer_bytes_total
    src._query(read_query(src.profiles))  # what a read without the floor is sent
    unfiltered = src.answer_bytes_total - before
    give_up = time.monotonic() + 60  # a hang guard: a loaded machine may scrape late once
    while True:
        before = src.answer_bytes_total
        (fresh,) = src.read_blocking().pool_totals
        sent = [o for o in fresh.oldest if o.instance]
        assert all(o.age_s > 2.0 for o in sent), sent  # only ages that could turn stale
        if not sent or time.monotonic() > give_up:
            break
    assert fresh.oldest == (InstanceAge("", 0.0, 1.0),)  # none sent: all younger than 2 s
    assert src.answer_bytes_total - before + 300 < unfiltered  # three ages' series fewer
    read_at = time.time()
    stamped = fresh.measured_at(read_at)

    def stale(seconds_later):
        snap = Snapshot(taken_at=read_at + seconds_later, pool_totals=(stamped,))
        found = assess(snap, load_allocation(ALLOCATION)).findings
        return [f for f in found if f.rule == "metrics-stale"]

    assert stale(2.5) == []
    (f,) = stale(3.5)
    assert f.service == "auth-service" and "newest pool sample 4 s old (> 3 × 1 s)" in f.message


async def test_promql_totals_are_the_instances_added_up(prometheus, exporters):
    """The same exporters read two ways: Prometheus adding the pools up in PromQL, and the
    scrape source's instances added up in Python: the same totals."""
    from console.core.pools import totals_of
    from console.sources.scrape import ScrapeSource

    started = [
        exporters("orders-service", 8, 3, 12),
        exporters("orders-service", 12, 0, 12),  # at its max
        exporters("orders-service", 5, 5, 20),  # a drifted max
        exporters("ledger-service", 4, 4, 0),  # no max: unlimited
        exporters("ledger-service", 6, 1, 10),
        exporters("search-service", 3, 2, 8),
    ]
    urls = [e.url for e in started]
    prometheus.set_targets(urls)
    await asyncio.to_thread(wait_for_targets, prometheus.url, urls)
    await asyncio.to_thread(wait_for_series, prometheus.url, "db_pool_size", len(urls))
    profiles = (PROFILES["nova-db-pool"],)
    via_promql = PrometheusSource(prometheus.url, profiles).read_blocking().pool_totals
    scraped = await asyncio.to_thread(ScrapeSource(tuple(urls), profiles).read_blocking)
    in_python = totals_of(scraped.pools)

    def comparable(t):
        return (t.service, t.instances, t.size, t.idle, t.pending, t.maxes, t.at_max, t.unlimited)

    assert sorted(map(comparable, via_promql)) == sorted(map(comparable, in_python))
    orders = next(t for t in via_promql if t.service == "orders-service")
    assert (orders.at_max, orders.maxes, orders.max_total) == (1, ((12.0, 2), (20.0, 1)), 44.0)


async def test_a_target_that_goes_down_is_stale(prometheus, exporters):
    a, b = exporters("media-service", 2, 1, 5), exporters("media-service", 2, 2, 5)
    prometheus.set_targets([a.url, b.url])
    await asyncio.to_thread(wait_for_targets, prometheus.url, [a.url, b.url])
    b.stop()
    await asyncio.to_thread(wait_for_series, prometheus.url, "up == 0", 1)
    code, doc, err = await novapool("check", "--json", "--prometheus", prometheus.url)
    assert code == 1, err
    (f,) = rules_of(doc)["metrics-stale"]
    assert f["service"] == "media-service" and "target down" in f["message"]
    assert service(doc, "media-service")["replicas"] == 2


async def test_prometheus_stopped_mid_run_then_back(exporters, pg1):
    prom = LocalPrometheus(scrape_interval_s=1.0).start()
    try:
        e = exporters("events-service", 3, 1, 5)
        prom.set_targets([e.url])
        await asyncio.to_thread(wait_for_targets, prom.url, [e.url])
        settings = Settings(dsn=pg1.dsn, prometheus_url=prom.url, prometheus_timeout_s=1)
        skipped = 0.0  # the collector's clock runs ahead of the wall by this much

        def clock():
            return time.time() + skipped

        collector = Collector(settings, load_allocation(ALLOCATION), clock=clock)
        snap = (await collector.collect()).first
        assert snap.source("prometheus").status == "ok" and len(snap.pool_totals) == 1
        prom.pause()
        skipped += 1.5  # past the scrape interval: Prometheus is read again
        snap = (await collector.collect()).first  # bounded by the collector's own wait, never hangs
        assert snap.source("prometheus").status == "unreachable"
        assert snap.source("postgres").status == "ok" and snap.server is not None
        assert snap.pool_totals and snap.pool_totals[0].size == 3  # last good data, kept
        skipped += 3.5
        snap = (await collector.collect()).first
        ((_, age), *_) = snap.pool_totals[0].ages(snap.taken_at)
        assert age > 3  # and aged: stale after 3 × 1 s
        from console.core.assessment import assess

        stale = [
            f
            for f in assess(snap, load_allocation(ALLOCATION)).findings
            if f.rule == "metrics-stale"
        ]
        assert stale and stale[0].service == "events-service"
        prom.resume()
        deadline = time.monotonic() + 120  # a hang guard
        while snap.source("prometheus").status != "ok" and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            snap = (await collector.collect()).first
        assert snap.source("prometheus").status == "ok"
        await collector.close()
    finally:
        prom.stop()


async def test_scrape_source_without_prometheus(exporters):
    a = exporters("video-service", 3, 0, 3)
    b = exporters("video-service", 1, 1, 3)
    dead = exporters("cdn-service", 1, 1, 2)
    dead.stop()
    code, doc, err = await novapool(
        "check", "--json", "--scrape", a.url, "--scrape", b.url, "--scrape", dead.url
    )
    assert code == 3, err  # a configured source is partly unreachable
    assert doc["sources"]["scrape"]["status"] == "unreachable"
    assert str(dead.port) in doc["sources"]["scrape"]["error"]
    v = service(doc, "video-service")
    assert (v["replicas"], v["pool_size"], v["pool_idle"], v["in_use"]) == (2, 4, 1, 3)
    assert v["fill_pct"] == 66.7


async def test_peak_in_use_for_suggest_is_one_query(prometheus, exporters):
    from console.tui.feed import CollectorFeed

    a = exporters("peaks-svc", 6, 1, 8)  # a name no other test uses: the shared
    b = exporters("peaks-svc", 4, 4, 8)  # Prometheus keeps earlier tests' series
    prometheus.set_targets([a.url, b.url])
    await asyncio.to_thread(wait_for_targets, prometheus.url, [a.url, b.url])
    settings = Settings(prometheus_url=prometheus.url)
    feed = CollectorFeed(Collector(settings, load_allocation(ALLOCATION)))
    before = feed.collector.sources[SourceName.PROMETHEUS].requests_total
    t0 = time.time()
    peaks = await feed.peaks()
    assert feed.collector.sources[SourceName.PROMETHEUS].requests_total - before == 1
    assert peaks.by_service["peaks-svc"] == 5.0  # (6 − 1) + (4 − 4)
    # the same query says how far back the week's data goes: minutes here, not 7 days
    assert peaks.covered_s is not None and 0 <= peaks.covered_s < time.time() - t0 + 3600
    await feed.close()

    from console.tui.app import _coverage

    assert "SHORT" in _coverage("7d", peaks.covered_s)


async def test_history_range_query_escapes_label_values(prometheus, exporters):
    from console.sources.prometheus import history_query

    odd = 'we"ird\\svc'
    e = exporters(odd, 5, 2, 8)
    prometheus.set_targets([e.url])
    await asyncio.to_thread(wait_for_targets, prometheus.url, [e.url])
    src = PrometheusSource(prometheus.url, (PROFILES["nova-db-pool"],))
    points = await asyncio.to_thread(src.range, history_query(src.profiles, odd), 60, 1)
    assert points and {v for _, v in points} == {3.0}  # in use = 5 − 2
    assert await asyncio.to_thread(src.range, history_query(src.profiles, 'we"ird'), 60, 1) == []


async def test_a_source_with_no_series_of_the_profile_says_so(prometheus, exporters, tmp_path):
    """A real Prometheus and a real exporter that answer, with none of the profile's series
    (db-pool gauges read with the HikariCP profile): a note and a warning, never a silent OK."""
    e = exporters("auth-service", 3, 1, 12)
    prometheus.set_targets([e.url])
    await asyncio.to_thread(wait_for_targets, prometheus.url, [e.url])
    cfg = tmp_path / "n.yaml"
    cfg.write_text("prometheus:\n  metrics: hikaricp\n")
    for source, flags in (
        ("prometheus", ["--prometheus", prometheus.url]),
        ("scrape", ["--scrape", e.url]),
    ):
        code, doc, err = await novapool("check", "--json", "--config", str(cfg), *flags)
        assert isinstance(doc, dict), err
        status = doc["sources"][source]
        assert status["status"] == "ok" and "hikaricp_connections" in status["notes"][0]
        (finding,) = rules_of(doc)["source-no-series"]
        assert finding["severity"] == "warning" and finding["message"].startswith(source)
        assert code == 1
    # the right profile: no such finding
    code, doc, err = await novapool("check", "--json", "--scrape", e.url)
    assert "source-no-series" not in rules_of(doc) and "notes" not in doc["sources"]["scrape"]


def _strict_json(text: str) -> dict:
    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


async def test_nan_and_negative_gauges_are_unknown_never_a_crash(prometheus, exporters):
    """A real exporter serving NaN / -Inf / negative pool gauges, read through a real Prometheus
    and directly: unknown (null) with a note naming the series, and strictly valid JSON."""
    bad = exporters("auth-service", float("nan"), -1.0, float("-inf"))
    good = exporters("feed-service", 3, 1, 8)
    prometheus.set_targets([bad.url, good.url])
    await asyncio.to_thread(wait_for_targets, prometheus.url, [bad.url, good.url])
    for source, flags in (
        ("prometheus", ["--prometheus", prometheus.url]),
        ("scrape", ["--scrape", bad.url, "--scrape", good.url]),
    ):
        code, out, err = await novapool("check", "--json", *flags, parse=False)
        doc = _strict_json(out)
        auth = service(doc, "auth-service")
        assert (auth["pool_size"], auth["pool_idle"], auth["pool_max_reported"]) == (None,) * 3
        assert (auth["fill_pct"], auth["busy_pct"], auth["in_use"]) == (None,) * 3
        assert service(doc, "feed-service")["pool_size"] == 3  # the others are untouched
        (note,) = doc["sources"][source]["notes"]
        assert "unusable gauge values" in note and "db_pool_size" in note and "nan" in note.lower()
        assert code in (0, 1, 2), err


class _Trickle:
    """A hostile exporter on 127.0.0.1: headers at once, then one byte every 0.2 s, and it
    stops by itself after `seconds`."""

    def __init__(self, seconds: float = 90) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/metrics"
        self.stop = threading.Event()
        self.seconds = seconds
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import threading

        self.sock.settimeout(0.5)
        end = time.monotonic() + self.seconds
        while not self.stop.is_set() and time.monotonic() < end:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._trickle, args=(conn, end), daemon=True).start()
        self.sock.close()

    def _trickle(self, conn, end: float) -> None:
        try:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            while not self.stop.is_set() and time.monotonic() < end:
                conn.sendall(b"#")
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()


async def test_a_trickling_exporter_is_cut_off_and_check_exits(tmp_path):
    trickle = _Trickle()
    try:
        cfg = tmp_path / "n.yaml"
        cfg.write_text("prometheus:\n  timeout_s: 1\n")
        t0 = time.monotonic()
        code, doc, err = await novapool(
            "check", "--json", "--config", str(cfg), "--scrape", trickle.url
        )
        took = time.monotonic() - t0
        assert code == 3, err  # the only source did not answer: UNKNOWN
        assert "no whole answer within 1 s" in doc["sources"]["scrape"]["error"]
        assert took < trickle.seconds  # it did not wait for the trickle to end
    finally:
        trickle.stop.set()


async def test_a_trickling_prometheus_is_cut_off_and_check_exits(tmp_path):
    """The same hostile server as the Prometheus API: every request is bounded as a whole."""
    trickle = _Trickle()
    try:
        cfg = tmp_path / "n.yaml"
        cfg.write_text("prometheus:\n  timeout_s: 1\n")
        t0 = time.monotonic()
        code, doc, err = await novapool(
            "check", "--json", "--config", str(cfg), "--prometheus", trickle.url.rsplit("/", 1)[0]
        )
        took = time.monotonic() - t0
        assert code == 3, err
        assert "no whole answer within 1 s" in doc["sources"]["prometheus"]["error"]
        assert took < trickle.seconds
    finally:
        trickle.stop.set()
