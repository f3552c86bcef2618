"""Every key of the console, declared once: the screens' bindings and the help screen are both
made from these tables (so help can never list a key that does nothing, or miss one)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma-separated
    action: str | None  # None: handled by a widget (enter on a table) or by Textual
    label: str  # the footer's word
    help: str  # the help screen's description
    display: str | None = None  # how help and the footer write the key (default: keys)
    show: bool = True  # shown in the footer

    @property
    def shown_as(self) -> str:
        return self.display or self.keys


ANYWHERE = (
    Key("q", "quit", "Quit", "quit (asks first when what-if edits are unexported)"),
    Key("question_mark", "help", "Help", "this help", display="?"),
    Key("space", "toggle_pause", "Pause", "pause / resume live refresh"),
    Key("r", "refresh_now", "Refresh", "refresh now"),
    Key("w", "whatif", "What-if", "what-if editor on a copy of the allocation"),
    Key("e", "export", "Export", "export overrides from the current (possibly edited) allocation"),
    Key(
        "v",
        "servers",
        "Servers",
        "every server, the worst first (several servers; the servers line shows it)",
        show=False,
    ),
    Key(
        "left_square_bracket",
        "switch_server(-1)",
        "Previous server",
        "show the previous server in the dashboard (several servers)",
        display="[",
        show=False,
    ),
    Key(
        "right_square_bracket",
        "switch_server(1)",
        "Next server",
        "show the next server in the dashboard (several servers)",
        display="]",
        show=False,
    ),
    Key("b", "blocking", "Blocking", "who blocks whom: lock holders and their waiters"),
    Key("ctrl+p", None, "Palette", "command palette: every action by name"),
)
SERVICES_TABLE = (
    Key(
        "enter", None, "Detail", "open the service's detail (pools per instance, backends, history)"
    ),
    Key("slash", "filter", "Filter", "filter services by name (escape clears)", display="/"),
    Key(
        "s",
        "sort",
        "Sort",
        "cycle the sort: worst first (default), name, busy, server conns, allocated; "
        "a click on a column's header sorts by it",
    ),
    Key("escape", "clear_filter", "Clear filter", "clear the filter", show=False),
    Key(
        "plus,equals_sign",
        "app.change_refresh(-1)",
        "Faster",
        "refresh faster (0.5, 1, 2, 5, 10, 30, 60 s)",
        display="+",
        show=False,
    ),
    Key("minus", "app.change_refresh(1)", "Slower", "refresh slower", display="-", show=False),
    Key(
        "tab",
        None,
        "Findings",
        "move to the findings list: enter there opens the finding's service at its pid",
        show=False,
    ),
)
ROWS = (  # bound on the services table itself (DataTable's home/end scroll sideways)
    Key("home", "scroll_top", "First", "first row", show=False),
    Key("end", "scroll_bottom", "Last", "last row", show=False),
)
BACKENDS_LIST = (
    Key("escape", "app.pop_screen", "Back", "back to the dashboard"),
    Key("enter", None, "Query", "the selected backend's whole query, wrapped and scrollable"),
    Key(
        "c",
        "signal(False)",
        "Cancel backend",
        "cancel the selected backend's query (needs --allow-signal; asks first)",
    ),
    Key(
        "k",
        "signal(True)",
        "Terminate backend",
        "terminate the selected backend (needs --allow-signal; asks first)",
    ),
)
WHAT_IF = (
    Key("escape", "app.pop_screen", "Back", "back (edits are kept until you quit)"),
    Key(
        "plus,equals_sign",
        "nudge(1)",
        "+1 max",
        "raise the selected service's max by one",
        display="+",
    ),
    Key("minus", "nudge(-1)", "-1 max", "lower the selected service's max by one", display="-"),
    Key("enter", None, "Edit", "edit every field of the selected service (or the cluster)"),
    Key("u", "undo", "Undo", "undo the last edit"),
    Key("g", "suggest", "Suggest", "suggest an allocation from observed peaks"),
    Key("e", "export", "Export", "export dialog: format and output path; enter writes"),
)
BLOCKING_VIEW = (
    Key("escape", "app.pop_screen", "Back", "back to the dashboard"),
    Key("enter", None, "Open", "open the selected backend in its service's detail"),
)
SERVERS_LIST = (
    Key("escape", "app.pop_screen", "Back", "back to the dashboard"),
    Key("enter", None, "Show", "show the selected server in the dashboard"),
)
DIALOG = (Key("escape", "cancel", "Cancel", "close the dialog without doing anything"),)

# Where each table applies, in the order help lists them.
SCOPES: tuple[tuple[str, tuple[Key, ...]], ...] = (
    ("anywhere", ANYWHERE),
    ("services table", SERVICES_TABLE + ROWS),
    ("backends list", BACKENDS_LIST),
    ("blocking view", BLOCKING_VIEW),
    ("servers list", SERVERS_LIST),
    ("what-if", WHAT_IF),
    ("a dialog", DIALOG),
)


def bindings(keys: tuple[Key, ...]) -> list[BindingType]:
    return [
        Binding(k.keys, k.action, k.label, show=k.show, key_display=k.display)
        for k in keys
        if k.action is not None
    ]
