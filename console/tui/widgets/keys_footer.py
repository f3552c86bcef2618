"""The footer: the keys the focused part of the screen answers to, in one line.

Textual's Footer mounts a widget per key and mounts them all again whenever the screen's
bindings change (every screen switch and focus change): at 200 services that was most of the
time from Enter to the detail on screen and from Escape back (bench/side_by_side.py --fleet).
This draws the same keys as one line of text, made again only when the bindings change; a
click on a key presses it, as Footer's keys do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.screen import Screen


class KeysFooter(Widget):
    COMPONENT_CLASSES = {"keys-footer--key", "keys-footer--description", "keys-footer--palette"}
    DEFAULT_CSS = """
    KeysFooter {
        color: $footer-foreground;
        background: $footer-background;
        dock: bottom;
        height: 1;
        & > .keys-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .keys-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .keys-footer--palette {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[tuple[int, int, str]] = []  # (from x, to x, key) of each key shown
        self._palette: tuple[str, str] | None = None  # (key display, description)
        self._line = Text()

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._make()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self._make()

    def _make(self) -> None:
        """The line of keys, from the screen's active bindings (one per action, as Footer)."""
        key_style = self.get_component_rich_style("keys-footer--key")
        text_style = self.get_component_rich_style("keys-footer--description")
        line, keys, seen = Text(no_wrap=True, end=""), [], set()
        palette = None
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.key == self.app.COMMAND_PALETTE_BINDING and self.app.ENABLE_COMMAND_PALETTE:
                palette = (self.app.get_key_display(binding), binding.description)
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            start = line.cell_len
            line.append(f" {self.app.get_key_display(binding)} ", key_style)
            line.append(f"{binding.description} ", text_style)
            if not enabled:
                line.stylize("dim", start)
            keys.append((start, line.cell_len, binding.key))
        self._line, self._keys, self._palette = line, keys, palette
        self.refresh()

    def render(self) -> Text:
        width = self.size.width
        line = self._line.copy()
        if self._palette is not None:
            key, description = self._palette
            right = Text.assemble(
                ("▏", self.get_component_rich_style("keys-footer--palette")),
                (key, self.get_component_rich_style("keys-footer--key")),
                (f" {description} ", self.get_component_rich_style("keys-footer--description")),
            )
            line.truncate(max(0, width - right.cell_len), pad=True)
            line.append_text(right)
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._keys:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
        if self._palette is not None and event.x >= self.size.width - len(self._palette[1]) - 4:
            self.app.action_command_palette()
