"""A metrics read that outlives the collector's wait is waited for again, never doubled:
threads cannot be cancelled, and two reads must not share one HTTP client. The read is held
by an event, not a sleep, so the outcome never depends on how busy the machine is."""

import asyncio
import threading

from console.core.allocation import load
from console.core.settings import Settings
from console.sources.collect import Collector
from tests.conftest import ALLOCATION


class HeldSource:
    """read() blocks until released; counts reads and how many ran at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = self.active = self.most = 0
        self.lock = threading.Lock()

    def read(self):
        with self.lock:
            self.calls += 1
            self.active += 1
            self.most = max(self.most, self.active)
        self.release.wait()
        with self.lock:
            self.active -= 1
        raise RuntimeError("answered too late")

    def close(self) -> None:
        self.release.set()


async def test_a_slow_read_is_not_started_twice():
    collector = Collector(
        Settings(prometheus_url="http://unused", prometheus_timeout_s=0.01),
        load(ALLOCATION),
        backoff=False,
        grace_s=0.01,
    )
    collector.prometheus = source = HeldSource()
    try:
        for _ in range(2):  # the read is still held: both collections give up waiting
            snap = await collector.collect()
            assert snap.source("prometheus").status == "unreachable"
            assert "timed out" in (snap.source("prometheus").error or "")
        assert source.calls == 1  # the 2nd collection re-awaited the 1st read
        source.release.set()
        await asyncio.wait([collector.inflight["prometheus"]], timeout=60)  # it has ended
        snap = await collector.collect()  # the held read is over: a new one starts
        assert source.calls == 2 and source.most == 1
        assert snap.source("prometheus").error == "answered too late"
    finally:
        source.release.set()
