"""A source is read no more often than it can tell something new (`read_every_s`); in between,
the console shows its last reading, aged, and its status stands. Time is the collector's own
clock, stepped by the test: nothing here depends on how fast the machine is."""

import pytest

from console.core.allocation import load
from console.core.settings import Settings
from console.core.snapshot import InstanceAge, ServicePools, SourceName
from console.sources.base import BlockingRead, Reading
from console.sources.collect import Collector
from tests.conftest import ALLOCATION


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class MetricsSource(BlockingRead):
    """Answers a service's pools, its oldest sample 1 s old; fails while `down`."""

    name = SourceName.PROMETHEUS
    server_name = None
    wait_s = 30.0

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.reads = 0
        self.down = False

    @property
    def read_every_s(self) -> float:
        return self.every_s

    def read_blocking(self) -> Reading:
        self.reads += 1
        if self.down:
            raise RuntimeError("connection refused")
        pools = ServicePools("auth-service", 2, 8, 3, oldest=(InstanceAge("a:1", 1.0, 5.0),))
        return Reading(latency_ms=4.0, requests=2, pool_totals=(pools,))

    def close_blocking(self) -> None:
        pass


def collector(source: MetricsSource, clock: Clock, backoff: bool = True) -> Collector:
    return Collector(
        Settings(),
        load(ALLOCATION),
        backoff=backoff,
        sources={SourceName.PROMETHEUS: source},
        clock=clock,
    )


async def test_read_no_more_often_than_it_can_tell_something_new():
    clock, source = Clock(), MetricsSource(every_s=2.5)
    c = collector(source, clock)
    seen, objects = [], {}
    for step in range(8):  # a refresh each second
        clock.now = 1_000_000.0 + step
        snap = (await c.collect()).first
        status = snap.source("prometheus")
        assert status.status == "ok" and status.latency_ms == 4.0
        (pools,) = snap.pool_totals
        ((_, age),) = pools.ages(snap.taken_at)
        seen.append((source.reads, age))
        objects.setdefault(source.reads, set()).add(id(pools))
    await c.close()
    # read at 0, 3 and 6 s (2.5 s after the last read began, at the next refresh); in
    # between, the last answer aged by the time since it came
    assert seen == [(1, 1.0), (1, 2.0), (1, 3.0), (2, 1.0), (2, 2.0), (2, 3.0), (3, 1.0), (3, 2.0)]
    # and between two reads, the same pools: what was made of them can be kept
    assert [len(ids) for ids in objects.values()] == [1, 1, 1]


async def test_every_refresh_when_it_says_zero_and_always_in_one_shot_mode():
    clock, source = Clock(), MetricsSource(every_s=0.0)
    c = collector(source, clock)
    for _ in range(3):
        clock.now += 0.1
        await c.collect()
    assert source.reads == 3
    await c.close()
    clock, source = Clock(), MetricsSource(every_s=60.0)
    c = collector(source, clock, backoff=False)  # `check`: never an old answer
    for _ in range(3):
        await c.collect()
    assert source.reads == 3
    await c.close()


@pytest.mark.parametrize("every_s", [0.0, 10.0])
async def test_a_failure_is_retried_on_the_backoff_not_the_cadence(every_s):
    clock, source = Clock(), MetricsSource(every_s=every_s)
    c = collector(source, clock)
    await c.collect()
    source.down = True
    clock.now += max(every_s, 1.0)
    snap = (await c.collect()).first
    assert snap.source("prometheus").status == "unreachable" and source.reads == 2
    assert snap.pool_totals[0].size == 8  # the last good data, kept and aged
    source.down = False
    clock.now += 1.0  # the first retry comes 1 s later, whatever the cadence
    snap = (await c.collect()).first
    assert snap.source("prometheus").status == "ok" and source.reads == 3
    await c.close()


async def test_refresh_now_reads_every_source_whatever_its_cadence_or_backoff():
    clock, source = Clock(), MetricsSource(every_s=60.0)
    c = collector(source, clock)
    await c.collect()
    clock.now += 1.0
    await c.collect()
    assert source.reads == 1  # resting
    await c.collect(every_source=True)  # `r`
    assert source.reads == 2
    source.down = True
    await c.collect(every_source=True)
    source.down = False
    snap = (await c.collect()).first  # backing off: not retried yet...
    assert source.reads == 3 and snap.source("prometheus").status == "unreachable"
    snap = (await c.collect(every_source=True)).first  # ...unless asked
    assert source.reads == 4 and snap.source("prometheus").status == "ok"
    await c.close()


async def test_a_tick_a_little_early_still_reads_on_time():
    """Refresh ticks come a few ms early as often as late: a source read every 3 s on a 1 s
    refresh is read every third tick, not every fourth."""
    clock, source = Clock(), MetricsSource(every_s=3.0)
    c = collector(source, clock)
    reads = []
    for step in range(7):
        clock.now = 1_000_000.0 + step * 0.999  # each tick 1 ms early
        await c.collect()
        reads.append(source.reads)
    await c.close()
    assert reads == [1, 1, 1, 2, 2, 2, 3]
