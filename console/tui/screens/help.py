"""Help: every key, every colour, every finding rule — rendered from the key tables, the rule
registry and the thresholds in force, so what it says is what the console does."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.core.findings import Severity
from console.core.rules import describe_all
from console.core.settings import Thresholds
from console.tui import keys
from console.tui.text import SEVERITY_LABEL, SEVERITY_STYLE, severity


def _colours(t: Thresholds) -> list[tuple[str, str]]:
    fill = f"{t.pool_utilization_pct:g}"
    return [
        ("green", "fine: gauge at or below 70 %, source reachable, headroom left"),
        ("yellow", "attention: gauge above 70 %, warning findings, idle in transaction"),
        (
            "bold red",
            f"act: gauge above {fill} % (pool_utilization_pct), critical findings, over budget",
        ),
        ("italic yellow", "max from the library default (no entry of the service's own)"),
        ("bold", "replicas counted live from metrics (dim: from the allocation file)"),
        ("dim", "no data from that source (— means unknown, never zero)"),
    ]


def help_renderable(thresholds: Thresholds) -> Table:
    outer = Table.grid(padding=(1, 0))
    table = Table(title="Keys", title_justify="left", show_edge=False, expand=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("where", style="dim", no_wrap=True)
    table.add_column("action")
    for where, scope in keys.SCOPES:
        for k in scope:
            table.add_row(Text(k.shown_as), Text(where), Text(k.help))
    colours = Table(
        title="Colours (every state is also written out, for NO_COLOR)",
        title_justify="left",
        show_edge=False,
        expand=True,
    )
    colours.add_column("colour", no_wrap=True)
    colours.add_column("meaning")
    for style, meaning in _colours(thresholds):
        colours.add_row(Text(style, style=style), Text(meaning))
    for sev in Severity:
        colours.add_row(
            Text(SEVERITY_LABEL[sev], style=SEVERITY_STYLE[sev]), Text(f"{sev} finding")
        )
    rules = Table(
        title="Finding rules (ids are stable: check --json, alerting), with the "
        "thresholds in force",
        title_justify="left",
        show_edge=False,
        expand=True,
    )
    rules.add_column("rule", style="bold", no_wrap=True)
    rules.add_column("severity", no_wrap=True)
    rules.add_column("fires when")
    for rule_id, severities, text in describe_all(thresholds):
        levels = Text(" ").join(severity(s) for s in severities)
        rules.add_row(Text(rule_id), levels, Text(text))
    outer.add_row(table)
    outer.add_row(colours)
    outer.add_row(rules)
    return outer


class HelpScreen(ModalScreen[None]):
    # A modal screen hides the app's bindings: q quits from here too (through the same
    # unexported-edits question as everywhere).
    BINDINGS = [
        Binding("escape,question_mark", "dismiss", "Back"),
        Binding("q", "app.quit", "Quit"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; height: 90%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    """

    def __init__(self, thresholds: Thresholds) -> None:
        super().__init__()
        self.thresholds = thresholds

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_renderable(self.thresholds))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
