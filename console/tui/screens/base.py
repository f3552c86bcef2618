"""The base of every full screen: a typed way to the console's state, and one way to be fed —
the latest assessment when the screen becomes current, then every AssessmentUpdated while it is.
Screens beneath the current one are not redrawn; they catch up when they come back."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import events, on
from textual.screen import Screen

from console.core.assessment import Assessment
from console.tui.messages import AssessmentUpdated
from console.tui.widgets.cluster_header import ClusterHeader

if TYPE_CHECKING:
    from console.tui.app import NovapoolApp


class ConsoleScreen(Screen[None]):
    @property
    def console(self) -> NovapoolApp:
        return cast("NovapoolApp", self.app)

    @on(events.ScreenResume)
    def _show_latest(self) -> None:
        latest = self.console.assessment
        if latest is not None:
            self.show_assessment(latest)
        else:
            self.show_header(None)

    @on(AssessmentUpdated)
    def _assessment_updated(self, message: AssessmentUpdated) -> None:
        self.show_assessment(message.assessment)

    def show_assessment(self, a: Assessment) -> None:
        raise NotImplementedError

    def show_header(self, a: Assessment | None) -> None:
        """The header line of this screen, if it has one, from the console's state."""
        for header in self.query(ClusterHeader):
            c = self.console
            header.show(
                a,
                paused=c.paused,
                refresh_s=c.refresh_s,
                now=c.clock(),
                target=c.shown_label(),
                thresholds=c.settings.thresholds,
            )
