"""Several servers in one allocation: the `servers:` section, pools per server, a budget per
server, the standby rule, edits per server and located errors. Pure logic; the live tests
(tests/live/test_servers_live.py) run the same against a real primary and standby."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.cli import main
from console.core import allocation, budget, fleet
from console.core import settings as settings_mod
from console.core.errors import InputError
from console.core.findings import CRITICAL, RuleId
from console.core.snapshot import Fleet, ServerInfo, Snapshot, SourceName, SourceStatus

THREE = """\
cluster:
  max_connections: 100
  superuser_reserved_connections: 3
servers:
  primary: {role: primary}
  replica-1:
    role: standby
    follows: primary
    cluster: {max_connections: 60}
    reserved: {novapool: 1}
  analytics:
    cluster: {max_connections: 40, superuser_reserved_connections: 2}
reserved: {migrations: 2}
services:
  auth-service: {tier: high, max_connections: 12, min_connections: 4, replicas: 2}
  feed-service:
    max_connections: 8
    min_connections: 3
    replicas: 3
    pools:
      replica-1: {max_connections: 6, min_connections: 2, env_prefix: DB_READ_}
  search-service:
    max_connections: 5
    pools:
      replica-1: {max_connections: 4}
  report-service: {server: analytics, max_connections: 10, min_connections: 1}
