"""Snapshot + allocation + thresholds → what the views show: the facts and their findings.

Pure: no I/O, no Textual. The console, `check` and `audit` all read an Assessment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from console.core import facts as facts_mod
from console.core import observe, rules
from console.core.allocation import Allocation
from console.core.facts import Facts, ServiceRow, Unattributed, slots_for, slots_from
from console.core.findings import Finding
from console.core.settings import Thresholds
from console.core.snapshot import Snapshot

__all__ = ["Assessment", "ServiceRow", "Unattributed", "assess", "slots_for", "slots_from"]


@dataclass(frozen=True)
class Assessment(Facts):
    findings: tuple[Finding, ...]


def assess(
    snapshot: Snapshot,
    allocation: Allocation,
    thresholds: Thresholds | None = None,
    replicas: Mapping[str, int] | None = None,
) -> Assessment:
    """allocation: the file's, or an observer's (`Allocation.observed`), which is filled from
    what this snapshot shows. replicas: live instance counts from other servers' snapshots."""
    if allocation.observed:
        allocation = observe.allocation_from(snapshot, allocation)
    facts = facts_mod.derive(snapshot, allocation, replicas)
    found = rules.evaluate(facts, thresholds or Thresholds())
    return Assessment(**{f.name: getattr(facts, f.name) for f in fields(Facts)}, findings=found)
