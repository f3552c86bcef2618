"""Rendering helpers. Every untrusted string goes through `safe`: a rich Text (never markup),
with control characters (terminal escapes) made visible."""

from __future__ import annotations

from rich.text import Text

from console.core.findings import CRITICAL, INFO, WARNING, Severity
from console.core.untrusted import clean

# Every state is written out (SEVERITY_LABEL); styles only make it louder. Critical is
# reverse video in both palettes. Without colour (NO_COLOR: Textual draws greys) a coloured
# style can come out dark on dark, so the plain palette uses attributes only.
COLOUR_STYLES = {CRITICAL: "bold reverse red", WARNING: "bold yellow", INFO: "cyan"}
PLAIN_STYLES = {CRITICAL: "bold reverse", WARNING: "bold", INFO: ""}
SEVERITY_STYLE = dict(COLOUR_STYLES)


# Gauges and figures by level; without colour, attributes only (a red 89 % must not come out
# dark grey on near-black), and bars stay plain blocks.
COLOUR_LEVELS: dict[str, str | bool] = {
    "crit": "bold red",
    "warn": "yellow",
    "ok": "green",
    "bar": True,
}
PLAIN_LEVELS: dict[str, str | bool] = {
    "crit": "bold reverse",
    "warn": "bold",
    "ok": "",
    "bar": False,
}
LEVEL_STYLE: dict[str, str | bool] = dict(COLOUR_LEVELS)


def use_colour(colour: bool) -> None:
    """Which palette the severity and level styles come from: set by the app when it is
    made."""
    SEVERITY_STYLE.update(COLOUR_STYLES if colour else PLAIN_STYLES)
    LEVEL_STYLE.update(COLOUR_LEVELS if colour else PLAIN_LEVELS)


SEVERITY_LABEL = {CRITICAL: "CRIT", WARNING: "WARN", INFO: "info"}
TIER_STYLES = ["#5f87d7", "#5fafaf", "#87af5f", "#d7af5f", "#af87d7", "#d7875f", "#87afd7"]
SPARK = "▁▂▃▄▅▆▇█"


def safe(text: object, style: str = "") -> Text:
    """Untrusted text, literally: no markup, no escapes."""
    return Text(clean(text), style=style, no_wrap=True, overflow="ellipsis")


def num(x: float | int | None, dash: str = "—") -> str:
    if x is None:
        return dash
    if isinstance(x, float) and not x.is_integer():
        return f"{x:.1f}"
    return str(int(x))


def alarm() -> str:
    """The style of something wrong (red; without colour, reverse video)."""
    return str(LEVEL_STYLE["crit"])


def pct_style(p: float | None, warn: float = 70, crit: float = 85) -> str:
    if p is None:
        return "dim"
    level = "crit" if p > crit else "warn" if p > warn else "ok"
    return str(LEVEL_STYLE[level])


def gauge(p: float | None, width: int = 5, crit: float = 85) -> Text:
    """A mini bar with its percentage: '███░░  67%'. Readable without colour too."""
    if p is None:
        return Text("—".rjust(width + 5), style="dim")
    filled = max(0, min(width, round(width * p / 100)))
    style = pct_style(p, crit=crit)
    t = Text()
    t.append("█" * filled, style=style if LEVEL_STYLE["bar"] else "")
    t.append("░" * (width - filled), style="dim")
    t.append(f"{p:4.0f}%", style=style)
    return t


def sparkline(values: list[float], width: int = 10) -> Text:
    values = values[-width:]
    if not values:
        return Text(" " * width)
    hi = max(values) or 1.0
    chars = "".join(SPARK[min(len(SPARK) - 1, int((v / hi) * (len(SPARK) - 1)))] for v in values)
    return Text(chars.rjust(width), style="#87afd7")


def severity(sev: Severity | None) -> Text:
    if sev is None:
        return Text("ok", style="green")
    return Text(SEVERITY_LABEL[sev], style=SEVERITY_STYLE[sev])


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))  # as the findings write seconds (:.0f): one number each
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"
