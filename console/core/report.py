"""`check` and `audit` output: the contract's JSON shape, and the audit as Markdown."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

from console import __version__
from console.core.assessment import Assessment, slots_from
from console.core.budget import ServiceBudget
from console.core.findings import CRITICAL, INFO, WARNING, RuleId
from console.core.fleet import FleetAssessment, ServerAssessment
from console.core.rules import describe_all
from console.core.settings import Thresholds
from console.core.snapshot import ALWAYS_LISTED
from console.core.untrusted import clean

SEVERITY_ICON = {CRITICAL: "🔴 critical", WARNING: "🟠 warning", INFO: "🔵 info"}


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_fleet(x: Assessment | FleetAssessment) -> FleetAssessment:
    return x if isinstance(x, FleetAssessment) else FleetAssessment.single(x)


def to_json(x: Assessment | FleetAssessment) -> dict[str, Any]:
    """The contract's shape, of the first server (the only one of a one-server allocation),
    with every server's findings and a `servers` array (one entry per server)."""
    fa = as_fleet(x)
    doc = _server_json(fa.first)
    doc["findings"] = [f.as_dict() for f in fa.findings]
    doc["servers"] = [
        _server_entry(fa, sa, doc if i == 0 else _server_json(sa.assessment))
        for i, sa in enumerate(fa.servers)
    ]
    return doc


def _server_entry(fa: FleetAssessment, sa: ServerAssessment, own: dict[str, Any]) -> dict[str, Any]:
    """One server of the `servers` array; `own`: its one-server document."""
    mine = [f for f in fa.findings if f.server == sa.name] if fa.several else fa.findings
    return {
        "name": sa.name,
        "role": sa.server.role,
        "follows": sa.server.follows,
        "in_recovery": sa.in_recovery,
        "status": sa.status.as_dict(),
        "cluster": own["cluster"] | {"wal_senders": sa.assessment.snapshot.wal_senders},
        "budget": own["budget"],
        "services": own["services"],
        "unattributed": own["unattributed"],
        "findings": [f.as_dict() for f in mine],
    }


def _server_json(a: Assessment) -> dict[str, Any]:
    snap, b = a.snapshot, a.budget
    server = snap.server
    return {
        "generated_at": iso(snap.taken_at),
        "sources": {
            str(name): snap.source(name).as_dict() for name in (*ALWAYS_LISTED, *snap.sources)
        },
        "cluster": {
            "server_version": server.server_version if server else None,
            "max_connections": b.slots.max_connections,
            "superuser_reserved_connections": b.slots.superuser_reserved_connections,
            "reserved_connections": b.slots.reserved_connections,
            "available": b.available,
            "client_backends": a.client_backends,
            "by_state": a.by_state if server else None,
            "slots_from": slots_from(snap),
        },
        "allocation_observed": a.allocation.observed,
        "budget": b.as_dict() | {"reserved": dict(b.reserved)},
        "services": [row.as_dict() for row in a.services],
        "unattributed": {
            "server_connections": a.unattributed.server_connections,
            "applications": list(a.unattributed.applications),
        },
        "findings": [f.as_dict() for f in a.findings],
    }


def exit_code(x: Assessment | FleetAssessment) -> int:
    """Nagios: 2 critical from the data; 3 a source unreachable; 1 warning; 0 OK. Over every
    server: the worst."""
    a = as_fleet(x)
    data_findings = [f for f in a.findings if f.rule != RuleId.SOURCE_UNREACHABLE]
    if any(f.severity == CRITICAL for f in data_findings):
        return 2
    if any(f.rule == RuleId.SOURCE_UNREACHABLE for f in a.findings):
        return 3
    if any(f.severity == WARNING for f in data_findings):
        return 1
    return 0


def _summary(a: Assessment) -> str:
    b = a.budget
    backends = (
        f"{a.client_backends}/{b.available} client backends"
        if a.client_backends is not None
        else "client backends unknown"
    )
    return f"{backends}; allocated {b.allocated}/{b.available}, headroom {b.headroom}"


def check_text(x: Assessment | FleetAssessment) -> str:
    """One status line (and one per server, when several) and one line per finding, as
    monitoring plugins print."""
    fa = as_fleet(x)
    label = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][exit_code(fa)]
    if not fa.several:
        lines = [f"NOVAPOOL {label}: {_summary(fa.first)}; {len(fa.findings)} finding(s)"]
    else:
        lines = [f"NOVAPOOL {label}: {len(fa.servers)} servers; {len(fa.findings)} finding(s)"]
        for sa in fa.servers:
            lines.append(f"  server {sa.name} ({sa.server.role}): {_summary(sa.assessment)}")
    for f in fa.findings:
        where = f"{f.server or '-':<12} " if fa.several else ""
        lines.append(
            f"  {f.severity:<8} {f.rule:<26} {where}{f.service or '-':<22} {clean(f.message)}"
        )
    return "\n".join(lines)


