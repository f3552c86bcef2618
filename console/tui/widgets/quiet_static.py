"""A Static that is shown a Text on every refresh and costs nothing when it did not change."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static


class QuietStatic(Static):
    """`show_text` instead of `update`: the same text again is not drawn again, and a changed
    one asks for a layout only when this widget's height follows its text (height auto) and
    the number of lines it takes changed. Static.update lays the screen out on every call, and
    after each layout every scrolling table redraws its scrollbars: a second pass over the
    screen every refresh for nothing."""

    _shown: Text | None = None
    _lines: int = -1

    def show_text(self, text: Text) -> None:
        if self._shown is not None and text == self._shown:
            return
        lines = self._lines_of(text)
        layout = lines != self._lines and self._height_follows_text()
        self._shown, self._lines = text, lines
        self.update(text, layout=layout or not self.is_mounted)

    def _height_follows_text(self) -> bool:
        height = self.styles.height
        return height is None or height.is_auto

    def _lines_of(self, text: Text) -> int:
        """Lines the text takes at this width (wrapped, unless the style says nowrap);
        -1 when the width is not known yet."""
        width = self.content_region.width
        if width <= 0:
            return -1
        if self.styles.text_wrap == "nowrap":
            return text.plain.count("\n") + 1
        return sum(max(1, -(-cell_len(line) // width)) for line in text.plain.split("\n"))
