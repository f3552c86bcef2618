"""A metrics read that outlives the collector's wait is waited for again, never doubled:
threads cannot be cancelled, and two reads must not share one HTTP client."""

import time

from console.core.allocation import load
from console.core.settings import Settings
from console.sources.collect import Collector
from tests.conftest import ALLOCATION


class SlowSource:
    def __init__(self) -> None:
        self.calls = self.active = self.most = 0

    def read(self):
        self.calls += 1
        self.active += 1
        self.most = max(self.most, self.active)
        time.sleep(2.6)
        self.active -= 1
        raise RuntimeError("answered too late")

    def close(self) -> None:
        return None


async def test_a_slow_read_is_not_started_twice():
    collector = Collector(
        Settings(prometheus_url="http://unused", prometheus_timeout_s=0.05),
        load(ALLOCATION),
        backoff=False,
    )
    collector.prometheus = source = SlowSource()
    statuses = []
    for _ in range(3):
        t0 = time.monotonic()
        snap = await collector.collect()
        statuses.append(snap.source("prometheus").status)
        assert time.monotonic() - t0 < 2.6  # bounded by the collector's own wait
    assert statuses == ["unreachable"] * 3
    assert source.most == 1 and source.calls == 2  # the 2nd collect re-awaited the 1st read
