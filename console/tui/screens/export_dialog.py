"""The export dialog: format and output path, a preview of exactly the files and keys it will
write, then the same exporter as `novapool export`. Overcommit and overwriting changed files
each need an explicit confirmation."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from console.core import budget as budget_mod
from console.core import export
from console.core.errors import ExportRefused
from console.core.findings import CRITICAL
from console.core.fleet import planned_conflicts
from console.core.whatif import WhatIf
from console.tui import keys
from console.tui.screens.confirm import ConfirmScreen
from console.tui.text import SEVERITY_STYLE, alarm

PREVIEW_LINES = 4  # files, then services' keys: the rest is "… N more" (80×24 keeps Write)


class FormatChoice(RadioSet):
    """The format choice: space picks the highlighted format; enter picks it and writes, as
    the Write button says (a plain RadioSet only toggles on enter)."""

    BINDINGS = [Binding("enter", "pick_and_write", "Write", show=False)]

    def action_pick_and_write(self) -> None:
        self.action_toggle_button()
        dialog = self.screen
        if isinstance(dialog, ExportDialog):  # once the choice has been taken: write
            self.call_after_refresh(dialog.action_write)


class ExportDialog(ModalScreen[list[export.Written] | None]):
    BINDINGS = keys.bindings(keys.DIALOG)
    DEFAULT_CSS = """
    ExportDialog { align: center middle; }
    ExportDialog > Vertical { width: 96%; max-width: 90; height: auto; max-height: 100%;
                              border: thick $primary; background: $surface; padding: 0 1; }
    ExportDialog RadioSet { layout: horizontal; height: auto; border: none; padding: 0; }
    ExportDialog #preview { height: auto; margin-top: 1; }
    ExportDialog Horizontal { height: auto; }
    ExportDialog Button { margin-right: 2; }
    """

    def __init__(self, whatif: WhatIf, default_out: str = "overrides") -> None:
        super().__init__()
        self.whatif = whatif
        self.default_out = default_out
        self.fmt = "env"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Export db-pool overrides", style="bold"))
            yield Label("Format")
            with FormatChoice(id="format"):
                yield RadioButton("env", value=True, id="env")
                yield RadioButton("yaml", id="yaml")
                yield RadioButton("configmap", id="configmap")
            yield Label("Output path")
            yield Input(self.default_out, id="out", compact=True)
            yield Static(id="preview")
            with Horizontal():
                yield Button("Write (enter)", variant="primary", id="write")
                yield Button("Cancel (escape)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#out", Input).focus()
        self.update_preview()

    def _plan(self) -> tuple[export.Plan, dict[str, budget_mod.Budget], dict[Path, str]]:
        w = self.whatif
        the_plan = export.plan(w.base, w.current)
        b = export.budgets(w.current)
        source = f"{w.base.path or 'allocation'}"
        if w.edits:
            source += " with what-if edits: " + " ".join(e.describe() for e in w.edits)
        files = export.render(the_plan, self.fmt, source, b)
        out = Path(self.query_one("#out", Input).value.strip() or self.default_out)
        return the_plan, b, export.target_paths(files, out, self.fmt) if the_plan else {}

    def update_preview(self) -> None:
        the_plan, b, targets = self._plan()
        t = Text()
        if not the_plan:
            t.append("Nothing to write: no key differs from the allocation file.", style="yellow")
            rep = [e for e in self.whatif.edits if e.field == "replicas"]
            if rep:
                t.append(
                    "\nReplica counts are not env keys: scale with your deployment.", style="dim"
                )
        else:
            t.append(f"Will write {len(targets)} file(s):\n", style="bold")
            paths = list(targets)
            for path in paths[:PREVIEW_LINES]:
                t.append(f"  {path}\n")
            if len(paths) > PREVIEW_LINES:
                t.append(f"  … {len(paths) - PREVIEW_LINES} more file(s)\n", style="dim")
            services = list(the_plan.items())
            for svc, keys in services[:PREVIEW_LINES]:
                t.append(f"  {svc}: ", style="bold")
                t.append(" ".join(f"{k}={v}" for k, v in keys.items()) + "\n")
            if len(services) > PREVIEW_LINES:
                t.append(
                    f"  … {len(services) - PREVIEW_LINES} more service(s): every key is in "
                    "the files\n",
                    style="dim",
                )
            try:
                changed = export.conflicts(targets)
            except ExportRefused as exc:  # a directory, FIFO or device where a file goes
                t.append(f"Cannot write: {exc}\n", style=alarm())
                changed = []
            if changed:
                t.append(
                    f"{len(changed)} existing file(s) differ and will need confirmation "
                    "to overwrite.\n",
                    style="yellow",
                )
        warnings = [
            f"The allocation is OVERCOMMITTED {'; '.join(over)}: writing it needs confirmation."
            for over in [export.overcommitted(b, detail=False)]
            if over
        ] + [f.message for f in planned_conflicts(self.whatif.current)]
        t.append("\n".join(warnings), style=SEVERITY_STYLE[CRITICAL])
        self.query_one("#preview", Static).update(t)

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self.fmt = event.pressed.id or "env"
        self.update_preview()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.update_preview()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_write()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "write":
            self.action_write()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(exit_on_error=False, group="export")
    async def action_write(self) -> None:
        the_plan, b, targets = self._plan()
        if not the_plan:
            self.app.notify("nothing to export", severity="warning", markup=False)
            return
        over = export.overcommitted(b)
        if over and not await self.app.push_screen_wait(
            ConfirmScreen(
                Text(f"The edited allocation is overcommitted {'; '.join(over)}. Export anyway?"),
                yes="Export overcommitted",
                no="Back",
            )
        ):
            return
        force = False
        try:
            changed = export.conflicts(targets)
        except ExportRefused as exc:
            self.app.notify(f"export refused: {exc}", severity="error", markup=False)
            return
        if changed:
            q = Text("These files exist and differ:\n")
            for p in changed:
                q.append(f"  {p}\n")
            q.append("Overwrite them?")
            if not await self.app.push_screen_wait(ConfirmScreen(q, yes="Overwrite", no="Back")):
                return
            force = True
        try:
            written = await asyncio.to_thread(export.write, targets, force=force)
        except (OSError, ExportRefused) as exc:
            self.app.notify(f"export failed: {exc}", severity="error", markup=False)
            return
        self.whatif.mark_exported()
        summary = ", ".join(f"{w.path} ({w.action})" for w in written)
        self.app.notify(f"wrote {summary}", title="export", markup=False, timeout=10)
        self.dismiss(written)
