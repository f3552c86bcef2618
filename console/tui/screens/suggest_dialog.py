"""Choose where the observed peaks come from and the margin, for the what-if suggestion."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from console.tui import keys

WINDOWS = [
    ("session", "this session's history"),
    ("1h", "Prometheus, 1 hour"),
    ("24h", "Prometheus, 24 hours"),
    ("7d", "Prometheus, 7 days"),
]


@dataclass(frozen=True)
class SuggestRequest:
    window: str  # "session" or a PromQL duration
    margin_pct: int


class SuggestDialog(ModalScreen[SuggestRequest | None]):
    BINDINGS = keys.bindings(keys.DIALOG)
    DEFAULT_CSS = """
    SuggestDialog { align: center middle; }
    SuggestDialog > Vertical { width: 76; height: auto; border: thick $primary;
                               background: $surface; padding: 1 2; }
    SuggestDialog RadioSet { height: auto; }
    SuggestDialog #margin { width: 12; }
    SuggestDialog #error { color: $error; height: 1; }
    SuggestDialog Horizontal { height: auto; margin-top: 1; }
    SuggestDialog Button { margin-right: 2; }
    """

    def __init__(self, have_prometheus: bool) -> None:
        super().__init__()
        self.have_prometheus = have_prometheus

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(
                    "Suggest an allocation: each service sized to its peak in-use "
                    "plus a margin, scaled to fit the available slots.",
                    style="bold",
                )
            )
            yield Label("Peaks from")
            with RadioSet(id="window"):
                for key, label in WINDOWS:
                    yield RadioButton(
                        label,
                        id=f"w-{key}",
                        value=(key == "7d") == self.have_prometheus,
                        disabled=key != "session" and not self.have_prometheus,
                    )
            yield Label("Margin above the peak (%)")
            yield Input(
                "25",
                id="margin",
                type="integer",
                compact=True,
                validators=[Integer(minimum=0, maximum=500)],
            )
            yield Static("", id="error")
            with Horizontal():
                yield Button("Suggest (enter)", variant="primary", id="ok")
                yield Button("Cancel (escape)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_submit()

    def on_mount(self) -> None:
        self.query_one("#margin", Input).focus()  # enter submits; tab reaches the window

    def action_submit(self) -> None:
        raw = self.query_one("#margin", Input).value.strip()
        try:
            margin = int(raw)
            if not 0 <= margin <= 500:
                raise ValueError
        except ValueError:
            self.query_one("#error", Static).update(f"margin: {raw!r} is not 0…500")
            return
        pressed = self.query_one(RadioSet).pressed_button
        window = (pressed.id or "").removeprefix("w-") if pressed else "session"
        self.dismiss(SuggestRequest(window, margin))

    def action_cancel(self) -> None:
        self.dismiss(None)
