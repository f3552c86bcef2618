"""The allocation file: the intended pool sizes per service, validated with file/line/field errors.

Pure data and validation; no I/O beyond reading the file, no Textual.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Any

from console.core import yamlfile
from console.core.poolers import LIMITS as POOLER_LIMITS
from console.core.poolers import MODES as POOLER_MODES
from console.core.poolers import Pooler

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
    match_usenames: tuple[str, ...] = ()
    match_client_addrs: tuple[IPv4Network | IPv6Network, ...] = ()
    pooler: Pooler | None = None  # a connection pooler (PgBouncer), not an application pool

    def application_names(self) -> tuple[str, ...]:
        return self.match_application_names or (self.name,)

    @property
    def matches_application(self) -> bool:
        """Whether the application name takes part: when the match names it, or when the
        match says nothing else (then the service's own name is its application_name)."""
        return bool(
            self.match_application_names
            or self.match_prefix
            or not (self.match_usenames or self.match_client_addrs)
        )

    def matches(self, application_name: str, usename: str = "", client_addr: str = "") -> bool:
        """Every criterion the match gives must hold (one of its values each)."""
        if self.matches_application and not (
            (self.match_prefix is not None and application_name.startswith(self.match_prefix))
            or application_name in self.application_names()
        ):
            return False
        if self.match_usenames and usename not in self.match_usenames:
            return False
        if self.match_client_addrs:
            try:
                addr = ip_address(client_addr)
            except ValueError:
                return False
            return any(addr in net for net in self.match_client_addrs)
        return True


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

    def service_for(
        self, application_name: str, usename: str = "", client_addr: str = ""
    ) -> str | None:
        """The entry a session belongs to: transaction-mode poolers first (their sessions'
        application names are their last clients'), then the services and session-mode
        poolers in file order."""
        first = [s for s in self.services if s.pooler and s.pooler.attributes_by_pooler]
        for svc in (*first, *(s for s in self.services if s not in first)):
            if svc.matches(application_name, usename, client_addr):
                return svc.name
        return None

    @property
    def has_poolers(self) -> bool:
        return any(s.pooler is not None for s in self.services)

    @property
    def matches_client_addr(self) -> bool:
        """Whether sessions must be counted by client address (some match names one)."""
        return any(s.match_client_addrs for s in self.services)

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


_TOP_KEYS = {"cluster", "defaults", "reserved", "services", "poolers"}
_POOLER_KEYS = {"mode", "replicas", "match", "note", *POOLER_LIMITS}
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
        svc = Service(
            name=str(name),
            tier=tier,
            **_parse_match(doc, raw.get("match"), kp + ("match",)),
            **kwargs,
        )
        for field_name, reason in validate_service(svc, defaults):
            raise doc.error(kp + (field_name,), reason)
        for app in svc.application_names() if svc.matches_application else ():
            if app in seen_apps:
                raise doc.error(
                    kp, f"application_name {app!r} already matches service {seen_apps[app]!r}"
                )
            seen_apps[app] = svc.name
        services.append(svc)
    for svc in _poolers(doc, root.get("poolers")):
        if svc.name in {s.name for s in services}:
            raise doc.error(("poolers", svc.name), "a service has this name already")
        services.append(svc)
    return Allocation(
        cluster=cluster,
        defaults=defaults,
        reserved=tuple(reserved),
        services=tuple(services),
        path=doc.path,
    )


def _parse_match(doc: yamlfile.Document, raw: Any, kp: yamlfile.KeyPath) -> dict[str, Any]:
    """A `match:` as Service keyword arguments. Every key given must hold for a session."""
    if raw is None:
        return {}
    raw = _mapping(doc, raw, kp)
    _unknown(
        doc, raw, {"application_name", "application_name_prefix", "usename", "client_addr"}, kp
    )

    def names(key: str, what: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(n, str) and n for n in value):
            raise doc.error(kp + (key,), f"must be {what} or a list of them")
        return tuple(value)

    prefix = raw.get("application_name_prefix")
    if prefix is not None and (not isinstance(prefix, str) or not prefix):
        raise doc.error(kp + ("application_name_prefix",), "must be a non-empty string")
    networks = []
    for text in names("client_addr", "an address or CIDR (10.0.0.0/8)"):
        try:
            networks.append(ip_network(text, strict=False))
        except ValueError:
            raise doc.error(
                kp + ("client_addr",), f"{text!r} is not an address or CIDR (10.0.0.0/8)"
            ) from None
    return {
        "match_application_names": names("application_name", "a name"),
        "match_prefix": prefix,
        "match_usenames": names("usename", "a role name"),
        "match_client_addrs": tuple(networks),
    }


def _poolers(doc: yamlfile.Document, raw: Any) -> list[Service]:
    """The `poolers:` section: each a consumer of server slots of its own."""
    out = []
    for name, spec in _mapping(doc, raw, ("poolers",)).items():
        kp = ("poolers", name)
        if not SERVICE_NAME.fullmatch(name):
            raise doc.error(kp, "a pooler name is letters, digits, '.', '_' and '-'")
        spec = _mapping(doc, spec, kp)
        _unknown(doc, spec, _POOLER_KEYS, kp)
        mode = spec.get("mode", "session")
        if mode not in POOLER_MODES:
            raise doc.error(kp + ("mode",), f"one of {', '.join(POOLER_MODES)} (got {mode!r})")
        numbers = {k: spec[k] for k in POOLER_LIMITS if k in spec}
        for key, value in numbers.items():
            reason = _check_int(value, minimum=POOLER_LIMITS[key][0], maximum=POOLER_LIMITS[key][1])
            if reason:
                raise doc.error(kp + (key,), reason)
        replicas = spec.get("replicas", 1)
        reason = _check_int(replicas, minimum=1, maximum=10_000)
        if reason:
            raise doc.error(kp + ("replicas",), reason)
        match = _parse_match(doc, spec.get("match"), kp + ("match",))
        if not (match.get("match_usenames") or match.get("match_client_addrs")):
            raise doc.error(
                kp + ("match",),
                "a pooler's server sessions are told by role or address: "
                "match: {usename: ..., client_addr: ...}",
            )
        pooler = Pooler(mode=mode, **numbers)
        out.append(
            Service(
                name=str(name),
                tier="pooler",
                replicas=replicas,
                max_connections=pooler.server_connections,
                min_connections=0,
                pooler=pooler,
                **match,
            )
        )
    return out
