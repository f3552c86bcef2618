"""End to end: the console against a real PostgreSQL, through a restart of the server."""

from __future__ import annotations

import asyncio
import time

from console.core.allocation import load as load_allocation
from console.core.settings import Settings
from console.demo.pgserver import LocalPostgres
from console.tui.app import make_app
from console.tui.widgets.services_table import ServicesTable
from tests.conftest import ALLOCATION
from tests.live.conftest import sessions


async def wait_until(pilot, predicate, timeout: float = 180) -> None:
    """Wait for the console's own refreshes to reach a state; the timeout only stops a hang."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await pilot.pause(0.2)


async def test_console_against_a_real_server_survives_its_restart():
    pg = LocalPostgres().start()
    try:
        settings = Settings(dsn=pg.dsn, refresh_s=0.5, connect_timeout_s=2)
        app = make_app(settings, load_allocation(ALLOCATION))  # the CLI's own wiring
        async with sessions(pg.dsn, {"auth-service": 3, "weird [/] app": 1}):
            async with app.run_test(size=(160, 48)) as pilot:
                await wait_until(
                    pilot,
                    lambda: (
                        app.assessment is not None and app.assessment.snapshot.server is not None
                    ),
                )
                await wait_until(
                    pilot, lambda: app.assessment.service("auth-service").server_connections == 3
                )
                assert app.screen.query_one(ServicesTable).row_count == 13
                assert app.assessment.unattributed.applications == ("weird [/] app",)

                pg.pause()  # the server goes away
                await wait_until(
                    pilot,
                    lambda: app.assessment.snapshot.source("postgres").status == "unreachable",
                )
                # the screen shows an assessment when it handles its message, after the app
                # has it: wait for the header too (asserting it at once raced that message)
                header = app.screen.query_one("#header")
                await wait_until(pilot, lambda: "unreachable" in str(header.render()))
                assert app.is_running

                await asyncio.to_thread(pg.resume)  # and comes back
                await wait_until(
                    pilot, lambda: app.assessment.snapshot.source("postgres").status == "ok"
                )
                await pilot.press("q")
                await pilot.pause()
        assert app.return_value == 0
    finally:
        pg.stop()
