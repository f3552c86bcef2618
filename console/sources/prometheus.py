"""The Prometheus source: a constant number of queries per read, whose answers grow with
the number of services, not of instances — PromQL adds the pools up. The console reads it once
per the targets' shortest scrape interval (`read_every_s`): a target has one new sample a
scrape.

Per read, for every configured profile at once, one query (`read_query`) of two parts:
  1. totals: each service's pools added up (size, idle, pending; how many instances report
     each max; how many are at their max; how many instances; unusable gauges counted), and
     postgres_exporter's settings and sessions (cluster facts), as they are;
  2. oldest: the few instances of each service with the oldest newest-sample (stale metrics),
     tagged `age`;
and besides:
  3. down, every DOWN_EVERY_S: the targets down that reported pool series in the last 10 min
     (a range selector: not every read);
  4. while a service's detail is open (`focus`), that service's instances one by one;
plus, every few minutes, the targets API for the scrape intervals. Which series mean what is
the profiles' business (`core/profiles.py`): the PromQL is built from them.

prometheus-api-client is synchronous: the collector runs this in a worker thread. Its default
retry policy turns a 1 s timeout into 10 s, so we give it our own: one retry, short backoff.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

from console.core import exported
from console.core.allocation import Allocation
from console.core.history import Peaks
from console.core.memo import remembered
from console.core.pools import PoolSamples
from console.core.profiles import (
    FIELDS,
    GaugeChecks,
    MetricsProfile,
    Selector,
    no_series_note,
    promql_string,
    with_poolers,
)
from console.core.settings import Settings
from console.core.snapshot import InstanceAge, PoolInstance, ServicePools, SourceName
from console.sources.base import GRACE_S, BlockingRead, Reading, read_bounded

TARGETS_EVERY_S = 300
DOWN_EVERY_S = 15
OLDEST_PER_SERVICE = 3  # the instances per service whose sample ages are read every refresh
DOWN_SHOWN = 3  # the down instances named per service (all are counted)
MAX_ANSWER = 32 * 2**20
DEFAULT_INTERVAL_S = 30.0
AGG_LABEL = "novapool_agg"  # which sum (or count) a series of the totals answer is
MAX_LABEL = "novapool_max"  # the reported max an instance count is of


def _names(profiles: tuple[MetricsProfile, ...]) -> list[str]:
    # metric names are checked ([a-zA-Z0-9_:]) when a profile is read: safe in a regex
    return list(dict.fromkeys(n for p in profiles for n in p.metric_names))


def _service_labels(profiles: tuple[MetricsProfile, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(lbl for p in profiles for lbl in p.service_labels))


def _instance_labels(profiles: tuple[MetricsProfile, ...]) -> str:
    return ", ".join(dict.fromkeys(("instance", "job", *_service_labels(profiles))))


def per_instance(p: MetricsProfile, by: str) -> dict[str, str]:
    """A profile's fields per pool instance, as PromQL: per field, the first alternative
    selector that has series for an instance (`or` on the instance's labels), its samples
    summed (two pools of one service in one process); size and idle derived per instance
    where the library does not export them (as `pools.derive` does)."""
    raw = {
        f: "(" + " or ".join(f"sum by ({by}) ({s.promql()})" for s in p.selectors(f)) + ")"
        for f in FIELDS
        if p.selectors(f)
    }
    out = dict(raw)
    size, idle, in_use = raw.get("size"), raw.get("idle"), raw.get("in_use")
    if idle and in_use:
        out["size"] = f"({size} or ({idle} + {in_use}))" if size else f"({idle} + {in_use})"
    if size and in_use:
        derived = f"clamp_min({size} - {in_use}, 0)"
        out["idle"] = f"({idle} or {derived})" if idle else derived
    return out


def _tagged(expr: str, agg: str, profile: str | None = None) -> str:
    tagged = f'label_replace({expr}, "{AGG_LABEL}", "{agg}", "", "")'
    if profile is None:
        return tagged
    # profile names are letters, digits, '-', '_' and '.' (checked when read)
    return f'label_replace({tagged}, "{PROFILE_LABEL}", "{profile}", "", "")'


def totals_query(profiles: tuple[MetricsProfile, ...]) -> str:
    """Query 1: per profile and service label set, the pools added up; and postgres_exporter's
    cluster facts as they are. Unusable gauges (NaN, negative) are left out of the sums
    (`x >= 0` drops them) and counted apart, per field (`bad_<field>`)."""
    by, each = ", ".join(_service_labels(profiles)), _instance_labels(profiles)
    terms = [f'{{__name__=~"{"|".join(exported.NAMES)}"}}']
    for p in profiles:
        x = per_instance(p, each)
        if not x:
            continue
        for f in ("size", "idle", "pending"):
            if f in x:
                terms.append(_tagged(f"sum by ({by}) ({x[f]} >= 0)", f, p.name))
        if "max" in x:
            counted = f'count_values by ({by}) ("{MAX_LABEL}", {x["max"]} >= 0)'
            terms.append(_tagged(counted, "max", p.name))
            if "size" in x:
                at_max = f"count by ({by}) ({x['size']} >= ({x['max']} > 0))"
                terms.append(_tagged(at_max, "at_max", p.name))
        any_series = " or ".join(x.values())
        terms.append(_tagged(f"count by ({by}) ({any_series})", "instances", p.name))
        for f, e in x.items():
            terms.append(_tagged(f"count by ({by}) ({e} unless ({e} >= 0))", f"bad_{f}", p.name))
    return " or ".join(terms)


def _age(profiles: tuple[MetricsProfile, ...], matcher: str = "") -> str:
    """Per instance, how old its newest pool sample is. timestamp() drops the metric name,
    so it is applied to one name at a time, joined by `or`."""
    newest = " or ".join(f"timestamp({n}{matcher})" for n in _names(profiles))
    return f"max by ({_instance_labels(profiles)}) (time() - ({newest}))"


def oldest_query(profiles: tuple[MetricsProfile, ...], older_than_s: float = 0.0) -> str:
    """Query 2: the OLDEST_PER_SERVICE instances of each service label set whose newest
    pool sample is the oldest, with its age; only those older than `older_than_s` (the
    others cannot turn stale before the next read: `PrometheusSource.age_floor_s`)."""
    by = ", ".join(_service_labels(profiles))
    ages = _age(profiles) + (f" > {older_than_s:g}" if older_than_s > 0 else "")
    return f"topk by ({by}) ({OLDEST_PER_SERVICE}, {ages})"


def read_query(profiles: tuple[MetricsProfile, ...], older_than_s: float = 0.0) -> str:
    """Queries 1 and 2 as one (`or`: their label sets never match), the ages tagged `age`:
    one request a read, not two (each costs the client a few ms of CPU)."""
    oldest = oldest_query(profiles, older_than_s)
    return f"{totals_query(profiles)} or {_tagged(oldest, 'age')}"


def is_age(labels: dict[str, str]) -> bool:
    """A series of the oldest part (postgres_exporter's series keep their own labels: theirs
    can say anything, and carry their name)."""
    return labels.get(AGG_LABEL) == "age" and "__name__" not in labels


def down_query(profiles: tuple[MetricsProfile, ...]) -> str:
    """Query 3: targets down (`up` 0) that reported pool series in the last 10 min: how many
    per service label set, and the first DOWN_SHOWN of them."""
    by, each = ", ".join(_service_labels(profiles)), _instance_labels(profiles)
    seen = " or ".join(f"last_over_time({n}[10m])" for n in _names(profiles))
    down = f"(max by ({each}) ({seen}) * 0 + on (instance, job) group_left () (up == 0))"
    return (
        f"{_tagged(f'count by ({by}) ({down})', 'down_count')} or "
        f"topk by ({by}) ({DOWN_SHOWN}, {down})"
    )


def queries(profiles: tuple[MetricsProfile, ...]) -> dict[str, str]:
    """The queries of a refresh (down: every DOWN_EVERY_S), for every profile at once."""
    return {"read": read_query(profiles), "down": down_query(profiles)}


def focus_query(profiles: tuple[MetricsProfile, ...], keys: list[tuple[str, str, str]]) -> str:
    """One service's instances one by one (its detail is open): the pool series selected by
    the labels the service's series carry (`keys`: profile, label, value), and each
    instance's sample age. Label values escaped."""
    by_name = {p.name: p for p in profiles}
    parts = []
    for name, label, value in keys:
        p = by_name.get(name)
        if p is None:
            continue
        matcher = f"{label}={promql_string(value)}"
        names = "|".join(p.metric_names)
        parts.append(f'{{__name__=~"{names}",{matcher}}}')
        parts.append(_tagged(_age((p,), "{" + matcher + "}"), "age"))
    return " or ".join(parts)


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
class _Adding:
    """One service's answers being added up (label sets that are one service, profiles)."""

    size: float | None = None
    idle: float | None = None
    pending: float | None = None
    maxes: Counter[float] = field(default_factory=Counter)
    at_max: int = 0
    instances: int = 0
    oldest: list[InstanceAge] = field(default_factory=list)
    down: list[str] = field(default_factory=list)
    down_count: int = 0

    def add(self, agg: str, value: float) -> None:
        """A sum (size, idle, pending) or a count (instances, at_max) of the totals answer."""
        if agg in ("instances", "at_max"):
            setattr(self, agg, getattr(self, agg) + int(value))
        else:
            setattr(self, agg, (getattr(self, agg) or 0.0) + value)

    def pools(self, service: str) -> ServicePools:
        down_count = max(self.down_count, len(self.down))
        return ServicePools(
            service,
            # a target down has no fresh series (Prometheus marks them stale): a replica still
            self.instances + down_count,
            size=self.size,
            idle=self.idle,
            pending=self.pending,
            maxes=tuple(sorted(self.maxes.items())),
            at_max=self.at_max,
            oldest=tuple(sorted(self.oldest, key=lambda o: -o.age_s)[:OLDEST_PER_SERVICE]),
            down=tuple(sorted(self.down)[:DOWN_SHOWN]),
            down_count=down_count,
        )


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
    answer_bytes_total: int = 0  # what Prometheus sent back (bench and tests read it)
    # service → the labels its series carry, from the last read (history selects by them)
    _service_keys: dict[str, set[tuple[str, str, str]]] = field(default_factory=dict)
    # (profile, its service labels' values) → (service, the label to select it by): a totals
    # answer has a series per service and sum; the labels behind them rarely change
    _series_service: dict[
        tuple[str | None, ...], tuple[str | None, tuple[str, str, str] | None]
    ] = field(default_factory=dict)
    # metrics-stale's threshold, in scrape intervals: which sample ages a read must ask for
    stale_after_intervals: float = 3.0
    focus: str | None = None  # the service whose instances are read one by one (its detail)
    _focus_read: str | None = None  # the focus the last read began with
    _down: list[dict[str, Any]] = field(default_factory=list)  # the last down answer
    _down_at: float = -math.inf

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

    def _api(self, path: str, params: dict[str, str], form: bool = False) -> Any:
        """GET /api/v1/PATH through the client's session (its headers, TLS and retry policy):
        the whole answer within timeout_s (connect, headers and body: an answer that trickles
        is cut off) and at most MAX_ANSWER bytes. Returns the answer's `data`.
        form: POST the params as a form, as Prometheus's query APIs accept (a query of every
        profile is kilobytes of PromQL: no URL length limit on the way, and the client does
        not check every character of a long URL, 2 ms a read)."""
        c = self.client()
        self.requests_total += 1
        started = time.monotonic()
        with c._session.request(
            "POST" if form else "GET",
            f"{c.url}/api/v1/{path}",
            params=None if form else params,
            data=params if form else None,
            headers=c.headers,
            auth=c.auth,
            timeout=self.timeout_s,
            stream=True,
        ) as resp:
            read1 = functools.partial(resp.raw.read1, decode_content=True)
            body = read_bounded(read1, started, self.timeout_s, MAX_ANSWER)
            status = resp.status_code
        self.answer_bytes_total += len(body)
        try:
            doc = json.loads(body)
        except ValueError:
            raise ValueError(f"HTTP {status}: not a Prometheus answer") from None
        if status != 200 or not isinstance(doc, dict) or doc.get("status") != "success":
            error = doc.get("error", "") if isinstance(doc, dict) else ""
            raise RuntimeError(f"HTTP {status}: {str(error)[:200]}")
        return doc.get("data")

    def _query(self, promql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._api("query", {"query": promql}, form=True)["result"]
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
    def read_every_s(self) -> float:
        """The shortest scrape interval of the targets: Prometheus holds one new sample a
        target a scrape, so a read each interval sees every sample, at most an interval after
        it was scraped (reading twice as often halved that delay for twice the reads, redrawn
        rows and assessments of every service: a fifth of the console's CPU at 200 services).
        0 (every refresh) while the intervals are not known, and once when a detail opens on
        a service not read one by one yet."""
        if self.focus is not None and self.focus != self._focus_read:
            return 0.0
        return self.shortest_interval_s

    @property
    def shortest_interval_s(self) -> float:
        """The targets' shortest scrape interval; 0 while the intervals are not known."""
        return min(self._intervals.values(), default=0.0)

    @property
    def age_floor_s(self) -> float:
        """Sample ages a read leaves out: an instance whose newest sample is younger than
        (threshold − 1) shortest scrape intervals cannot turn stale before the next read, one
        interval later. A healthy fleet's ages are then not sent at all (200 services: 600
        series of 1,400 a read); each service is at least as old as the time since the read
        (`_at_least_fresh`), so a Prometheus that stops answering still shows every service
        stale in time. 0 (every age) while the intervals are not known."""
        return max(0.0, self.stale_after_intervals - 1) * self.shortest_interval_s

    @property
    def wait_s(self) -> float:
        # the read, down, focus and the targets API at most, each bounded by the client
        return 4 * self.timeout_s + GRACE_S

    def read_blocking(self) -> Reading:
        """Blocking: runs in a worker thread. Raises on failure."""
        t0 = time.perf_counter()
        before = self.requests_total
        self._focus_read = focus = self.focus  # the UI may move it while this reads
        checks = GaugeChecks()
        oldest: list[dict[str, Any]] = []
        rest: list[dict[str, Any]] = []
        floor = self.age_floor_s
        for item in self._query(read_query(self.profiles, floor)):
            (oldest if is_age(item["metric"]) else rest).append(item)
        totals, servers = self._totals(rest, checks)
        if time.monotonic() - self._down_at >= DOWN_EVERY_S:
            self._down = self._query(down_query(self.profiles))
            self._down_at = time.monotonic()
        try:
            self._refresh_intervals()
        except (requests.RequestException, ValueError, RuntimeError, TimeoutError):
            pass  # intervals are a refinement; the default stands in
        for item in oldest:
            labels = item["metric"]
            service = self._service_of(labels, totals)
            age = checks.value(item["value"][1], "age")
            if service and age is not None:
                inst = labels.get("instance", ""), labels.get("job", "")
                totals[service].oldest.append(
                    InstanceAge(inst[0] or inst[1], age, self._interval(*inst))
                )
        if floor > 0:
            self._at_least_fresh(totals)
        for item in self._down:
            labels = item["metric"]
            service = self._service_of(labels, totals, known_only=False)
            if not service:
                continue
            adding = totals.setdefault(service, _Adding())
            if labels.get(AGG_LABEL) == "down_count":
                adding.down_count += int(float(item["value"][1]))
            else:
                adding.down.append(labels.get("instance") or labels.get("job", ""))
        pools = tuple(adding.pools(name) for name, adding in sorted(totals.items()))
        instances = self._focused(totals, focus) if focus is not None and focus in totals else ()
        return Reading(
            latency_ms=(time.perf_counter() - t0) * 1000,
            requests=self.requests_total - before,
            notes=(() if pools else (no_series_note(self.profiles),)) + checks.notes(),
            no_series=not pools,
            pools=instances,
            pool_totals=pools,
            exported=servers,
        )

    def _totals(
        self, answer: list[dict[str, Any]], checks: GaugeChecks
    ) -> tuple[dict[str, _Adding], tuple[exported.ExportedServer, ...]]:
        """The totals answer → per service, its sums and counts (label sets that are one
        service are added up); and postgres_exporter's servers."""
        by_name = {p.name: p for p in self.profiles}
        servers = exported.ExportedSamples(checks)
        totals: dict[str, _Adding] = {}
        for item in answer:
            labels = item["metric"]
            raw = item["value"][1]
            if "__name__" in labels:  # postgres_exporter's, as they are
                labels = dict(labels)
                name = labels.pop("__name__")
                servers.add(name, labels, raw, labels.get("instance", ""))
                continue
            profile = by_name.get(labels.get(PROFILE_LABEL, ""))
            if profile is None:
                continue
            service, key = self._service_of_series(profile, labels)
            if not service:
                continue
            if key is not None:  # the labels to select this service by (history, focus)
                self._service_keys.setdefault(service, set()).add(key)
            adding = totals.setdefault(service, _Adding())
            agg = labels.get(AGG_LABEL, "")
            if agg.startswith("bad_"):
                names = "|".join(dict.fromkeys(x.metric for x in profile.selectors(agg[4:])))
                checks.bad.append(
                    f"{service} {agg[4:]} ({names or 'derived'}) = NaN or negative "
                    f"on {int(float(raw))} instance(s)"
                )
            elif agg == "max":
                m = checks.value(labels.get(MAX_LABEL, ""), f"{service} max")
                if m is not None:
                    adding.maxes[m] += int(float(raw))
            elif agg in ("size", "idle", "pending", "instances", "at_max"):
                value = checks.value(raw, f"{service} {agg}")
                if value is not None:
                    adding.add(agg, value)
        return totals, servers.servers()

    def _service_of_series(
        self, profile: MetricsProfile, labels: dict[str, str]
    ) -> tuple[str | None, tuple[str, str, str] | None]:
        """A series' service by this profile and the label to select it by, remembered by the
        values of the profile's service labels (all the service depends on)."""

        def answer() -> tuple[str | None, tuple[str, str, str] | None]:
            label = next((k for k in profile.service_labels if labels.get(k)), None)
            key = (profile.name, label, labels[label]) if label is not None else None
            return profile.service_of(labels), key

        memo = (profile.name, *map(labels.get, profile.service_labels))
        return remembered(self._series_service, memo, answer)

    def _service_of(
        self, labels: dict[str, str], known: dict[str, _Adding], known_only: bool = True
    ) -> str | None:
        """The service of a per-instance series without a profile tag: one the totals know,
        else (known_only=False) the first profile's reading."""
        services = [s for p in self.profiles if (s := self._service_of_series(p, labels)[0])]
        found = [s for s in services if s in known]
        if found or known_only:
            return found[0] if found else None
        return services[0] if services else None

    def _at_least_fresh(self, totals: dict[str, _Adding]) -> None:
        """A service none of whose ages were sent (all younger than the floor): its newest
        samples are at least 0 s old now, and that much older as time goes by without a new
        read — a lower bound the stale rule can go by (one entry, no instance named)."""
        shortest = self.shortest_interval_s
        for adding in totals.values():
            if not adding.oldest:
                adding.oldest.append(InstanceAge("", 0.0, shortest))

    def _interval(self, instance: str, job: str) -> float:
        return self._intervals.get((instance, job), DEFAULT_INTERVAL_S)

    def _focused(self, totals: dict[str, _Adding], focus: str) -> tuple[PoolInstance, ...]:
        """The focused service's instances one by one (one query more while its detail is
        open)."""
        keys = sorted(self._service_keys.get(focus, ()))
        if not keys:
            return ()
        samples = PoolSamples(self.profiles)
        ages: dict[tuple[str, str], float] = {}
        for item in self._query(focus_query(self.profiles, keys)):
            labels = dict(item["metric"])
            inst = labels.get("instance", ""), labels.get("job", "")
            if labels.get(AGG_LABEL) == "age":
                age = samples.checks.value(item["value"][1], "age")
                if age is not None:
                    ages[inst] = max(ages.get(inst, 0.0), age)
                continue
            samples.add(labels.pop("__name__", ""), labels, item["value"][1], inst)
        adding = totals[focus]
        down = set(adding.down)
        unnamed_down = adding.down_count > len(down)
        out = []
        for (service, target), g in samples.gauges().items():
            instance, job = target if isinstance(target, tuple) else (str(target), "")
            if service != focus:
                continue
            name = instance or job
            out.append(
                PoolInstance(
                    **dataclasses.asdict(g),
                    service=service,
                    instance=name,
                    sample_age_s=ages.get((instance, job)),
                    up=False if name in down else None if unnamed_down else True,
                    scrape_interval_s=self._interval(instance, job),
                )
            )
        return tuple(sorted(out, key=lambda p: p.instance))

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
        result = self._api("query_range", params, form=True)["result"]
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
        stale_after_intervals=s.thresholds.stale_scrape_intervals,
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
