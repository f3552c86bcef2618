"""A table drawn line by line: each row is rendered once as a whole line and cached by its
content, not by its position.

Textual's DataTable renders every cell through Rich on its own (a Padding each: ~0.3 ms a
cell), measures every cell of every row it is given, and forgets every render when its rows
are cleared or re-ordered. At 200 services a sort or a typed filter character rebuilt the
table and re-rendered every visible cell: 150–500 ms from key to screen (bench/side_by_side.py
--fleet). Here `set_rows` takes the rows in their new order, each with a version (what its
cells are made from) and a way to make its cells: a row whose version did not change keeps its
cells and its rendered line, so a sort, a filter or a page down composes cached lines, and a
refresh makes and renders again only the rows that changed — and only once they are shown.

It keeps the parts of DataTable the console uses: a header row (a click on it: HeaderSelected),
a row cursor (keys, a click selects, a click on the selected row: RowSelected), its look
(the same theme variables).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

PADDING = 1  # cells of padding left and right of each column, as DataTable's
_NONE = object()  # no version yet


@dataclass(frozen=True)
class TableColumn:
    key: str
    label: Text
    width: int


class LinesTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"lines-table--header", "lines-table--cursor"}
    DEFAULT_CSS = """
    LinesTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .lines-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .lines-table--header {
                background-tint: $foreground 5%;
            }
        }
        & > .lines-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .lines-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .lines-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "scroll_top", "Top", show=False),
        Binding("ctrl+end", "scroll_bottom", "Bottom", show=False),
    ]

    class RowSelected(Message):
        """Enter on a row, or a click on the row under the cursor."""

        def __init__(self, table: LinesTable, row_key: str) -> None:
            super().__init__()
            self.table = table
            self.row_key = row_key

        @property
        def control(self) -> LinesTable:
            return self.table

    class HeaderSelected(Message):
        """A click on a column's header."""

        def __init__(self, table: LinesTable, column_key: str) -> None:
            super().__init__()
            self.table = table
            self.column_key = column_key

        @property
        def control(self) -> LinesTable:
            return self.table

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns: list[TableColumn] = []
        self._order: list[str] = []  # row keys, as shown
        self._versions: dict[str, object] = {}  # what each row's cells are made from
        self._make: Callable[[str], Sequence[Text]] = lambda key: ()
        self._cells: dict[str, list[Text]] = {}  # made when first needed
        # rendered rows: row key → (width, style, cursor style) → line; a row's lines go at once
        self._lines: dict[str, dict[tuple[Any, ...], Strip]] = {}
        self.cursor_row = 0
        self.rendered_rows = 0  # rows rendered (not from the cache) since mounted: tests read it
        self.show_cursor = True
        # While set, the scrollable height never shrinks: fewer rows leave blank lines and
        # nothing else on the screen moves (a shrinking table is a new layout of the screen).
        self.hold_size = False
        self._base: Style | None = None  # the table's style while render_lines draws

    # ---- content ---------------------------------------------------------------------------

    def set_columns(self, columns: Sequence[TableColumn]) -> None:
        self.columns = list(columns)
        self._order, self._versions, self._cells, self._lines = [], {}, {}, {}
        self.cursor_row = 0
        self._resize()

    def set_rows(
        self,
        order: Sequence[str],
        versions: Mapping[str, object],
        make_cells: Callable[[str], Sequence[Text]],
    ) -> None:
        """The rows, in the order shown; each row's version (equal versions: the same cells)
        and how to make a row's cells (called for the rows shown, when they changed)."""
        self._make = make_cells
        changed: set[str] = set()
        for key in order:
            new, old = versions[key], self._versions.get(key, _NONE)
            if old is not new and old != new:
                self._versions[key] = new
                self._cells.pop(key, None)
                self._forget(key)
                changed.add(key)
        # Rows not shown now (filtered out) keep their lines: when they come back unchanged
        # they are drawn from the cache (their version says whether they changed meanwhile).
        moved = list(order) != self._order
        sized = len(order) != len(self._order)
        self._order = list(order)
        self.cursor_row = min(self.cursor_row, max(0, len(self._order) - 1))
        if sized:
            self._resize()
        if moved:
            self.refresh()
        else:  # the same rows in the same places: only the lines that changed are drawn
            self._refresh_rows(changed)

    def _refresh_rows(self, keys: set[str]) -> None:
        if not keys:
            return
        top, width = int(self.scroll_y), self.size.width
        shown = self._order[top : top + max(0, self.size.height - 1)]
        lines = [Region(0, y, width, 1) for y, key in enumerate(shown, start=1) if key in keys]
        if lines:
            self.refresh(*lines)

    def cells(self, key: str) -> list[Text]:
        made = self._cells.get(key)
        if made is None:
            made = self._cells[key] = list(self._make(key))
        return made

    def _forget(self, key: str) -> None:
        self._lines.pop(key, None)

    def _resize(self) -> None:
        width = sum(c.width + 2 * PADDING for c in self.columns)
        size = Size(width, len(self._order) + 1)  # and the header
        held = self.hold_size and width == self.virtual_size.width
        if held and size.height <= self.virtual_size.height:
            return
        self.virtual_size = size

    def fit(self) -> None:
        """Size to the rows again (after hold_size)."""
        self.hold_size = False
        self._resize()

    @property
    def row_keys(self) -> tuple[str, ...]:
        return tuple(self._order)

    @property
    def row_count(self) -> int:
        return len(self._order)

    def get_row_at(self, index: int) -> list[Text]:
        return list(self.cells(self._order[index]))

    def get_cell(self, row_key: str, column_key: str) -> Text:
        column = [c.key for c in self.columns].index(column_key)
        return self.cells(row_key)[column]

    def column_x(self, column_key: str) -> int:
        """Where a column starts, in cells from the table's left edge."""
        x = 0
        for c in self.columns:
            if c.key == column_key:
                return x
            x += c.width + 2 * PADDING
        raise KeyError(column_key)

    # ---- cursor ----------------------------------------------------------------------------

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        if not self._order:
            self.cursor_row = 0
            return
        self.cursor_row = max(0, min(row, len(self._order) - 1))
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        shown = max(1, self.scrollable_content_region.height - 1)  # lines below the header
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + shown:
            self.scroll_to(y=self.cursor_row - shown + 1, animate=False)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + max(1, self.scrollable_content_region.height - 1))

    def action_scroll_top(self) -> None:
        self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(row=len(self._order) - 1)

    def action_select_cursor(self) -> None:
        if self._order and self.show_cursor:
            self.post_message(self.RowSelected(self, self._order[self.cursor_row]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:  # the header
            x = offset.x + int(self.scroll_x)
            for c in self.columns:
                if x < c.width + 2 * PADDING:
                    self.post_message(self.HeaderSelected(self, c.key))
                    return
                x -= c.width + 2 * PADDING
            return
        index = int(self.scroll_y) + offset.y - 1
        if index >= len(self._order):
            return
        if index == self.cursor_row:  # a click on the selected row opens it
            self.action_select_cursor()
        else:
            self.move_cursor(row=index)

    def on_focus(self) -> None:
        self.refresh()  # the cursor's look follows the focus

    def on_blur(self) -> None:
        self.refresh()

    # ---- drawing ---------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # The table's style once for the lines drawn now, not once a line: rich_style walks
        # every ancestor's styles (~0.1 ms; a frame draws up to a screenful of lines).
        self._base = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._base = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._base if self._base is not None else self.rich_style
        if y == 0:
            header = base + self.get_component_rich_style("lines-table--header")
            return self._line(("", width, header, None), [c.label for c in self.columns])
        index = int(self.scroll_y) + y - 1
        if index >= len(self._order):
            return Strip.blank(width, base)
        key = self._order[index]
        # the cursor's style over the cells' own (as DataTable draws its cursor row)
        cursor = self.get_component_rich_style("lines-table--cursor")
        at_cursor = self.show_cursor and index == self.cursor_row
        return self._line((key, width, base, cursor if at_cursor else None))

    def _line(self, cache_key: tuple[Any, ...], cells: Sequence[Text] | None = None) -> Strip:
        key, width, under, over = cache_key
        drawn = self._lines.setdefault(key, {})
        line = drawn.get((width, under, over))
        if line is None:
            made = self.cells(key) if cells is None else cells
            line = drawn[(width, under, over)] = self._render_row(made, width, under, over)
            self.rendered_rows += 1
        return line

    def _render_row(
        self, cells: Sequence[Text], width: int, under: Style, over: Style | None
    ) -> Strip:
        widths = [c.width for c in self.columns]
        segments: Iterable[Segment] = row_segments(cells, widths, under, self.app.console)
        if over is not None:  # the cursor's style over the cells' own
            segments = Segment.apply_style(segments, post_style=over)
        fill = under + over if over is not None else under
        return Strip(segments).adjust_cell_length(width, fill)


def row_segments(
    cells: Sequence[Text], widths: Sequence[int], under: Style, console: Console
) -> list[Segment]:
    """A row as DataTable draws it: each cell's first line at its column's width, aligned as
    the cell says, between PADDING spaces, over the table's style (`under`). A cell that fits
    is drawn as its runs of one style (`_runs`); one too wide, of several lines or of
    overlapping spans is rendered by Rich."""
    pad = Segment(" " * PADDING, under)
    out: list[Segment] = []
    for cell, width in zip(cells, widths, strict=False):
        out.append(pad)
        plain = cell.plain
        gap = width - cell_len(plain) if "\n" not in plain else -1
        runs = _runs(cell, plain, gap, under, console) if gap >= 0 else None
        if runs is not None:
            out.extend(runs)
        else:  # appended to a Text of no style: its own style becomes a span Rich renders
            fitted = Text(end="")
            fitted.append_text(_fit(cell, width))
            out.extend(Segment.apply_style(fitted.render(console), under))
        out.append(pad)
    # Neighbours of one style as one segment (a cell's padding, the cells of no style of their
    # own): every segment costs again when Textual divides, filters and writes the line, and
    # each is a style's escape codes on the terminal.
    return list(Segment.simplify(out))


def _runs(cell: Text, plain: str, gap: int, under: Style, console: Console) -> list[Segment] | None:
    """A cell that fits, as segments: one per run of one style (the cell's style, and over it
    each span's), the gap on the side its justification leaves. None when its spans overlap:
    Rich stacks those."""
    base = under + console.get_style(cell.style, default=Style.null()) if cell.style else under
    if not cell.spans:  # nearly every cell: one segment, its gap included
        text = " " * gap + plain if cell.justify == "right" else plain + " " * gap
        return [Segment(text, base)] if text else []
    side = Segment(" " * gap, base) if gap else None
    out = [side] if side is not None and cell.justify == "right" else []
    at = 0
    for span in sorted(cell.spans, key=lambda span: span.start):
        start, end = span.start, min(span.end, len(plain))
        if start >= end:
            continue
        if start < at:
            return None
        if start > at:
            out.append(Segment(plain[at:start], base))
        out.append(
            Segment(plain[start:end], base + console.get_style(span.style, default=Style.null()))
        )
        at = end
    if at < len(plain):
        out.append(Segment(plain[at:], base))
    if side is not None and cell.justify != "right":
        out.append(side)
    return out


def _fit(cell: Text, width: int) -> Text:
    """A cell's first line at the column's width, aligned as the cell says; too long, cut as
    the cell's overflow says (cropped by default), as DataTable draws a one-line row."""
    line = cell.split("\n", allow_blank=True)[0] if "\n" in cell.plain else cell.copy()
    line.truncate(width, overflow=cell.overflow or "crop")
    line.align("right" if cell.justify == "right" else "left", width)
    return line
