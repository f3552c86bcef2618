"""The scrape source: read pool gauges straight from exporters' /metrics, when there is no
Prometheus. One instance per URL; the text format is parsed by prometheus_client's parser."""

from __future__ import annotations

import concurrent.futures
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from prometheus_client.parser import text_string_to_metric_families

from console.core.allocation import Allocation
from console.core.exported import ExportedSamples, ExportedServer
from console.core.pools import PoolSamples
from console.core.profiles import GaugeChecks, MetricsProfile, no_series_note, with_poolers
from console.core.settings import Settings
from console.core.snapshot import PoolInstance, SourceName
from console.sources.base import GRACE_S, BlockingRead, Reading, read_bounded

MAX_BODY = 8 * 1024 * 1024  # a /metrics page of thousands of pools is well under 1 MiB


def parse_exposition(
    text: str,
    profiles: tuple[MetricsProfile, ...],
    instance: str,
    checks: GaugeChecks | None = None,
) -> tuple[list[PoolInstance], tuple[ExportedServer, ...]]:
    """Pool instances (one per service, through the profiles) and postgres_exporter's servers
    from an exposition text; unusable values (NaN, ±Inf, negative) are unknown, and noted in
    `checks`."""
    checks = checks or GaugeChecks()
    samples, exported = PoolSamples(profiles, checks), ExportedSamples(checks)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not exported.add(sample.name, sample.labels, sample.value, instance):
                samples.add(sample.name, sample.labels, sample.value, instance)
    pools = [
        PoolInstance(service=service, instance=instance, sample_age_s=0.0, up=True, **vars(g))
        for (service, _), g in sorted(samples.gauges().items())
    ]
    return pools, exported.servers()


def parse_metrics(
    text: str,
    profiles: tuple[MetricsProfile, ...],
    instance: str,
    checks: GaugeChecks | None = None,
) -> list[PoolInstance]:
    """The pool instances of an exposition text (`parse_exposition`'s first half)."""
    return parse_exposition(text, profiles, instance, checks)[0]


@dataclass
class ScrapeSource(BlockingRead):
    """A `Source`: the exporters' /metrics, read in parallel."""

    name = SourceName.SCRAPE
    server_name = None  # its pool metrics are every server's
    urls: tuple[str, ...]
    profiles: tuple[MetricsProfile, ...]
    timeout_s: float = 5
    # url → services last seen there, so a target that goes down still names its service
    _last_services: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _pool: concurrent.futures.ThreadPoolExecutor | None = None

    def _fetch(self, url: str) -> str:
        """The whole answer within timeout_s (connect, headers and body: a target that
        trickles its body is cut off), and at most MAX_BODY bytes."""
        started = time.monotonic()
        req = urllib.request.Request(url, headers={"Accept": "text/plain"})
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 - configured URL
            body = read_bounded(resp.read1, started, self.timeout_s, MAX_BODY)
        return body.decode("utf-8", errors="replace")

    @property
    def wait_s(self) -> float:
        return 3 * self.timeout_s + GRACE_S

    def read_blocking(self) -> Reading:
        """Blocking: runs in a worker thread. Fetches the URLs in parallel."""
        t0 = time.perf_counter()
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=min(16, len(self.urls) or 1)
            )
        futures = {url: self._pool.submit(self._fetch, url) for url in self.urls}
        checks = GaugeChecks()
        pools: list[PoolInstance] = []
        servers: list[ExportedServer] = []
        failed: dict[str, str] = {}
        for url, fut in futures.items():
            instance = urlsplit(url).netloc or url
            try:
                found, exported = parse_exposition(fut.result(), self.profiles, instance, checks)
            except Exception as exc:  # noqa: BLE001 - any failure of one target marks it down
                failed[url] = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
                pools.extend(
                    PoolInstance(
                        service=s, instance=instance, size=None, idle=None, max=None, up=False
                    )
                    for s in self._last_services.get(url, ())
                )
                continue
            self._last_services[url] = tuple(p.service for p in found)
            pools.extend(found)
            servers.extend(exported)
        answered = len(self.urls) - len(failed)
        empty = answered > 0 and not any(p.up for p in pools)
        notes = ((no_series_note(self.profiles),) if empty else ()) + checks.notes()
        return Reading(
            latency_ms=(time.perf_counter() - t0) * 1000,
            requests=len(self.urls),
            notes=notes,
            no_series=empty,
            failed=failed,
            pools=tuple(pools),
            exported=tuple(servers),
        )

    def close_blocking(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def from_settings(s: Settings, allocation: Allocation) -> ScrapeSource | None:
    if not s.scrape:
        return None
    profiles = with_poolers(s.profiles, allocation.has_poolers)
    return ScrapeSource(tuple(s.scrape), profiles, s.prometheus_timeout_s)
