"""Several servers in the console (Pilot, the app from the CLI's factory): a strip naming every
server, `[`/`]` to switch the dashboard between them, `v` for the list (the worst first, enter
opens one), and the what-if editor and export on the shown server's pools."""

from __future__ import annotations

import dataclasses

from console.core import allocation as alloc_mod
from console.core.findings import RuleId
from console.core.settings import Settings
from console.core.snapshot import (
    ActivityCount,
    Fleet,
    ServerInfo,
    Snapshot,
    SourceName,
    SourceStatus,
)
from console.demo.sample import T0, incident_snapshot
from console.tui.app import make_app
from console.tui.feed import ReplayFeed
from console.tui.screens.dashboard import DashboardScreen
from console.tui.screens.servers import ServersScreen
from console.tui.screens.whatif import WhatIfScreen
from console.tui.widgets.services_table import ServicesTable
from tests.tui.conftest import settled
from tests.unit.test_servers import THREE


def fleet(replica_max: int = 100) -> Fleet:
    primary = incident_snapshot()
    replica = Snapshot(
        taken_at=T0,
        sources={
            SourceName.POSTGRES: SourceStatus("ok", None, 2.0, T0),
            SourceName.PROMETHEUS: primary.source(SourceName.PROMETHEUS),
        },
        server=ServerInfo("15.18", 150018, replica_max, 3, 0, in_recovery=True),
        activity=(ActivityCount("feed-service", "idle", 5), ActivityCount("psql", "active", 1)),
        self_connections=1,
        wal_senders=0,
    )
    analytics = Snapshot(
        taken_at=T0,
        sources={SourceName.POSTGRES: SourceStatus("unreachable", "connection refused")},
    )
    return Fleet(T0, {"primary": primary, "replica-1": replica, "analytics": analytics})


def servers_app(snapshots, **settings):
    allocation = alloc_mod.parse(THREE, "/etc/novapool/allocation.yaml")
    return make_app(
        Settings(**settings),
        allocation,
        ReplayFeed(snapshots),
        target_label="app@db-1:5432/postgres",
        clock=lambda: T0 + 1,
        live_refresh=False,
    )


def shown_services(app) -> list[str]:
    return list(app.screen.query_one(ServicesTable).row_keys)


async def test_switching_servers_shows_each_servers_budget_and_sessions():
    app = servers_app([fleet()])
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        assert app.fleet.several and app.assessment.budget.available == 97
        strip = str(app.screen.query_one("#servers-strip").render())
        assert "▶primary" in strip and "replica-1" in strip and "analytics unreachable" in strip
        await pilot.press("right_square_bracket")
        assert app.server_name == "replica-1"
        a = app.assessment
        assert [r.name for r in a.services] == ["feed-service", "search-service"]
        assert a.service("feed-service").server_connections == 5
        # feed-service: 6 × 2 live replicas (its pods' gauges are on the primary), search 4,
        # novapool 1; of the replica's live 97
        assert (a.budget.allocated, a.budget.available) == (17, 97)
        assert "feed-service" in shown_services(app) and "auth-service" not in shown_services(app)
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.server_name == "analytics"
        assert any(f.rule == RuleId.SOURCE_UNREACHABLE for f in app.assessment.findings)


async def test_the_servers_list_puts_the_worst_first_and_enter_opens_it():
    app = servers_app([fleet(replica_max=80)])
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        await pilot.press("v")
        assert isinstance(app.screen, ServersScreen)
        table = app.screen.query_one("#servers")
        order = [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(3)]
        # replica-1 is below its primary (critical); analytics is unreachable (critical too,
        # fewer findings); primary has the demo incident's findings
        worst = {n: app.fleet.worst_of(n) for n in order}
        assert [w.rank for w in worst.values()] == sorted(
            (w.rank for w in worst.values()), reverse=True
        )
        below = [f for f in app.fleet.findings if f.rule == RuleId.STANDBY_SETTINGS_BELOW_PRIMARY]
        assert [f.server for f in below] == ["replica-1"]
        table.move_cursor(row=order.index("replica-1"))
        await pilot.press("enter")
        assert isinstance(app.screen, DashboardScreen) and app.server_name == "replica-1"
        assert any(f.rule == RuleId.STANDBY_SETTINGS_BELOW_PRIMARY for f in app.assessment.findings)


async def test_what_if_on_the_replica_edits_its_pools_and_export_writes_them(tmp_path):
    app = servers_app([fleet()])
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        await pilot.press("right_square_bracket", "w")
        assert isinstance(app.screen, WhatIfScreen)
        w = app.whatif
        primary_before = w.budget_after("primary").allocated
        replica_before = w.budget_after("replica-1").allocated
        assert app.screen.selected() == "feed-service"
        await pilot.press("plus")
        assert w.value(w.current, "feed-service@replica-1", "max") == 7
        replicas = app.fleet.server("primary").assessment.service("feed-service").replicas
        assert replicas == w.current.service("feed-service").replicas == 2  # live, not 3
        assert w.budget_after("replica-1").allocated == replica_before + replicas
        assert w.budget_after("primary").allocated == primary_before
        await pilot.press("e")
        out = app.screen.query_one("#out")
        out.value = str(tmp_path / "o")
        await pilot.press("enter")
        await settled(pilot)
        text = (tmp_path / "o" / "feed-service.env").read_text()
        assert text.endswith("# service: feed-service\nDB_READ_MAX_CONNECTIONS=7\n")
        assert "# budget on replica-1: allocated 19 of 97 available" in text
        assert not w.dirty


async def test_raising_the_primarys_max_connections_above_the_replicas_is_flagged():
    app = servers_app([fleet()])
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        await pilot.press("w")
        w = app.whatif
        w.apply("cluster", "max_connections", 150)
        app.screen.refresh_view()
        await pilot.pause()
        summary = str(app.screen.query_one("#summary").render())
        assert "replica-1: max_connections 100 is below its primary primary's 150" in summary


async def test_one_server_shows_no_strip():
    from tests.tui.conftest import build_app

    app = build_app([incident_snapshot()])
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        assert not app.screen.query_one("#servers-strip").display
        await pilot.press("right_square_bracket")
        assert app.server_name is None


async def test_the_primarys_header_shows_its_wal_senders_apart_from_clients():
    f = fleet()
    primary = dataclasses.replace(f.snapshots["primary"], wal_senders=1)
    app = servers_app([Fleet(T0, {**f.snapshots, "primary": primary})])
    async with app.run_test(size=(200, 40)) as pilot:
        await settled(pilot)
        header = str(app.screen.query_one("#header").render())
        assert "WAL senders 1" in header
        clients = sum(a.count for a in primary.activity) + primary.self_connections
        assert app.assessment.client_backends == clients  # the sender is not among them
        assert f"clients {clients}/" in header
