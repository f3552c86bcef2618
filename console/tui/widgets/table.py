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

from collections.abc import Iterable
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
        self.update_cells([(row_key, column_key, value)])

    def update_cells(
        self, changes: Iterable[tuple[RowKey | str, ColumnKey | str, CellType]]
    ) -> None:
        """Several cells at once (a refresh's): each cache is walked once for all of them (a
        pass over at most its size: 10,000 cells), and only they are rendered again."""
        changed: dict[RowKey, set[ColumnKey]] = {}
        for row_key, column_key, value in changes:
            row = RowKey(row_key) if isinstance(row_key, str) else row_key
            column = ColumnKey(column_key) if isinstance(column_key, str) else column_key
            if row not in self._row_locations or column not in self._column_locations:
                raise CellDoesNotExist(
                    f"No cell exists for row_key={row!r}, column_key={column!r}."
                )
            self._data[row][column] = value
            changed.setdefault(row, set()).add(column)
        if not changed:
            return
        indexes = {self._row_locations.get(row) for row in changed}
        cells = {(row, column) for row, columns in changed.items() for column in columns}
        # The cached renders of the changed cells and of the lines they are in (their rows'
        # renderables and lines, and the screen lines the rows cover); every other cell is
        # composed again from its cache.
        _discard(self._row_renderable_cache, lambda k: k[1] in indexes)
        _discard(self._cell_render_cache, lambda k: (k[0], k[1]) in cells)
        _discard(self._row_render_cache, lambda k: k[0] in changed)
        header = self.header_height if self.show_header else 0
        lines = {header + y for y, (key, _) in enumerate(self._y_offsets) if key in changed}
        _discard(self._line_cache, lambda k: k[0] in lines)
        for index in indexes:
            if index is not None:
                self.refresh_row(index)


def _discard(cache: Any, doomed: Any) -> None:
    for key in [k for k in cache.keys() if doomed(k)]:
        cache.discard(key)
