"""A server reads idle sessions only for the detail open: the collector names that detail's
applications to each server source (`focus_apps`) before its read, from the sessions that
server counted last time; the Prometheus source gets the service (`focus`)."""

from __future__ import annotations

from console.core.allocation import parse
from console.core.observe import observer
from console.core.settings import Settings
from console.core.snapshot import ActivityCount, SourceName
from console.sources.base import Reading, SessionFocus
from console.sources.collect import Collector

ALLOCATION = """
services:
  auth-service: {max_connections: 4}
  billing: {max_connections: 4, match: {usename: billing_rw}}
"""

COUNTS = (
    ActivityCount("auth-service", "idle", 3, "app"),
    ActivityCount("auth-service", "active", 1, "app"),
    ActivityCount("billing-worker", "idle", 2, "billing_rw"),
    ActivityCount("billing-cron", "idle", 1, "billing_rw"),
    ActivityCount("psql", "idle", 1, "oncall"),
    ActivityCount("novapool", "idle", 1, "oncall"),
)


class ServerSource:
    """Counts the same sessions at every read; remembers the applications it was asked for."""

    name = SourceName.POSTGRES
    server_name = None
    read_every_s = 0.0

    def __init__(self) -> None:
        self.focus_apps: tuple[str, ...] = ()
        self.asked: list[tuple[str, ...]] = []

    async def read(self) -> Reading:
        self.asked.append(self.focus_apps)
        return Reading(latency_ms=1.0, requests=1, activity=COUNTS)

    async def close(self) -> None:
        pass


async def asked(collector: Collector, source: ServerSource) -> tuple[str, ...]:
    await collector.collect()
    return source.asked[-1]


async def test_the_detail_s_applications_are_asked_for_from_the_next_read_on():
    source = ServerSource()
    assert isinstance(source, SessionFocus)
    c = Collector(Settings(), parse(ALLOCATION), backoff=False, sources={"pg": source})
    assert await asked(c, source) == ()  # no detail: no idle session is read
    c.focus("auth-service")
    assert await asked(c, source) == ("auth-service",)
    c.focus("billing")  # matched by role: every application its sessions carry
    assert await asked(c, source) == ("billing-cron", "billing-worker")
    c.focus(None)  # the unattributed sessions' detail
    assert await asked(c, source) == ("novapool", "psql")
    c.unfocus()
    assert await asked(c, source) == ()
    await c.close()


async def test_before_the_first_reading_nothing_is_known_to_ask_for():
    source = ServerSource()
    c = Collector(Settings(), parse(ALLOCATION), backoff=False, sources={"pg": source})
    c.focus("auth-service")
    assert await asked(c, source) == ()  # the sessions are counted by this first read
    assert await asked(c, source) == ("auth-service",)
    await c.close()


async def test_an_observer_s_services_are_the_applications_it_sees():
    source = ServerSource()
    c = Collector(Settings(), observer(), backoff=False, sources={"pg": source})
    await c.collect()
    c.focus("auth-service")
    assert await asked(c, source) == ("auth-service",)
    c.focus(None)  # psql is a service like any to an observer; other consoles never are
    assert await asked(c, source) == ("novapool",)
    await c.close()
