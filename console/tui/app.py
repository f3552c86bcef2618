"""The Textual console. `make_app` is the one factory: the CLI, the tests, the snapshot tests
and the screenshot script all build the app through it.

Data flows one way: feed (sources) → snapshot → assessment (budget, rows, findings) → screens.
All I/O runs in workers on the app's loop (asyncpg is async; Prometheus runs in a thread), so
keys never wait on a source; a tick that arrives while a collection is in flight is dropped
(coalesced), never queued.
"""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from console.core import assessment as assessment_mod
from console.core import fleet as fleet_mod
from console.core import logs
from console.core.allocation import Allocation
from console.core.history import History, window_seconds
from console.core.settings import Settings
from console.core.snapshot import Backend
from console.core.untrusted import clean
from console.core.whatif import WhatIf
from console.tui import keys
from console.tui.feed import CollectorFeed, Feed
from console.tui.messages import AssessmentUpdated
from console.tui.screens.confirm import ConfirmScreen
from console.tui.screens.dashboard import DashboardScreen
from console.tui.screens.detail import ServiceDetailScreen
from console.tui.screens.help import HelpScreen
from console.tui.text import duration, use_colour

log = logging.getLogger("novapool")


class NovapoolApp(App[int]):
    CSS_PATH = "novapool.tcss"
    TITLE = "novapool"
    BINDINGS = keys.bindings(keys.ANYWHERE)

    def __init__(
        self,
        settings: Settings,
        allocation: Allocation,
        feed: Feed,
        *,
        target_label: str = "",
        clock: Callable[[], float] = time.time,
        live_refresh: bool = True,
    ) -> None:
        super().__init__()
        use_colour(not self.no_color)
        self.settings = settings
        self.allocation = allocation
        self.feed = feed
        self.target_label = target_label
        self.clock = clock
        self.live_refresh = live_refresh
        self.assessment: assessment_mod.Assessment | None = None  # the shown server's
        self.fleet: fleet_mod.FleetAssessment | None = None  # every server's
        self.server_name: str | None = None  # the server shown; None: the first
        self.history = History()
        self.paused = False
        self.whatif = WhatIf(allocation)
        self.collecting = False
        self.collections = 0  # collections started
        self.coalesced_ticks = 0  # ticks that came while a collection was still running
        self.refresh_s = settings.refresh_s  # `+` / `-` change it at run time
        self.refresh_timer: Timer | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(DashboardScreen())
        if self.live_refresh:
            self.refresh_timer = self.set_interval(self.refresh_s, self.tick)
        self.tick()
        if not self.is_headless:
            try:  # a closed terminal (SSH drop) ends the app instead of leaving it spinning
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.terminal_gone)
            except (NotImplementedError, RuntimeError):
                pass

    def terminal_gone(self) -> None:
        """SIGHUP: the terminal is gone (SSH drop, tmux killed). A graceful exit may block
        forever writing to it, so a watchdog ends the process after HANGUP_EXIT_S whatever
        its threads are doing; the graceful exit is tried first."""
        log.warning(
            "terminal closed (SIGHUP): exiting; unexported what-if edits: %d",
            self.whatif.unexported,
        )
        threading.Thread(target=_exit_after, args=(HANGUP_EXIT_S,), daemon=True).start()
        self.exit(128 + signal.SIGHUP)

    async def on_unmount(self) -> None:
        # whether refreshes kept up (the bench reads it): a coalesced tick is a skipped refresh
        log.info(
            "novapool stopping: %d collections, %d ticks coalesced",
            self.collections,
            self.coalesced_ticks,
        )
        try:
            await asyncio.wait_for(self.feed.close(), timeout=3)
        except Exception:  # noqa: BLE001 - closing on the way out must not raise
            log.exception("closing the sources")

    # ---- refresh ---------------------------------------------------------------------------

    def tick(self, *, forced: bool = False) -> None:
        """Start a collection unless one is in flight (then this tick is coalesced away).
        While paused only a forced tick (`r`) collects."""
        if self.paused and not forced:
            return
        if self.collecting:
            self.coalesced_ticks += 1
            return
        self.collecting = True
        self.collections += 1
        self.collect(forced)

    @work(exit_on_error=False, group="collect")
    async def collect(self, forced: bool = False) -> None:
        try:
            snap = await self.feed.collect(every_source=forced)  # `r`: every source, now
        finally:
            self.collecting = False
        if self.paused and not forced:
            return  # paused while this collection was in flight: the screen stays frozen
        # Pure and over immutable data: assessed in a thread, so that keys are handled while
        # many servers are (tens of ms at 50 servers × 20 services).
        fa = await asyncio.to_thread(
            fleet_mod.assess, snap, self.allocation, self.settings.thresholds
        )
        if self.paused and not forced:
            return
        self.record(fa)

    def record(self, x: assessment_mod.Assessment | fleet_mod.FleetAssessment) -> None:
        """A new assessment: into the history and the what-if's live values, then to the
        active screen."""
        fa = x if isinstance(x, fleet_mod.FleetAssessment) else fleet_mod.FleetAssessment.single(x)
        self.fleet = fa
        self.assessment = self.shown(fa)
        self.history.add(fa.first)
        first = fa.first
        if first.allocation.observed and not self.whatif.edits:
            self.whatif.rebase(first.allocation)  # an observer edits what it last saw
        live = {r.name: r.replicas for r in first.services if r.replicas_source == "metrics"}
        self.whatif.set_live(
            {
                sa.name: assessment_mod.slots_for(sa.assessment.snapshot, sa.assessment.allocation)
                for sa in fa.servers
                if assessment_mod.slots_from(sa.assessment.snapshot) != "allocation"
            },
            live,
        )
        self.announce()

    def shown(self, fa: fleet_mod.FleetAssessment) -> assessment_mod.Assessment:
        """The shown server's assessment, with its findings and the fleet's about it."""
        sa = fa.server(self.server_name)
        if not fa.several:
            return sa.assessment
        return dataclasses.replace(sa.assessment, findings=fa.findings_of(sa.name))

    def show_server(self, name: str) -> None:
        """Show one server in the dashboard (its budget, services, backends and findings)."""
        self.server_name = name
        if self.fleet is not None:
            self.assessment = self.shown(self.fleet)
        self.announce()

    def announce(self) -> None:
        """Tell the active screen to show the latest assessment (screens beneath it catch up
        when they come back)."""
        if self.assessment is not None:
            self.screen.post_message(AssessmentUpdated(self.assessment))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            err = event.worker.error
            log.error("worker %s failed", event.worker.name, exc_info=err)
            self.notify(
                self.settings.mask(f"{event.worker.name} failed: {err}"),
                severity="error",
                markup=False,
            )

    # ---- actions ---------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.notify("paused: data is frozen" if self.paused else "resumed", markup=False)
        self.announce()
        self.tick()

    def action_refresh_now(self) -> None:
        self.tick(forced=True)

    def action_change_refresh(self, step: int) -> None:
        """The next slower (step 1) or faster (-1) refresh interval on REFRESH_STEPS."""
        now = self.refresh_s
        if step > 0:
            new = next((s for s in REFRESH_STEPS if s > now), REFRESH_STEPS[-1])
        else:
            new = next((s for s in reversed(REFRESH_STEPS) if s < now), REFRESH_STEPS[0])
        self.refresh_s = new
        if self.refresh_timer is not None:
            self.refresh_timer.stop()
            self.refresh_timer = self.set_interval(new, self.tick)
        self.feed.set_refresh(new)
        self.notify(f"refresh every {new:g} s", markup=False)
        self.announce()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.settings.thresholds))

    def action_servers(self) -> None:
        from console.tui.screens.servers import ServersScreen

        if isinstance(self.screen, ServersScreen):
            return
        if not self.is_screen_installed("servers"):
            # Made once: at 50 servers its table costs more to build than to refill.
            self.install_screen(ServersScreen(), name="servers")
        self.push_screen("servers")

    def action_switch_server(self, step: int) -> None:
        names = self.allocation.server_names()
        if len(names) < 2:
            self.notify("one server: nothing to switch to", markup=False)
            return
        now = names.index(self.server_name) if self.server_name in names else 0
        self.show_server(names[(now + step) % len(names)])

    def shown_label(self) -> str:
        """The header's target: the shown server, named, when there are several."""
        if not self.allocation.several_servers:
            return self.target_label
        names = self.allocation.server_names()
        name = self.server_name if self.server_name in names else names[0]
        srv = self.allocation.server(name)
        where = self.settings.server_target(name, first=name == names[0])
        role = srv.role + (f" of {srv.follows}" if srv.follows else "")
        return (
            f"{name} ({role}, {names.index(name) + 1}/{len(names)}) "
            f"{where.describe() if where.configured else 'no DSN'}"
        )

    def open_detail(self, service: str | None, pid: int | None = None) -> None:
        """A service's detail (None: the unattributed sessions), the cursor on `pid`. One
        detail screen is kept and retargeted (a new one only when it is already on the stack,
        e.g. opened again from the blocking view over it)."""
        if not self.is_screen_installed("detail"):
            self.install_screen(ServiceDetailScreen(), name="detail")
        detail = self.get_screen("detail", ServiceDetailScreen)
        if detail in self.screen_stack:
            detail = ServiceDetailScreen()
        detail.show_service(service, pid)
        self.push_screen(detail)

    def action_blocking(self) -> None:
        from console.tui.screens.blocking import BlockingScreen

        if not isinstance(self.screen, BlockingScreen):
            self.push_screen(BlockingScreen())

    def action_whatif(self) -> None:
        from console.tui.screens.whatif import WhatIfScreen

        if not isinstance(self.screen, WhatIfScreen):
            self.push_screen(WhatIfScreen())

    def action_export(self) -> None:
        from console.tui.screens.export_dialog import ExportDialog

        if not isinstance(self.screen, ExportDialog):
            self.push_screen(ExportDialog(self.whatif))

    async def action_quit(self) -> None:
        """Every way out (q, the palette's Quit, ctrl+q) asks first when edits are unexported."""
        if not self.whatif.dirty:
            self.exit(0)
            return
        n = self.whatif.unexported

        def answer(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        self.push_screen(
            ConfirmScreen(
                Text(f"{n} what-if edit(s) were never exported. Quit and discard them?"),
                yes="Discard and quit",
                no="Stay",
            ),
            answer,
        )

    async def fetch_history(self, service: str) -> list[float] | None:
        try:
            return await self.feed.history(service)
        except Exception as exc:  # noqa: BLE001 - history is optional; say so, don't crash
            log.warning("history for %s: %s", service, exc)
            return None

    async def fetch_peaks(self, window: str = "session") -> tuple[dict[str, float], str]:
        """Observed peak in-use per service: from Prometheus over `window` (a PromQL
        duration) when the feed can, else from the console's own history."""
        if self.feed.has_history and window != "session":
            try:
                got = await self.feed.peaks(window)
                if got and got.by_service:
                    return got.by_service, _coverage(window, got.covered_s)
            except Exception as exc:  # noqa: BLE001 - fall back to the session's history
                log.warning("peaks from Prometheus: %s", exc)
        peaks = {
            name: max(self.history.values(name), default=0.0) for name in self.history.services
        }
        return {k: v for k, v in peaks.items() if v}, "this session's history"

    @work(exit_on_error=False, group="signal")
    async def signal_backend(self, backend: Backend, service: str | None, terminate: bool) -> None:
        """pg_cancel_backend / pg_terminate_backend, after the user confirmed. Every signal
        sent is logged: who, what, to which backend, and the answer."""
        verb = "terminate" if terminate else "cancel"
        who = f"{getpass.getuser()} (pid {os.getpid()})"
        what = (
            f"{verb} pid {backend.pid} of {service or 'no service'} "
            f"({backend.application_name!r}, {backend.state}, query {clean(backend.query[:80])!r})"
        )
        log.warning("signal: %s asks to %s", who, what)
        ok = await self.feed.signal_backend(
            backend.pid, terminate, backend.backend_start, server=self.server_name
        )
        log.warning("signal: %s: %s", what, "sent" if ok else "refused")
        self.notify(
            f"{verb} pid {backend.pid}: "
            f"{'sent' if ok else 'not sent: that session has ended (or its pid was reused)'}",
            severity="information" if ok else "warning",
            markup=False,
        )
        self.action_refresh_now()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "Every key, colour and finding rule", self.action_help)
        yield SystemCommand(
            "Pause / resume", "Freeze or resume live refresh", self.action_toggle_pause
        )
        yield SystemCommand("Refresh now", "Collect from every source now", self.action_refresh_now)
        yield SystemCommand("What-if editor", "Re-balance the allocation", self.action_whatif)
        yield SystemCommand("Export overrides", "Write env-override files", self.action_export)
        yield SystemCommand(
            "Blocking view", "Lock holders and the sessions waiting on them", self.action_blocking
        )
        yield SystemCommand("Servers", "Every server, the worst first", self.action_servers)
        yield SystemCommand("Refresh faster", "The next shorter refresh interval (+)", self._faster)
        yield SystemCommand("Refresh slower", "The next longer refresh interval (-)", self._slower)

    def _faster(self) -> None:
        self.action_change_refresh(-1)

    def _slower(self) -> None:
        self.action_change_refresh(1)


