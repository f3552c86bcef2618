"""Behaviour by keys (Textual's Pilot): every key of the contract, and the console's promises
(never blocks, never breaks, asks before discarding edits)."""

from __future__ import annotations

import dataclasses

from console.core import export
from console.core.snapshot import ActivityCount, Backend
from console.demo.sample import incident_snapshot
from console.tui.screens.confirm import ConfirmScreen
from console.tui.screens.dashboard import DashboardScreen
from console.tui.screens.detail import ServiceDetailScreen
from console.tui.screens.edit_form import ServiceForm
from console.tui.screens.export_dialog import ExportDialog
from console.tui.screens.help import HelpScreen
from console.tui.screens.whatif import WhatIfScreen
from console.tui.widgets.services_table import ServicesTable
from tests.tui.conftest import HangingFeed, aged, build_app, row_of, settled, until


def table(app) -> ServicesTable:
    return app.screen.query_one(ServicesTable)


async def test_dashboard_shows_every_service_and_the_findings():
    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        t = table(app)
        assert t.row_count == 13  # 12 services + unattributed
        assert t.row_keys[-1] == "__unattributed__"
        findings = app.screen.query_one("#findings")
        assert findings.row_count == len(app.assessment.findings) > 5


async def test_filter_and_sort():
    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("slash", "f", "e", "e", "d")
        await pilot.pause()
        assert table(app).row_keys == ("feed-service",)
        await pilot.press("escape")
        await pilot.pause()
        assert table(app).row_count == 13
        # the worst first by default: critical services, the most findings first, then names
        a = app.assessment
        by = {}
        for f in a.findings:
            if f.service:
                by.setdefault(f.service, []).append(f.severity.rank)
        order = sorted(
            (r.name for r in a.services),
            key=lambda n: (-max(by.get(n, [-1])), -len(by.get(n, [])), n),
        )
        assert table(app).sort_name == "worst"
        assert list(table(app).row_keys) == [*order, "__unattributed__"]
        await pilot.press("s")  # by name
        await pilot.pause()
        assert table(app).sort_name == "name"
        assert list(table(app).row_keys) == [*sorted(order), "__unattributed__"]


async def test_a_click_on_a_column_header_sorts_by_it():
    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        services = table(app)
        x = services.column_x("busy") + 2
        await pilot.click("#services", offset=(x, 0))  # the header row, on "Busy"
        await pilot.pause()
        assert services.sort_name == "busy"
        busy = [app.assessment.service(k).busy_pct or -1 for k in services.row_keys[:-1]]
        assert busy == sorted(busy, reverse=True)


async def test_pause_refresh_and_coalescing():
    app = build_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        served = app.feed.served
        await pilot.press("space")
        assert app.paused
        app.tick()
        await pilot.pause()
        assert app.feed.served == served  # paused: ticks do nothing
        await pilot.press("r")  # refresh now still works
        await pilot.pause()
        assert app.feed.served == served + 1
        await pilot.press("space")
        await pilot.pause()
        assert not app.paused


async def test_r_asks_every_source_now_and_the_ticks_do_not():
    from console.tui.feed import ReplayFeed

    class AskedFeed(ReplayFeed):
        asked: list[bool]

        async def collect(self, every_source=False):
            self.asked.append(every_source)
            return await super().collect(every_source)

    feed = AskedFeed([incident_snapshot()])
    feed.asked = []
    app = build_app(feed=feed)
    async with app.run_test() as pilot:
        await until(pilot, lambda: feed.asked, "the first collection")
        assert set(feed.asked) == {False}  # a refresh: what is due
        await app.workers.wait_for_complete()
        await pilot.press("r")
        await until(pilot, lambda: feed.asked[-1], "a collection of every source")
        await app.workers.wait_for_complete()
        app.tick()
        await app.workers.wait_for_complete()
        assert feed.asked[-2:] == [True, False]