def md(text: object) -> str:
    """A Markdown table cell: no pipes, no newlines, no HTML, no control characters."""
    s = clean(str(text)).replace("\\", "\\\\").replace("|", "\\|")
    s = s.replace("<", "&lt;").replace(">", "&gt;")
    # no link, image, emphasis or code span can start in untrusted text
    return re.sub(r"([\[\]()!*_`~#])", r"\\\1", s)


def code(text: object) -> str:
    """Text for inside a Markdown code span: one line, no backtick to close it early."""
    return clean(str(text)).replace("`", "'")


def _n(x: float | int | None) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:.1f}"
    return str(int(x))


def audit_markdown(
    x: Assessment | FleetAssessment, *, offline: bool, thresholds: Thresholds | None = None
) -> str:
    fa = as_fleet(x)
    a = fa.first
    snap, b, alloc = a.snapshot, a.budget, a.allocation
    server = snap.server
    out: list[str] = []
    w = out.append
    w("# PostgreSQL connection budget audit")
    w("")
    source = {
        "postgres": f"live: PostgreSQL {server.server_version if server else ''}",
        "prometheus": "live: cluster values from postgres_exporter's metrics",
        "allocation": (
            "offline: cluster values from the allocation file"
            if offline
            else "cluster values from the allocation file (no live source has them)"
        ),
    }[slots_from(snap)]
    w(
        f"Generated {iso(snap.taken_at)} by novapool {__version__} from "
        f"`{code(alloc.path or 'allocation')}` ({source})."
    )
    w("")
    crit = [f for f in fa.findings if f.severity == CRITICAL]
    warn = [f for f in fa.findings if f.severity == WARNING]
    if b.overcommitted:
        verdict = f"❌ **Overcommitted** by {-b.headroom} connections"
    elif crit:
        verdict = f"❌ **{len(crit)} critical finding(s)**"
    elif warn:
        verdict = f"⚠️ **{len(warn)} warning(s)**"
    else:
        verdict = "✅ **Within budget**"
    where = f" on {code(fa.servers[0].name)}" if fa.several else ""
    w(
        f"{verdict}: {len(alloc.services)} services allocate **{b.allocated}** of **{b.available}** "
        f"available connections{where} ({b.allocated_pct} %); headroom **{b.headroom}** "
        f"({b.headroom_pct} % of available); min floor **{b.min_floor}**."
    )
    w("")
    if fa.several:
        _servers_section(fa, w)
    # With several servers, the sections below are the first server's (each server's budget
    # is in the Servers section above).
    of_first = f" — {md(fa.servers[0].name)}" if fa.several else ""

    w(f"## Cluster slots{of_first}")
    w("")
    w("| Setting | Value |")
    w("|---|---:|")
    w(f"| `max_connections` | {b.slots.max_connections} |")
    w(f"| `superuser_reserved_connections` | − {b.slots.superuser_reserved_connections} |")
    w(f"| `reserved_connections` (PostgreSQL 16+) | − {b.slots.reserved_connections} |")
    w(f"| **available to clients** | **{b.available}** |")
    if server:
        w(f"| client backends now | {_n(a.client_backends)} |")
    w("")
    w(
        "WAL senders, autovacuum and background workers have slots of their own "
        "(`max_wal_senders`, `autovacuum_max_workers`, `max_worker_processes`) and are not "
        "subtracted."
    )
    w("")

    w(f"## Budget{of_first}")
    w("")
    w("| Allocated | Min floor | Available | Headroom | Headroom % | Overcommitted |")
    w("|---:|---:|---:|---:|---:|:---:|")
    w(
        f"| {b.allocated} | {b.min_floor} | {b.available} | {b.headroom} | {b.headroom_pct} | "
        f"{'**yes**' if b.overcommitted else 'no'} |"
    )
    w("")
    w(
        "allocated = Σ (max × replicas) + reserved line items; min floor = Σ (min × replicas), "
        "the connections held even when idle; headroom % is of available."
    )
    w("")

    w(f"## By tier{of_first}")
    w("")
    w("| Tier | Services | Replicas | Allocated | Min floor | Share of available |")
    w("|---|---:|---:|---:|---:|---:|")
    tiers: dict[str, list[ServiceBudget]] = defaultdict(list)
    for s in b.services:
        tiers[s.tier or "(none)"].append(s)
    for tier, members in tiers.items():
        alloc_sum = sum(s.allocated for s in members)
        share = f"{100 * alloc_sum / b.available:.1f} %" if b.available > 0 else "—"
        w(
            f"| {md(tier)} | {len(members)} | {sum(s.replicas for s in members)} | {alloc_sum} | "
            f"{sum(s.floor for s in members)} | {share} |"
        )
    if b.reserved:
        share = f"{100 * b.reserved_total / b.available:.1f} %" if b.available > 0 else "—"
        w(f"| reserved line items | — | — | {b.reserved_total} | — | {share} |")
    w(
        f"| **total** | **{len(b.services)}** | **{sum(s.replicas for s in b.services)}** | "
        f"**{b.allocated}** | **{b.min_floor}** | **{b.allocated_pct} %** |"
    )
    w("")

    w(f"## By service{of_first}")
    w("")
    live = not offline and (server is not None or any(r.instances for r in a.services))
    head = "| Service | Tier | Max | Min | Replicas | Allocated | Min floor | Source |"
    sep = "|---|---|---:|---:|---:|---:|---:|---|"
    if live:
        head += " Pool size | In use | Fill % | Busy % | Server conns |"
        sep += "---:|---:|---:|---:|---:|"
    w(head)
    w(sep)
    for row, sb in zip(a.services, b.services, strict=True):
        replicas = f"{row.replicas}" + (" (live)" if row.replicas_source == "metrics" else "")
        source = "library default" if row.allocation_source == "library-default" else "allocation"
        line = (
            f"| {md(row.name)} | {md(row.tier or '—')} | {row.allocated_max} | "
            f"{row.allocated_min} | {replicas} | {sb.allocated} | {sb.floor} | {source} |"
        )
        if live:
            line += (
                f" {_n(row.pool_size)} | {_n(row.in_use)} | {_n(row.fill_pct)} | "
                f"{_n(row.busy_pct)} | {_n(row.server_connections)} |"
            )
        w(line)
    w("")
    if b.reserved:
        w("Reserved line items: " + ", ".join(f"{md(k)} {v}" for k, v in b.reserved) + ".")
        w("")
    if live and a.unattributed.server_connections:
        w(
            f"Unattributed client connections: {a.unattributed.server_connections} "
            f"({', '.join(md(x or '(no name)') for x in a.unattributed.applications)})."
        )
        w("")

    w("## Findings")
    w("")
    if not fa.findings:
        w("None.")
    else:
        w(
            "| Severity | Rule | Server | Service | Finding |"
            if fa.several
            else "| Severity | Rule | Service | Finding |"
        )
        w("|---|---|---|---|---|" if fa.several else "|---|---|---|---|")
        for f in fa.findings:
            at = f" {md(f.server or '—')} |" if fa.several else ""
            w(
                f"| {SEVERITY_ICON[f.severity]} | `{f.rule}` |{at} {md(f.service or '—')} | "
                f"{md(f.message)} |"
            )
    w("")
    w("<details><summary>Rules</summary>")
    w("")
    for rule, severities, text in describe_all(thresholds or Thresholds()):
        levels = "/".join(severities)
        w(f"- `{rule}` ({levels}): {md(text)}")
    w("")
    w("</details>")
    return "\n".join(out) + "\n"