def make_app(
    settings: Settings,
    allocation: Allocation,
    feed: Feed | None = None,
    *,
    target_label: str | None = None,
    clock: Callable[[], float] = time.time,
    live_refresh: bool = True,
) -> NovapoolApp:
    """The one factory: the CLI, the demo, the tests and the screenshot script use it."""
    if feed is None:
        from console.sources.collect import Collector

        feed = CollectorFeed(Collector(settings, allocation))
    assert feed is not None
    return NovapoolApp(
        settings,
        allocation,
        feed,
        target_label=settings.target.describe() if target_label is None else target_label,
        clock=clock,
        live_refresh=live_refresh,
    )


def _coverage(window: str, covered_s: float | None) -> str:
    """'Prometheus, max over 7d', saying how much of it the data covers when that is short:
    a max over 4 minutes of data is not a week's peak."""
    want = window_seconds(window)
    where = f"Prometheus, max over {window}"
    if covered_s is None or want is None or covered_s >= 0.9 * want:
        return where
    return f"{where}, but the data covers only {duration(covered_s)}: SHORT, peaks may be low"


HANGUP_EXIT_S = 2.0
REFRESH_STEPS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


def _exit_after(seconds: float) -> None:
    time.sleep(seconds)  # a deadline on purpose: the process must end, stuck or not
    logging.shutdown()
    os._exit(128 + signal.SIGHUP)


def run_console(
    settings: Settings,
    allocation: Allocation,
    feed: Feed | None = None,
    target_label: str | None = None,
) -> int:
    path = logs.setup(settings.mask)
    log.info("novapool starting; target %s", settings.target.describe())
    app = make_app(settings, allocation, feed, target_label=target_label)
    try:
        code = app.run()
    except Exception:
        log.exception("the console failed")
        print(f"novapool: the console stopped on an error; details in {path}")
        return 1
    return code or 0
