"""The allocation file: the intended pool sizes per service, validated with file/line/field errors.

Pure data and validation; no I/O beyond reading the file, no Textual.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.core import yamlfile

# The timeouts the db-pool library reads, in seconds, with the range an edit may take.
TIMEOUT_FIELDS = (
    "connect_timeout_secs",
    "acquire_timeout_secs",
    "idle_timeout_secs",
    "max_lifetime_secs",
)
TIMEOUT_RANGE = (1, 7 * 24 * 3600)
POOL_FIELDS = ("max_connections", "min_connections") + TIMEOUT_FIELDS

# Service names become file names and ConfigMap names in exports.
SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


@dataclass(frozen=True)
class Editable:
    """A field a what-if edit may change: its `--set` name, its attribute, its label in the
    console's forms, and the range it may take. Declared once for the CLI, the forms and the
    loader's validation."""

    name: str
    attr: str
    label: str
    low: int
    high: int


SERVICE_EDITS = (
    Editable("max", "max_connections", "max connections", 1, 100_000),
    Editable("min", "min_connections", "min connections", 0, 100_000),
    Editable("replicas", "replicas", "replicas", 1, 10_000),
    Editable("connect_timeout", "connect_timeout_secs", "connect timeout (s)", *TIMEOUT_RANGE),
    Editable("acquire_timeout", "acquire_timeout_secs", "acquire timeout (s)", *TIMEOUT_RANGE),
    Editable("idle_timeout", "idle_timeout_secs", "idle timeout (s)", *TIMEOUT_RANGE),
    Editable("max_lifetime", "max_lifetime_secs", "max lifetime (s)", *TIMEOUT_RANGE),
)
CLUSTER_EDITS = (  # 262,143 is PostgreSQL's own ceiling
    Editable("max_connections", "max_connections", "max_connections", 1, 262_143),
    Editable(
        "superuser_reserved_connections",
        "superuser_reserved_connections",
        "superuser_reserved_connections",
        0,
        262_143,
    ),
    Editable(
        "reserved_connections", "reserved_connections", "reserved_connections (16+)", 0, 262_143
    ),
)
CLUSTER_FIELDS = tuple(e.attr for e in CLUSTER_EDITS)
# `--set SERVICE.FIELD=VALUE` names (the contract's) → Service attribute.
EDIT_FIELDS = {e.name: e.attr for e in SERVICE_EDITS}


@dataclass(frozen=True)
class ClusterConfig:
    max_connections: int = 100
    superuser_reserved_connections: int = 3
    reserved_connections: int = 0


@dataclass(frozen=True)
class PoolDefaults:
    """The library's fallback for services missing from its table, and its timeouts."""

    max_connections: int = 2
    min_connections: int = 1
    connect_timeout_secs: int = 5
    acquire_timeout_secs: int = 10
    idle_timeout_secs: int = 600
    max_lifetime_secs: int = 1800
    max_lifetime_jitter_secs: int = 0


@dataclass(frozen=True)
class Service:
    """One service as the allocation file gives it; None means 'the library default'."""

    name: str
    tier: str | None = None
    replicas: int = 1
    max_connections: int | None = None
    min_connections: int | None = None
    connect_timeout_secs: int | None = None
    acquire_timeout_secs: int | None = None
    idle_timeout_secs: int | None = None
    max_lifetime_secs: int | None = None
    max_lifetime_jitter_secs: int | None = None
    match_application_names: tuple[str, ...] = ()
    match_prefix: str | None = None

    def application_names(self) -> tuple[str, ...]:
        return self.match_application_names or (self.name,)

    def matches(self, application_name: str) -> bool:
        if self.match_prefix is not None and application_name.startswith(self.match_prefix):
            return True
        return application_name in self.application_names()


@dataclass(frozen=True)
class EffectivePool:
    """What a pool of the service really gets: its own values, else the library's."""

    max_connections: int
    min_connections: int
    connect_timeout_secs: int
    acquire_timeout_secs: int
    idle_timeout_secs: int
    max_lifetime_secs: int
    max_lifetime_jitter_secs: int
    source: str  # "allocation" | "library-default"


