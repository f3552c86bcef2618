"""The Prometheus source: a constant number of queries per refresh, whatever the fleet's size.

Per refresh, three instant queries:
  1. the three pool gauges of every instance, by name regex            (values)
  2. time() - timestamp(size)                                           (sample age)
  3. `up` of every target that reported a pool max in the last 10 min  (down targets)
plus, every few minutes, the targets API for the scrape intervals.

prometheus-api-client is synchronous: the collector runs this in a worker thread. Its default
retry policy turns a 1 s timeout into 10 s, so we give it our own: one retry, short backoff.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

from console.core.profiles import (
    GaugeChecks,
    MetricsProfile,
    add_gauge,
    promql_string,
    series_name,
)
from console.core.snapshot import PoolInstance

TARGETS_EVERY_S = 300
DEFAULT_INTERVAL_S = 30.0


def queries(p: MetricsProfile) -> dict[str, str]:
    names = "|".join(p.gauges)
    return {
        "values": f'{{__name__=~"{names}",{p.service_label}!=""}}',
        "age": f"time() - timestamp({p.size})",
        "up": (
            f"max by ({p.service_label}, instance, job) (last_over_time({p.max}[10m])) "
            f"* 0 + on (instance, job) group_left () up"
        ),
    }


def history_query(p: MetricsProfile, service: str, kind: str = "in_use") -> str:
    """Range query for one service's history (the detail screen). Label value escaped."""
    sel = f"{{{p.service_label}={promql_string(service)}}}"
    if kind == "in_use":
        return f"sum({p.size}{sel}) - sum({p.idle}{sel})"
    return f"sum({p.size}{sel})"


@dataclass
class PrometheusReading:
    pools: tuple[PoolInstance, ...]
    latency_ms: float
    requests: int
    notes: tuple[str, ...] = ()
    no_series: bool = False  # it answered with none of the profile's pool series


@dataclass
class PrometheusSource:
    url: str
    profile: MetricsProfile
    timeout_s: float = 5
    headers: dict[str, str] = field(default_factory=dict)
    verify_tls: bool = True
    _client: PrometheusConnect | None = None
    _intervals: dict[tuple[str, str], float] = field(default_factory=dict)
    _intervals_at: float = 0.0
    requests_total: int = 0

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

    def _query(self, promql: str) -> list[dict[str, Any]]:
        self.requests_total += 1
        result: list[dict[str, Any]] = self.client().custom_query(promql)
        return result

    def _refresh_intervals(self) -> None:
        if time.monotonic() - self._intervals_at < TARGETS_EVERY_S and self._intervals:
            return
        self.requests_total += 1
        c = self.client()
        resp = c._session.get(
            f"{c.url}/api/v1/targets",
            params={"state": "active"},
            headers=c.headers,
            timeout=self.timeout_s,
        )
        resp.raise_for_status()
        intervals = {}
        for t in resp.json().get("data", {}).get("activeTargets", []):
            labels = t.get("labels", {})
            interval = duration_s(t.get("scrapeInterval", ""))
            if interval:
                intervals[(labels.get("instance", ""), labels.get("job", ""))] = interval
        self._intervals, self._intervals_at = intervals, time.monotonic()

    def read(self) -> PrometheusReading:
        """Blocking: call from a worker thread. Raises on failure."""
        t0 = time.perf_counter()
        before = self.requests_total
        p = self.profile
        q = queries(p)
        values = self._query(q["values"])
        ages = self._query(q["age"])
        ups = self._query(q["up"])
        try:
            self._refresh_intervals()
        except (requests.RequestException, ValueError):
            pass  # intervals are a refinement; the default stands in
        pools: dict[tuple[str, str, str], dict[str, Any]] = {}

        def slot(metric: dict[str, str]) -> dict[str, Any]:
            key = (
                metric.get(p.service_label, ""),
                metric.get("instance", ""),
                metric.get("job", ""),
            )
            return pools.setdefault(key, {})

        checks = GaugeChecks()
        for item in values:
            m = item["metric"]
            v = checks.value(item["value"][1], series_name(m))
            field_name = {p.size: "size", p.idle: "idle", p.max: "max"}[m["__name__"]]
            add_gauge(slot(m), field_name, v)
        for item in ages:
            s = slot(item["metric"])
            age = GaugeChecks().value(item["value"][1], "age")
            if age is not None:
                s["age"] = max(s.get("age", 0.0), age)
        for item in ups:
            slot(item["metric"])["up"] = float(item["value"][1]) >= 1
        out = []
        for (service, instance, job), s in sorted(pools.items()):
            if not service:
                continue
            out.append(
                PoolInstance(
                    service=service,
                    instance=instance or job,
                    size=s.get("size"),
                    idle=s.get("idle"),
                    max=s.get("max"),
                    sample_age_s=s.get("age"),
                    up=s.get("up"),
                    scrape_interval_s=self._intervals.get((instance, job), DEFAULT_INTERVAL_S),
                )
            )
        return PrometheusReading(
            tuple(out),
            (time.perf_counter() - t0) * 1000,
            self.requests_total - before,
            (() if out else (p.no_series_note(),)) + checks.notes(),
            no_series=not out,
        )

    def range(self, promql: str, seconds: float, step_s: float) -> list[tuple[float, float]]:
        """A range query (history for the detail screen). Blocking."""
        import datetime as dt

        end = dt.datetime.now(dt.UTC)
        start = end - dt.timedelta(seconds=seconds)
        self.requests_total += 1
        result = self.client().custom_query_range(
            promql, start_time=start, end_time=end, step=f"{max(1, int(step_s))}s"
        )
        if not result:
            return []
        checks = GaugeChecks()  # a NaN point is a gap, never a number
        points = ((float(t), checks.value(v, promql)) for t, v in result[0]["values"])
        return [(t, v) for t, v in points if v is not None]

    def peak_in_use(self, window: str) -> dict[str, float]:
        """Peak in-use per service over `window` (a PromQL duration): one query for all.
        The window's peak (minute steps) or the value now, whichever is higher: a `src` label
        keeps both sides of the `or` apart so that `max by` can compare them. Blocking."""
        p, lbl = self.profile, self.profile.service_label
        in_use = f"(sum by ({lbl}) ({p.size}) - sum by ({lbl}) ({p.idle}))"
        q = (
            f'max by ({lbl}) (label_replace(max_over_time({in_use}[{window}:1m]), "src", '
            f'"window", "", "") or label_replace({in_use}, "src", "now", "", ""))'
        )
        checks = GaugeChecks()
        peaks = {r["metric"].get(lbl): checks.value(r["value"][1], lbl) for r in self._query(q)}
        return {name: v for name, v in peaks.items() if name and v is not None}

    def in_use_history(self, service: str, seconds: float = 3600) -> list[float]:
        """One service's in-use over the last `seconds` (one range query). Blocking."""
        points = self.range(history_query(self.profile, service), seconds, max(15, seconds / 120))
        return [v for _, v in points]

    def close(self) -> None:
        if self._client is not None:
            self._client._session.close()
            self._client = None


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
