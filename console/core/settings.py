"""Settings: one typed model, each setting declared once with where it may come from.

Precedence for every setting: command-line flag > environment variable > settings file >
built-in default. The settings file is found as `find_config` says; errors in it name the file,
the line and the field. The declarations below are the schema: the loader, the validation and
the documentation test (config/novapool.example.yaml documents every key) all read them.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

from console.core import yamlfile
from console.core.allocation import env_name
from console.core.errors import InputError
from console.core.profiles import PROFILES, MetricsProfile, parse_profiles, profile_spec
from console.core.target import LIBPQ_NAMES, Target, password_of


def setting(
    default: Any,
    *,
    doc: str,
    file: str | None = None,
    env: str | None = None,
    flag: str | None = None,
    choices: tuple[str, ...] = (),
    secret: bool = False,
    positive: bool = False,
    one_or_many: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """A declared setting: its default, its settings-file key path (dotted), its environment
    variable and its command-line flag (argparse dest), each optional."""
    meta = {
        "doc": doc,
        "file": file,
        "env": env,
        "flag": flag,
        "choices": choices,
        "secret": secret,
        "positive": positive,
        "one_or_many": one_or_many,
        "minimum": minimum,
        "maximum": maximum,
    }
    if isinstance(default, dict | list):
        kind = type(default)
        return field(default_factory=lambda: kind(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Levels:
    warning: float
    critical: float


@dataclass(frozen=True)
class Thresholds:
    """Finding thresholds: the settings file's `thresholds:` section."""

    pool_utilization_pct: float = setting(85, doc="pool fill (size / max) above this, per service")
    idle_in_transaction_s: Levels = setting(Levels(30, 300), doc="idle in transaction longer")
    long_running_query_s: Levels = setting(Levels(60, 300), doc="an active query running longer")
    lock_wait_s: Levels = setting(Levels(5, 60), doc="waiting on a lock longer")
    unknown_application_connections: int = setting(
        5, doc="unattributed client connections: info up to this many, warning above"
    )
    cluster_near_max_pct: Levels = setting(Levels(80, 95), doc="client backends / available")
    budget_near_max_pct: float = setting(90, doc="allocated / available: headroom low from here")
    stale_scrape_intervals: float = setting(
        3, doc="metrics-stale: newest sample older than this many scrape intervals"
    )


