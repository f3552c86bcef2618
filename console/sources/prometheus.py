"""The Prometheus source: a constant number of queries per refresh, whatever the fleet's size.

Per refresh, three instant queries, for every configured profile at once:
  1. every pool series of every instance, by name regex                 (values)
  2. time() - timestamp(...) per target and service label set            (sample age)
  3. `up` of every target that reported a pool series in the last 10 min (down targets)
plus, every few minutes, the targets API for the scrape intervals. Which series mean what is
the profiles' business (`core/pools.py`), done here in Python on the one answer.

prometheus-api-client is synchronous: the collector runs this in a worker thread. Its default
retry policy turns a 1 s timeout into 10 s, so we give it our own: one retry, short backoff.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

from console.core import exported
from console.core.allocation import Allocation
from console.core.history import Peaks
from console.core.pools import PoolSamples
from console.core.profiles import (
    GaugeChecks,
    MetricsProfile,
    Selector,
    no_series_note,
    with_poolers,
)
from console.core.settings import Settings
from console.core.snapshot import PoolInstance, SourceName
from console.sources.base import GRACE_S, BlockingRead, Reading, read_bounded

TARGETS_EVERY_S = 300
MAX_ANSWER = 32 * 2**20  # the values of 10,000 pool series are a few MiB
DEFAULT_INTERVAL_S = 30.0


def _names(profiles: tuple[MetricsProfile, ...]) -> str:
    # metric names are checked ([a-zA-Z0-9_:]) when a profile is read: safe in a regex
    return "|".join(dict.fromkeys(n for p in profiles for n in p.metric_names))


def _service_labels(profiles: tuple[MetricsProfile, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(lbl for p in profiles for lbl in p.service_labels))


def queries(profiles: tuple[MetricsProfile, ...]) -> dict[str, str]:
    """The three instant queries of a refresh, for every profile at once."""
    names = [n for p in profiles for n in p.metric_names]
    # timestamp() and last_over_time() drop the metric name, so they are applied to one name
    # at a time (else "vector cannot contain metrics with the same labelset") and joined by
    # `or`: one query, as long as the profiles' list of names
    by = ", ".join(dict.fromkeys(("instance", "job", *_service_labels(profiles))))

    def each(template: str) -> str:
        return " or ".join(template.format(n) for n in dict.fromkeys(names))

    return {
        # the pool series, and postgres_exporter's settings and sessions (cluster facts)
        "values": f'{{__name__=~"{_names(profiles)}|{"|".join(exported.NAMES)}"}}',
        "age": f"max by ({by}) (time() - ({each('timestamp({})')}))",
        "up": (
            f"max by ({by}) ({each('last_over_time({}[10m])')}) "
            f"* 0 + on (instance, job) group_left () up"
        ),
    }


PROFILE_LABEL = "novapool_profile"


def in_use_expr(p: MetricsProfile, by: str, only: tuple[str, str] | None = None) -> str | None:
    """A profile's in-use connections summed by `by`, as PromQL (None: it cannot say).
    `only` adds one label matcher (its value escaped). The first alternative that has series
    wins, as in `pools.py`."""

    def alt(selectors: tuple[Selector, ...]) -> str:
        sels = [Selector(s.metric, s.labels + ((only,) if only else ())) for s in selectors]
        return "(" + " or ".join(f"sum by ({by}) ({s.promql()})" for s in sels) + ")"

    if p.in_use:
        return alt(p.in_use)
    if p.size and p.idle:
        return f"({alt(p.size)} - {alt(p.idle)})"
    return None


COVERED_LABEL = "novapool_covered"


def peak_query(profiles: tuple[MetricsProfile, ...], window: str) -> str:
    """Peak in-use over `window` (minute steps) or now, whichever is higher, per service label
    set and profile: a `src` label keeps both sides of the `or` apart for `max by`."""
    by = ", ".join(_service_labels(profiles))
    tagged = [
        f'label_replace({e}, "{PROFILE_LABEL}", "{p.name}", "", "")'
        for p in profiles
        if (e := in_use_expr(p, by)) is not None
    ]
    in_use = "(" + " or ".join(tagged) + ")"
    # and one unlabelled series more: how far back the window's data really goes (the
    # subquery's minute steps miss data younger than its last step: then, its newest sample)
    covered = (
        f"label_replace(time() - min(min_over_time(timestamp({in_use})[{window}:1m]) "
        f"or timestamp({in_use})), "
        f'"{COVERED_LABEL}", "covered", "", "")'
    )
    return (
        f"max by ({by}, {PROFILE_LABEL}) ("
        f'label_replace(max_over_time({in_use}[{window}:1m]), "src", "window", "", "") or '
        f'label_replace({in_use}, "src", "now", "", "")) or {covered}'
    )


def history_query(
    profiles: tuple[MetricsProfile, ...],
    service: str,
    keys: set[tuple[str, str, str]] | None = None,
) -> str:
    """Range query for one service's in-use (the detail screen): selected by the labels its
    series were last seen with (`keys`: profile, label, value), else by the first profile's
    first service label. Label values escaped."""
    by_name = {p.name: p for p in profiles}
    chosen = sorted(keys or ()) or [(profiles[0].name, profiles[0].service_labels[0], service)]
    parts = [
        e
        for name, label, value in chosen
        if name in by_name and (e := in_use_expr(by_name[name], label, (label, value)))
    ]
    return "sum(" + " or ".join(parts) + ")"


@dataclass
class PrometheusSource(BlockingRead):
    """A `Source` with the `PoolHistory` capability."""

    name = SourceName.PROMETHEUS
    server_name = None  # its pool metrics are every server's
    url: str
    profiles: tuple[MetricsProfile, ...]
    timeout_s: float = 5
    headers: dict[str, str] = field(default_factory=dict)
    verify_tls: bool = True
    _client: PrometheusConnect | None = None
    _intervals: dict[tuple[str, str], float] = field(default_factory=dict)
    _intervals_at: float = 0.0
    requests_total: int = 0
    # service → the labels its series carry, from the last read (history selects by them)
    _service_keys: dict[str, set[tuple[str, str, str]]] = field(default_factory=dict)

    def client(self) -> PrometheusConnect:
        if self._client is None:
            retry = Retry(
                total=1,
                connect=1,
                read=0,
                status=1,
                backoff_factor=0.2,
                status_forcelist=(502, 503, 504),
                allowed_methods=("GET", "POST"),
            )
            self._client = PrometheusConnect(
                url=self.url,
                headers=self.headers or None,
                disable_ssl=not self.verify_tls,
                retry=retry,
                timeout=self.timeout_s,
            )
        return self._client

    def _api(self, path: str, params: dict[str, str]) -> Any:
        """GET /api/v1/PATH through the client's session (its headers, TLS and retry policy):
        the whole answer within timeout_s (connect, headers and body: an answer that trickles
        is cut off) and at most MAX_ANSWER bytes. Returns the answer's `data`."""
        c = self.client()
        self.requests_total += 1
        started = time.monotonic()
        with c._session.get(
            f"{c.url}/api/v1/{path}",
            params=params,
            headers=c.headers,
            auth=c.auth,
            timeout=self.timeout_s,
            stream=True,
        ) as resp:
            read1 = functools.partial(resp.raw.read1, decode_content=True)
            body = read_bounded(read1, started, self.timeout_s, MAX_ANSWER)
            status = resp.status_code
        try:
            doc = json.loads(body)
        except ValueError:
            raise ValueError(f"HTTP {status}: not a Prometheus answer") from None
        if status != 200 or not isinstance(doc, dict) or doc.get("status") != "success":
            error = doc.get("error", "") if isinstance(doc, dict) else ""
            raise RuntimeError(f"HTTP {status}: {str(error)[:200]}")
        return doc.get("data")

    def _query(self, promql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._api("query", {"query": promql})["result"]
        return result

    def _refresh_intervals(self) -> None:
        if time.monotonic() - self._intervals_at < TARGETS_EVERY_S and self._intervals:
            return
        intervals = {}
        for t in (self._api("targets", {"state": "active"}) or {}).get("activeTargets", []):
            labels = t.get("labels", {})
            interval = duration_s(t.get("scrapeInterval", ""))
            if interval:
                intervals[(labels.get("instance", ""), labels.get("job", ""))] = interval
        self._intervals, self._intervals_at = intervals, time.monotonic()

    @property
    def wait_s(self) -> float:
        return 3 * self.timeout_s + GRACE_S  # three requests, each bounded by the client

    def read_blocking(self) -> Reading:
        """Blocking: runs in a worker thread. Raises on failure."""
        t0 = time.perf_counter()
        before = self.requests_total
        q = queries(self.profiles)
        values = self._query(q["values"])
        ages = self._query(q["age"])
        ups = self._query(q["up"])
        try:
            self._refresh_intervals()
        except (requests.RequestException, ValueError, RuntimeError, TimeoutError):
            pass  # intervals are a refinement; the default stands in

        def target(labels: dict[str, str]) -> tuple[str, str]:
            return labels.get("instance", ""), labels.get("job", "")

        samples = PoolSamples(self.profiles)
        servers = exported.ExportedSamples(samples.checks)
        for item in values:
            labels = dict(item["metric"])
            name, raw = labels.pop("__name__", ""), item["value"][1]
            if not servers.add(name, labels, raw, labels.get("instance", "")):
                samples.add(name, labels, raw, target(labels))
        gauges = samples.gauges()
        Key = tuple[str, tuple[str, str]]  # (service, (instance, job))
        found: dict[Key, dict[str, Any]] = {
            (service, inst): dataclasses.asdict(g)  # type: ignore[misc]  # a copy: filled in below
            for (service, inst), g in gauges.items()
        }
        for item in ages:
            inst = target(item["metric"])
            service = samples.service_of(item["metric"], inst)
            age = GaugeChecks().value(item["value"][1], "age")
            if service and age is not None:
                slot = found.setdefault((service, inst), {})
                slot["sample_age_s"] = max(slot.get("sample_age_s", 0.0), age)
        for item in ups:
            inst = target(item["metric"])
            service = samples.service_of(item["metric"], inst, known_only=False)
            if service:
                found.setdefault((service, inst), {})["up"] = float(item["value"][1]) >= 1
        out = [
            PoolInstance(
                **{"size": None, "idle": None, "max": None, **values},
                service=service,
                instance=instance or job,
                scrape_interval_s=self._intervals.get((instance, job), DEFAULT_INTERVAL_S),
            )
            for (service, (instance, job)), values in sorted(found.items())
        ]
        self._service_keys.update(samples.service_keys)
        return Reading(
            latency_ms=(time.perf_counter() - t0) * 1000,
            requests=self.requests_total - before,
            notes=(() if out else (no_series_note(self.profiles),)) + samples.checks.notes(),
            no_series=not out,
            pools=tuple(out),
            exported=servers.servers(),
        )

    def range(self, promql: str, seconds: float, step_s: float) -> list[tuple[float, float]]:
        """A range query (history for the detail screen). Blocking."""
        import datetime as dt

        end = dt.datetime.now(dt.UTC)
        start = end - dt.timedelta(seconds=seconds)
        params = {
            "query": promql,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{max(1, int(step_s))}s",
        }
        result = self._api("query_range", params)["result"]
        if not result:
            return []
        checks = GaugeChecks()  # a NaN point is a gap, never a number
        points = ((float(t), checks.value(v, promql)) for t, v in result[0]["values"])
        return [(t, v) for t, v in points if v is not None]

    def peak_in_use(self, window: str) -> Peaks:
        """Peak in-use per service over `window` (a PromQL duration): one query for all
        services and profiles (label sets that are one service are added up). Blocking."""
        by_name = {p.name: p for p in self.profiles}
        checks = GaugeChecks()
        peaks: dict[str, float] = {}
        covered: float | None = None
        for r in self._query(peak_query(self.profiles, window)):
            labels = r["metric"]
            if labels.get(COVERED_LABEL) == "covered":
                covered = checks.value(r["value"][1], "coverage")
                continue
            profile = by_name.get(labels.get(PROFILE_LABEL, ""))
            service = profile.service_of(labels) if profile else None
            value = checks.value(r["value"][1], service or "peak")
            if service and value is not None:
                peaks[service] = peaks.get(service, 0.0) + value
        return Peaks(peaks, covered)

    async def history(self, service: str, seconds: float = 3600) -> list[float]:
        return await asyncio.to_thread(self.in_use_history, service, seconds)

    async def peaks(self, window: str = "7d") -> Peaks:
        return await asyncio.to_thread(self.peak_in_use, window)

    def in_use_history(self, service: str, seconds: float = 3600) -> list[float]:
        """One service's in-use over the last `seconds` (one range query). Blocking."""
        promql = history_query(self.profiles, service, self._service_keys.get(service))
        points = self.range(promql, seconds, max(15, seconds / 120))
        return [v for _, v in points]

    def close_blocking(self) -> None:
        if self._client is not None:
            self._client._session.close()
            self._client = None


def from_settings(s: Settings, allocation: Allocation) -> PrometheusSource | None:
    if not s.prometheus_url:
        return None
    return PrometheusSource(
        s.prometheus_url,
        with_poolers(s.profiles, allocation.has_poolers),
        s.prometheus_timeout_s,
        s.prometheus_headers,
        s.prometheus_verify_tls,
    )


def duration_s(text: str) -> float | None:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    total, num = 0.0, ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            num += ch
            i += 1
            continue
        unit = text[i : i + 2] if text[i : i + 2] == "ms" else ch
        if unit not in units or not num:
            return None
        total += float(num) * units[unit]
        num = ""
        i += len(unit)
    return total or None
