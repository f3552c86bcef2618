"""Forms that edit every field of a service (or the cluster); invalid input is refused inline
with the reason, and nothing is applied until every field is valid."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Button, Input, Label, Static

from console.core.allocation import CLUSTER_EDITS, SERVICE_EDITS, Editable, EditError, apply_edit
from console.core.whatif import WhatIf
from console.tui import keys


class _Form(ModalScreen[bool]):
    BINDINGS = keys.bindings(keys.DIALOG)
    DEFAULT_CSS = """
    _Form { align: center middle; }
    _Form > Vertical { width: 72; height: auto; border: thick $primary; background: $surface;
                       padding: 1 2; }
    _Form Grid { grid-size: 2; grid-columns: 34 1fr; grid-rows: 1; height: auto;
                 grid-gutter: 0 1; margin: 1 0; }
    _Form Input.-invalid { background: $error 30%; }
    _Form #error { color: $error; height: auto; min-height: 1; }
    _Form Horizontal { height: auto; }
    _Form Button { margin-right: 2; }
    """

    target: str
    fields: tuple[Editable, ...]

    def __init__(self, whatif: WhatIf) -> None:
        super().__init__()
        self.whatif = whatif

    def title_text(self) -> Text:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text())
            with Grid():
                for f in self.fields:
                    yield Label(f.label)
                    yield Input(
                        str(self.whatif.value(self.whatif.current, self.target, f.name)),
                        id=f"f-{f.name}",
                        type="integer",
                        compact=True,
                        validators=[Integer(minimum=f.low, maximum=f.high)],
                    )
            yield Static("", id="error")
            with Horizontal():
                yield Button("Apply (enter)", variant="primary", id="apply")
                yield Button("Cancel (escape)", id="cancel")

    def on_input_changed(self, event: Input.Changed) -> None:
        result = event.validation_result
        self.query_one("#error", Static).update(
            ""
            if result is None or result.is_valid
            else f"{(event.input.id or '')[2:]}: {'; '.join(result.failure_descriptions)}"
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_apply(self) -> None:
        """Validate all fields together on a scratch copy; apply only if all pass."""
        error = self.query_one("#error", Static)
        values = {}
        for name in (f.name for f in self.fields):
            raw = self.query_one(f"#f-{name}", Input).value.strip()
            try:
                values[name] = int(raw)
            except ValueError:
                error.update(f"{name}: {raw!r} is not a whole number")
                return
        scratch = self.whatif.current
        try:
            # min before max when lowering, max before min when raising: apply in the order
            # that keeps every intermediate state valid, then check the final one.
            for name in self._order(values):
                scratch = apply_edit(scratch, self.target, name, values[name])
        except EditError as exc:
            error.update(str(exc))
            return
        for name in self._order(values):
            if values[name] != self.whatif.value(self.whatif.current, self.target, name):
                self.whatif.apply(self.target, name, values[name])
        self.dismiss(True)

    def _order(self, values: dict[str, int]) -> list[str]:
        names = [f.name for f in self.fields]
        if "max" in values and "min" in values:
            current_max = self.whatif.value(self.whatif.current, self.target, "max")
            if values["max"] < current_max:
                names.remove("min")
                names.insert(0, "min")
        return names


class ServiceForm(_Form):
    fields = SERVICE_EDITS

    def __init__(self, whatif: WhatIf, service: str) -> None:
        self.target = service
        super().__init__(whatif)

    def title_text(self) -> Text:
        t = Text("Edit ", style="bold")
        t.append(self.target, style="bold")
        return t


class ClusterForm(_Form):
    fields = CLUSTER_EDITS

    def __init__(self, whatif: WhatIf, target: str = "cluster") -> None:
        self.target = target  # cluster, or cluster@SERVER
        super().__init__(whatif)

    def title_text(self) -> Text:
        _, _, server = self.target.partition("@")
        return Text(f"Edit {server or 'the cluster'}'s slots (what-if)", style="bold")
