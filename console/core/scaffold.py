"""`novapool init`: an allocation file from an (observed) Allocation, ready to edit and valid
for the loader (a test round-trips it). Pure text; the CLI writes it atomically."""

from __future__ import annotations

import json

from console.core.allocation import Allocation

HEADER = """\
# The intended connection allocation of the fleet, per service: what novapool budgets against
# the PostgreSQL server's max_connections. Written by `novapool init` {origin}.
# Edit each service's max_connections / min_connections / replicas to what it should get;
# `match` maps a service to the application_name its connections use (default: its name).
# Every key is described in the README, "The allocation file".
"""


def _name(name: str) -> str:
    """A YAML key that stays a string whatever it looks like ("true", "1.5", "null")."""
    return json.dumps(name)


def render(allocation: Allocation, origin: str) -> str:
    c, d = allocation.cluster, allocation.defaults
    out = [HEADER.format(origin=origin)]
    out.append("cluster:                       # used offline; live values from the server win")
    out.append(f"  max_connections: {c.max_connections}")
    out.append(f"  superuser_reserved_connections: {c.superuser_reserved_connections}")
    out.append(f"  reserved_connections: {c.reserved_connections}      # PostgreSQL 16+ only")
    out.append("")
    out.append("defaults:                      # the pool library's fallback and its timeouts")
    for key in (
        "max_connections",
        "min_connections",
        "connect_timeout_secs",
        "acquire_timeout_secs",
        "idle_timeout_secs",
        "max_lifetime_secs",
    ):
        out.append(f"  {key}: {getattr(d, key)}")
    out.append("")
    reserved = ", ".join(f"{_name(k)}: {v}" for k, v in allocation.reserved)
    out.append(
        f"reserved: {{{reserved}}}                   # connections outside the pools, "
        "e.g. {migrations: 2, novapool: 1}"
    )
    out.append("")
    out.append("services:")
    for svc in allocation.services:
        if svc.pooler is not None:
            continue  # init writes application pools; poolers are declared by hand
        fields = []
        if svc.tier:
            fields.append(f"tier: {_name(svc.tier)}")
        for key in ("max_connections", "min_connections"):
            if getattr(svc, key) is not None:
                fields.append(f"{key}: {getattr(svc, key)}")
        fields.append(f"replicas: {svc.replicas}")
        out.append(f"  {_name(svc.name)}: {{{', '.join(fields)}}}")
    return "\n".join(out) + "\n"
