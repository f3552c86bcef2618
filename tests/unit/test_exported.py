"""Cluster facts from postgres_exporter's metrics (pure): parsed as the exporter writes them,
the one server chosen or none, live values winning over the allocation, and what is noted."""

import time

from console.core import exported
from console.core.assessment import assess, slots_from
from console.core.report import to_json
from console.core.snapshot import ServerInfo, Snapshot
from console.sources.scrape import parse_exposition

# As Debian's prometheus-postgres-exporter 0.11 writes it (PostgreSQL 16: reserved too).
TEXT = """\
# TYPE pg_settings_max_connections gauge
pg_settings_max_connections{server="db:5432"} 20
pg_settings_superuser_reserved_connections{server="db:5432"} 3
pg_settings_reserved_connections{server="db:5432"} 2
pg_stat_activity_count{datname="app",server="db:5432",state="active"} 4
pg_stat_activity_count{datname="app",server="db:5432",state="idle"} 6
pg_stat_activity_count{datname="template1",server="db:5432",state="idle"} 0
pg_up 1
"""


def test_the_exporter_text_gives_the_server():
    pools, servers = parse_exposition(TEXT, (), "exporter:9187")
    assert pools == []
    assert servers == (exported.ExportedServer("db:5432", 20, 3, 2, 10),)


def test_live_exporter_values_win_over_the_allocation(shipped_allocation):
    _, servers = parse_exposition(TEXT, (), "exporter:9187")
    a = assess(Snapshot(taken_at=time.time(), exported=servers), shipped_allocation)
    assert slots_from(a.snapshot) == "prometheus"
    assert a.budget.available == 20 - 3 - 2
    assert a.client_backends == 10
    assert "budget-overcommitted" in {f.rule for f in a.findings}
    doc = to_json(a)
    assert doc["cluster"]["slots_from"] == "prometheus" and doc["cluster"]["available"] == 15
    # the database itself, when read, wins
    server = ServerInfo("16.4", 160004, 100, 3, 0)
    b = assess(Snapshot(taken_at=time.time(), server=server, exported=servers), shipped_allocation)
    assert slots_from(b.snapshot) == "postgres" and b.budget.available == 97


def test_several_servers_are_not_guessed_between(shipped_allocation):
    other = TEXT.replace("db:5432", "replica:5432").replace(" 20\n", " 50\n")
    _, one = parse_exposition(TEXT, (), "a")
    _, two = parse_exposition(other, (), "b")
    servers = one + two
    assert exported.the_server(servers) is None
    a = assess(Snapshot(taken_at=time.time(), exported=servers), shipped_allocation)
    assert slots_from(a.snapshot) == "allocation" and a.budget.available == 97
    (note,) = exported.notes(servers, None)
    assert "2 servers" in note and "replica:5432" in note
    assert exported.notes(servers, 100) == ()


def test_a_disagreement_with_the_database_is_noted():
    _, servers = parse_exposition(TEXT, (), "a")
    (note,) = exported.notes(servers, 100)
    assert "20" in note and "100" in note and "database wins" in note
    assert exported.notes(servers, 20) == ()


def test_a_hostile_exporter_value_is_unknown_not_a_crash():
    text = TEXT.replace("} 20\n", "} NaN\n").replace('state="idle"} 6', 'state="idle"} -1')
    _, servers = parse_exposition(text, (), "a")
    assert servers == ()  # no usable max_connections: no slots from it
