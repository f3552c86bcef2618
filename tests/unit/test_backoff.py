"""Reconnect backoff of a failing source: doubling from 1 s, capped at 30 s, reset on success."""

from console.sources.collect import BACKOFF_MAX_S, Health


def test_backoff_doubles_caps_and_resets():
    h = Health()
    waits = []
    for _ in range(8):
        h.failed("refused", now=100.0)
        waits.append(h.next_try - 100.0)
    assert waits == [1, 2, 4, 8, 16, BACKOFF_MAX_S, BACKOFF_MAX_S, BACKOFF_MAX_S]
    assert h.last_error == "refused"
    h.succeeded(now=200.0)
    assert (h.failures, h.next_try, h.last_ok, h.last_error) == (0, 0.0, 200.0, None)
