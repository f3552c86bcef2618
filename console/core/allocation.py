"""The allocation file: the intended pool sizes per service, validated with file/line/field errors.

Pure data and validation; no I/O beyond reading the file, no Textual.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Any

from console.core import yamlfile
from console.core.memo import kept_while_same, remembered
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


# A hot standby whose value of one of these is below its primary's stops replaying WAL (or
# refuses to start): PostgreSQL's own rule ("Hot Standby", the settings it checks).
STANDBY_SETTINGS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
_STANDBY_LIMITS = {name: (0, 262_143) for name in STANDBY_SETTINGS[1:]}


@dataclass(frozen=True)
class ClusterConfig:
    max_connections: int = 100
    superuser_reserved_connections: int = 3
    reserved_connections: int = 0
    # Only for the standby rule offline; None: not given (live values win anyway).
    max_worker_processes: int | None = None
    max_wal_senders: int | None = None
    max_prepared_transactions: int | None = None
    max_locks_per_transaction: int | None = None


SERVER_ROLES = ("primary", "standby")
# The name of the one server of an allocation without a `servers:` section.
IMPLICIT_SERVER = "default"


@dataclass(frozen=True)
class Server:
    """One PostgreSQL server whose slots the pools draw on. Its DSN is a setting (never in
    the allocation); its `cluster:` is used offline, live values win."""

    name: str
    role: str = "primary"  # primary | standby
    follows: str | None = None  # a standby's primary
    cluster: ClusterConfig = ClusterConfig()
    reserved: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ServerPool:
    """A service's pool on a server other than its home one (e.g. its read pool on a
    replica), exported under its own variable names: `{env_prefix}MAX_CONNECTIONS`..."""

    server: str
    env_prefix: str
    max_connections: int | None = None  # None: the library default
    min_connections: int | None = None


def env_name(server: str) -> str:
    """A server's name as environment variables spell it: REPLICA_1 for replica-1."""
    return re.sub(r"[^A-Za-z0-9]", "_", server).upper()


def env_prefix_for(server: str) -> str:
    """The default variable prefix of a pool on `server`: DB_REPLICA_1_ for replica-1."""
    return f"DB_{env_name(server)}_"


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
    server: str | None = None  # its home server (its DB_* pool); None: the first server
    pools: tuple[ServerPool, ...] = ()  # its pools on other servers

    def pool_on(self, server: str) -> ServerPool | None:
        return next((p for p in self.pools if p.server == server), None)

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
    # Several servers (a primary, its standbys, other clusters). Empty: one implicit server,
    # whose slots are `cluster` and whose reserved items are `reserved`.
    servers: tuple[Server, ...] = ()
    # (application, role, address) → service, as service_for found it: every refresh asks
    # again for the same few hundred sessions, against every service (made anew by replace())
    _service_of: dict[tuple[str, str, str], str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # name → service, made on the first look-up: views and rules look services up by name
    # for every row of every refresh
    _by_name: dict[str, Service] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # id(service) → its effective pool: asked for each service several times a refresh; by
    # identity, as hashing a Service (every field) costs more than the answer
    _effective: dict[int, tuple[tuple[Any, ...], EffectivePool]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # ---- servers ----------------------------------------------------------------------------

    def server_list(self) -> tuple[Server, ...]:
        """Every server, the implicit one when the file names none."""
        if self.servers:
            return self.servers
        return (Server(IMPLICIT_SERVER, cluster=self.cluster, reserved=self.reserved),)

    def server_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.server_list())

    @property
    def several_servers(self) -> bool:
        return len(self.servers) > 1

    def server(self, name: str | None) -> Server:
        """The server by name; None: the first."""
        servers = self.server_list()
        if name is None:
            return servers[0]
        for srv in servers:
            if srv.name == name:
                return srv
        raise KeyError(name)

    def home(self, svc: Service) -> str:
        return svc.server or self.server_list()[0].name

    def with_cluster(self, server: str | None, cluster: ClusterConfig) -> Allocation:
        """This allocation with one server's slots replaced."""
        if not self.servers:
            return dataclasses.replace(self, cluster=cluster)
        name = self.server(server).name
        return dataclasses.replace(
            self,
            servers=tuple(
                dataclasses.replace(s, cluster=cluster) if s.name == name else s
                for s in self.servers
            ),
        )

    def for_server(self, name: str | None) -> Allocation:
        """The one-server view the budget, the facts and the rules read: the server's slots
        and reserved items, and each service with a pool there, sized as that pool."""
        if not self.servers:
            return self
        srv = self.server(name)
        services = []
        for svc in self.services:
            if self.home(svc) == srv.name:
                services.append(dataclasses.replace(svc, server=None, pools=()))
            elif (pool := svc.pool_on(srv.name)) is not None:
                services.append(
                    dataclasses.replace(
                        svc,
                        max_connections=pool.max_connections,
                        min_connections=pool.min_connections,
                        server=None,
                        pools=(),
                    )
                )
        return dataclasses.replace(
            self,
            cluster=srv.cluster,
            reserved=srv.reserved,
            services=tuple(services),
            servers=(),
        )

    # ---- services ---------------------------------------------------------------------------

    def service(self, name: str) -> Service:
        by_name = self._by_name
        if not by_name:
            for svc in self.services:
                by_name.setdefault(svc.name, svc)  # the first of a name, as a scan would
        try:
            return by_name[name]
        except KeyError:
            raise KeyError(name) from None

    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)

    def effective(self, svc: Service) -> EffectivePool:
        """The pool a service runs with: its own settings, the defaults where it has none
        (remembered: every refresh asks for each service's several times)."""
        return kept_while_same(self._effective, id(svc), (svc,), lambda: self._effective_of(svc))

    def _effective_of(self, svc: Service) -> EffectivePool:
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
        key = (application_name, usename, client_addr)
        return remembered(self._service_of, key, lambda: self._match(*key))

    def _match(self, application_name: str, usename: str, client_addr: str) -> str | None:
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


