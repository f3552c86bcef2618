"""LinesTable: what changed is drawn, and only it is rendered again."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text

from console.demo.sample import incident_snapshot
from console.tui.widgets.findings_panel import FindingsPanel
from console.tui.widgets.services_table import ServicesTable
from tests.tui.conftest import aged, build_app, settled


def drawn(table) -> list[str]:
    """The table's lines as the terminal gets them."""
    return ["".join(seg.text for seg in table.render_line(y)) for y in range(table.size.height)]


async def test_moving_ages_render_again_only_the_findings_they_are_in():
    first = incident_snapshot()
    older = aged(first)
    app = build_app([first, older])
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        panel = app.screen.query_one(FindingsPanel)
        before = [str(panel.get_row_at(i)[3]) for i in range(panel.row_count)]
        drawn(panel)  # every line rendered (and cached) once
        rendered = panel.rendered_rows
        app.action_refresh_now()
        await settled(pilot)
        lines = drawn(panel)
        after = [str(panel.get_row_at(i)[3]) for i in range(panel.row_count)]
        changed = sum(a != b for a, b in zip(before, after, strict=True))
        shown = min(panel.row_count, panel.size.height - 1)
        assert 0 < changed < shown  # some ages moved, not every finding has one
        assert any("idle in transaction for 414 s" in line for line in lines)  # drawn
        assert 0 < panel.rendered_rows - rendered <= changed  # those rows, nothing else


async def test_services_lines_are_cached_by_content_not_position():
    """A sort re-orders rendered lines (none is rendered again); a row whose cells changed is
    the only one rendered again; what is drawn follows."""
    app = build_app([incident_snapshot()])
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        table = app.screen.query_one(ServicesTable)
        drawn(table)  # every line rendered (and cached) once
        rendered = table.rendered_rows
        first = table.row_keys[0]
        await pilot.press("s")  # by name: another order
        await pilot.pause()
        lines = drawn(table)
        assert table.row_keys[0] != first and table.row_keys[0] in lines[1]
        assert table.rendered_rows == rendered  # re-ordered lines, none rendered again
        rendered = table.rendered_rows
        row = table.row_keys[3]
        cells = {k: table.get_row_at(i) for i, k in enumerate(table.row_keys)}
        cells[row] = [Text("renamed-for-the-test"), *cells[row][1:]]
        versions = dict(table._versions)
        versions[row] = "renamed"  # a new version: its cells are made again
        table.set_rows(table.row_keys, versions, cells.__getitem__)
        lines = drawn(table)
        assert sum("renamed-for-the-test" in line for line in lines) == 1
        assert table.rendered_rows == rendered + 1  # that row alone


async def test_a_refresh_lays_nothing_out_again_unless_a_height_changes(monkeypatch):
    """Only what changed is drawn: a refresh where no widget's height changes never lays the
    screen out again (after a layout Textual redraws every table's scrollbar, a second pass
    over the screen), and a header or budget shown the same text again is not drawn again.
    A text that takes more lines does lay out (the widgets below it move)."""
    from textual.screen import Screen

    from console.tui.widgets.quiet_static import QuietStatic

    first = incident_snapshot()
    app = build_app([first, aged(first, 2), aged(first, 4)])
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        layouts: list[Screen] = []
        updates: list[str] = []
        refresh_layout, update = Screen._refresh_layout, QuietStatic.update

        def counted_layout(self, *args, **kwargs):
            layouts.append(self)
            return refresh_layout(self, *args, **kwargs)

        def counted_update(self, *args, **kwargs):
            updates.append(self.id)
            return update(self, *args, **kwargs)

        monkeypatch.setattr(Screen, "_refresh_layout", counted_layout)
        monkeypatch.setattr(QuietStatic, "update", counted_update)
        for _ in range(2):
            app.action_refresh_now()
            await settled(pilot)
        assert layouts == []
        assert "budget" not in updates and "table-title" not in updates  # the same text
        header = app.screen.query_one("#header", QuietStatic)  # height: auto
        header.show_text(Text("a header of one line"))
        await settled(pilot)
        assert layouts and set(layouts) == {app.screen}


