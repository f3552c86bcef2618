"""Every source novapool knows, built from the settings: the one place that lists them.

A new source is a module with a `Source` (see base.py) and a `from_settings(settings,
allocation)` that returns it, or None when the settings do not ask for it; and a line here.
"""

from __future__ import annotations

from collections.abc import Callable

from console.core.allocation import Allocation
from console.core.settings import Settings
from console.core.snapshot import SourceName
from console.sources import postgres, prometheus, scrape
from console.sources.base import Source

Factory = Callable[[Settings, Allocation], Source | None]

FACTORIES: dict[SourceName, Factory] = {
    SourceName.POSTGRES: postgres.from_settings,
    SourceName.PROMETHEUS: prometheus.from_settings,
    SourceName.SCRAPE: scrape.from_settings,
}


def build(settings: Settings, allocation: Allocation) -> dict[SourceName, Source]:
    """The configured sources, in the registry's order."""
    built = {name: factory(settings, allocation) for name, factory in FACTORIES.items()}
    return {name: source for name, source in built.items() if source is not None}