def split_target(allocation: Allocation, target: str) -> tuple[str, str | None]:
    """`feed-service@replica-1` → ("feed-service", "replica-1"); no `@`: (target, None), the
    home server (or, for `cluster`, the first server)."""
    name, at, server = target.partition("@")
    if not at:
        return name, None
    if server not in allocation.server_names():
        raise EditError(f"unknown server {server!r}; one of {', '.join(allocation.server_names())}")
    return name, server


POOL_EDITS = ("max", "min")  # what a pool on another server has of its own


def apply_edit(allocation: Allocation, target: str, field_name: str, value: int) -> Allocation:
    """One what-if edit (`auth-service.max=16`, `cluster.max_connections=200`,
    `feed-service@replica-1.max=6`, `cluster@replica-1.max_connections=200`), validated."""
    name, server = split_target(allocation, target)
    if name == "cluster":
        if field_name not in CLUSTER_FIELDS:
            raise EditError(
                f"unknown cluster field {field_name!r}; one of {', '.join(CLUSTER_FIELDS)}"
            )
        cluster = dataclasses.replace(allocation.server(server).cluster, **{field_name: value})
        problems = validate_cluster(cluster)
        if problems:
            raise EditError(f"{target}.{problems[0][0]}: {problems[0][1]}")
        return allocation.with_cluster(server, cluster)
    try:
        svc = allocation.service(name)
    except KeyError:
        raise EditError(f"unknown service {name!r}") from None
    attr = EDIT_FIELDS.get(field_name, field_name if field_name in _SERVICE_LIMITS else None)
    if attr is None:
        raise EditError(f"unknown field {field_name!r}; one of {', '.join(EDIT_FIELDS)}")
    pool = None if server is None or server == allocation.home(svc) else svc.pool_on(server)
    if server is not None and server != allocation.home(svc) and pool is None:
        raise EditError(f"{name} has no pool on {server}")
    if pool is not None and field_name in POOL_EDITS:
        pool = dataclasses.replace(pool, **{attr: value})  # type: ignore[arg-type]
        problems = validate_service(
            dataclasses.replace(
                svc, max_connections=pool.max_connections, min_connections=pool.min_connections
            ),
            allocation.defaults,
        )
        new = dataclasses.replace(
            svc, pools=tuple(pool if p.server == pool.server else p for p in svc.pools)
        )
    else:  # the home pool, or what every pool of the service shares (replicas, timeouts)
        new = dataclasses.replace(svc, **{attr: value})  # type: ignore[arg-type]
        problems = validate_service(new, allocation.defaults)
    if problems:
        raise EditError(f"{target}.{problems[0][0]}: {problems[0][1]}")
    return allocation.replace_service(new)


