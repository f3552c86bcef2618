"""A DataTable whose cell updates re-render their own row only.

Textual's `DataTable.update_cell` bumps a counter that is part of every render-cache key, so
one changed cell re-renders every cell of the table at the next frame. A console that moves
one age or one gauge per refresh would pay for the whole table every second (most of its CPU
at 100 backends, measured with py-spy). Here an update forgets the cached render of its cell
and of the lines it is in, and refreshes that row's region; every other cell is drawn from
cache.

It relies on DataTable's private caches, whose shape is fixed by the exact Textual pin in
pyproject.toml; `tests/tui/test_table.py` checks both what is drawn and what is re-rendered,
so a Textual upgrade that changes them fails there first.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

CellType = TypeVar("CellType")


class RowCachedTable(DataTable[CellType], Generic[CellType]):
    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: CellType,
        *,
        update_width: bool = False,
    ) -> None:
        if update_width:  # column widths may move: every row is affected
            super().update_cell(row_key, column_key, value, update_width=True)
            return
        row = RowKey(row_key) if isinstance(row_key, str) else row_key
        column = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        index = self._row_locations.get(row)
        if index is None or column not in self._column_locations:
            raise CellDoesNotExist(f"No cell exists for row_key={row!r}, column_key={column!r}.")
        self._data[row][column] = value
        self._forget_cell(row, index, column)
        self.refresh_row(index)

    def _forget_cell(self, row: RowKey, index: int, column: ColumnKey) -> None:
        """Drop the cached renders of one cell and of the lines it is in (its row's
        renderables and lines, and the screen lines the row covers); the row's other cells
        are composed again from their cache."""
        _discard(self._row_renderable_cache, lambda k: k[1] == index)
        _discard(self._cell_render_cache, lambda k: k[0] == row and k[1] == column)
        _discard(self._row_render_cache, lambda k: k[0] == row)
        header = self.header_height if self.show_header else 0
        lines = {header + y for y, (key, _) in enumerate(self._y_offsets) if key == row}
        _discard(self._line_cache, lambda k: k[0] in lines)


def _discard(cache: Any, doomed: Any) -> None:
    for key in [k for k in cache.keys() if doomed(k)]:
        cache.discard(key)
