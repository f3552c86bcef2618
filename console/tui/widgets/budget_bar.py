"""The budget bar: the allocation stacked by tier against the available slots, with the live
client backends and the min floor marked, headroom in numbers, red when overcommitted."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from console.core.budget import Budget
from console.core.findings import CRITICAL
from console.core.untrusted import clean
from console.tui.text import SEVERITY_STYLE, TIER_STYLES
from console.tui.widgets.quiet_static import QuietStatic


def tier_totals(b: Budget) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for s in b.services:
        totals[s.tier or "other"] = totals.get(s.tier or "other", 0) + s.allocated
    if b.reserved_total:
        totals["reserved"] = b.reserved_total
    return list(totals.items())


def scale_of(*budgets: Budget, client_backends: int | None = None) -> int:
    """The connections a bar's full width stands for: bars drawn to one scale compare."""
    return max(1, client_backends or 0, *(max(b.available, b.allocated) for b in budgets))


def render_budget(
    b: Budget,
    width: int,
    client_backends: int | None = None,
    label: str = "Budget",
    scale_to: int | None = None,
    cause: str | None = None,
) -> Text:
    width = max(20, width)
    scale_to = scale_to or scale_of(b, client_backends=client_backends)
    cells = width / scale_to
    t = Text(no_wrap=True, overflow="crop")
    over = b.overcommitted
    t.append(f" {label} ", style=SEVERITY_STYLE[CRITICAL] if over else "bold reverse")
    t.append(f" allocated {b.allocated} / available {b.available}  ")
    if over:
        t.append(f"OVERCOMMITTED by {-b.headroom}", style=SEVERITY_STYLE[CRITICAL])
        if cause:
            t.append(f": {cause}", style="bold")
    else:
        t.append(
            f"headroom {b.headroom} ({b.headroom_pct}%)",
            style="yellow" if (b.headroom_pct or 0) < 10 else "green",
        )
    t.append(f"  △ min floor {b.min_floor}")
    if client_backends is not None:
        t.append(f"  ▲ clients {client_backends}")
    t.append("  ┃ available", style="dim")
    t.append("\n")
    bar = Text(no_wrap=True, overflow="crop")
    used = 0
    for i, (tier, n) in enumerate(tier_totals(b)):
        start, end = round(used * cells), round((used + n) * cells)
        seg = end - start
        style = TIER_STYLES[i % len(TIER_STYLES)]
        name = f" {clean(tier)} {n}"[:seg] if seg >= 4 else ""
        bar.append(name.ljust(seg, " ") if seg else "", style=f"black on {style}")
        used += n
    avail_col = round(b.available * cells)
    if over:
        # Past the available slots the allocation cannot be served: a segment of its own,
        # never painted over the tier that happens to be last.
        end = len(bar.plain)
        bar.right_crop(end - avail_col)
        label = f" +{-b.headroom} over"
        bar.append(
            (label if len(label) <= end - avail_col else "").ljust(end - avail_col, "▓"),
            style=SEVERITY_STYLE[CRITICAL],
        )
    else:
        bar.append("░" * max(0, avail_col - len(bar.plain)), style="green")
    t.append_text(bar)
    t.append("\n")
    marks = [" "] * (width + 1)
    if client_backends is not None:
        marks[min(width, round(client_backends * cells))] = "▲"
    floor_col = min(width, round(b.min_floor * cells))
    if marks[floor_col] == " ":
        marks[floor_col] = "△"
    avail = min(width, avail_col)
    if marks[avail] == " ":
        marks[avail] = "┃"
    t.append("".join(marks).rstrip(), style="bold")
    return t


class BudgetBar(QuietStatic):
    DEFAULT_CSS = "BudgetBar { height: 3; padding: 0 1; text-wrap: nowrap; text-overflow: clip; }"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._state: tuple[Budget, int | None, str, int | None, str | None] | None = None

    def show(
        self,
        b: Budget,
        client_backends: int | None,
        label: str = "Budget",
        scale_to: int | None = None,
        cause: str | None = None,
    ) -> None:
        """scale_to: the connections the full width stands for (default: this budget's);
        cause: why it is overcommitted, when it is."""
        self._state = (b, client_backends, label, scale_to, cause)
        self._render_now()

    def _render_now(self) -> None:
        if self._state is None:
            return
        b, clients, label, scale_to, cause = self._state
        width = max(20, (self.size.width or 80) - 3)
        self.show_text(render_budget(b, width, clients, label, scale_to, cause))

    def on_resize(self) -> None:
        self._render_now()
