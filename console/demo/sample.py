"""A realistic, deterministic incident state of the seed's fleet: for screenshots, snapshot
tests and UI tests. Built by hand, so every screen can be shown without a server."""

from __future__ import annotations

from console.core.snapshot import (
    OK,
    ActivityCount,
    Backend,
    PoolInstance,
    ServerInfo,
    Snapshot,
    SourceName,
    SourceStatus,
)

T0 = 1_795_000_000.0  # a fixed instant: ages on screen do not depend on when tests run

# service → (replicas, per-instance (size, idle, max))
POOLS = {
    "auth-service": (3, [(12, 2, 12), (11, 4, 12), (9, 5, 12)]),
    "user-service": (1, [(20, 0, 20)]),  # the wrapper's max() raised it: drift
    "content-service": (1, [(8, 5, 12)]),
    "feed-service": (2, [(5, 2, 8), (4, 2, 8)]),
    "search-service": (1, [(3, 2, 8)]),
    "media-service": (1, [(2, 1, 5)]),
    "notification-service": (1, [(3, 1, 5)]),
    "events-service": (1, [(2, 2, 5)]),
    "messaging-service": (1, [(2, 0, 2)]),
    "video-service": (1, [(1, 1, 3)]),
    "streaming-service": (1, [(1, 0, 3)]),
    "cdn-service": (1, [(1, 1, 2)]),
}

# application → {state: count}
ACTIVITY = {
    "auth-service": {"active": 9, "idle": 23},
    "user-service": {"active": 18, "idle": 1, "idle in transaction": 1},
    "content-service": {"active": 3, "idle": 5},
    "feed-service": {"active": 3, "idle": 5, "idle in transaction": 1},
    "search-service": {"active": 1, "idle": 2},
    "media-service": {"idle": 2},
    "notification-service": {"active": 2, "idle": 1},
    "events-service": {"idle": 2},
    "messaging-service": {"active": 2},
    "video-service": {"idle": 1},
    "streaming-service": {"active": 1},
    "cdn-service": {"idle": 1},
    "psql": {"active": 1},
    "metabase [prod]": {"idle": 2},
}


def _b(
    pid: int,
    app: str,
    state: str,
    *,
    state_age: float,
    xact: float | None = None,
    query_age: float | None = None,
    wait: tuple[str, str] | None = None,
    lock: float | None = None,
    blockers: tuple[int, ...] = (),
    query: str = "SELECT 1",
    client: str | None = "10.0.3.17",
    user: str = "app",
) -> Backend:
    return Backend(
        pid=pid,
        application_name=app,
        usename=user,
        client_addr=client,
        state=state,
        backend_age_s=3600.0,
        xact_age_s=xact,
        query_age_s=query_age,
        state_age_s=state_age,
        wait_event_type=wait[0] if wait else None,
        wait_event=wait[1] if wait else None,
        lock_wait_s=lock,
        blocking_pids=tuple(blockers),
        query=query,
    )


BACKENDS = (
    _b(
        4242,
        "feed-service",
        "idle in transaction",
        state_age=412.0,
        xact=415.0,
        query_age=413.0,
        query="UPDATE feed_items SET seen = true WHERE user_id = $1",
    ),
    _b(
        5120,
        "user-service",
        "active",
        state_age=74.0,
        xact=74.0,
        query_age=74.0,
        wait=("Lock", "transactionid"),
        lock=73.5,
        blockers=(5101,),
        query="UPDATE users SET last_login = now() WHERE id = $1",
    ),
    _b(
        5101,
        "user-service",
        "idle in transaction",
        state_age=80.0,
        xact=95.0,
        query_age=80.0,
        query="SELECT * FROM users WHERE id = $1 FOR UPDATE",
    ),
    _b(
        6001,
        "auth-service",
        "active",
        state_age=95.0,
        xact=95.0,
        query_age=95.0,
        query="SELECT count(*) FROM sessions s JOIN tokens t ON t.session_id = s.id",
    ),
    _b(
        7007,
        "metabase [prod]",
        "idle",
        state_age=1800.0,
        client="10.0.9.4",
        user="bi[/bold]",
        query="SELECT * FROM \x1b[31mreport\x1b[0m WHERE x = '[@click=app.quit]'",
    ),
    _b(
        7010,
        "psql",
        "active",
        state_age=2.0,
        xact=2.0,
        query_age=2.0,
        client=None,
        user="oncall",
        query="SELECT * FROM pg_stat_activity",
    ),
)


def incident_snapshot(taken_at: float = T0) -> Snapshot:
    pools = []
    for service, (_replicas, instances) in POOLS.items():
        for i, (size, idle, mx) in enumerate(instances):
            pools.append(
                PoolInstance(
                    service=service,
                    instance=f"{service}-7d9f{i}:9187",
                    size=size,
                    idle=idle,
                    max=mx,
                    sample_age_s=4.0,
                    up=True,
                    scrape_interval_s=15.0,
                )
            )
    activity = tuple(
        ActivityCount(app, state, n)
        for app, states in ACTIVITY.items()
        for state, n in states.items()
    )
    return Snapshot(
        taken_at=taken_at,
        sources={
            SourceName.POSTGRES: SourceStatus(OK, None, 3.2, taken_at),
            SourceName.PROMETHEUS: SourceStatus(OK, None, 6.8, taken_at),
        },
        server=ServerInfo("15.18", 150018, 100, 3, 0),
        activity=activity,
        self_connections=1,
        backends=BACKENDS,
        pools=tuple(pools),
    )


def calm_snapshot(taken_at: float = T0) -> Snapshot:
    """The same fleet, quiet: no leaks, no locks, one replica each, within budget."""
    snap = incident_snapshot(taken_at)
    pools = tuple(
        p for p in snap.pools if p.instance.endswith("0:9187") and p.service != "user-service"
    )
    activity = tuple(
        a
        for a in snap.activity
        if a.state == "idle"
        and a.application_name in POOLS
        and a.application_name != "auth-service"
    )
    return Snapshot(
        taken_at=taken_at,
        sources=snap.sources,
        server=snap.server,
        activity=activity,
        self_connections=1,
        backends=(),
        pools=pools,
    )
