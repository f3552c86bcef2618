"""Blocking reads off the event loop, in daemon threads: a read stuck on a source that trickles
or never answers can be abandoned — the console quits and `check` exits without waiting for it
(asyncio's default executor, and ThreadPoolExecutor, join their threads at exit)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def in_daemon_thread(fn: Callable[[], T], name: str = "novapool-read") -> asyncio.Future[T]:
    """fn() in a daemon thread; its result (or exception) arrives as a future on this loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side as it is
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:
            pass  # the loop is gone (the program is quitting): nobody waits for this read

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
