"""The demo's simulated fleet: real asyncpg pools against a real (throwaway) PostgreSQL, one per
simulated pod, each with its own db_pool_* exporter on 127.0.0.1, driven by a scenario.

The fleet runs on its own thread and event loop, so the console's loop only ever sees the
console's own work.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from console.core.allocation import Allocation, Server, ServerPool, Service
from console.demo.exporter import PoolExporter, PoolGauges

log = logging.getLogger("novapool.demo")
# standby-below: calm, but the primary is restarted with more max_connections than its
# standby has (the standby pauses replay; novapool flags it).
SCENARIOS = ("incident", "calm", "standby-below")
REPLICA = "replica-1"
READERS = ("feed-service", "search-service")  # read from the replica, as the seed's Phase 2


def with_replica(allocation: Allocation) -> Allocation:
    """The demo's allocation with a primary and its streaming standby, the readers' read pools
    on it (DB_READ_*)."""
    primary = Server("primary", cluster=allocation.cluster, reserved=allocation.reserved)
    standby = Server(REPLICA, role="standby", follows="primary", cluster=allocation.cluster)
    services = []
    for svc in allocation.services:
        if svc.name in READERS:
            pool = allocation.effective(svc)
            read = ServerPool(REPLICA, "DB_READ_", pool.max_connections, 1)
            svc = dataclasses.replace(svc, pools=(read,))
        services.append(svc)
    return dataclasses.replace(allocation, servers=(primary, standby), services=tuple(services))


@dataclass
class Pod:
    """One simulated pool instance: a pod of a service."""

    service: str
    index: int
    max_size: int
    min_size: int
    active: bool = False  # pods beyond the current replica count are not running
    pool: Any = None  # an asyncpg.Pool once started (asyncpg has no type hints)
    exporter: PoolExporter | None = None
    errors: int = 0
    inflight: int = 0

    def gauges(self) -> PoolGauges | None:
        pool = self.pool
        if not self.active or pool is None:
            return None
        return PoolGauges(
            size=pool.get_size(),
            idle=pool.get_idle_size(),
            max=pool.get_max_size(),
            errors=self.errors,
        )


@dataclass
class Plan:
    """What a scenario does: replicas now and later, and its incidents."""

    replicas: dict[str, int]
    scale_up: dict[str, int] = field(default_factory=dict)  # service → replicas at scale_at
    scale_at: float = 20.0
    drift: dict[str, int] = field(default_factory=dict)  # service → max its pools really use
    incidents: bool = False


def scale_allocation(allocation: Allocation, services: int | None) -> Allocation:
    """The first N services of the allocation; beyond its 12, extra light services."""
    if services is None:
        return allocation
    have = list(allocation.services[:services])
    for i in range(len(have), services):
        have.append(
            Service(
                name=f"extra-service-{i + 1}", tier="light", max_connections=2, min_connections=1
            )
        )
    return dataclasses.replace(allocation, services=tuple(have))


def plan_for(scenario: str, allocation: Allocation, replicas: int | None) -> Plan:
    names = allocation.names()
    base = {n: replicas or allocation.service(n).replicas for n in names}
    if scenario in ("calm", "standby-below"):
        return Plan(base)
    if replicas is None and "feed-service" in base:
        base["feed-service"] = 2
    scale = {"auth-service": base["auth-service"] + 2} if "auth-service" in base else {}
    drift = {"user-service": 20} if "user-service" in base else {}
    return Plan(base, scale_up=scale, drift=drift, incidents=True)


class Fleet:
    def __init__(
        self,
        dsn: str,
        allocation: Allocation,
        plan: Plan,
        *,
        seed: int = 7,
        replica_dsn: str | None = None,
    ) -> None:
        self.dsn = dsn  # the superuser's, for the set-up
        self.app_dsn = dsn.replace("://postgres@", "://app@", 1)
        # the readers' read pools go to the standby, when there is one
        self.replica_dsn = (
            replica_dsn.replace("://postgres@", "://app@", 1) if replica_dsn else None
        )
        self.read_pools: list[Any] = []
        self.allocation = allocation
        self.plan = plan
        self.rng = random.Random(seed)
        self.pods: list[Pod] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.started_at = 0.0
        self.events: list[str] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # ---- lifecycle (called from the main thread) ---------------------------------------------

    def start(self, timeout: float = 60) -> Fleet:
        for svc in self.allocation.services:
            pool = self.allocation.effective(svc)
            n_pods = max(self.plan.replicas[svc.name], self.plan.scale_up.get(svc.name, 0))
            for i in range(n_pods):
                pod = Pod(
                    svc.name,
                    i,
                    self.plan.drift.get(svc.name, pool.max_connections),
                    pool.min_connections,
                    active=i < self.plan.replicas[svc.name],
                )
                pod.exporter = PoolExporter(svc.name, pod.gauges).start()
                self.pods.append(pod)
        self.thread = threading.Thread(target=self._run, name="novapool-demo-fleet", daemon=True)
        self.thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the demo fleet did not start")
        if self._error:
            raise RuntimeError(f"the demo fleet failed: {self._error}")
        return self

    @property
    def exporter_urls(self) -> list[str]:
        return [p.exporter.url for p in self.pods if p.exporter]

    def stop(self) -> None:
        if self.loop is not None and self.loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
            try:
                fut.result(timeout=15)
            except Exception:  # noqa: BLE001 - best effort; the server is stopped anyway
                log.exception("fleet shutdown")
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread is not None:
            self.thread.join(timeout=10)
        # Each exporter's HTTP server takes up to its 0.5 s poll to stop: stop them together.
        exporters = [pod.exporter for pod in self.pods if pod.exporter]
        if exporters:
            with concurrent.futures.ThreadPoolExecutor(max_workers=min(64, len(exporters))) as ex:
                list(ex.map(PoolExporter.stop, exporters))

    # ---- the fleet's own loop ----------------------------------------------------------------

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        # The simulated pods' errors belong in the log, never on the console's terminal.
        self.loop.set_exception_handler(
            lambda loop, ctx: log.debug("fleet: %s", ctx.get("exception") or ctx["message"])
        )
        try:
            self.loop.run_until_complete(self._start_pools())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.close()

    async def _open(self, pod: Pod) -> None:
        pod.pool = await asyncpg.create_pool(
            self.app_dsn,
            min_size=pod.min_size,
            max_size=pod.max_size,
            max_inactive_connection_lifetime=15,
            server_settings={"application_name": pod.service},
        )

    async def _start_pools(self) -> None:
        self.started_at = time.monotonic()
        conn = await asyncpg.connect(self.dsn)
        # The services log in as an ordinary role, as real ones do: when they exhaust the
        # server, the superuser-reserved slots still let the console (and you) in.
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS demo_orders (id int PRIMARY KEY, "
            "state text); INSERT INTO demo_orders VALUES (1, 'new') "
            "ON CONFLICT DO NOTHING; "
            "DO $$ BEGIN CREATE ROLE app LOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$; "
            "GRANT SELECT, UPDATE ON demo_orders TO app"
        )
        await conn.close()
        await asyncio.gather(*(self._open(p) for p in self.pods if p.active))
        if self.replica_dsn:
            await self._open_reads()
        for pod in self.pods:
            self.tasks.append(asyncio.create_task(self._traffic(pod)))
        if self.plan.scale_up:
            self.tasks.append(asyncio.create_task(self._scale_up()))
        if self.plan.incidents:
            for coro in (self._leak(), self._lock_pileup(), self._long_query(), self._adhoc()):
                self.tasks.append(asyncio.create_task(coro))

    async def _open_reads(self) -> None:
        """Each reader pod's read pool on the standby, once the app role has replicated."""
        assert self.replica_dsn is not None
        deadline = time.monotonic() + 60
        while True:
            try:
                probe = await asyncpg.connect(self.replica_dsn)
                await probe.close()
                break
            except asyncpg.InvalidAuthorizationSpecificationError:
                if time.monotonic() > deadline:  # a hang guard: replication is the signal
                    raise
                await asyncio.sleep(0.1)
        for svc in self.allocation.services:
            pool = svc.pool_on(REPLICA)
            if pool is None:
                continue
            for pod in self.pods:
                if pod.service == svc.name and pod.active:
                    self.read_pools.append(
                        await asyncpg.create_pool(
                            self.replica_dsn,
                            min_size=pool.min_connections or 1,
                            max_size=pool.max_connections or 2,
                            server_settings={"application_name": svc.name},
                        )
                    )
        self.tasks.append(asyncio.create_task(self._reads()))

    async def _reads(self) -> None:
        """A steady trickle of reads on the standby."""
        while True:
            await asyncio.sleep(0.5)
            for pool in self.read_pools:
                try:
                    await pool.fetchval("SELECT count(*) FROM demo_orders")
                except Exception:  # noqa: BLE001 - a paused standby may refuse; keep going
                    continue

    async def _shutdown(self) -> None:
        # Close the sockets first, so no task waits on the server while being cancelled.
        for pool in self.read_pools:
            pool.terminate()
        self.read_pools = []
        for pod in self.pods:
            pod.active = False
            if pod.pool is not None:
                pod.pool.terminate()
                pod.pool = None
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in others:
            t.cancel()
        await asyncio.wait(others, timeout=3) if others else None

    def _note(self, text: str) -> None:
        log.info(text)
        self.events.append(f"{time.monotonic() - self.started_at:5.0f}s {text}")

    # ---- behaviour ---------------------------------------------------------------------------

    async def _traffic(self, pod: Pod) -> None:
        """Waves: each pod keeps a wavy number of queries in flight."""
        tier = self.allocation.service(pod.service).tier or ""
        weight = {"high": 0.55, "medium-high": 0.45, "medium": 0.35}.get(tier, 0.3)
        period = 40 + 20 * self.rng.random()
        phase = self.rng.random() * 2 * math.pi
        while True:
            await asyncio.sleep(0.25)
            if not pod.active or pod.pool is None:
                continue
            t = time.monotonic() - self.started_at
            wave = 0.5 + 0.5 * math.sin(2 * math.pi * t / period + phase)
            want = round(pod.max_size * weight * (0.3 + 0.9 * wave))
            while pod.inflight < want:
                pod.inflight += 1
                asyncio.create_task(self._query(pod, 0.2 + self.rng.random() * 0.8))

    async def _query(self, pod: Pod, seconds: float) -> None:
        try:
            async with pod.pool.acquire(timeout=10) as conn:
                await conn.execute(f"SELECT pg_sleep({seconds:.2f})")
        except Exception:  # noqa: BLE001 - a pool error is a metric, as in the real library
            pod.errors += 1
        finally:
            pod.inflight -= 1

    async def _scale_up(self) -> None:
        await asyncio.sleep(self.plan.scale_at)
        for service, n in self.plan.scale_up.items():
            for pod in self.pods:
                if pod.service == service and not pod.active and pod.index < n:
                    await self._open(pod)
                    pod.active = True
            self._note(f"{service} scaled up to {n} replicas")

    async def _leak(self) -> None:
        """feed-service forgets a transaction open (idle in transaction)."""
        await asyncio.sleep(3)
        pod = next((p for p in self.pods if p.service == "feed-service" and p.active), None)
        if pod is None:
            return
        conn = await pod.pool.acquire()
        await conn.execute("BEGIN; SELECT state FROM demo_orders WHERE id = 1")
        self._note("feed-service leaked a transaction (idle in transaction)")
        try:
            await asyncio.Event().wait()  # held until the demo stops
        finally:
            await pod.pool.release(conn)

    async def _lock_pileup(self) -> None:
        """A long transaction holds a row lock; others queue behind it. Repeats."""
        await asyncio.sleep(6)
        holder_pod = next((p for p in self.pods if p.service == "content-service"), None)
        waiters = [
            p
            for p in self.pods
            if p.service in ("events-service", "notification-service") and p.active
        ]
        if holder_pod is None or holder_pod.pool is None:
            return
        while True:
            async with holder_pod.pool.acquire() as holder:
                async with holder.transaction():
                    await holder.execute("UPDATE demo_orders SET state = 'locked' WHERE id = 1")
                    self._note("content-service holds a row lock; others queue behind it")
                    blocked = [asyncio.create_task(self._blocked_update(p)) for p in waiters]
                    await asyncio.sleep(75)
                await asyncio.gather(*blocked, return_exceptions=True)
            await asyncio.sleep(45)

    async def _blocked_update(self, pod: Pod) -> None:
        async with pod.pool.acquire() as conn:
            await conn.execute("UPDATE demo_orders SET state = 'seen' WHERE id = 1")

    async def _long_query(self) -> None:
        """search-service runs a report that takes minutes."""
        await asyncio.sleep(2)
        pod = next((p for p in self.pods if p.service == "search-service" and p.active), None)
        if pod is None:
            return
        while True:
            self._note("search-service started a long report query")
            async with pod.pool.acquire() as conn:
                await conn.execute("SELECT pg_sleep(150) /* nightly report */")
            await asyncio.sleep(30)

    async def _adhoc(self) -> None:
        """Connections nobody budgeted: a BI tool and an engineer's psql."""
        await asyncio.sleep(4)
        conns = []
        for app in ("metabase [prod]", "metabase [prod]", "psql"):
            conns.append(
                await asyncpg.connect(self.app_dsn, server_settings={"application_name": app})
            )
        self._note("unbudgeted connections: metabase ×2, psql")
        try:
            await asyncio.Event().wait()
        finally:
            for c in conns:
                c.terminate()
