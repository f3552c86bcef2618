"""Settings: the settings file, the environment and the command-line flags → one Settings.

Precedence for every key: flag, then settings file, then environment, then built-in default.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from console.core import yamlfile
from console.core.errors import InputError

PROFILES = ("nova-db-pool", "hikaricp", "go-sql")


@dataclass(frozen=True)
class Levels:
    warning: float
    critical: float


@dataclass(frozen=True)
class Thresholds:
    pool_utilization_pct: float = 85
    idle_in_transaction_s: Levels = Levels(30, 300)
    long_running_query_s: Levels = Levels(60, 300)
    lock_wait_s: Levels = Levels(5, 60)
    unknown_application_connections: int = 5
    cluster_near_max_pct: Levels = Levels(80, 95)
    # Not in the contract's table but the same idea: allocation near the available slots.
    budget_near_max_pct: float = 90
    # metrics-stale: newest sample older than this many scrape intervals.
    stale_scrape_intervals: float = 3


@dataclass(frozen=True)
class Settings:
    config_path: str | None = None
    allocation_path: str = "config/allocation.yaml"
    dsn: str | None = None                 # None: libpq environment, if any
    postgres_configured: bool = False
    connect_timeout_s: float = 5
    statement_timeout_ms: int = 2000
    prometheus_url: str | None = None
    prometheus_timeout_s: float = 5
    prometheus_headers: dict[str, str] = field(default_factory=dict)
    prometheus_verify_tls: bool = True
    metrics_profile: str = "nova-db-pool"
    scrape: tuple[str, ...] = ()
    refresh_s: float = 2
    thresholds: Thresholds = Thresholds()
    allow_signal: bool = False


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(value: str, env: dict[str, str]) -> str:
    return _VAR.sub(lambda m: env.get(m.group(1), ""), value)


def find_config(explicit: str | None, env: dict[str, str], cwd: Path) -> str | None:
    if explicit:
        return explicit
    if env.get("NOVAPOOL_CONFIG"):
        return env["NOVAPOOL_CONFIG"]
    local = cwd / "config" / "novapool.yaml"
    if local.is_file():
        return str(local)
    xdg = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "novapool" / "novapool.yaml"
    if xdg.is_file():
        return str(xdg)
    return None


def libpq_env_configured(env: dict[str, str]) -> bool:
    """Whether the libpq environment names a server (else postgres is 'absent')."""
    return any(env.get(k) for k in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE"))


_SCHEMA: dict[str, Any] = {
    "allocation": str,
    "postgres": {"dsn": str, "connect_timeout_s": float, "statement_timeout_ms": int},
    "prometheus": {"url": str, "timeout_s": float, "headers": dict, "verify_tls": bool,
                   "metrics": str},
    "scrape": list,
    "refresh_s": float,
    "thresholds": {
        "pool_utilization_pct": float,
        "idle_in_transaction_s": Levels,
        "long_running_query_s": Levels,
        "lock_wait_s": Levels,
        "unknown_application_connections": int,
        "cluster_near_max_pct": Levels,
        "budget_near_max_pct": float,
        "stale_scrape_intervals": float,
    },
}


def _check(doc: yamlfile.Document, value: Any, schema: Any, kp: tuple) -> Any:
    if isinstance(schema, dict):
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise doc.error(kp, "must be a mapping")
        for key, v in value.items():
            if key not in schema:
                raise doc.error(kp + (key,), f"unknown key; expected one of {', '.join(schema)}")
            value[key] = _check(doc, v, schema[key], kp + (key,))
        return value
    if schema is Levels:
        if not isinstance(value, dict) or set(value) - {"warning", "critical"}:
            raise doc.error(kp, "must be {warning: N, critical: N}")
        w = _check(doc, value.get("warning"), float, kp + ("warning",))
        c = _check(doc, value.get("critical"), float, kp + ("critical",))
        if c < w:
            raise doc.error(kp + ("critical",), "must not be below warning")
        return Levels(w, c)
    if schema is float or schema is int:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise doc.error(kp, f"must be a non-negative number (got {value!r})")
        if schema is int and not isinstance(value, int):
            raise doc.error(kp, f"must be a whole number (got {value!r})")
        return value
    if schema is bool:
        if not isinstance(value, bool):
            raise doc.error(kp, f"must be true or false (got {value!r})")
        return value
    if schema is str:
        if not isinstance(value, str):
            raise doc.error(kp, f"must be a string (got {value!r})")
        return value
    if schema is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise doc.error(kp, "must be a list of URLs")
        return value
    if schema is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise doc.error(kp, "must be a mapping of strings")
        return value
    raise AssertionError(schema)  # pragma: no cover


def load(config_path: str | None = None, *, env: dict[str, str] | None = None,
         cwd: Path | None = None, **flags: Any) -> Settings:
    """Settings from the file (found as the contract says), the environment and flags.

    flags: allocation, dsn, prometheus, scrape (list), refresh, allow_signal; None = not given.
    """
    env = dict(os.environ) if env is None else env
    cwd = cwd or Path.cwd()
    path = find_config(config_path, env, cwd)
    raw: dict[str, Any] = {}
    if path:
        doc = yamlfile.load(path)
        if not isinstance(doc.data, dict):
            raise doc.error((), "must be a mapping of settings")
        raw = _check(doc, doc.data, _SCHEMA, ())
        profile = raw.get("prometheus", {}).get("metrics")
        if profile is not None and profile not in PROFILES:
            raise doc.error(("prometheus", "metrics"), f"unknown profile; one of {', '.join(PROFILES)}")
    pg = raw.get("postgres", {})
    prom = raw.get("prometheus", {})
    th = raw.get("thresholds", {})

    dsn = flags.get("dsn") or pg.get("dsn") or env.get("DATABASE_URL") or None
    if dsn:
        dsn = expand_env(dsn, env)
    prom_url = flags.get("prometheus") or prom.get("url") or env.get("PROMETHEUS_URL") or None
    scrape = tuple(flags.get("scrape") or raw.get("scrape") or ())
    refresh = flags.get("refresh") if flags.get("refresh") is not None else raw.get("refresh_s", 2)
    if refresh is not None and refresh <= 0:
        raise InputError("must be a positive number of seconds", field="refresh")
    return Settings(
        config_path=path,
        allocation_path=flags.get("allocation") or raw.get("allocation") or "config/allocation.yaml",
        dsn=dsn,
        postgres_configured=bool(dsn) or libpq_env_configured(env),
        connect_timeout_s=pg.get("connect_timeout_s", 5),
        statement_timeout_ms=pg.get("statement_timeout_ms", 2000),
        prometheus_url=expand_env(prom_url, env) if prom_url else None,
        prometheus_timeout_s=prom.get("timeout_s", 5),
        prometheus_headers={k: expand_env(v, env) for k, v in prom.get("headers", {}).items()},
        prometheus_verify_tls=prom.get("verify_tls", True),
        metrics_profile=prom.get("metrics", "nova-db-pool"),
        scrape=tuple(expand_env(u, env) for u in scrape),
        refresh_s=float(refresh),
        thresholds=replace(Thresholds(), **th),
        # Only the command-line flag turns signalling on: never a settings file.
        allow_signal=bool(flags.get("allow_signal")),
    )
