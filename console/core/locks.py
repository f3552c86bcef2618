"""Who blocks whom: the blocking tree of the backends a snapshot shows, from each waiter's
pg_blocking_pids. The root of a tree holds a lock others wait on and waits on nothing itself:
the culprit of a pile-up. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from console.core.snapshot import Backend


def waited_s(b: Backend) -> float:
    """How long a backend has waited on its lock (from its query's start before 14)."""
    return (b.lock_wait_s if b.lock_wait_s is not None else b.query_age_s) or 0.0


@dataclass(frozen=True)
class Node:
    pid: int
    backend: Backend | None  # None: a blocker the snapshot's rows do not include
    waiters: tuple[Node, ...] = ()

    def walk(self, depth: int = 0) -> Iterable[tuple[int, Node]]:
        """(depth, node) of this node and everything under it, depth first."""
        yield depth, self
        for w in self.waiters:
            yield from w.walk(depth + 1)

    @property
    def blocked(self) -> int:
        """Sessions waiting behind this one, directly or not (each counted once, however many
        of the locks it waits on this tree holds)."""
        return len({n.pid for d, n in self.walk() if d})

    @property
    def longest_wait_s(self) -> float:
        return max((waited_s(n.backend) for d, n in self.walk() if d and n.backend), default=0.0)


def blocking_trees(backends: Iterable[Backend]) -> tuple[Node, ...]:
    """A tree per root blocker, the longest-blocking first. A waiter blocked by several pids
    is listed under each; a cycle (a deadlock the server has not broken yet) is cut where it
    closes."""
    rows = {b.pid: b for b in backends}
    waiters_of: dict[int, list[int]] = {}
    for b in rows.values():
        for blocker in b.blocking_pids:
            waiters_of.setdefault(blocker, []).append(b.pid)
    waiting = {b.pid for b in rows.values() if b.blocking_pids}

    def node(pid: int, seen: frozenset[int]) -> Node:
        children = tuple(
            node(w, seen | {w}) for w in sorted(waiters_of.get(pid, ())) if w not in seen
        )
        return Node(pid, rows.get(pid), children)

    trees = [node(pid, frozenset({pid})) for pid in waiters_of if pid not in waiting]
    covered = {n.pid for t in trees for _, n in t.walk()}
    for pid in sorted(waiters_of):  # cycles no root reaches: each from its lowest pid
        if pid not in covered:
            trees.append(node(pid, frozenset({pid})))
            covered |= {n.pid for _, n in trees[-1].walk()}
    trees.sort(key=lambda n: (-n.longest_wait_s, -n.blocked, n.pid))
    return tuple(trees)