"""


def parsed(text: str = THREE) -> allocation.Allocation:
    return allocation.parse(text, "alloc.yaml")


def test_each_server_gets_its_own_budget():
    alloc = parsed()
    assert alloc.server_names() == ("primary", "replica-1", "analytics")
    b = {name: budget.compute(alloc.for_server(name)) for name in alloc.server_names()}
    # primary: auth 12×2 + feed 8×3 + search 5×1 + migrations 2 of 97
    assert (b["primary"].allocated, b["primary"].available) == (24 + 24 + 5 + 2, 97)
    # replica-1: feed 6×3 + search 4×1 + novapool 1 of 57; its min floor: 2×3 + 1 (default)
    assert (b["replica-1"].allocated, b["replica-1"].available) == (18 + 4 + 1, 57)
    assert b["replica-1"].min_floor == 2 * 3 + 1
    assert (b["analytics"].allocated, b["analytics"].available) == (10, 38)
    assert [s.name for s in b["analytics"].services] == ["report-service"]
    feed = alloc.service("feed-service")
    assert feed.pool_on("replica-1") == allocation.ServerPool("replica-1", "DB_READ_", 6, 2)
    assert alloc.service("search-service").pool_on("replica-1").env_prefix == "DB_REPLICA_1_"


def test_a_file_without_servers_is_one_implicit_server():
    alloc = allocation.parse("services:\n  a: {max_connections: 5}\n", "a.yaml")
    assert alloc.server_names() == (allocation.IMPLICIT_SERVER,)
    assert alloc.for_server(None) is alloc
    assert not alloc.several_servers


def test_an_edit_on_the_replica_changes_that_servers_budget_only():
    alloc = parsed()
    edited = allocation.apply_edit(alloc, "feed-service@replica-1", "max", 9)
    assert budget.compute(edited.for_server("primary")).allocated == 55
    assert budget.compute(edited.for_server("replica-1")).allocated == 27 + 4 + 1
    # replicas are the service's own: one edit moves every server's budget
    more = allocation.apply_edit(alloc, "feed-service@replica-1", "replicas", 4)
    assert budget.compute(more.for_server("primary")).allocated == 55 + 8
    assert budget.compute(more.for_server("replica-1")).allocated == 23 + 6
    with pytest.raises(allocation.EditError, match="no pool on analytics"):
        allocation.apply_edit(alloc, "feed-service@analytics", "max", 3)
    with pytest.raises(allocation.EditError, match="unknown server"):
        allocation.apply_edit(alloc, "feed-service@nowhere", "max", 3)
    with pytest.raises(allocation.EditError, match="min_connections 2 is greater"):
        allocation.apply_edit(alloc, "feed-service@replica-1", "max", 1)


def test_raising_the_primarys_max_connections_above_a_standbys_is_flagged_before_export():
    alloc = allocation.apply_edit(parsed(), "cluster@replica-1", "max_connections", 100)
    assert fleet.planned_conflicts(alloc) == []
    raised = allocation.apply_edit(alloc, "cluster", "max_connections", 120)  # the first server
    (finding,) = fleet.planned_conflicts(raised)
    assert finding.rule == RuleId.STANDBY_SETTINGS_BELOW_PRIMARY
    assert finding.severity == CRITICAL and finding.server == "replica-1"
    assert "max_connections 100 is below its primary primary's 120" in finding.message


def info(max_connections=100, in_recovery=False, **settings) -> ServerInfo:
    values = dict(
        max_worker_processes=8,
        max_wal_senders=10,
        max_prepared_transactions=0,
        max_locks_per_transaction=64,
    )
    values.update(settings)
    return ServerInfo("16.4", 160004, max_connections, 3, 0, in_recovery=in_recovery, **values)


def live(server: ServerInfo | None) -> Snapshot:
    status = SourceStatus("ok" if server else "unreachable", None if server else "refused")
    return Snapshot(taken_at=1000.0, sources={SourceName.POSTGRES: status}, server=server)


def test_a_standby_below_its_primary_is_critical_naming_both_values():
    alloc = parsed()
    snaps = {
        "primary": live(info(100)),
        "replica-1": live(info(100, in_recovery=True, max_worker_processes=4)),
        "analytics": live(info(40)),
    }
    fa = fleet.assess(Fleet(1000.0, snaps), alloc)
    below = [f for f in fa.findings if f.rule == RuleId.STANDBY_SETTINGS_BELOW_PRIMARY]
    assert [(f.server, f.severity) for f in below] == [("replica-1", CRITICAL)]
    assert "max_worker_processes 4 is below its primary primary's 8" in below[0].message
    assert not [f for f in fa.findings if f.rule == RuleId.SERVER_ROLE_MISMATCH]
    # every finding carries its server, and the exit code is the worst over all servers
    assert all(f.server for f in fa.findings)
    from console.core import report

    assert report.exit_code(fa) == 2
    doc = report.to_json(fa)
    assert [s["name"] for s in doc["servers"]] == ["primary", "replica-1", "analytics"]
    replica = doc["servers"][1]
    assert (replica["role"], replica["follows"], replica["in_recovery"]) == (
        "standby",
        "primary",
        True,
    )
    assert replica["budget"]["allocated"] == 23
    assert replica["cluster"]["max_connections"] == 100  # live wins over the file's 60
    assert [f["rule"] for f in replica["findings"]] == [
        str(f.rule) for f in fa.findings_of("replica-1") if f.server == "replica-1"
    ]


def test_a_server_in_the_wrong_role_and_a_dead_standby():
    alloc = parsed()
    snaps = {
        "primary": live(info(100)),
        "replica-1": live(info(100, in_recovery=False)),  # promoted
        "analytics": live(None),
    }
    fa = fleet.assess(Fleet(1000.0, snaps), alloc)
    rules = {(f.rule, f.server) for f in fa.findings}
    assert (RuleId.SERVER_ROLE_MISMATCH, "replica-1") in rules
    assert (RuleId.SOURCE_UNREACHABLE, "analytics") in rules
    assert [s.name for s in fa.by_worst()][0] == "analytics"  # critical first


@pytest.mark.parametrize(
    "old, new, line, field, words",
    [
        (
            "      replica-1: {max_connections: 4}",
            "      replica-9: {max_connections: 4}",
            25,
            "services.search-service.pools.replica-9",
            "unknown server 'replica-9'",
        ),
        (
            "    follows: primary",
            "    follows: nowhere",
            8,
            "servers.replica-1.follows",
            "unknown server 'nowhere'",
        ),
        (
            "  analytics:\n",
            "  analytics:\n    role: standby\n    follows: replica-1\n",
            13,
            "servers.analytics.follows",
            "is a standby",
        ),
        (
            "{server: analytics,",
            "{server: warehouse,",
            26,
            "services.report-service.server",
            "unknown server 'warehouse'",
        ),
        (
            "env_prefix: DB_READ_}",
            "env_prefix: DB_}",
            21,
            "services.feed-service.pools.replica-1.env_prefix",
            "already the pool on primary",
        ),
        (
            "      replica-1: {max_connections: 6, min_connections: 2, env_prefix: DB_READ_}",
            "      replica-1: {max_connections: 1, min_connections: 2}",
            21,
            "services.feed-service.pools.replica-1.min_connections",
            "greater than max_connections",
        ),
        (
            "      replica-1: {max_connections: 4}",
            "      primary: {max_connections: 4}",
            25,
            "services.search-service.pools.primary",
            "home server",
        ),
    ],
)
def test_bad_servers_are_located(old, new, line, field, words):
    assert old in THREE
    with pytest.raises(InputError) as err:
        parsed(THREE.replace(old, new))
    assert (err.value.file, err.value.line, err.value.field) == ("alloc.yaml", line, field)
    assert words in str(err.value)


def test_two_servers_with_one_dsn_are_refused_where_the_second_is_named(tmp_path):
    cfg = tmp_path / "novapool.yaml"
    cfg.write_text(
        "servers:\n  primary: postgresql://a@db:5432/x\n  replica-1: postgresql://a@db:5432/x\n"
    )
    with pytest.raises(InputError) as err:
        settings_mod.load(str(cfg), env={}, cwd=tmp_path)
    assert (err.value.line, err.value.field) == (3, "servers.replica-1")
    alloc = tmp_path / "alloc.yaml"
    alloc.write_text(THREE)
    assert main(["check", "--config", str(cfg), "--allocation", str(alloc)]) == 3
    assert main(["audit", "--config", str(cfg), "--allocation", str(alloc)]) == 64


def test_server_dsns_come_from_the_environment_first_and_are_masked(tmp_path):
    cfg = tmp_path / "novapool.yaml"
    cfg.write_text("servers:\n  replica-1: postgresql://ro:filepass@db-2/x\n")
    env = {"NOVAPOOL_DSN_REPLICA_1": "postgresql://ro:envpass@db-3/x"}
    s = settings_mod.load(str(cfg), env=env, cwd=tmp_path)
    assert s.server_target("replica-1", first=False).dsn == env["NOVAPOOL_DSN_REPLICA_1"]
    assert not s.server_target("analytics", first=False).configured
    assert s.mask("failed: envpass and filepass") == "failed: *** and ***"


pool_sizes = st.integers(min_value=1, max_value=500)


@given(
    homes=st.lists(st.tuples(pool_sizes, st.integers(1, 20)), min_size=1, max_size=6),
    read=st.lists(st.one_of(st.none(), pool_sizes), min_size=6, max_size=6),
)
def test_every_pool_is_counted_once_on_its_own_server(homes, read):
    """Σ over servers of allocated = Σ over services (home max + Σ other pools' max) ×
    replicas: no pool lost, none counted twice, whatever the mix."""
    servers = (
        allocation.Server("p"),
        allocation.Server("r", role="standby", follows="p"),
    )
    services = tuple(
        allocation.Service(
            f"s{i}",
            replicas=replicas,
            max_connections=mx,
            min_connections=0,
            pools=() if read[i] is None else (allocation.ServerPool("r", "DB_R_", read[i], 0),),
        )
        for i, (mx, replicas) in enumerate(homes)
    )
    alloc = allocation.Allocation(services=services, servers=servers)
    total = sum(budget.compute(alloc.for_server(n)).allocated for n in alloc.server_names())
    expected = sum(
        (s.max_connections + sum(p.max_connections for p in s.pools)) * s.replicas for s in services
    )
    assert total == expected
    one = dataclasses.replace(alloc, servers=())
    assert budget.compute(one).allocated == sum(s.max_connections * s.replicas for s in services)


def test_export_writes_each_services_file_with_all_its_pools(tmp_path, capsys):
    from console.core import export

    path = tmp_path / "alloc.yaml"
    path.write_text(THREE)
    out = tmp_path / "out"
    code = main(
        [
            "export",
            "--allocation",
            str(path),
            "--set",
            "feed-service@replica-1.max=9",
            "--set",
            "feed-service.max=10",
            "--set",
            "search-service@replica-1.min=2",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["feed-service.env", "search-service.env"]
    head = (
        "# db-pool overrides generated by novapool; apply with the deployment.\n"
        f"# allocation: {path} with 3 edit(s): feed-service@replica-1.max=9 "
        "feed-service.max=10 search-service@replica-1.min=2\n"
        "# budget on primary: allocated 61 of 97 available, headroom 36 (37.1 %), min floor 18\n"
        "# budget on replica-1: allocated 32 of 57 available, headroom 25 (43.9 %), "
        "min floor 8\n"
        "# budget on analytics: allocated 10 of 38 available, headroom 28 (73.7 %), "
        "min floor 1\n"
    )
    assert (out / "feed-service.env").read_text() == head + (
        "# service: feed-service\nDB_MAX_CONNECTIONS=10\nDB_READ_MAX_CONNECTIONS=9\n"
    )
    assert (out / "search-service.env").read_text() == head + (
        "# service: search-service\nDB_REPLICA_1_MIN_CONNECTIONS=2\n"
    )
    # what a deployment reads back is the edited allocation
    base = parsed()
    edited = base
    for target, field, value in (
        ("feed-service@replica-1", "max", 9),
        ("feed-service", "max", 10),
        ("search-service@replica-1", "min", 2),
    ):
        edited = allocation.apply_edit(edited, target, field, value)
    files = {p.name: p.read_text() for p in out.iterdir()}
    assert export.apply_plan(base, export.parse_files(files, "env")) == edited


def test_export_refuses_an_overcommitted_replica_naming_it(tmp_path, capsys):
    path = tmp_path / "alloc.yaml"
    path.write_text(THREE)
    code = main(
        [
            "export",
            "--allocation",
            str(path),
            "--set",
            "feed-service@replica-1.max=30",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 73
    assert "replica-1 by 38 (allocated 95 > available 57)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_bad_servers_section_exits_64_and_check_3_naming_file_line_and_field(tmp_path, capsys):
    bad = tmp_path / "alloc.yaml"
    bad.write_text(THREE.replace("    follows: primary", "    follows: replica-1"))
    assert main(["audit", "--offline", "--allocation", str(bad)]) == 64
    err = capsys.readouterr().err
    assert f"{bad}:8: servers.replica-1.follows:" in err
    assert main(["check", "--allocation", str(bad)]) == 3
    assert f"{bad}:8: servers.replica-1.follows:" in capsys.readouterr().err


def test_an_allocation_written_as_a_document_loads_back_the_same(tmp_path):
    import yaml

    from tests.conftest import ALLOCATION
    from tests.tui.test_poolers_tui import POOLER

    for text in (THREE, ALLOCATION.read_text() + POOLER):
        alloc = parsed(text)
        text = yaml.safe_dump(allocation.to_document(alloc), sort_keys=False)
        again = allocation.parse(text, "alloc.yaml")
        assert again == alloc


def test_the_audit_has_a_budget_per_server(tmp_path, capsys):
    path = tmp_path / "alloc.yaml"
    path.write_text(THREE)
    assert main(["audit", "--offline", "--allocation", str(path)]) == 0
    text = capsys.readouterr().out
    assert "## Servers" in text
    rows = [line for line in text.splitlines() if line.startswith("| replica-1 ")]
    assert rows == ["| replica-1 | standby of primary | 57 | 23 | 7 | 34 | no | absent |"]
    assert "- **analytics** draws: report-service 10×1." in text
    assert "## Budget — primary" in text
    # offline, the file's own values: replica-1's max_connections 60 is below its primary's
    assert "replica-1: max\\_connections 60 is below its primary primary's 100" in text


def test_a_shared_sources_finding_is_listed_once_each_servers_own_each_time():
    down = SourceStatus("unreachable", "connection refused")

    def snap() -> Snapshot:
        return Snapshot(
            taken_at=1000.0, sources={SourceName.POSTGRES: down, SourceName.PROMETHEUS: down}
        )

    fa = fleet.assess(
        Fleet(1000.0, {"primary": snap(), "replica-1": snap(), "analytics": snap()}), parsed()
    )
    unreachable = [
        (f.server, f.message.split()[0]) for f in fa.findings if f.rule == RuleId.SOURCE_UNREACHABLE
    ]
    assert sorted(unreachable, key=str) == sorted(
        [
            ("analytics", "postgres"),
            ("primary", "postgres"),
            ("replica-1", "postgres"),
            (None, "prometheus"),
        ],
        key=str,
    )