async def test_a_hanging_source_never_delays_keys():
    """Keys are handled while the source has not answered and never will: nothing waits on it.
    (How fast is a benchmark's business: bench/console_soak.py, not a timed test.)"""
    feed = HangingFeed()
    app = build_app(feed=feed)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert feed.calls == 1 and app.collecting
        for _ in range(5):
            app.tick()  # refreshes pile up: they coalesce
        assert feed.calls == 1 and app.coalesced_ticks == 5
        for i in range(10):
            await pilot.press("space")
            assert app.paused == (i % 2 == 0)  # handled, the source still hung
        assert not feed.never.is_set() and app.collecting
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_detail_and_help_and_back():
    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("s", "home", "enter")  # sorted by name: auth-service first
        await pilot.pause()
        assert isinstance(app.screen, ServiceDetailScreen)
        assert app.screen.service == "auth-service"
        assert app.screen.query_one("#pools").row_count == 3  # three instances
        assert app.screen.query_one("#backends").row_count == 1  # pid 6001
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_an_open_detail_asks_for_its_service_instances_and_closing_it_stops():
    """Prometheus adds the pools up; the detail's service alone is read one instance at a
    time (and its idle sessions), from the refresh after it opens until it closes."""
    from console.core.pools import totals_of
    from console.tui.feed import ReplayFeed

    class FocusFeed(ReplayFeed):
        asked: list[str | None]

        def focus(self, service):
            self.asked.append(service)

        def unfocus(self):
            self.asked.append("(closed)")

    snap = incident_snapshot()
    added_up = dataclasses.replace(snap, pools=(), pool_totals=totals_of(snap.pools))
    feed = FocusFeed([added_up])
    feed.asked = []
    app = build_app(feed=feed)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("s", "home", "enter")  # sorted by name: auth-service first
        await pilot.pause()
        assert isinstance(app.screen, ServiceDetailScreen)
        assert feed.asked == ["auth-service"]
        pools = app.screen.query_one("#pools")
        assert "3 instance(s), added up" in str(pools.get_row_at(0)[0])
        await pilot.press("enter")  # a backend's query over the detail: not shown, not read
        await pilot.pause()
        assert feed.asked == ["auth-service", "(closed)"]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ServiceDetailScreen)
        assert feed.asked == ["auth-service", "(closed)", "auth-service"]
        await pilot.press("escape")
        await pilot.pause()
        assert feed.asked == ["auth-service", "(closed)", "auth-service", "(closed)"]
        table(app).move_cursor(row=row_of(app, "__unattributed__"))
        await pilot.press("enter")  # the unattributed sessions: their idle ones are read too
        await pilot.pause()
        assert feed.asked[-1] is None