# ---------------------------------------------------------------------------------------------
# Loading


_TOP_KEYS = {"cluster", "defaults", "reserved", "services", "poolers", "servers"}
_POOLER_KEYS = {"mode", "replicas", "match", "note", "server", *POOLER_LIMITS}
_SERVICE_KEYS = {
    "tier",
    "replicas",
    "match",
    "note",
    "max_lifetime_jitter_secs",
    "server",
    "pools",
    *POOL_FIELDS,
}
_SERVER_KEYS = {"role", "follows", "cluster", "reserved", "note"}
_CLUSTER_KEYS = set(CLUSTER_FIELDS) | set(STANDBY_SETTINGS)
_SERVER_POOL_KEYS = {"max_connections", "min_connections", "env_prefix"}
ENV_PREFIX = re.compile(r"[A-Z][A-Z0-9_]*_")


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
    cluster = _cluster(doc, cluster_raw, ("cluster",))

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

    reserved = _reserved(doc, root.get("reserved"), ("reserved",))
    servers = _servers(doc, root.get("servers"), cluster_raw, reserved)
    server_names = [srv.name for srv in servers]

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
        home = _server_ref(doc, raw.get("server"), server_names, kp + ("server",))
        svc = Service(
            name=str(name),
            tier=tier,
            server=home,
            pools=_server_pools(doc, raw.get("pools"), server_names, home, kp + ("pools",)),
            **_parse_match(doc, raw.get("match"), kp + ("match",)),
            **kwargs,
        )
        for field_name, reason in validate_service(svc, defaults):
            raise doc.error(kp + (field_name,), reason)
        for pool in svc.pools:
            view = dataclasses.replace(
                svc, max_connections=pool.max_connections, min_connections=pool.min_connections
            )
            for field_name, reason in validate_service(view, defaults):
                raise doc.error(kp + ("pools", pool.server, field_name), reason)
        for app in svc.application_names() if svc.matches_application else ():
            if app in seen_apps:
                raise doc.error(
                    kp, f"application_name {app!r} already matches service {seen_apps[app]!r}"
                )
            seen_apps[app] = svc.name
        services.append(svc)
    for svc in _poolers(doc, root.get("poolers"), server_names):
        if svc.name in {s.name for s in services}:
            raise doc.error(("poolers", svc.name), "a service has this name already")
        services.append(svc)
    return Allocation(
        cluster=cluster,
        defaults=defaults,
        reserved=reserved,
        services=tuple(services),
        path=doc.path,
        servers=servers,
    )


def _cluster(doc: yamlfile.Document, raw: Mapping[str, Any], kp: yamlfile.KeyPath) -> ClusterConfig:
    _unknown(doc, raw, _CLUSTER_KEYS, kp)
    for name, (lo, hi) in _STANDBY_LIMITS.items():
        if name in raw:
            reason = _check_int(raw[name], minimum=lo, maximum=hi)
            if reason:
                raise doc.error(kp + (name,), reason)
    cluster = ClusterConfig(**raw)
    for name, problem in validate_cluster(cluster):
        raise doc.error(kp + (name,), problem)
    return cluster


def _reserved(
    doc: yamlfile.Document, raw: Any, kp: yamlfile.KeyPath
) -> tuple[tuple[str, int], ...]:
    out = []
    for name, value in _mapping(doc, raw, kp).items():
        reason = _check_int(value, minimum=0)
        if reason:
            raise doc.error(kp + (name,), reason)
        out.append((str(name), value))
    return tuple(out)


