"""Answers remembered across refreshes, bounded: every refresh asks the same questions again
(which service a session or a series is, a service's effective pool), and the keys come from
outside (application names, label values), so a store must never grow without end."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

KEPT = 10_000  # answers a store keeps at most; grown to it, it starts over


def remembered(store: dict[K, V], key: K, make: Callable[[], V], kept: int = KEPT) -> V:
    """store[key], made by make() the first time it is asked for (None is an answer too);
    the store keeps `kept` answers at most."""
    try:
        return store[key]
    except KeyError:
        pass
    if len(store) >= kept:
        store.clear()
    value = store[key] = make()
    return value