async def test_one_detail_screen_is_retargeted_and_shows_nothing_of_the_last_service():
    """Enter opens the same detail screen pointed at the new service: its tables, history and
    query hold the new one only; a history answer for the old one that arrives late is
    dropped."""
    import asyncio

    from console.tui.feed import ReplayFeed

    class SlowHistoryFeed(ReplayFeed):
        has_history = True
        auth_released = asyncio.Event()

        async def history(self, service, seconds=3600):
            if service == "auth-service":
                await self.auth_released.wait()  # answers after the detail moved on
                return [99.0, 99.0]
            return [1.0, 2.0, 3.0]

    feed = SlowHistoryFeed([incident_snapshot()])
    app = build_app(feed=feed)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("s", "home", "enter")  # sorted by name: auth-service first
        await pilot.pause()
        first = app.screen
        assert isinstance(first, ServiceDetailScreen) and first.service == "auth-service"
        assert first.query_one("#pools").row_count == 3
        await pilot.press("escape")
        table(app).move_cursor(row=row_of(app, "user-service"))
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.remote_history is not None, "user's history")
        assert app.screen is first and first.service == "user-service"
        pids = {b.pid for b in app.assessment.backends_of("user-service")}
        shown = first.query_one("#backends")
        assert {int(shown.get_row_at(i)[0].plain) for i in range(shown.row_count)} == pids
        feed.auth_released.set()
        await settled(pilot)
        history = first.query_one("#h-in-use")
        assert history.values == [1.0, 2.0, 3.0] and "Prometheus" in history.label
        await pilot.press("escape")
        table(app).move_cursor(row=row_of(app, "__unattributed__"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is first and first.service is None
        assert not first.query_one("#pools").display and not first.query_one("#history").display
        unattributed = {b.pid for b in app.assessment.backends_of(None)}
        shown = first.query_one("#backends")
        assert {int(shown.get_row_at(i)[0].plain) for i in range(shown.row_count)} == unattributed


async def test_hostile_strings_render_literally():
    hostile = "[bold red]boom[/] [@click=app.quit] \x1b[31mred\x1b[0m [link=x]"
    snap = incident_snapshot()
    snap = dataclasses.replace(
        snap,
        activity=snap.activity + (ActivityCount(hostile, "idle", 7),),
        backends=snap.backends
        + (
            Backend(
                9999,
                hostile,
                hostile,
                None,
                "idle",
                1.0,
                None,
                None,
                1.0,
                None,
                None,
                None,
                (),
                hostile,
            ),
        ),
    )
    app = build_app([snap])
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        findings = [f.message for f in app.assessment.findings if f.rule == "unknown-application"]
        assert "[@click=app.quit]" in findings[0]
        table(app).move_cursor(row=row_of(app, "__unattributed__"))
        await pilot.press("enter")  # the unattributed detail
        await pilot.pause()
        assert isinstance(app.screen, ServiceDetailScreen) and app.screen.service is None
        screen_text = app.export_screenshot()
        assert "[@click=app.quit]" in screen_text  # shown, not interpreted
        assert "\\x1b[31mred" in screen_text  # escape made visible
        assert "\x1b[31mred" not in screen_text
        assert app.is_running


async def test_signal_needs_the_flag_and_a_confirmation():
    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("enter", "c")
        await pilot.pause()
        assert isinstance(app.screen, ServiceDetailScreen)  # refused: no --allow-signal
        assert app.feed.signals == []
    app = build_app(allow_signal=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("s", "home", "enter", "k")  # sorted by name: auth-service first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "pid 6001" in app.screen.question.plain
        assert "SELECT count(*)" in app.screen.question.plain
        await pilot.press("n")
        assert app.feed.signals == []
        await pilot.press("c", "y")
        await pilot.pause()
        assert app.feed.signals == [(6001, False)]


async def test_quit_asks_only_when_edits_are_unexported():
    app = build_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0

    app = build_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("w", "plus", "escape", "q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.is_running and len(app.whatif.edits) == 1
        await pilot.press("q", "y")
        await pilot.pause()
    assert app.return_value == 0


async def test_whatif_edit_undo_invalid_and_overcommit():
    app = build_app([incident_snapshot()])
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("w")
        assert isinstance(app.screen, WhatIfScreen)
        w = app.whatif
        # live replicas (auth-service ×3 from metrics) are in the copy being edited
        assert w.value(w.current, "auth-service", "replicas") == 3
        before = w.budget_after().allocated
        await pilot.press("plus", "plus")
        assert w.value(w.current, "auth-service", "max") == 14
        assert w.budget_after().allocated == before + 6  # 2 × 3 replicas
        await pilot.press("u")
        assert w.value(w.current, "auth-service", "max") == 13
        await pilot.press("enter")  # the form
        assert isinstance(app.screen, ServiceForm)
        await pilot.press("0", "enter")  # max 0: refused inline
        assert isinstance(app.screen, ServiceForm)
        assert "must be ≥ 1" in str(app.screen.query_one("#error").render())
        await pilot.press("escape")
        assert w.value(w.current, "auth-service", "max") == 13  # nothing applied
        summary = str(app.screen.query_one("#summary").render())
        assert "OVERCOMMITTED" in summary  # 3 × 13 pushes it over


async def test_whatif_export_writes_exactly_the_edits(tmp_path):
    app = build_app([incident_snapshot()])
    out = tmp_path / "ov"
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        await pilot.press("w", "down", "minus", "minus")  # user-service 12 → 10
        await pilot.press("down", "enter")  # content-service form
        await pilot.press("tab", "ctrl+u", "2", "tab", "tab", "tab", "ctrl+u")
        await pilot.press(*"900", "enter")  # min 2, acquire 900
        await pilot.pause()
        assert app.whatif.value(app.whatif.current, "content-service", "min") == 2
        # The incident fleet runs auth-service ×3 live: the edited budget is over, so writing
        # it must ask first (pinned: the test knows which path it takes).
        assert app.whatif.budget_after().overcommitted
        await pilot.press("e")
        assert isinstance(app.screen, ExportDialog)
        inp = app.screen.query_one("#out")
        inp.value = str(out)
        await pilot.pause()
        preview = str(app.screen.query_one("#preview").render())
        assert "user-service.env" in preview and "DB_MAX_CONNECTIONS=10" in preview
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the overcommit question")
        assert "overcommitted" in app.screen.question.plain
        await pilot.press("y")
        await settled(pilot)  # the write worker is done
        assert not isinstance(app.screen, ExportDialog)
        assert not app.whatif.dirty
    files = {p.name: export.parse_env(p.read_text()) for p in out.iterdir()}
    assert files == {
        "user-service.env": {"DB_MAX_CONNECTIONS": "10"},
        "content-service.env": {"DB_MIN_CONNECTIONS": "2", "DB_ACQUIRE_TIMEOUT_SECS": "900"},
    }


async def test_suggest_from_history_is_undoable_one_by_one():
    app = build_app([incident_snapshot()])
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("w", "g")
        await pilot.pause()
        from console.tui.screens.suggest_dialog import SuggestDialog

        assert isinstance(app.screen, SuggestDialog)
        await pilot.press("enter")  # this session's history, margin 25 %
        await settled(pilot)
        w = app.whatif
        n = len(w.edits)
        assert n > 0
        assert w.budget_after().allocated <= w.budget_after().available  # fits
        await pilot.press("u")
        assert len(w.edits) == n - 1


async def test_palette_commands_are_novapools_and_quit_is_guarded():
    from console.tui.screens.whatif import WhatIfScreen

    app = build_app()
    async with app.run_test() as pilot:
        await settled(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {
            "Help",
            "Pause / resume",
            "Refresh now",
            "What-if editor",
            "Export overrides",
            "Quit",
        } <= set(commands)
        commands["What-if editor"].callback()
        await pilot.pause()
        assert isinstance(app.screen, WhatIfScreen)
        await pilot.press("plus", "escape")
        await app.run_action("quit")  # the palette's Quit: same guard as q
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        assert "1 what-if edit" in app.screen.question.plain
        await pilot.press("n")


async def test_cursor_and_edits_survive_refreshes_and_a_dropped_source():
    from console.core.snapshot import UNREACHABLE, SourceStatus

    good = incident_snapshot()
    down = dataclasses.replace(
        good,
        taken_at=good.taken_at + 2,
        server=None,
        activity=(),
        backends=(),
        sources={
            **good.sources,
            "postgres": SourceStatus(UNREACHABLE, "connection refused", None, good.taken_at),
        },
    )
    app = build_app([good, good, down, good])
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("s", "home", "down", "down", "down")  # sorted by name
        assert table(app).selected_service() == "events-service"
        await pilot.press("r")
        await pilot.pause()
        assert table(app).cursor_row == 3  # updated in place
        await pilot.press("w", "plus", "escape")
        await pilot.press("r")  # the server drops
        await pilot.pause()
        assert app.assessment.snapshot.source("postgres").status == "unreachable"
        assert "unreachable" in str(app.screen.query_one("#header").render())
        assert len(app.whatif.edits) == 1  # edits kept
        await pilot.press("r")  # and comes back
        await pilot.pause()
        assert len(app.whatif.edits) == 1
        assert table(app).selected_service() == "events-service"


async def test_readable_without_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.no_color
        text = app.export_screenshot()
        for word in ("CRIT", "WARN", "OVERCOMMITTED", "info"):
            assert word in text  # states are written out
        from console.core.findings import CRITICAL, WARNING
        from console.tui.text import severity

        # without colour, critical is still the loudest: reverse video, bold (colours dropped,
        # attributes kept); a warning is bold only
        crit, warn = severity(CRITICAL).style, severity(WARNING).style
        assert "reverse" in str(crit) and "bold" in str(crit) and "reverse" not in str(warn)


async def test_pause_freezes_a_collection_already_in_flight():
    import asyncio

    from console.demo.sample import calm_snapshot
    from console.tui.feed import ReplayFeed

    class GatedFeed(ReplayFeed):
        gate: asyncio.Event

        async def collect(self, every_source=False):
            await self.gate.wait()
            return await super().collect(every_source)

    feed = GatedFeed([incident_snapshot(), calm_snapshot()])
    feed.gate = asyncio.Event()
    app = build_app(feed=feed)
    async with app.run_test() as pilot:
        feed.gate.set()
        await pilot.pause()
        first = app.assessment
        feed.gate.clear()
        app.tick()  # a collection starts, then we pause
        await pilot.press("space")
        feed.gate.set()
        await pilot.pause()
        await pilot.pause()
        assert app.assessment is first  # the screen stayed frozen
        await pilot.press("r")  # an explicit refresh still applies
        await pilot.pause()
        await pilot.pause()
        assert app.assessment is not first


async def test_backend_cursor_follows_the_pid_across_refreshes():
    snap = incident_snapshot()
    reordered = dataclasses.replace(snap, backends=tuple(reversed(snap.backends)))
    app = build_app([snap, snap, reordered], allow_signal=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.screen.query_one(ServicesTable).move_cursor(
            row=table(app).row_keys.index("user-service")
        )
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("down")  # the second user-service backend
        chosen = app.screen.selected_backend().pid
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("r")  # now listed in the other order
        await pilot.pause()
        assert app.screen.selected_backend().pid == chosen
        await pilot.press("k", "y")
        await settled(pilot)
        assert app.feed.signals == [(chosen, True)]


async def test_keys_typed_right_after_slash_all_go_to_the_filter():
    """`/sql` and `/feed` typed in one burst each (no pause between keys, as a fast typist
    over SSH): the filter gets every character; nothing sorts, nothing quits."""
    from textual import events

    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        sort = table(app).sort_name
        for char in "/sql":
            app.post_message(events.Key("slash" if char == "/" else char, char))
        await pilot.pause()
        assert app.is_running and table(app).sort_name == sort
        assert app.screen.query_one("#filter").value == "sql"
        await pilot.press("escape")
        for char in "/feed":
            app.post_message(events.Key("slash" if char == "/" else char, char))
        await pilot.pause()
        assert app.screen.query_one("#filter").value == "feed"
        assert table(app).row_keys == ("feed-service",)


async def test_cancel_on_an_idle_session_says_it_has_no_effect_and_signals_are_logged(isolated):
    """pg_cancel_backend does nothing to a backend idle in transaction: no "sent", no question;
    k terminates it, after the question, and the log says who signalled what."""
    import os

    from console.core import logs

    path = logs.setup()
    app = build_app(allow_signal=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        table(app).move_cursor(row=row_of(app, "feed-service"))
        await pilot.press("enter")
        assert app.screen.selected_backend().pid == 4242  # idle in transaction for 412 s
        await pilot.press("c")
        assert isinstance(app.screen, ServiceDetailScreen) and app.feed.signals == []
        await pilot.press("k")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settled(pilot)
        assert app.feed.signals == [(4242, True)]
    text = path.read_text()
    assert f"pid {os.getpid()}" in text
    assert "terminate pid 4242 of feed-service ('feed-service', idle in transaction" in text
    assert "sent" in text and "UPDATE feed_items" in text


async def test_the_footer_offers_c_and_k_only_with_allow_signal():
    for allowed in (False, True):
        app = build_app(allow_signal=allowed)
        async with app.run_test(size=(160, 48)) as pilot:
            await settled(pilot)
            await pilot.press("enter")
            shown = {key for key, active in app.screen.active_bindings.items() if active.enabled}
            assert ({"c", "k"} <= shown) is allowed


async def test_q_quits_from_help_too():
    app = build_app()
    async with app.run_test() as pilot:
        await settled(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0 and not app.is_running


async def test_the_findings_columns_follow_the_terminal_width():
    from console.tui.widgets.findings_panel import FindingsPanel

    app = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot)
        panel = app.screen.query_one(FindingsPanel)
        rows = panel.row_count
        narrow = {c.key: c.width for c in panel.columns}
        await pilot.resize_terminal(200, 50)
        await settled(pilot)
        wide = {c.key: c.width for c in panel.columns}
        # 80 columns: severity and one line (rule, service and message in it)
        assert set(narrow) == {"sev", "message"} and narrow["message"] >= 60
        assert wide["rule"] >= len("allocation-library-default")
        assert wide["message"] > 100
        assert panel.row_count == rows  # the same findings, laid out again
        await pilot.resize_terminal(80, 24)
        await settled(pilot)
        assert {c.key: c.width for c in panel.columns} == narrow


async def test_the_what_if_before_and_after_bars_share_one_scale():
    """The same min floor and the same available slots sit in the same column in both bars."""
    from console.tui.widgets.budget_bar import BudgetBar

    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        await pilot.press("w", "down", *["plus"] * 10)  # user-service 12 → 22: after grows
        before, after = (
            str(app.screen.query_one(f"#{b}", BudgetBar).render()).splitlines()[2]
            for b in ("before", "after")
        )
        assert app.whatif.budget_after().allocated > app.whatif.budget_before().allocated
        assert before.index("┃") == after.index("┃") and before.index("△") == after.index("△")


async def test_after_filtering_enter_opens_what_is_shown():
    """/user, enter (apply), enter (open): the user-service detail, never a hidden row."""
    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        table(app).move_cursor(row=row_of(app, "__unattributed__"))
        await pilot.press("slash", *"user", "enter")
        assert table(app).row_keys == ("user-service",)
        await pilot.press("enter")
        await settled(pilot)
        assert isinstance(app.screen, ServiceDetailScreen) and app.screen.service == "user-service"
        await pilot.press("escape", "slash", *"unattr", "enter")
        assert table(app).row_keys == ("__unattributed__",)


async def test_home_and_end_move_to_the_first_and_last_service():
    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        await pilot.press("end")
        assert table(app).selected_key() == table(app).row_keys[-1]
        await pilot.press("home")
        assert table(app).cursor_row == 0


async def test_enter_on_the_format_choice_picks_it_and_writes(tmp_path):
    from textual.widgets import RadioSet

    from console.tui.screens.confirm import ConfirmScreen as Confirm

    app = build_app([incident_snapshot()])
    out = tmp_path / "one.yaml"
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        await pilot.press("w", "down", "minus", "e")  # user-service 12 → 11, then export
        assert app.whatif.budget_after().overcommitted  # so writing asks first (pinned)
        assert isinstance(app.screen, ExportDialog)
        app.screen.query_one("#out").value = str(out)
        app.screen.query_one(RadioSet).focus()
        await pilot.press("right", "enter")  # highlight yaml, enter: pick it and write
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the overcommit question")
        await pilot.press("y")
        await settled(pilot)
        assert not isinstance(app.screen, ExportDialog)
    text = out.read_text()  # the yaml format, as picked
    assert "user-service:" in text and "DB_MAX_CONNECTIONS: '11'" in text


async def test_a_click_selects_a_row_and_a_second_click_opens_it():
    from console.tui.screens.detail import ServiceDetailScreen

    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        services = table(app)
        target = services.row_keys[2]
        await pilot.click("#services", offset=(3, 3))  # header row 0, then rows 1, 2, 3
        await pilot.pause()
        assert services.selected_key() == target and not isinstance(app.screen, ServiceDetailScreen)
        await pilot.click("#services", offset=(3, 3))
        await pilot.pause()
        assert isinstance(app.screen, ServiceDetailScreen) and app.screen.service == target


async def test_plus_and_minus_change_the_refresh_rate_at_run_time():
    from console.core.allocation import load as load_allocation
    from console.core.settings import Settings
    from console.demo.sample import T0, incident_snapshot
    from console.tui.app import make_app
    from console.tui.feed import ReplayFeed
    from tests.conftest import ALLOCATION

    app = make_app(
        Settings(),
        load_allocation(ALLOCATION),
        ReplayFeed([incident_snapshot()]),
        target_label="x",
        clock=lambda: T0 + 1,
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.refresh_s == 2.0 and app.refresh_timer is not None
        await pilot.press("minus")
        assert app.refresh_s == 5.0
        assert "refresh 5s" in str(app.screen.query_one("#header").render())
        await pilot.press("plus", "plus", "plus", "plus")
        assert app.refresh_s == 0.5  # the fastest step, and no faster
        await pilot.press("w", "plus")  # in the what-if editor + is the max's, not the rate's
        assert app.refresh_s == 0.5 and len(app.whatif.edits) == 1


async def test_one_number_each_max_fill_clients_and_the_data_age():
    """Max is the max the pools run with (Fill is of it), marked when it is not the
    allocation's; the header's clients name the console's own session; paused, the header
    gives the data's one age."""
    from console.tui.widgets.services_table import ServicesTable, max_cell

    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        row = app.assessment.service("user-service")
        assert (row.allocated_max, row.pool_max_reported) == (12, 20)
        assert str(max_cell(row)) == "20!" and row.fill_pct == 100.0  # 20 of 20, not of 12
        cell = app.screen.query_one(ServicesTable).get_cell("user-service", "max")
        assert str(cell) == "20!"
        header = str(app.screen.query_one("#header").render())
        total = sum(r.server_connections or 0 for r in app.assessment.services)
        total += app.assessment.unattributed.server_connections or 0
        assert f"clients {total + 1}/97" in header and "this console's 1" in header
        await pilot.press("space")
        header = str(app.screen.query_one("#header").render())
        assert "PAUSED, data 1s old" in header and header.count(" old") == 1


async def test_the_export_dialog_fits_80x24_with_many_files():
    app = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("w")
        names = [s.name for s in app.allocation.services][:10]
        for name in names:
            app.whatif.apply(name, "min", 0)
        await pilot.press("e")
        await pilot.pause()
        preview = str(app.screen.query_one("#preview").render())
        assert "… 6 more file(s)" in preview and "… 6 more service(s)" in preview
        for button in app.screen.query("Button"):
            region = button.region
            assert region.height > 0 and region.bottom <= 24, button.id  # on screen
        await pilot.press("tab")  # from the path to the buttons: each focusable one is shown
        assert app.focused is not None and app.focused.region.bottom <= 24


async def test_a_refresh_redraws_only_what_changed():
    """Findings whose ages moved keep their rows (their messages are updated in place); a
    service row whose figures did not move is not rendered again."""
    from console.demo.sample import incident_snapshot
    from console.tui.widgets.findings_panel import FindingsPanel
    from console.tui.widgets.services_table import ServicesTable

    first = incident_snapshot()
    older = aged(first)
    app = build_app([first, older, older])
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        panel = app.screen.query_one(FindingsPanel)
        services = app.screen.query_one(ServicesTable)
        for y in range(panel.size.height):  # every line drawn (and cached) once
            panel.render_line(y)
        drawn = panel.rendered_rows
        before = [str(panel.get_row_at(i)[3]) for i in range(panel.row_count)]
        app.action_refresh_now()
        await settled(pilot)
        after = [str(panel.get_row_at(i)[3]) for i in range(panel.row_count)]
        moved = sum(a != b for a, b in zip(before, after, strict=True))
        assert 0 < moved < len(after)  # ages moved in some findings, not in all
        for y in range(panel.size.height):
            panel.render_line(y)
        assert panel.rendered_rows - drawn <= moved  # only those rows rendered again
        assert any("idle in transaction for 414 s" in m for m in after)
        for y in range(services.size.height):  # every line drawn (and cached) once
            services.render_line(y)
        rendered = services.rendered_rows
        app.action_refresh_now()  # the same snapshot again
        await settled(pilot)
        for y in range(services.size.height):
            services.render_line(y)
        assert services.rendered_rows == rendered


async def test_the_footer_shows_the_keys_and_a_click_on_one_presses_it():
    from console.tui.widgets.keys_footer import KeysFooter

    app = build_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeysFooter)
        shown = str(footer.render())
        assert " / Filter " in shown and " ? Help " in shown and shown.rstrip().endswith("palette")
        (start,) = [s for s, _, key in footer._keys if key == "question_mark"]
        await pilot.click(KeysFooter, offset=(start + 1, 0))
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
