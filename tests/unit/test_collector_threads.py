"""A metrics read that outlives its wait is waited for again, never doubled: threads cannot
be cancelled, and two reads must not share one HTTP client. The read is held by an event, not
a sleep, so the outcome never depends on how busy the machine is."""

import asyncio
import threading

from console.core.allocation import load
from console.core.settings import Settings
from console.core.snapshot import SourceName
from console.sources.base import BlockingRead
from console.sources.collect import Collector
from tests.conftest import ALLOCATION


class HeldSource(BlockingRead):
    """A blocking source whose read blocks until released; counts reads and how many ran at
    once."""

    name = SourceName.PROMETHEUS
    server_name = None
    wait_s = 0.05

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = self.active = self.most = 0
        self.lock = threading.Lock()

    def read_blocking(self):
        with self.lock:
            self.calls += 1
            self.active += 1
            self.most = max(self.most, self.active)
        self.release.wait()
        with self.lock:
            self.active -= 1
        raise RuntimeError("answered too late")

    def close_blocking(self) -> None:
        self.release.set()


async def test_a_slow_read_is_not_started_twice():
    source = HeldSource()
    collector = Collector(
        Settings(),
        load(ALLOCATION),
        backoff=False,
        sources={SourceName.PROMETHEUS: source},
    )
    try:
        for _ in range(2):  # the read is still held: both collections give up waiting
            snap = (await collector.collect()).first
            assert snap.source("prometheus").status == "unreachable"
            assert "timed out" in (snap.source("prometheus").error or "")
        assert source.calls == 1  # the 2nd collection re-awaited the 1st read
        source.release.set()
        await asyncio.wait([source._inflight], timeout=60)  # it has ended
        snap = (await collector.collect()).first  # the held read is over: a new one starts
        assert source.calls == 2 and source.most == 1
        assert snap.source("prometheus").error == "answered too late"
    finally:
        source.release.set()


async def test_sources_come_from_the_registry_and_capabilities_are_asked_for():
    from console.sources.base import BackendSignals, PoolHistory

    collector = Collector(
        Settings(dsn="postgresql://x@127.0.0.1:1/x", prometheus_url="http://127.0.0.1:1"),
        load(ALLOCATION),
    )
    assert list(collector.sources) == [SourceName.POSTGRES, SourceName.PROMETHEUS]
    assert isinstance(collector.pool_history, PoolHistory)
    assert isinstance(collector.backend_signals, BackendSignals)
    assert collector.pool_history is collector.sources[SourceName.PROMETHEUS]
    bare = Collector(Settings(scrape=("http://127.0.0.1:1/metrics",)), load(ALLOCATION))
    assert list(bare.sources) == [SourceName.SCRAPE]
    assert bare.pool_history is None and bare.backend_signals is None