def _servers_section(fa: FleetAssessment, w: Any) -> None:
    """Every server's budget, and the pools each draws: the audit of several servers."""
    w("## Servers")
    w("")
    w("| Server | Role | Available | Allocated | Min floor | Headroom | Overcommitted | Status |")
    w("|---|---|---:|---:|---:|---:|:---:|---|")
    for sa in fa.servers:
        b = sa.assessment.budget
        role = sa.server.role + (f" of {md(sa.server.follows)}" if sa.server.follows else "")
        w(
            f"| {md(sa.name)} | {role} | {b.available} | {b.allocated} | {b.min_floor} | "
            f"{b.headroom} | {'**yes**' if b.overcommitted else 'no'} | {sa.status.status} |"
        )
    w("")
    for sa in fa.servers:
        pools = ", ".join(
            f"{md(s.name)} {s.max_connections}×{s.replicas}" for s in sa.assessment.budget.services
        )
        w(f"- **{md(sa.name)}** draws: {pools or 'no pool'}.")
    w("")


def audit_json(x: Assessment | FleetAssessment, *, offline: bool) -> dict[str, Any]:
    fa = as_fleet(x)
    a = fa.first
    doc = to_json(fa)
    doc["offline"] = offline
    doc["allocation"] = a.allocation.path
    doc["tiers"] = {}
    for s in a.budget.services:
        t = doc["tiers"].setdefault(s.tier or "", {"services": 0, "allocated": 0, "min_floor": 0})
        t["services"] += 1
        t["allocated"] += s.allocated
        t["min_floor"] += s.floor
    return doc
