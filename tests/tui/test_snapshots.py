"""How each screen looks, at 80×24 and 160×48, from deterministic snapshots."""

import pytest

from console.core.snapshot import UNREACHABLE, SourceStatus
from console.demo.sample import incident_snapshot
from console.tui.widgets.services_table import UNATTRIBUTED, ServicesTable
from tests.tui.conftest import build_app, row_of

SIZES = [(80, 24), (160, 48)]
ids = [f"{w}x{h}" for w, h in SIZES]


@pytest.mark.parametrize("size", SIZES, ids=ids)
class TestDashboard:
    def test_incident(self, snap_compare, size):
        assert snap_compare(build_app(), terminal_size=size)

    def test_incident_without_colour(self, snap_compare, size, monkeypatch):
        monkeypatch.setenv("NO_COLOR", "1")  # read when the app is made
        assert snap_compare(build_app(), terminal_size=size)

    def test_calm(self, snap_compare, calm_app, size):
        assert snap_compare(calm_app, terminal_size=size)

    def test_prometheus_down_keeps_last_data_marked(self, snap_compare, size):
        snap = incident_snapshot()
        sources = dict(snap.sources)
        sources["prometheus"] = SourceStatus(
            UNREACHABLE, "connection refused", None, snap.taken_at - 42, retry_in_s=8
        )
        import dataclasses

        assert snap_compare(
            build_app([dataclasses.replace(snap, sources=sources)]), terminal_size=size
        )


@pytest.mark.parametrize("size", SIZES, ids=ids)
class TestScreens:
    def test_service_detail(self, snap_compare, size):
        assert snap_compare(build_app(), press=["enter"], terminal_size=size)

    def test_unattributed_detail(self, snap_compare, size):
        async def open_unattributed(pilot):
            await pilot.pause()
            pilot.app.screen.query_one(ServicesTable).move_cursor(
                row=row_of(pilot.app, UNATTRIBUTED)
            )
            await pilot.press("enter")

        assert snap_compare(build_app(), run_before=open_unattributed, terminal_size=size)

    def test_help(self, snap_compare, size):
        assert snap_compare(build_app(), press=["question_mark"], terminal_size=size)

    def test_whatif_after_edits(self, snap_compare, size):
        assert snap_compare(
            build_app(), press=["w", "down", "plus", "plus", "down", "minus"], terminal_size=size
        )

    def test_export_dialog(self, snap_compare, size):
        assert snap_compare(build_app(), press=["w", "down", "plus", "e"], terminal_size=size)

    def test_edit_form_refuses_invalid_input(self, snap_compare, size):
        assert snap_compare(build_app(), press=["w", "enter", "0", "enter"], terminal_size=size)

    def test_suggest_dialog(self, snap_compare, size):
        assert snap_compare(build_app(), press=["w", "g"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=ids)
class TestServers:
    """Three servers: a primary, its standby (below the primary's max_connections), and a
    cluster that does not answer."""

    def test_dashboard_on_the_standby(self, snap_compare, size):
        from tests.tui.test_servers_tui import fleet, servers_app

        app = servers_app([fleet(replica_max=80)])
        assert snap_compare(app, press=["right_square_bracket"], terminal_size=size)

    def test_servers_list(self, snap_compare, size):
        from tests.tui.test_servers_tui import fleet, servers_app

        app = servers_app([fleet(replica_max=80)])
        assert snap_compare(app, press=["v"], terminal_size=size)


MORE_SIZES = [(120, 40), (200, 50)]


@pytest.mark.parametrize("size", MORE_SIZES, ids=[f"{w}x{h}" for w, h in MORE_SIZES])
class TestIncidentSizes:
    """The incident at the other sizes an on-call engineer has: the dashboard, the blocking
    view and the export dialog."""

    def test_dashboard(self, snap_compare, size):
        assert snap_compare(build_app(), terminal_size=size)

    def test_blocking_view(self, snap_compare, size):
        assert snap_compare(build_app(), press=["b"], terminal_size=size)

    def test_export_dialog(self, snap_compare, size):
        assert snap_compare(build_app(), press=["w", "down", "plus", "e"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_blocking_view(snap_compare, size):
    assert snap_compare(build_app(), press=["b"], terminal_size=size)
