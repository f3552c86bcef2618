"""The what-if session: a copy of the allocation that edits, undoes and suggests, flowing into
the same budget arithmetic and the same exporter as everything else. Pure."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from console.core import budget as budget_mod
from console.core.allocation import EDIT_FIELDS, Allocation, EditError, apply_edit, split_target


@dataclass(frozen=True)
class Edit:
    target: str  # a service name, or "cluster"
    field: str  # an EDIT_FIELDS name (max, min, replicas, ...) or a cluster field
    value: int
    before: int | None

    def describe(self) -> str:
        return f"{self.target}.{self.field}={self.value}"

    @property
    def key(self) -> tuple[str, str, int]:
        """What the edit does, whatever the value was before it."""
        return (self.target, self.field, self.value)


@dataclass
class WhatIf:
    base: Allocation  # the allocation file (what exports diff against)
    slots: Mapping[str, budget_mod.Slots] = field(default_factory=dict)  # live, by server
    live_replicas: Mapping[str, int] = field(default_factory=dict)
    edits: list[Edit] = field(default_factory=list)
    exported: tuple[tuple[str, str, int], ...] = ()  # the edits the last export wrote
    start_point: Allocation = field(init=False)  # what the edits apply to; see _live_copy
    current: Allocation = field(init=False)  # the start point with the edits applied

    def __post_init__(self) -> None:
        self.start_point = self.current = self._live_copy()

    def _live_copy(self) -> Allocation:
        """The copy to edit: the file, with live replicas and the live max_connections."""
        alloc = self.base
        for name, n in self.live_replicas.items():
            if name in alloc.names() and n != alloc.service(name).replicas:
                alloc = alloc.replace_service(dataclasses.replace(alloc.service(name), replicas=n))
        for server, slots in self.slots.items():
            if server not in alloc.server_names():
                continue
            alloc = alloc.with_cluster(
                server,
                dataclasses.replace(
                    alloc.server(server).cluster,
                    max_connections=slots.max_connections,
                    superuser_reserved_connections=slots.superuser_reserved_connections,
                    reserved_connections=slots.reserved_connections,
                ),
            )
        return alloc

    def budget_before(self, server: str | None = None) -> budget_mod.Budget:
        return budget_mod.compute(self.start_point.for_server(server))

    def budget_after(self, server: str | None = None) -> budget_mod.Budget:
        return budget_mod.compute(self.current.for_server(server))

    def _common(self) -> int:
        """How many edits, from the first, are the ones the last export wrote."""
        n = 0
        for edit, written in zip(self.edits, self.exported, strict=False):
            if edit.key != written:
                break
            n += 1
        return n

    @property
    def dirty(self) -> bool:
        """The edited allocation is not what the last export wrote (or nothing was exported)."""
        common = self._common()
        return common < len(self.edits) or common < len(self.exported)

    @property
    def unexported(self) -> int:
        """How many edits were never exported (at least 1 when an exported edit was undone)."""
        n = len(self.edits) - self._common()
        return max(n, 1) if self.dirty else 0

    def rebase(self, base: Allocation) -> None:
        """A new allocation to edit (an observer's, refilled from each snapshot)."""
        if base == self.base:
            return
        self.base = base
        self.start_point = self._live_copy()
        self._replay()

    def value(self, alloc: Allocation, target: str, field_name: str) -> int:
        """A field's value; `target` as an edit names it (`svc@server`, `cluster@server`)."""
        name, server = split_target(alloc, target)
        if name == "cluster":
            return int(getattr(alloc.server(server).cluster, field_name))
        if server is not None:
            alloc = alloc.for_server(server)
        svc = alloc.service(name)
        attr = EDIT_FIELDS.get(field_name, field_name)
        if attr == "replicas":
            return svc.replicas
        return int(getattr(alloc.effective(svc), attr))

    def apply(self, target: str, field_name: str, value: int) -> Edit:
        """Validated; raises EditError with the reason and changes nothing."""
        before = self.value(self.current, target, field_name)
        new = apply_edit(self.current, target, field_name, value)
        edit = Edit(target, field_name, value, before)
        self.current = new
        self.edits.append(edit)
        return edit

    def nudge(self, service: str, delta: int) -> Edit:
        return self.apply(service, "max", self.value(self.current, service, "max") + delta)

    def undo(self) -> Edit | None:
        if not self.edits:
            return None
        last = self.edits.pop()
        self._replay()
        return last

    def mark_exported(self) -> None:
        self.exported = tuple(e.key for e in self.edits)

    def set_live(
        self,
        slots: budget_mod.Slots | Mapping[str, budget_mod.Slots] | None,
        live_replicas: Mapping[str, int],
    ) -> None:
        """New live values (slots: the first server's, or by server); edits are kept and
        replayed on top (they survive refreshes)."""
        if isinstance(slots, budget_mod.Slots):
            slots = {self.base.server_names()[0]: slots}
        slots = dict(slots or {})
        if slots == dict(self.slots) and dict(live_replicas) == dict(self.live_replicas):
            return
        self.slots, self.live_replicas = slots, dict(live_replicas)
        self.start_point = self._live_copy()
        self._replay()

    def _replay(self) -> None:
        """Rebuild `current` from the start point and the edits; an edit that the new live
        values make invalid is dropped rather than applied."""
        replay, self.edits = self.edits, []
        self.current = self.start_point
        for e in replay:
            try:
                self.apply(e.target, e.field, e.value)
            except EditError:
                continue


def suggest(
    alloc: Allocation,
    peaks: Mapping[str, float],
    available: int,
    margin_pct: float = 25,
    minimum: int = 2,
) -> dict[str, int]:
    """Per-service max from observed peak in-use per replica plus a margin; if the total would
    not fit the available slots (reserved items and other services kept), the part above each
    service's floor (its min, at least 1) is scaled down proportionally, so the result fits
    whenever the floors do.

    peaks: service → peak in-use summed over replicas. Returns service → suggested max."""
    wanted: dict[str, int] = {}
    floor: dict[str, int] = {}
    for svc in alloc.services:
        if svc.name not in peaks or svc.pooler is not None:
            continue
        pool = alloc.effective(svc)
        per_replica = peaks[svc.name] / max(1, svc.replicas)
        floor[svc.name] = max(1, pool.min_connections)
        wanted[svc.name] = max(
            minimum, floor[svc.name], math.ceil(per_replica * (1 + margin_pct / 100))
        )
    replicas = {name: alloc.service(name).replicas for name in wanted}
    fixed = sum(n for _, n in alloc.reserved) + sum(
        alloc.effective(s).max_connections * s.replicas
        for s in alloc.services
        if s.name not in wanted
    )
    room_above_floors = available - fixed - sum(floor[k] * replicas[k] for k in wanted)
    above = sum((wanted[k] - floor[k]) * replicas[k] for k in wanted)
    if above > max(0, room_above_floors):
        factor = max(0, room_above_floors) / above
        for k in wanted:
            wanted[k] = floor[k] + math.floor((wanted[k] - floor[k]) * factor)
    return wanted