@dataclass(frozen=True)
class Allocation:
    cluster: ClusterConfig = ClusterConfig()
    defaults: PoolDefaults = PoolDefaults()
    reserved: tuple[tuple[str, int], ...] = ()
    services: tuple[Service, ...] = ()
    path: str | None = None
    # An observer's allocation (no file): services and their max are what the sources report,
    # refilled from every snapshot (see console.core.observe).
    observed: bool = False

    def service(self, name: str) -> Service:
        for svc in self.services:
            if svc.name == name:
                return svc
        raise KeyError(name)

    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)

    def effective(self, svc: Service) -> EffectivePool:
        d = self.defaults
        values = {
            f: getattr(svc, f) if getattr(svc, f) is not None else getattr(d, f)
            for f in POOL_FIELDS + ("max_lifetime_jitter_secs",)
        }
        source = (
            "observed"
            if self.observed
            else "allocation"
            if svc.max_connections is not None
            else "library-default"
        )
        return EffectivePool(**values, source=source)

    def service_for_application(self, application_name: str) -> str | None:
        for svc in self.services:
            if svc.matches(application_name):
                return svc.name
        return None

    def replace_service(self, new: Service) -> Allocation:
        return dataclasses.replace(
            self, services=tuple(new if s.name == new.name else s for s in self.services)
        )


class EditError(ValueError):
    """An edit that would make the allocation invalid; the message says why."""


