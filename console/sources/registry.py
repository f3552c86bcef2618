"""Every source novapool knows, built from the settings: the one place that lists them.

A new source is a module with a `Source` (see base.py) and a `from_settings(settings,
allocation)` that returns it (or a list of them, one per server), or None when the settings do
not ask for it; and a line here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from console.core.allocation import Allocation
from console.core.settings import Settings
from console.core.snapshot import SourceName
from console.sources import postgres, prometheus, scrape
from console.sources.base import Source

Factory = Callable[[Settings, Allocation], Source | Sequence[Source] | None]

FACTORIES: dict[SourceName, Factory] = {
    SourceName.POSTGRES: postgres.from_settings,
    SourceName.PROMETHEUS: prometheus.from_settings,
    SourceName.SCRAPE: scrape.from_settings,
}


def key(source: Source) -> str:
    """How the collector names a source: `postgres`, or `postgres@replica-1` for one of
    several servers' connections."""
    return source.name if source.server_name is None else f"{source.name}@{source.server_name}"


def build(settings: Settings, allocation: Allocation) -> dict[str, Source]:
    """The configured sources, in the registry's order (a server's, in the allocation's)."""
    out: dict[str, Source] = {}
    for factory in FACTORIES.values():
        built = factory(settings, allocation)
        for source in [built] if built is None or not isinstance(built, Sequence) else built:
            if source is not None:
                out[key(source)] = source
    return out
