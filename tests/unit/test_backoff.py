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


def test_suggest_says_how_much_of_its_window_the_data_covers():
    from console.core.history import window_seconds
    from console.tui.app import _coverage

    assert window_seconds("7d") == 7 * 86400 and window_seconds("90m") == 5400
    assert window_seconds("session") is None
    assert _coverage("7d", 7 * 86400) == "Prometheus, max over 7d"
    assert _coverage("7d", None) == "Prometheus, max over 7d"
    short = _coverage("7d", 240)
    assert short.startswith("Prometheus, max over 7d, but the data covers only 4m00s: SHORT")
