"""Blockers first (Pilot, the CLI's factory): the lock holder's finding, Enter on it lands on
the holder's pid in its service's detail, and `b` shows the blocking tree."""

from __future__ import annotations

import dataclasses

from console.core.findings import RuleId
from console.demo.sample import incident_snapshot
from console.tui.screens.blocking import BlockingScreen
from console.tui.screens.detail import ServiceDetailScreen
from console.tui.widgets.findings_panel import FindingsPanel
from tests.tui.conftest import build_app, settled
from tests.unit.test_locks import PILE_UP


def pile_up_app():
    return build_app([dataclasses.replace(incident_snapshot(), backends=PILE_UP)])


async def test_enter_on_the_holders_finding_lands_on_its_pid():
    app = pile_up_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        findings = app.assessment.findings
        holder = next(i for i, f in enumerate(findings) if f.rule == RuleId.LOCK_HOLDER)
        assert findings[holder].pids == (100,)
        await pilot.press("tab")
        panel = app.screen.query_one(FindingsPanel)
        assert app.focused is panel and panel.show_cursor
        panel.move_cursor(row=holder)
        await pilot.press("enter")
        assert isinstance(app.screen, ServiceDetailScreen)
        assert app.screen.service == "content-service"
        assert app.screen.selected_backend().pid == 100


async def test_the_blocking_view_puts_the_holder_above_its_waiters():
    app = pile_up_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        await pilot.press("b")
        assert isinstance(app.screen, BlockingScreen)
        table = app.screen.query_one("#blocking")
        first = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert first == ["▶ 100", "└ 101", "  └ 102", "└ 102"]
        assert "blocks 2" in str(table.get_row_at(0)[3])
        table.move_cursor(row=1)
        await pilot.press("enter")
        assert isinstance(app.screen, ServiceDetailScreen)
        assert app.screen.service == "events-service"
        assert app.screen.selected_backend().pid == 101


async def test_the_detail_shows_the_whole_query_and_what_blocks_it_wrapped():
    from console.tui.screens.detail import QueryScreen

    long_query = "SELECT " + ", ".join(f"column_{i}" for i in range(60)) + " FROM orders"
    rows = tuple(dataclasses.replace(b, query=long_query) if b.pid == 101 else b for b in PILE_UP)
    app = build_app([dataclasses.replace(incident_snapshot(), backends=rows)])
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot)
        app.open_detail("events-service", 101)
        await pilot.pause()
        pane = str(app.screen.query_one("#query").render())
        assert "pid 101" in pane and "blocked by 100" in pane
        assert "column_59 FROM orders" in pane  # all of it, wrapped at 80 columns
        await pilot.press("enter")
        assert isinstance(app.screen, QueryScreen)
        assert "column_59 FROM orders" in str(app.screen.text)
        await pilot.press("escape")
        assert isinstance(app.screen, ServiceDetailScreen)


async def test_the_detail_shows_the_tree_its_service_is_in():
    app = pile_up_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        app.open_detail("notification-service")
        await pilot.pause()
        locks = str(app.screen.query_one("#locks").render())
        assert locks.splitlines() == [
            "▶ pid 100 content-service idle in transaction, holds 80s, blocks 2",
            "└ pid 101 events-service waits 70s",
            "  └ pid 102 notification-service waits 12s",
            "└ pid 102 notification-service waits 12s",
        ]
        await pilot.press("escape")
        app.open_detail("auth-service")  # in no tree: no lines
        await pilot.pause()
        assert not app.screen.query_one("#locks").display


async def test_a_detail_opened_from_the_blocking_view_over_a_detail_is_a_second_one():
    """The one detail screen is on the stack already (detail → b → enter): a second detail
    is opened over the blocking view, and the first is found as it was on the way back."""
    app = pile_up_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        app.open_detail("content-service", 100)
        await pilot.pause()
        first = app.screen
        assert isinstance(first, ServiceDetailScreen) and first.service == "content-service"
        await pilot.press("b")
        assert isinstance(app.screen, BlockingScreen)
        app.screen.query_one("#blocking").move_cursor(row=1)
        await pilot.press("enter")
        await pilot.pause()
        second = app.screen
        assert isinstance(second, ServiceDetailScreen) and second is not first
        assert second.service == "events-service" and second.selected_backend().pid == 101
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.screen is first and first.service == "content-service"
        assert first.selected_backend().pid == 100