def _servers(
    doc: yamlfile.Document,
    raw: Any,
    cluster_defaults: Mapping[str, Any],
    top_reserved: tuple[tuple[str, int], ...],
) -> tuple[Server, ...]:
    """The `servers:` section. Each server's `cluster:` starts from the top-level `cluster:`;
    the top-level `reserved:` items are the first server's (with its own); a standby follows
    a primary named here."""
    raw = _mapping(doc, raw, ("servers",))
    servers: list[Server] = []
    for name, kp, spec in _entries(doc, raw, "servers", "a server", _SERVER_KEYS):
        role = _choice(doc, spec, kp, "role", SERVER_ROLES, "primary")
        follows = spec.get("follows")
        if role == "primary" and follows is not None:
            raise doc.error(kp + ("follows",), "only a standby follows a primary")
        if role == "standby":
            if follows is None:
                raise doc.error(kp, "a standby names the primary it follows: follows: NAME")
            if follows not in raw:
                raise doc.error(
                    kp + ("follows",),
                    f"unknown server {follows!r}; one of {', '.join(map(str, raw))}",
                )
            if (raw[follows] or {}).get("role", "primary") != "primary":
                raise doc.error(
                    kp + ("follows",),
                    f"{follows!r} is a standby: a standby follows a primary here",
                )
        own = _mapping(doc, spec.get("cluster"), kp + ("cluster",))
        servers.append(
            Server(
                name=name,
                role=role,
                follows=follows,
                cluster=_cluster(doc, {**cluster_defaults, **own}, kp + ("cluster",)),
                reserved=(top_reserved if not servers else ())
                + _reserved(doc, spec.get("reserved"), kp + ("reserved",)),
            )
        )
    return tuple(servers)


def _entries(
    doc: yamlfile.Document, raw: Mapping[str, Any], section: str, what: str, keys: set[str]
) -> list[tuple[str, yamlfile.KeyPath, Mapping[str, Any]]]:
    """A named section's entries (servers, poolers): (name, key path, its mapping), each name
    a valid one and each key a known one."""
    out: list[tuple[str, yamlfile.KeyPath, Mapping[str, Any]]] = []
    for name, spec in raw.items():
        kp: yamlfile.KeyPath = (section, name)
        if not isinstance(name, str) or not SERVICE_NAME.fullmatch(name):
            raise doc.error(kp, f"{what} name is letters, digits, '.', '_' and '-'")
        spec = _mapping(doc, spec, kp)
        _unknown(doc, spec, keys, kp)
        out.append((name, kp, spec))
    return out


def _choice(
    doc: yamlfile.Document,
    spec: Mapping[str, Any],
    kp: yamlfile.KeyPath,
    key: str,
    choices: tuple[str, ...],
    default: str,
) -> str:
    value = spec.get(key, default)
    if value not in choices:
        raise doc.error(kp + (key,), f"one of {', '.join(choices)} (got {value!r})")
    return str(value)


def _server_ref(
    doc: yamlfile.Document, value: Any, servers: list[str], kp: yamlfile.KeyPath
) -> str | None:
    if value is None:
        return None
    if not servers:
        raise doc.error(kp, "names a server, but the file has no servers: section")
    if value not in servers:
        raise doc.error(kp, f"unknown server {value!r}; one of {', '.join(servers)}")
    return str(value)


