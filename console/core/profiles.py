"""Metric profiles: how one pool library names its gauges. Data, not code.

A profile maps each pool field (size, idle, in use, max, pending) to one or more metric
selectors (a metric name plus exact label matchers), tried in order: the first that has a
sample for a pool wins, so a profile can know several generations of one library's names
(client_golang's and sqlstats' for Go, Micrometer's and HikariCP's own tracker, old and new
OpenTelemetry semantic conventions) without counting a pool twice. Fields the library does not
export are derived (size = idle + in use; idle = size − in use). The service is the value of
the first of `service_labels` present on the series, optionally rewritten by `service_regex`.

Custom profiles come from the settings file (`profiles:`) and are checked here, each error
naming its field. `pools.py` turns samples into pool instances with these profiles; the
Prometheus source builds its PromQL from them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from console.core.errors import InputError

FIELDS = ("size", "idle", "in_use", "max", "pending")
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*')
DEFAULT_SERVICE_LABELS = ("service", "pool_name", "db_name", "pool", "application", "job")


@dataclass(frozen=True)
class Selector:
    """A metric name and exact label matchers: `name{label="value",...}`."""

    metric: str
    labels: tuple[tuple[str, str], ...] = ()

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        return name == self.metric and all(labels.get(k) == v for k, v in self.labels)

    def promql(self) -> str:
        """The selector as PromQL; label values escaped (they may come from a settings file)."""
        if not self.labels:
            return self.metric
        return self.metric + "{" + ",".join(f"{k}={promql_string(v)}" for k, v in self.labels) + "}"

    def __str__(self) -> str:
        return self.promql()


def parse_selector(text: str) -> Selector:
    """`name` or `name{label="value",...}` (exact matchers only); ValueError says what is wrong."""
    text = text.strip()
    head, brace, rest = text.partition("{")
    if not METRIC_NAME.fullmatch(head):
        raise ValueError(f"{head!r} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
    if not brace:
        return Selector(head)
    if not rest.endswith("}"):
        raise ValueError(f"{text!r}: label matchers must end with }}")
    body, labels, pos = rest[:-1], [], 0
    while pos < len(body):
        m = _MATCHER.match(body, pos)
        if not m:
            raise ValueError(f'{text!r}: expected label="value" at {body[pos:]!r}')
        labels.append((m.group(1), _unescape(m.group(2))))
        pos = m.end()
        if pos < len(body):
            if body[pos] != ",":
                raise ValueError(f"{text!r}: expected , between label matchers")
            pos += 1
    return Selector(head, tuple(labels))


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), value)


@dataclass(frozen=True)
class MetricsProfile:
    name: str
    size: tuple[Selector, ...] = ()
    idle: tuple[Selector, ...] = ()
    in_use: tuple[Selector, ...] = ()
    max: tuple[Selector, ...] = ()
    pending: tuple[Selector, ...] = ()
    service_labels: tuple[str, ...] = DEFAULT_SERVICE_LABELS
    service_regex: str | None = None  # group `service` (or the first group) is the service
    # the service when no service label is on a series: an exporter of one consumer (a
    # pooler) whose labels name its databases, not itself
    service_default: str | None = None

    def selectors(self, field: str) -> tuple[Selector, ...]:
        selectors: tuple[Selector, ...] = getattr(self, field)
        return selectors

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.metric for f in FIELDS for s in self.selectors(f)).keys())

    def match(self, name: str, labels: Mapping[str, str]) -> tuple[str, int] | None:
        """(field, alternative index) of a sample, or None when the profile has no use for it."""
        for f in FIELDS:
            for i, sel in enumerate(self.selectors(f)):
                if sel.matches(name, labels):
                    return f, i
        return None

    def service_of(self, labels: Mapping[str, str]) -> str | None:
        """The service a series belongs to: the first service label present, through the
        regex when there is one (a value it does not match is no service of ours)."""
        value = next((labels[k] for k in self.service_labels if labels.get(k)), None)
        if value is None:
            return self.service_default
        if self.service_regex is None:
            return value
        m = re.search(self.service_regex, value)
        if m is None:
            return None
        if "service" in m.re.groupindex:
            return m.group("service") or None
        return (m.group(1) if m.re.groups else m.group(0)) or None

    def describe(self) -> str:
        """What the profile looks for, for a note when nothing matched."""
        return (
            f"{self.name} ({', '.join(self.metric_names)} with a "
            f"{' / '.join(self.service_labels)} label)"
        )


def no_series_note(profiles: tuple[MetricsProfile, ...]) -> str:
    """What a source says when it answers with no series of any configured profile."""
    looked = "; ".join(p.describe() for p in profiles)
    return f"no pool series of profile {looked}: another naming profile? (prometheus.metrics)"


def _sel(*texts: str) -> tuple[Selector, ...]:
    return tuple(parse_selector(t) for t in texts)


BUILTIN: tuple[MetricsProfile, ...] = (
    # The seed's db-pool library (sqlx): one series per pool instance, label `service`.
    MetricsProfile(
        "nova-db-pool",
        size=_sel("db_pool_size"),
        idle=_sel("db_pool_idle"),
        max=_sel("db_pool_max"),
        service_labels=("service",),
    ),
    # HikariCP: Micrometer's names, then HikariCP's own Prometheus tracker's (both: label pool).
    MetricsProfile(
        "hikaricp",
        size=_sel("hikaricp_connections"),
        idle=_sel("hikaricp_connections_idle", "hikaricp_idle_connections"),
        in_use=_sel("hikaricp_connections_active", "hikaricp_active_connections"),
        max=_sel("hikaricp_connections_max", "hikaricp_max_connections"),
        pending=_sel("hikaricp_connections_pending", "hikaricp_pending_threads"),
        service_labels=("pool",),
    ),
    # Go database/sql: client_golang's collectors.NewDBStatsCollector, then sqlstats' names.
    # A max of 0 is SetMaxOpenConns(0): unlimited.
    MetricsProfile(
        "go-sql",
        size=_sel("go_sql_open_connections", "go_sql_stats_connections_open"),
        idle=_sel("go_sql_idle_connections", "go_sql_stats_connections_idle"),
        in_use=_sel("go_sql_in_use_connections", "go_sql_stats_connections_in_use"),
        max=_sel("go_sql_max_open_connections", "go_sql_stats_connections_max_open"),
        service_labels=("db_name",),
    ),
    # OpenTelemetry pool instrumentation through the OTel Prometheus exporter: one metric split
    # by a state label. New semantic conventions first, then the old (e.g. SQLAlchemy's).
    MetricsProfile(
        "otel",
        idle=_sel(
            'db_client_connection_count{db_client_connection_state="idle"}',
            'db_client_connections_usage{state="idle"}',
            'db_client_connections_usage_connections{state="idle"}',
        ),
        in_use=_sel(
            'db_client_connection_count{db_client_connection_state="used"}',
            'db_client_connections_usage{state="used"}',
            'db_client_connections_usage_connections{state="used"}',
        ),
        max=_sel(
            "db_client_connection_max",
            "db_client_connections_max",
            "db_client_connections_max_connections",
        ),
        pending=_sel(
            "db_client_connection_pending_requests",
            "db_client_connections_pending_requests",
        ),
        service_labels=("db_client_connection_pool_name", "pool_name"),
    ),
    # PgBouncer through its exporter (prometheus-pgbouncer-exporter; the newer Go exporter's
    # database metric name second). The pools are per database/user pair; the consumer is the
    # pooler itself: its `poolers:` entry, named by a `pooler` label, else "pgbouncer".
    MetricsProfile(
        "pgbouncer",
        size=_sel(
            "pgbouncer_databases_database_current_connections",
            "pgbouncer_databases_current_connections",
        ),
        in_use=_sel("pgbouncer_pools_server_active_connections"),
        pending=_sel("pgbouncer_pools_client_waiting_connections"),
        service_labels=("pooler",),
        service_default="pgbouncer",
    ),
)
PROFILES: dict[str, MetricsProfile] = {p.name: p for p in BUILTIN}


def with_poolers(
    profiles: tuple[MetricsProfile, ...], has_poolers: bool
) -> tuple[MetricsProfile, ...]:
    """The profiles to read: an allocation with poolers reads the PgBouncer exporter too."""
    if has_poolers and all(p.name != "pgbouncer" for p in profiles):
        return (*profiles, PROFILES["pgbouncer"])
    return profiles


def parse_profiles(
    raw: Any, error: Callable[[str, str], InputError], where: str = "profiles"
) -> dict[str, MetricsProfile]:
    """Custom profiles from a settings file's `profiles:` mapping; `error(field, message)`
    locates a mistake (file:line:field)."""
    if not isinstance(raw, dict):
        raise error(where, "must be a mapping of profile name → profile")
    out = {}
    for name, spec in raw.items():
        at = f"{where}.{name}"
        if not isinstance(name, str) or not re.fullmatch(r"[a-zA-Z0-9_.-]+", name):
            raise error(at, "a profile name is letters, digits, '-', '_' or '.'")
        if name in PROFILES:
            raise error(at, f"{name} is a built-in profile; give yours another name")
        if not isinstance(spec, dict):
            raise error(at, "must be a mapping (size, idle, in_use, max, pending, ...)")
        allowed = (*FIELDS, "service_labels", "service_regex", "service_default")
        for key in spec:
            if key not in allowed:
                raise error(f"{at}.{key}", f"unknown key; expected one of {', '.join(allowed)}")
        fields: dict[str, Any] = {}
        for f in FIELDS:
            value = spec.get(f)
            if value is None:
                continue
            texts = [value] if isinstance(value, str) else value
            if (
                not isinstance(texts, list)
                or not texts
                or not all(isinstance(t, str) for t in texts)
            ):
                raise error(f"{at}.{f}", 'must be a selector (name{label="value"}) or a list')
            try:
                fields[f] = tuple(parse_selector(t) for t in texts)
            except ValueError as exc:
                raise error(f"{at}.{f}", str(exc)) from None
        known = {f for f in ("size", "idle", "in_use") if f in fields}
        if len(known) < 2:
            raise error(at, "needs two of size, idle and in_use (the third is derived)")
        labels = spec.get("service_labels", list(DEFAULT_SERVICE_LABELS))
        if isinstance(labels, str):
            labels = [labels]
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) and LABEL_NAME.fullmatch(x) for x in labels)
        ):
            raise error(f"{at}.service_labels", "must be a list of label names")
        regex = spec.get("service_regex")
        if regex is not None:
            if not isinstance(regex, str):
                raise error(f"{at}.service_regex", "must be a regular expression (a string)")
            try:
                re.compile(regex)
            except re.error as exc:
                raise error(
                    f"{at}.service_regex", f"not a valid regular expression: {exc}"
                ) from None
        default = spec.get("service_default")
        if default is not None and (not isinstance(default, str) or not default):
            raise error(f"{at}.service_default", "must be a service name")
        out[name] = MetricsProfile(
            name,
            **fields,
            service_labels=tuple(labels),
            service_regex=regex,
            service_default=default,
        )
    return out


def profile_spec(p: MetricsProfile) -> dict[str, Any]:
    """A profile as a settings file writes it (what `parse_profiles` reads back)."""
    spec: dict[str, Any] = {f: [str(s) for s in p.selectors(f)] for f in FIELDS if p.selectors(f)}
    spec["service_labels"] = list(p.service_labels)
    if p.service_regex is not None:
        spec["service_regex"] = p.service_regex
    if p.service_default is not None:
        spec["service_default"] = p.service_default
    return spec


class GaugeChecks:
    """Every number read from outside is checked before use: a NaN, infinite or negative gauge
    is unknown (None), and said once per series in a note — never a crash, never invalid JSON."""

    SHOWN = 3

    def __init__(self) -> None:
        self.bad: list[str] = []

    def value(self, raw: str | float, series: str) -> float | None:
        try:
            v = float(raw)
        except (TypeError, ValueError):
            v = math.nan
        if math.isfinite(v) and v >= 0:
            return v
        self.bad.append(f"{series} = {raw}")
        return None

    def notes(self) -> tuple[str, ...]:
        if not self.bad:
            return ()
        more = f" and {len(self.bad) - self.SHOWN} more" if len(self.bad) > self.SHOWN else ""
        shown = "; ".join(self.bad[: self.SHOWN])
        return (f"unusable gauge values, shown as unknown: {shown}{more}",)


def add_gauge(slot: dict[str, float | None], field: str, value: float | None) -> None:
    """Sum a gauge into slot[field] (two pools of one service in one process); one unknown
    part makes the sum unknown, and so does a sum too large for a float (two hostile
    1e308s)."""
    if field in slot and slot[field] is None:
        return
    total = None if value is None else (slot.get(field) or 0.0) + value
    slot[field] = total if total is not None and math.isfinite(total) else None


def series_name(metric: Mapping[str, str]) -> str:
    """name{label="value",...} of a series, for a note (untrusted: shown through clean())."""
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{metric.get('__name__', '')}{{{labels}}}"


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal for an untrusted label value."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'