@dataclass(frozen=True)
class Settings:
    allocation_path: str | None = setting(
        None,
        file="allocation",
        env="NOVAPOOL_ALLOCATION",
        flag="allocation",
        doc="the allocation file; relative paths in a settings file are from its directory",
    )
    dsn: str | None = setting(
        None,
        file="postgres.dsn",
        env="DATABASE_URL",
        flag="dsn",
        secret=True,
        doc="PostgreSQL to inspect; else the libpq environment",
    )
    server_dsns: dict[str, str] = setting(
        {},
        file="servers",
        secret=True,
        doc="the DSN of each server of the allocation's servers: section, by name (also "
        "$NOVAPOOL_DSN_<NAME>, e.g. NOVAPOOL_DSN_REPLICA_1); the first server also takes "
        "--dsn / $DATABASE_URL",
    )
    connect_timeout_s: float = setting(
        5,
        file="postgres.connect_timeout_s",
        positive=True,
        maximum=300,
        doc="give up connecting after this long",
    )
    statement_timeout_ms: int = setting(
        2000,
        file="postgres.statement_timeout_ms",
        positive=True,
        maximum=600_000,
        doc="protects the inspected server from our queries",
    )
    prometheus_url: str | None = setting(
        None,
        file="prometheus.url",
        env="PROMETHEUS_URL",
        flag="prometheus",
        doc="Prometheus HTTP API",
    )
    prometheus_timeout_s: float = setting(
        5,
        file="prometheus.timeout_s",
        positive=True,
        maximum=300,
        doc="per request; one retry at most",
    )
    prometheus_headers: dict[str, str] = setting(
        {}, file="prometheus.headers", secret=True, doc="request headers, e.g. Authorization"
    )
    prometheus_verify_tls: bool = setting(
        True, file="prometheus.verify_tls", doc="verify Prometheus' TLS certificate"
    )
    metric_profiles: tuple[str, ...] = setting(
        ("nova-db-pool",),
        file="prometheus.metrics",
        env="NOVAPOOL_METRICS",
        flag="metrics",
        one_or_many=True,
        doc="pool metrics profiles: one name or a list (a mixed fleet); built in: "
        + ", ".join(PROFILES),
    )
    custom_profiles: dict[str, MetricsProfile] = setting(
        {}, file="profiles", doc="your own metric profiles, by name (see the example file)"
    )
    scrape: tuple[str, ...] = setting(
        (), file="scrape", flag="scrape", doc="exporter /metrics URLs when there is no Prometheus"
    )
    refresh_s: float = setting(
        2,
        file="refresh_s",
        flag="refresh",
        positive=True,
        minimum=0.2,
        maximum=3600,
        doc="console refresh interval, seconds",
    )
    thresholds: Thresholds = setting(Thresholds(), file="thresholds", doc="finding thresholds")
    # Only the command-line flag turns signalling on: never a settings file or the environment.
    allow_signal: bool = setting(
        False, flag="allow_signal", doc="allow cancel/terminate of backends (asks first)"
    )
    # Not settings: where they came from, and how the allocation was found.
    config_path: str | None = None
    allocation_searched: tuple[str, ...] = ()  # the paths tried when none was named
    pg_env: Mapping[str, str] = field(default_factory=dict)  # libpq variables (no password)
    server_env: Mapping[str, str] = field(default_factory=dict)  # $NOVAPOOL_DSN_* by name

    @property
    def target(self) -> Target:
        return Target(
            self.dsn,
            self.pg_env,
            tuple(self.prometheus_headers.values())
            + tuple(p for d in self.server_env.values() if (p := password_of(d)))
            + tuple(p for d in self.server_dsns.values() if (p := password_of(d))),
        )

    def server_target(self, server: str, first: bool) -> Target:
        """Where one server of the allocation is: its own DSN ($NOVAPOOL_DSN_<NAME>, else
        the settings file's `servers:`), else, for the first server, the usual DSN."""
        dsn = self.server_env.get(dsn_variable(server)) or self.server_dsns.get(server)
        if dsn:
            return Target(dsn, {}, self.target.secrets)
        if first:
            return self.target
        return Target(None, {}, self.target.secrets)

    @property
    def postgres_configured(self) -> bool:
        return self.target.configured

    @property
    def sources_configured(self) -> bool:
        return bool(
            self.postgres_configured
            or self.server_dsns
            or self.server_env
            or self.prometheus_url
            or self.scrape
        )

    @property
    def profiles(self) -> tuple[MetricsProfile, ...]:
        """The metric profiles in use, in the order given (validated when loaded)."""
        known = {**PROFILES, **self.custom_profiles}
        return tuple(known[name] for name in self.metric_profiles)

    def mask(self, text: str) -> str:
        """text with the DSN's password and every configured secret (Prometheus header values,
        e.g. a bearer token) replaced: for anything shown or logged."""
        return self.target.mask(text)


# ---- where things are looked for ------------------------------------------------------------


def dsn_variable(server: str) -> str:
    """The environment variable with a server's DSN: NOVAPOOL_DSN_REPLICA_1 for replica-1."""
    return f"NOVAPOOL_DSN_{env_name(server)}"


def xdg_config_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "novapool"


def find_config(explicit: str | None, env: Mapping[str, str], cwd: Path) -> str | None:
    if explicit:
        return explicit
    if env.get("NOVAPOOL_CONFIG"):
        return env["NOVAPOOL_CONFIG"]
    for candidate in (cwd / "config" / "novapool.yaml", xdg_config_dir(env) / "novapool.yaml"):
        if candidate.is_file():
            return str(candidate)
    return None


def allocation_candidates(env: Mapping[str, str], cwd: Path) -> tuple[Path, ...]:
    """Where an allocation is looked for when none is named (flag, env or settings file)."""
    return (cwd / "config" / "allocation.yaml", xdg_config_dir(env) / "allocation.yaml")


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(value: str, env: Mapping[str, str]) -> str:
    return _VAR.sub(lambda m: env.get(m.group(1), ""), value)


# ---- the loader -----------------------------------------------------------------------------


def declared(cls: type) -> list[tuple[dataclasses.Field[Any], Any]]:
    """(field, type) of every declared setting of a settings dataclass."""
    hints = get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls) if "doc" in f.metadata]


def file_keys() -> list[str]:
    """Every key path a settings file may hold (thresholds expanded), for the docs test."""
    keys = []
    for f, _ in declared(Settings):
        if f.metadata["file"] == "thresholds":
            keys += [f"thresholds.{t.name}" for t, _ in declared(Thresholds)]
        elif f.metadata["file"]:
            keys.append(f.metadata["file"])
    return keys


