"""The what-if session and the suggestion (pure)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.core import budget
from console.core.allocation import EditError
from console.core.whatif import WhatIf, suggest


def test_edits_undo_and_dirty(shipped_allocation):
    w = WhatIf(shipped_allocation)
    assert not w.dirty and w.budget_after().allocated == 77
    w.nudge("auth-service", +4)
    w.apply("feed-service", "replicas", 3)
    assert w.budget_after().allocated == 77 + 4 + 16
    assert w.budget_before().allocated == 77
    assert w.dirty
    w.mark_exported()
    assert not w.dirty
    assert w.undo().describe() == "feed-service.replicas=3"
    assert w.budget_after().allocated == 81 and w.dirty
    with pytest.raises(EditError, match="min_connections"):
        w.apply("auth-service", "min", 99)
    assert len(w.edits) == 1  # a refused edit changes nothing


def test_unexported_counts_only_the_edits_after_the_export(shipped_allocation):
    w = WhatIf(shipped_allocation)
    for _ in range(3):
        w.nudge("auth-service", +1)
    w.mark_exported()
    assert (w.dirty, w.unexported) == (False, 0)
    w.nudge("feed-service", -1)
    assert (w.dirty, w.unexported) == (True, 1)
    w.undo()
    assert (w.dirty, w.unexported) == (False, 0)  # back to what was written
    w.undo()  # an exported edit undone
    assert (w.dirty, w.unexported) == (True, 1)
    w.set_live(budget.Slots(200, 3, 0), {})  # a replay keeps the bookkeeping
    assert (w.dirty, w.unexported) == (True, 1)


def test_live_values_move_under_the_edits(shipped_allocation):
    w = WhatIf(shipped_allocation)
    w.nudge("auth-service", +1)
    w.set_live(budget.Slots(200, 3, 0), {"auth-service": 3})
    assert w.value(w.current, "auth-service", "max") == 13  # the edit survived
    assert w.value(w.current, "auth-service", "replicas") == 3  # live replicas
    assert w.budget_after().available == 197
    assert w.budget_before().allocated == 77 + 24


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "auth-service",
                "user-service",
                "feed-service",
                "search-service",
                "cdn-service",
                "media-service",
            ]
        ),
        st.floats(0, 200, allow_nan=False),
        min_size=1,
    ),
    st.integers(40, 400),
    st.integers(0, 100),
)
def test_suggestion_fits_when_it_can(peaks, available, margin):
    from console.core.allocation import load
    from tests.conftest import ALLOCATION

    alloc = load(ALLOCATION)
    proposal = suggest(alloc, peaks, available, margin_pct=margin)
    assert set(proposal) == set(peaks)
    fixed = sum(
        alloc.effective(s).max_connections * s.replicas
        for s in alloc.services
        if s.name not in proposal
    )
    floors = sum(max(1, alloc.effective(alloc.service(k)).min_connections) for k in proposal)
    total = fixed + sum(proposal.values())  # one replica each in the shipped file
    if fixed + floors <= available:
        assert total <= available  # it fits whenever the floors do
    for name, value in proposal.items():
        assert value >= max(1, alloc.effective(alloc.service(name)).min_connections)