async def test_a_refresh_asks_textual_to_draw_only_the_lines_that_changed(monkeypatch):
    """Rows in the same places: only the lines of rows whose content changed are drawn again
    by the compositor (the findings whose ages moved), not the whole table; a new order draws
    every line."""
    from console.tui.widgets.lines_table import LinesTable

    first = incident_snapshot()
    app = build_app([first, aged(first, 2)])
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)
        panel = app.screen.query_one(FindingsPanel)
        services = app.screen.query_one(ServicesTable)
        before = [str(panel.get_row_at(i)[3]) for i in range(panel.row_count)]
        asked: dict[str, list[int]] = {"findings": [], "services": []}
        render_line = LinesTable.render_line

        def counted(self, y):
            asked[self.id].append(y)
            return render_line(self, y)

        monkeypatch.setattr(LinesTable, "render_line", counted)
        app.action_refresh_now()
        await settled(pilot)
        after = [str(panel.get_row_at(i)[3]) for i in range(panel.row_count)]
        moved = {i + 1 for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b}
        assert moved and set(asked["findings"]) == moved  # those lines (y 0 is the header)
        assert asked["services"] == []  # no service changed
        await pilot.press("s")  # another order: every line of the services table
        await pilot.pause()
        assert set(asked["services"]) == set(range(services.size.height))


async def test_the_trend_moves_once_a_character_not_every_refresh():
    """At a 1 s refresh a trend character is the max over 5 refreshes: refreshes that bring
    the same pool values (a pool scraped every 15 s) draw no service's line again until a new
    character starts; the first refresh of it does."""
    first = incident_snapshot()
    later = [dataclasses.replace(first, taken_at=first.taken_at + i) for i in range(1, 12)]
    app = build_app([first, *later], refresh_s=1.0)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot)  # refresh 1 of 5 in the first character
        services = app.screen.query_one(ServicesTable)
        assert "trend" in services.keys
        drawn(services)
        rendered = services.rendered_rows
        for _ in range(4):  # refreshes 2..5: the same character
            app.action_refresh_now()
            await settled(pilot)
            drawn(services)
        assert services.rendered_rows == rendered
        app.action_refresh_now()  # refresh 6: a second character in every service's trend
        await settled(pilot)
        drawn(services)
        assert services.rendered_rows - rendered == min(
            services.row_count - 1, services.size.height - 1
        )


SPAN_STYLES = ["bold", "red", "on green", "italic #87afd7"]


@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab █─é\n", max_size=12),
            st.sampled_from(["", "bold", "red on blue", "reverse"]),
            st.sampled_from(["left", "right", "default"]),
            st.lists(  # spans: apart, touching, overlapping, past the end, empty
                st.tuples(st.sampled_from(SPAN_STYLES), st.integers(0, 14), st.integers(0, 14)),
                max_size=3,
            ),
            st.integers(0, 14),
        ),
        max_size=5,
    )
)
def test_a_row_draws_as_its_cells_fitted_and_padded_over_the_table_style(cells):
    """row_segments (a segment per run of one style for a cell that fits) draws what Rich
    draws for the row built as a Text of the fitted cells, padded, under the table's style:
    the same characters in the same styles, neighbours of one style joined."""
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style

    from console.tui.widgets.lines_table import PADDING, _fit, row_segments

    console = Console(width=200)
    under = Style(color="#e0e0e0", bgcolor="#1e1e1e")
    texts, widths = [], []
    for plain, style, justify, spans, width in cells:
        cell = Text(plain, style=style, justify=justify)
        for span_style, start, end in spans:
            cell.stylize(span_style, start, end)
        texts.append(cell)
        widths.append(width)
    row = Text(no_wrap=True, end="")
    for cell, width in zip(texts, widths, strict=True):
        row.append(" " * PADDING)
        row.append_text(_fit(cell, width))
        row.append(" " * PADDING)

    def drawn(segments) -> list[tuple[str, object]]:
        return [(s.text, s.style) for s in Segment.simplify(segments) if s.text]

    expected = drawn(Segment.apply_style(row.render(console), under))
    segments = row_segments(texts, widths, under, console)
    assert drawn(segments) == expected
    # neighbours of one style come as one segment (each costs Textual and the terminal)
    assert all(a.style != b.style for a, b in zip(segments, segments[1:], strict=False))
