"""A pooler in the allocation is on the dashboard with its server sessions and in the what-if
editor like a service (Pilot, the app from the CLI's factory)."""

from __future__ import annotations

import dataclasses

from console.core import allocation as alloc_mod
from console.core.settings import Settings
from console.core.snapshot import ActivityCount
from console.demo.sample import T0, incident_snapshot
from console.tui.app import make_app
from console.tui.feed import ReplayFeed
from console.tui.screens.whatif import WhatIfScreen
from tests.conftest import ALLOCATION
from tests.tui.conftest import row_of, settled

POOLER = """
poolers:
  pgbouncer:
    mode: transaction
    replicas: 2
    default_pool_size: 4
    pairs: 2
    match: {usename: bouncer}
"""


async def test_a_pooler_is_a_row_and_an_editable_line_of_the_budget():
    allocation = alloc_mod.parse(ALLOCATION.read_text() + POOLER, str(ALLOCATION))
    snap = incident_snapshot()
    snap = dataclasses.replace(
        snap, activity=snap.activity + (ActivityCount("auth-service", "idle", 7, "bouncer"),)
    )
    app = make_app(
        Settings(),
        allocation,
        ReplayFeed([snap]),
        target_label="app@db:5432/postgres",
        clock=lambda: T0 + 1,
        live_refresh=False,
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        a = app.assessment
        assert a.service("pgbouncer").server_connections == 7
        assert a.service("pgbouncer").allocated == 2 * 8
        row_of(app, "pgbouncer")  # on the dashboard
        await pilot.press("w")
        assert isinstance(app.screen, WhatIfScreen)
        w = app.whatif
        before = w.budget_after().allocated
        for _ in range(40):  # the what-if cursor down to the pooler's line
            if app.screen.selected() == "pgbouncer":
                break
            await pilot.press("down")
        assert app.screen.selected() == "pgbouncer"
        await pilot.press("plus")
        assert w.value(w.current, "pgbouncer", "max") == 9
        assert w.budget_after().allocated == before + 2  # × 2 instances
