"""Help: every key, every colour, every finding rule."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.core.rules import RULES
from console.tui.text import SEVERITY_LABEL, SEVERITY_STYLE

KEYS = [
    ("enter", "services table", "open the service's detail (pools per instance, backends, history)"),
    ("w", "anywhere", "what-if editor on a copy of the allocation"),
    ("e", "anywhere", "export overrides from the current (possibly edited) allocation"),
    ("/", "services table", "filter services by name (escape clears)"),
    ("s", "services table", "cycle the sort: name, findings, busy, server conns, allocated"),
    ("space", "anywhere", "pause / resume live refresh"),
    ("r", "anywhere", "refresh now"),
    ("?", "anywhere", "this help"),
    ("escape", "a screen or dialog", "back"),
    ("q", "anywhere", "quit (asks first when what-if edits are unsaved)"),
    ("ctrl+p", "anywhere", "command palette"),
    ("c / k", "backends list", "cancel / terminate a backend (needs --allow-signal; asks first)"),
    ("+ / -", "what-if table", "raise / lower the selected service's max by one"),
    ("enter", "what-if table", "edit every field of the selected service in a form"),
    ("u", "what-if", "undo the last edit"),
    ("g", "what-if", "suggest an allocation from observed peaks"),
    ("e", "what-if", "export dialog: format and output path"),
]

COLOURS = [
    ("green", "fine: gauge below 70 %, source reachable, headroom left"),
    ("yellow", "attention: gauge above 70 %, warning findings, idle in transaction"),
    ("bold red", "act: gauge above the utilization threshold, critical findings, over budget"),
    ("italic yellow", "max from the library default (no entry of the service's own)"),
    ("bold", "replicas counted live from metrics (dim: from the allocation file)"),
    ("dim", "no data from that source (— means unknown, never zero)"),
]


def help_renderable() -> Table:
    outer = Table.grid(padding=(1, 0))
    keys = Table(title="Keys", title_justify="left", show_edge=False, expand=True)
    keys.add_column("key", style="bold", no_wrap=True)
    keys.add_column("where", style="dim", no_wrap=True)
    keys.add_column("action")
    for k, where, what in KEYS:
        keys.add_row(Text(k), Text(where), Text(what))
    colours = Table(title="Colours (every state is also written out, for NO_COLOR)",
                    title_justify="left", show_edge=False, expand=True)
    colours.add_column("colour", no_wrap=True)
    colours.add_column("meaning")
    for style, meaning in COLOURS:
        colours.add_row(Text(style, style=style), Text(meaning))
    for sev, style in SEVERITY_STYLE.items():
        colours.add_row(Text(SEVERITY_LABEL[sev], style=style), Text(f"{sev} finding"))
    rules = Table(title="Finding rules (ids are stable: check --json, alerting)",
                  title_justify="left", show_edge=False, expand=True)
    rules.add_column("rule", style="bold", no_wrap=True)
    rules.add_column("fires when")
    for rule, text in RULES.items():
        rules.add_row(Text(rule), Text(text))
    outer.add_row(keys)
    outer.add_row(colours)
    outer.add_row(rules)
    return outer


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Back")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; height: 90%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_renderable())

    def action_dismiss(self) -> None:
        self.dismiss(None)
