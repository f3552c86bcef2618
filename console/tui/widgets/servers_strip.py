"""One line naming every server of the allocation, the shown one marked: its state, its worst
finding and its budget. Shown on the dashboard only when the allocation names several."""

from __future__ import annotations

from rich.text import Text

from console.core.fleet import FleetAssessment
from console.core.snapshot import OK
from console.tui.text import SEVERITY_LABEL, SEVERITY_STYLE, alarm, safe
from console.tui.widgets.quiet_static import QuietStatic


def render_strip(fa: FleetAssessment, shown: str) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(" servers ", style="bold reverse")
    for sa in fa.servers:
        here = sa.name == shown
        t.append("  ▶" if here else "   ", style="bold")
        t.append_text(safe(sa.name, "bold underline" if here else "bold"))
        b = sa.assessment.budget
        status = sa.status.status
        worst = fa.worst_of(sa.name)
        if status != OK:
            t.append(f" {status}", style=alarm())
        elif worst is not None:
            t.append(f" {SEVERITY_LABEL[worst]}", style=SEVERITY_STYLE[worst])
        else:
            t.append(" ok", style="green")
        t.append(
            f" {b.allocated}/{b.available}",
            style=SEVERITY_STYLE[worst] if b.overcommitted and worst else "dim",
        )
    t.append("   v: list  [ ]: switch", style="dim")
    return t


class ServersStrip(QuietStatic):
    DEFAULT_CSS = "ServersStrip { height: 1; background: $boost; }"

    def show(self, fa: FleetAssessment | None, shown: str | None) -> None:
        self.display = bool(fa and fa.several)
        if fa is not None and fa.several:
            self.show_text(render_strip(fa, shown or fa.servers[0].name))
