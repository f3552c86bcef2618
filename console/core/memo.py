"""Answers remembered across refreshes, bounded: every refresh asks the same questions again
(which service a session or a series is, a service's effective pool), and the keys come from
outside (application names, label values), so a store must never grow without end."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

KEPT = 10_000  # answers a store keeps at most; grown to it, it starts over


def remembered(store: dict[K, V], key: K, make: Callable[[], V]) -> V:
    """store[key], made by make() the first time it is asked for (None is an answer too)."""
    try:
        return store[key]
    except KeyError:
        pass
    if len(store) >= KEPT:
        store.clear()
    value = store[key] = make()
    return value


def kept_while_same(
    store: dict[K, tuple[tuple[Any, ...], V]],
    key: K,
    inputs: tuple[Any, ...],
    make: Callable[[], V],
) -> V:
    """The answer made for `key` last time while its inputs are the same (compared by identity
    first: the same objects again cost next to nothing), else make() — one answer per key, so
    what the console made of an unchanged service is kept from refresh to refresh. A key
    that is an object's id comes with the object among its inputs: the store holds it, so the
    id is never another's."""
    last = store.get(key)
    if last is not None and last[0] == inputs:
        return last[1]
    value = make()
    if len(store) >= KEPT:
        store.clear()
    store[key] = (inputs, value)
    return value