def _check_int(value: Any, *, minimum: int, maximum: int | None = None) -> str | None:
    """The reason value is not an acceptable integer, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be an integer (got {value!r})"
    if value < minimum:
        return f"must be ≥ {minimum} (got {value})"
    if maximum is not None and value > maximum:
        return f"must be ≤ {maximum} (got {value})"
    return None


_SERVICE_LIMITS: dict[str, tuple[int, int]] = {
    **{e.attr: (e.low, e.high) for e in SERVICE_EDITS},
    "max_lifetime_jitter_secs": (0, TIMEOUT_RANGE[1]),
}
_CLUSTER_LIMITS = {e.attr: (e.low, e.high) for e in CLUSTER_EDITS}


def validate_service(svc: Service, defaults: PoolDefaults) -> list[tuple[str, str]]:
    """Problems with a service as (field, reason); empty when it is valid."""
    problems = []
    for name, (lo, hi) in _SERVICE_LIMITS.items():
        value = getattr(svc, name)
        if value is None:
            continue
        reason = _check_int(value, minimum=lo, maximum=hi)
        if reason:
            problems.append((name, reason))
    if not problems:
        mx = svc.max_connections if svc.max_connections is not None else defaults.max_connections
        mn = svc.min_connections if svc.min_connections is not None else defaults.min_connections
        if mn > mx:
            problems.append(
                ("min_connections", f"min_connections {mn} is greater than max_connections {mx}")
            )
    return problems


def validate_cluster(cluster: ClusterConfig) -> list[tuple[str, str]]:
    problems = []
    for name, (lo, hi) in _CLUSTER_LIMITS.items():
        reason = _check_int(getattr(cluster, name), minimum=lo, maximum=hi)
        if reason:
            problems.append((name, reason))
    if not problems and (
        cluster.superuser_reserved_connections + cluster.reserved_connections
        >= cluster.max_connections
    ):
        problems.append(("max_connections", "reserved slots leave no connection for the pools"))
    return problems


def parse_edit_value(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise EditError(f"{raw!r} is not a whole number") from None


def apply_edit(allocation: Allocation, target: str, field_name: str, value: int) -> Allocation:
    """One what-if edit (`auth-service.max=16`, `cluster.max_connections=200`), validated."""
    if target == "cluster":
        if field_name not in CLUSTER_FIELDS:
            raise EditError(
                f"unknown cluster field {field_name!r}; one of {', '.join(CLUSTER_FIELDS)}"
            )
        cluster = dataclasses.replace(allocation.cluster, **{field_name: value})
        problems = validate_cluster(cluster)
        if problems:
            raise EditError(f"cluster.{problems[0][0]}: {problems[0][1]}")
        return dataclasses.replace(allocation, cluster=cluster)
    try:
        svc = allocation.service(target)
    except KeyError:
        raise EditError(f"unknown service {target!r}") from None
    attr = EDIT_FIELDS.get(field_name, field_name if field_name in _SERVICE_LIMITS else None)
    if attr is None:
        raise EditError(f"unknown field {field_name!r}; one of {', '.join(EDIT_FIELDS)}")
    new = dataclasses.replace(svc, **{attr: value})  # type: ignore[arg-type]
    problems = validate_service(new, allocation.defaults)
    if problems:
        raise EditError(f"{target}.{problems[0][0]}: {problems[0][1]}")
    return allocation.replace_service(new)


# ---------------------------------------------------------------------------------------------
# Loading


_TOP_KEYS = {"cluster", "defaults", "reserved", "services"}
_SERVICE_KEYS = {"tier", "replicas", "match", "note", "max_lifetime_jitter_secs", *POOL_FIELDS}


def load(path: str | Path) -> Allocation:
    return from_document(yamlfile.load(path))


def parse(text: str, path: str = "<allocation>") -> Allocation:
    return from_document(yamlfile.parse(text, path))


def _mapping(doc: yamlfile.Document, value: Any, keypath: yamlfile.KeyPath) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error(keypath, f"must be a mapping (got {type(value).__name__})")
    return value


def _unknown(
    doc: yamlfile.Document, value: Mapping[str, Any], allowed: set[str], keypath: yamlfile.KeyPath
) -> None:
    for key in value:
        if key not in allowed:
            raise doc.error(
                keypath + (key,), f"unknown key; expected one of {', '.join(sorted(allowed))}"
            )


def from_document(doc: yamlfile.Document) -> Allocation:
    root = _mapping(doc, doc.data, ())
    _unknown(doc, root, _TOP_KEYS, ())

    cluster_raw = _mapping(doc, root.get("cluster"), ("cluster",))
    _unknown(doc, cluster_raw, set(CLUSTER_FIELDS), ("cluster",))
    cluster = ClusterConfig(**cluster_raw)
    for name, problem in validate_cluster(cluster):
        raise doc.error(("cluster", name), problem)

    defaults_raw = _mapping(doc, root.get("defaults"), ("defaults",))
    allowed_defaults = {f.name for f in dataclasses.fields(PoolDefaults)}
    _unknown(doc, defaults_raw, allowed_defaults, ("defaults",))
    for name, value in defaults_raw.items():
        lo, hi = _SERVICE_LIMITS[name]
        reason = _check_int(value, minimum=lo, maximum=hi)
        if reason:
            raise doc.error(("defaults", name), reason)
    defaults = PoolDefaults(**defaults_raw)
    if defaults.min_connections > defaults.max_connections:
        raise doc.error(("defaults", "min_connections"), "is greater than max_connections")

    reserved_raw = _mapping(doc, root.get("reserved"), ("reserved",))
    reserved = []
    for name, value in reserved_raw.items():
        reason = _check_int(value, minimum=0)
        if reason:
            raise doc.error(("reserved", name), reason)
        reserved.append((str(name), value))

    services_raw = _mapping(doc, root.get("services"), ("services",))
    if not services_raw:
        raise doc.error(("services",), "at least one service is required")
    services = []
    seen_apps: dict[str, str] = {}
    for name, raw in services_raw.items():
        kp = ("services", name)
        if not SERVICE_NAME.fullmatch(name):
            raise doc.error(
                kp,
                "a service name is letters, digits, '.', '_' and '-' "
                "(it becomes a file and ConfigMap name)",
            )
        raw = _mapping(doc, raw, kp)
        _unknown(doc, raw, _SERVICE_KEYS, kp)
        kwargs = {
            k: v
            for k, v in raw.items()
            if k in POOL_FIELDS or k in ("replicas", "max_lifetime_jitter_secs")
        }
        tier = raw.get("tier")
        if tier is not None and not isinstance(tier, str):
            raise doc.error(kp + ("tier",), "must be a string")
        match_names, prefix = _parse_match(doc, raw.get("match"), kp + ("match",))
        svc = Service(
            name=str(name),
            tier=tier,
            match_application_names=match_names,
            match_prefix=prefix,
            **kwargs,
        )
        for field_name, reason in validate_service(svc, defaults):
            raise doc.error(kp + (field_name,), reason)
        for app in svc.application_names():
            if app in seen_apps:
                raise doc.error(
                    kp, f"application_name {app!r} already matches service {seen_apps[app]!r}"
                )
            seen_apps[app] = svc.name
        services.append(svc)
    return Allocation(
        cluster=cluster,
        defaults=defaults,
        reserved=tuple(reserved),
        services=tuple(services),
        path=doc.path,
    )


def _parse_match(
    doc: yamlfile.Document, raw: Any, kp: yamlfile.KeyPath
) -> tuple[tuple[str, ...], str | None]:
    if raw is None:
        return (), None
    raw = _mapping(doc, raw, kp)
    _unknown(doc, raw, {"application_name", "application_name_prefix"}, kp)
    names = raw.get("application_name", [])
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise doc.error(kp + ("application_name",), "must be a name or a list of names")
    prefix = raw.get("application_name_prefix")
    if prefix is not None and (not isinstance(prefix, str) or not prefix):
        raise doc.error(kp + ("application_name_prefix",), "must be a non-empty string")
    return tuple(names), prefix
