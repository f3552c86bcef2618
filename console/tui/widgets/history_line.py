"""A labelled one-line history: sparkline plus the latest, min and max."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from console.tui.text import num, sparkline


class HistoryLine(Static):
    DEFAULT_CSS = "HistoryLine { height: 2; padding: 0 1; }"

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.label = label
        self.values: list[float] = []

    def set(self, values: list[float], label: str | None = None) -> None:
        self.values = list(values)
        if label:
            self.label = label
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = max(10, (self.size.width or 40) - 2)
        t = Text(self.label, style="bold")
        if self.values:
            t.append(
                f"  now {num(self.values[-1])}  min {num(min(self.values))}  "
                f"max {num(max(self.values))}",
                style="dim",
            )
        t.append("\n")
        t.append_text(
            sparkline(self.values, width) if self.values else Text("no data yet", style="dim")
        )
        self.update(t)