class _File:
    """The settings file's values by key path, each checked against its declared type."""

    def __init__(self, doc: yamlfile.Document | None) -> None:
        self.doc = doc
        self.data: Mapping[str, Any] = {}
        if doc is not None:
            if not isinstance(doc.data, dict):
                raise doc.error((), "must be a mapping of settings")
            self.data = doc.data
            self._unknown_keys()

    def _unknown_keys(self) -> None:
        doc = self.doc
        assert doc is not None
        allowed = file_keys()
        sections = {k.split(".")[0] for k in allowed if "." in k}

        def walk(value: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
            for key, v in value.items():
                path = prefix + (key,)
                dotted = ".".join(path)
                if dotted in allowed:
                    continue
                if len(path) == 1 and key in sections:
                    if v is not None and not isinstance(v, dict):
                        raise doc.error(path, "must be a mapping")
                    walk(v or {}, path)
                    continue
                siblings = sorted(
                    {
                        k.split(".")[len(prefix)]
                        for k in allowed
                        if k.startswith(".".join(prefix) + "." if prefix else "")
                    }
                )
                raise doc.error(
                    path,
                    f"unknown key; expected one of {', '.join(siblings)}",
                )

        walk(self.data, ())

    def get(self, dotted: str) -> tuple[bool, Any]:
        value: Any = self.data
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                return False, None
            value = value[part]
        return True, value

    def error(self, dotted: str, message: str) -> InputError:
        if self.doc is None:
            return InputError(message, field=dotted)
        return self.doc.error(tuple(dotted.split(".")), message)


def _check(value: Any, kind: Any, meta: Mapping[str, Any], where: str, src: _File) -> Any:
    """value, checked against the declared type (and choices), else an InputError at where."""
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType) and type(None) in args:
        if value is None:
            return None
        kind = next(a for a in args if a is not type(None))
        origin, args = get_origin(kind), get_args(kind)
    if kind is Levels:
        if not isinstance(value, dict) or set(value) - {"warning", "critical"}:
            raise src.error(where, "must be {warning: N, critical: N}")
        w = _check(value.get("warning"), float, {}, where + ".warning", src)
        c = _check(value.get("critical"), float, {}, where + ".critical", src)
        if c < w:
            raise src.error(where + ".critical", "must not be below warning")
        return Levels(w, c)
    if kind is Thresholds:
        if value is None:
            return Thresholds()
        if not isinstance(value, dict):
            raise src.error(where, "must be a mapping")
        return Thresholds(
            **{
                f.name: _check(value[f.name], t, f.metadata, f"{where}.{f.name}", src)
                for f, t in declared(Thresholds)
                if f.name in value
            }
        )
    if kind is bool:
        if not isinstance(value, bool):
            raise src.error(where, f"must be true or false (got {value!r})")
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise src.error(where, f"must be a non-negative number (got {value!r})")
        if kind is int and not isinstance(value, int):
            raise src.error(where, f"must be a whole number (got {value!r})")
        if meta.get("positive") and value <= 0:
            raise src.error(where, f"must be greater than 0 (got {value!r})")
        if meta.get("minimum") is not None and value < meta["minimum"]:
            raise src.error(where, f"must be at least {meta['minimum']:g} (got {value!r})")
        if meta.get("maximum") is not None and value > meta["maximum"]:
            raise src.error(where, f"must be at most {meta['maximum']:g} (got {value!r})")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise src.error(where, f"must be a string (got {value!r})")
        if meta.get("choices") and value not in meta["choices"]:
            raise src.error(where, f"unknown value {value!r}; one of {', '.join(meta['choices'])}")
        return value
    if origin is tuple:
        if meta.get("one_or_many"):  # a name, a list, or names separated by commas
            value = [value] if isinstance(value, str) else value
            if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                value = [part.strip() for v in value for part in v.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise src.error(where, "must be a list of strings")
        return tuple(value)
    if origin is dict and args[1] is MetricsProfile:
        return parse_profiles(value, src.error, where)
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise src.error(where, "must be a mapping of strings")
        return dict(value)
    raise AssertionError(f"no check for {kind!r}")  # pragma: no cover - a declaration bug


def load(
    config_path: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    **flags: Any,
) -> Settings:
    """Settings from flags (None = not given), the environment, the settings file (found as
    `find_config` says) and the declared defaults, in that order."""
    env = dict(os.environ) if env is None else env
    cwd = cwd or Path.cwd()
    path = find_config(config_path, env, cwd)
    src = _File(yamlfile.load(path) if path else None)
    no_file = _File(None)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for f, kind in declared(Settings):
        meta = f.metadata
        flag_value = flags.get(meta["flag"]) if meta["flag"] else None
        if flag_value is not None:
            values[f.name] = _check(flag_value, kind, meta, f"--{meta['flag']}", no_file)
            origin[f.name] = "flag"
        elif meta["env"] and env.get(meta["env"]):
            values[f.name] = _check(env[meta["env"]], kind, meta, f"${meta['env']}", no_file)
            origin[f.name] = "env"
        elif meta["file"]:
            present, raw = src.get(meta["file"])
            if present:
                values[f.name] = _expand(_check(raw, kind, meta, meta["file"], src), env)
                origin[f.name] = "file"
    allocation = values.get("allocation_path")
    if allocation and path and origin.get("allocation_path") == "file":
        # A settings file's relative allocation path is taken from the file's own directory
        # (one written relative to the working directory, as earlier versions read it, is
        # still found there).
        beside = Path(path).parent / Path(allocation).expanduser()
        if beside.exists() or not (cwd / allocation).exists():
            allocation = str(beside)
    searched: tuple[str, ...] = ()
    if not allocation:
        candidates = allocation_candidates(env, cwd)
        searched = tuple(str(c) for c in candidates)
        allocation = next((str(c) for c in candidates if c.is_file()), None)
    values["allocation_path"] = allocation
    for key, urls in (
        ("prometheus_url", (values.get("prometheus_url"),)),
        ("scrape", values.get("scrape", ())),
    ):
        for url in urls:
            if url and urlsplit(url).scheme not in ("http", "https"):
                raise _loaded_error(
                    key, origin, src, f"{url!r}: only http:// and https:// URLs are read"
                )
    known = {**PROFILES, **values.get("custom_profiles", {})}
    for name in values.get("metric_profiles", ()):
        if name not in known:
            raise _loaded_error(
                "metric_profiles",
                origin,
                src,
                f"unknown profile {name!r}; one of {', '.join(known)}",
            )
    server_env = {k: v for k, v in env.items() if k.startswith("NOVAPOOL_DSN_") and v}
    seen: dict[str, str] = {}
    for name, dsn in values.get("server_dsns", {}).items():
        if dsn in seen:
            raise src.error(f"servers.{name}", f"the same DSN as server {seen[dsn]!r}")
        seen[dsn] = name
    return Settings(
        **values,
        config_path=path,
        allocation_searched=searched,
        pg_env={k: env[k] for k in LIBPQ_NAMES if env.get(k)},
        server_env=server_env,
    )


def _loaded_error(name: str, origin: Mapping[str, str], src: _File, message: str) -> InputError:
    """An error about a setting already loaded, located where its value came from: the flag,
    the environment variable, or the settings file's line."""
    meta = next(f.metadata for f, _ in declared(Settings) if f.name == name)
    how = origin.get(name)
    if how == "file":
        return src.error(meta["file"], message)
    at = {"flag": f"--{meta['flag']}", "env": f"${meta['env']}"}.get(how or "", meta["file"])
    return _File(None).error(at, message)


def _expand(value: Any, env: Mapping[str, str]) -> Any:
    """${VAR} in a settings file's strings, from the environment."""
    if isinstance(value, str):
        return expand_env(value, env)
    if isinstance(value, tuple):
        return tuple(expand_env(v, env) for v in value)
    if isinstance(value, dict):
        return {k: expand_env(v, env) if isinstance(v, str) else v for k, v in value.items()}
    return value


def dump(settings: Settings) -> dict[str, Any]:
    """A settings file's content for these settings: every key that differs from its default
    (the sources always), nested as the file nests them. Secrets are written as they are:
    only for files the user's own process writes (the demo's)."""
    out: dict[str, Any] = {}

    def put(dotted: str, value: Any) -> None:
        *parents, leaf = dotted.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    def plain(value: Any) -> Any:
        if isinstance(value, Levels):
            return {"warning": value.warning, "critical": value.critical}
        if isinstance(value, tuple):
            return list(value)
        if isinstance(value, dict):
            return {
                k: profile_spec(v) if isinstance(v, MetricsProfile) else v for k, v in value.items()
            }
        return value

    for f, _ in declared(Settings):
        key, value = f.metadata["file"], getattr(settings, f.name)
        if not key:
            continue
        if isinstance(value, Thresholds):
            for t, _ in declared(Thresholds):
                if getattr(value, t.name) != t.default:
                    put(f"thresholds.{t.name}", plain(getattr(value, t.name)))
        elif value != (
            f.default_factory() if callable(f.default_factory) else f.default
        ) or key in ("postgres.dsn", "prometheus.url", "scrape"):
            if value not in (None, (), {}):
                put(key, plain(value))
    return out