def _server_pools(
    doc: yamlfile.Document,
    raw: Any,
    servers: list[str],
    home: str | None,
    kp: yamlfile.KeyPath,
) -> tuple[ServerPool, ...]:
    """A service's `pools:`: server → {max_connections, min_connections, env_prefix}."""
    pools = []
    prefixes = {"DB_": home or (servers[0] if servers else IMPLICIT_SERVER)}
    for server, spec in _mapping(doc, raw, kp).items():
        at = kp + (server,)
        _server_ref(doc, server, servers, at)
        if server == (home or servers[0]):
            raise doc.error(at, "is this service's home server: its pool is the service's own")
        spec = _mapping(doc, spec, at)
        _unknown(doc, spec, _SERVER_POOL_KEYS, at)
        prefix = spec.get("env_prefix", env_prefix_for(server))
        if not isinstance(prefix, str) or not ENV_PREFIX.fullmatch(prefix):
            raise doc.error(
                at + ("env_prefix",),
                f"an environment variable prefix in capitals ending in _, e.g. DB_READ_ "
                f"(got {prefix!r})",
            )
        if prefix in prefixes:
            raise doc.error(
                at + ("env_prefix",), f"{prefix} is already the pool on {prefixes[prefix]}"
            )
        prefixes[prefix] = server
        pools.append(
            ServerPool(
                server=server,
                env_prefix=prefix,
                max_connections=spec.get("max_connections"),
                min_connections=spec.get("min_connections"),
            )
        )
    return tuple(pools)


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


def _poolers(doc: yamlfile.Document, raw: Any, servers: list[str]) -> list[Service]:
    """The `poolers:` section: each a consumer of server slots of its own."""
    out = []
    raw = _mapping(doc, raw, ("poolers",))
    for name, kp, spec in _entries(doc, raw, "poolers", "a pooler", _POOLER_KEYS):
        mode = _choice(doc, spec, kp, "mode", POOLER_MODES, "session")
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
                server=_server_ref(doc, spec.get("server"), servers, kp + ("server",)),
                **match,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Writing


def to_document(allocation: Allocation) -> dict[str, Any]:
    """The allocation as a file's content (plain data for yaml.safe_dump) that `load` reads
    back as the same allocation: the demo writes its fleet's so that other terminals see it."""

    def cluster(c: ClusterConfig) -> dict[str, int]:
        return {f.name: v for f in dataclasses.fields(c) if (v := getattr(c, f.name)) is not None}

    def match(svc: Service) -> dict[str, Any]:
        m: dict[str, Any] = {}
        if svc.match_application_names:
            m["application_name"] = list(svc.match_application_names)
        if svc.match_prefix is not None:
            m["application_name_prefix"] = svc.match_prefix
        if svc.match_usenames:
            m["usename"] = list(svc.match_usenames)
        if svc.match_client_addrs:
            m["client_addr"] = [str(n) for n in svc.match_client_addrs]
        return m

    doc: dict[str, Any] = {
        "cluster": cluster(allocation.cluster),
        "defaults": dataclasses.asdict(allocation.defaults),
        "reserved": dict(allocation.reserved),
    }
    if allocation.servers:
        first = allocation.servers[0].name
        doc["reserved"] = dict(allocation.servers[0].reserved)
        doc["servers"] = {
            s.name: {
                "role": s.role,
                **({"follows": s.follows} if s.follows else {}),
                "cluster": cluster(s.cluster),
                **({"reserved": dict(s.reserved)} if s.reserved and s.name != first else {}),
            }
            for s in allocation.servers
        }
    services: dict[str, Any] = {}
    poolers: dict[str, Any] = {}
    for svc in allocation.services:
        spec: dict[str, Any] = {}
        if svc.pooler is not None:
            spec["mode"] = svc.pooler.mode
            spec.update({k: getattr(svc.pooler, k) for k in POOLER_LIMITS})
            spec["replicas"] = svc.replicas
        else:
            if svc.tier is not None:
                spec["tier"] = svc.tier
            spec["replicas"] = svc.replicas
            for f in (*POOL_FIELDS, "max_lifetime_jitter_secs"):
                if getattr(svc, f) is not None:
                    spec[f] = getattr(svc, f)
            if svc.pools:
                spec["pools"] = {
                    p.server: {
                        k: v
                        for k, v in (
                            ("max_connections", p.max_connections),
                            ("min_connections", p.min_connections),
                            ("env_prefix", p.env_prefix),
                        )
                        if v is not None
                    }
                    for p in svc.pools
                }
        if svc.server is not None:
            spec["server"] = svc.server
        if match(svc):
            spec["match"] = match(svc)
        (poolers if svc.pooler is not None else services)[svc.name] = spec
    doc["services"] = services
    if poolers:
        doc["poolers"] = poolers
    return doc
