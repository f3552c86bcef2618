"""UI tests build the app with the same factory the CLI uses (make_app), fed by prepared
snapshots so every frame is deterministic."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from console.core.allocation import load as load_allocation
from console.core.settings import Settings
from console.demo.sample import T0, calm_snapshot, incident_snapshot
from console.tui.app import make_app
from console.tui.feed import ReplayFeed
from tests.conftest import ALLOCATION


def aged(snapshot, seconds: float = 2):
    """The same sessions, `seconds` later: every transaction and state that much older."""
    return dataclasses.replace(
        snapshot,
        backends=tuple(
            dataclasses.replace(
                b,
                xact_age_s=(b.xact_age_s or 0) + seconds,
                state_age_s=(b.state_age_s or 0) + seconds,
            )
            for b in snapshot.backends
        ),
    )


def build_app(snapshots=None, *, allow_signal: bool = False, feed=None, **settings):
    feed = feed or ReplayFeed(snapshots or [incident_snapshot()])
    return make_app(
        Settings(allow_signal=allow_signal, **settings),
        load_allocation(ALLOCATION),
        feed,
        target_label="app@db.internal:5432/postgres",
        clock=lambda: T0 + 1,
        live_refresh=False,
    )


@pytest.fixture
def incident_app():
    return build_app([incident_snapshot()])


@pytest.fixture
def calm_app():
    return build_app([calm_snapshot()])


class HangingFeed:
    """A source that never answers: the UI must not wait for it."""

    has_history = False

    def __init__(self) -> None:
        self.calls = 0
        self.never = asyncio.Event()

    async def history(self, service, seconds=3600):
        return None

    async def peaks(self, window="7d"):
        return None

    async def collect(self, every_source=False):
        self.calls += 1
        await self.never.wait()

    async def close(self) -> None:
        return None

    async def signal_backend(self, pid, terminate, backend_start=None):
        return False

    def focus(self, service) -> None:
        return None

    def unfocus(self) -> None:
        return None


async def settled(pilot) -> None:
    """Every worker the app started has finished, and the messages they posted are handled:
    waits on the workers themselves, never on time."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot, condition, what: str) -> None:
    """Let the app's event loop run until `condition` holds. For states reached by the loop
    alone (a worker pushing a dialog): it counts loop turns, which do not depend on load."""
    for _ in range(200):
        if condition():
            return
        await pilot.pause()
    raise AssertionError(f"never reached: {what}")


def row_of(app, key: str) -> int:
    from console.tui.widgets.services_table import ServicesTable

    return app.screen.query_one(ServicesTable).row_keys.index(key)
