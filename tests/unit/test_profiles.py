"""Metric profiles as data: built-in names of real libraries, alternatives, derivations,
unlimited pools, custom profiles from the settings file and their located errors."""

import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.core import settings
from console.core.errors import InputError
from console.core.pools import derive
from console.core.profiles import PROFILES, Selector, parse_selector
from console.sources.prometheus import history_query, peak_query
from console.sources.scrape import parse_metrics

ROOT = Path(__file__).resolve().parents[2]


def one(text, *names):
    return {p.service: p for p in parse_metrics(text, tuple(PROFILES[n] for n in names), "pod-1")}


def test_go_client_golang_names_and_an_unlimited_max():
    # What collectors.NewDBStatsCollector(db, "feed") exports (SetMaxOpenConns never called).
    text = (
        'go_sql_open_connections{db_name="feed"} 5\n'
        'go_sql_idle_connections{db_name="feed"} 2\n'
        'go_sql_in_use_connections{db_name="feed"} 3\n'
        'go_sql_max_open_connections{db_name="feed"} 0\n'
    )
    p = one(text, "go-sql")["feed"]
    assert (p.size, p.idle, p.in_use, p.max, p.unlimited) == (5, 2, 3, None, True)


def test_go_sqlstats_names_still_read_and_the_newer_family_wins_when_both_exist():
    old = (
        'go_sql_stats_connections_open{db_name="feed"} 4\n'
        'go_sql_stats_connections_idle{db_name="feed"} 1\n'
        'go_sql_stats_connections_max_open{db_name="feed"} 8\n'
    )
    p = one(old, "go-sql")["feed"]
    assert (p.size, p.idle, p.max, p.unlimited) == (4, 1, 8, False)
    both = old + 'go_sql_open_connections{db_name="feed"} 6\n'
    assert one(both, "go-sql")["feed"].size == 6  # not 10: one family, never both added


def test_hikaricp_micrometer_and_own_tracker_names():
    micrometer = (
        'hikaricp_connections{pool="orders"} 7\nhikaricp_connections_idle{pool="orders"} 2\n'
        'hikaricp_connections_active{pool="orders"} 5\n'
        'hikaricp_connections_max{pool="orders"} 10\n'
        'hikaricp_connections_pending{pool="orders"} 3\n'
    )
    p = one(micrometer, "hikaricp")["orders"]
    assert (p.size, p.idle, p.max, p.pending) == (7, 2, 10, 3)
    own = (
        'hikaricp_active_connections{pool="orders"} 4\nhikaricp_idle_connections{pool="orders"} 1\n'
        'hikaricp_connections{pool="orders"} 5\nhikaricp_max_connections{pool="orders"} 20\n'
        'hikaricp_pending_threads{pool="orders"} 0\n'
    )
    p = one(own, "hikaricp")["orders"]
    assert (p.size, p.idle, p.in_use, p.max, p.pending) == (5, 1, 4, 20, 0)


@pytest.mark.parametrize(
    "text",
    [
        # old semantic conventions (opentelemetry-instrumentation-sqlalchemy)
        'db_client_connections_usage{pool_name="pg://db/app",state="idle"} 3\n'
        'db_client_connections_usage{pool_name="pg://db/app",state="used"} 2\n',
        # new semantic conventions
        'db_client_connection_count{db_client_connection_pool_name="pg://db/app",'
        'db_client_connection_state="idle"} 3\n'
        'db_client_connection_count{db_client_connection_pool_name="pg://db/app",'
        'db_client_connection_state="used"} 2\n'
        'db_client_connection_max{db_client_connection_pool_name="pg://db/app"} 10\n',
    ],
)
def test_otel_size_is_the_sum_over_states(text):
    p = one(text, "otel")["pg://db/app"]
    assert (p.size, p.idle, p.in_use) == (5, 3, 2)
    assert p.max in (None, 10)


def test_a_mixed_fleet_reads_several_profiles_from_one_source():
    text = (
        'db_pool_size{service="api"} 4\ndb_pool_idle{service="api"} 1\ndb_pool_max{service="api"} 9\n'
        'go_sql_open_connections{db_name="feed"} 5\ngo_sql_idle_connections{db_name="feed"} 2\n'
        'go_sql_max_open_connections{db_name="feed"} 12\n'
    )
    pools = one(text, "nova-db-pool", "go-sql")
    assert {s: (p.size, p.idle, p.max) for s, p in pools.items()} == {
        "api": (4, 1, 9),
        "feed": (5, 2, 12),
    }
    assert set(one(text, "go-sql")) == {"feed"}


@given(
    st.one_of(st.none(), st.integers(0, 500)),
    st.one_of(st.none(), st.integers(0, 500)),
    st.one_of(st.none(), st.integers(0, 500)),
)
def test_derived_fields_agree_with_what_is_reported(size, idle, in_use):
    given_ = {
        k: float(v)
        for k, v in (("size", size), ("idle", idle), ("in_use", in_use))
        if v is not None
    }
    g = derive(given_)
    if size is not None:
        assert g.size == size
    if idle is not None:
        assert g.idle == idle
    if size is None and idle is not None and in_use is not None:
        assert g.size == idle + in_use
    if idle is None and size is not None and in_use is not None:
        assert g.idle == max(0, size - in_use)


label_values = st.text(alphabet=string.printable + "ü€{}", max_size=20)
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True)


@given(
    st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True),
    st.lists(st.tuples(label_names, label_values), max_size=4),
)
def test_selectors_round_trip_through_their_text(metric, labels):
    sel = Selector(metric, tuple(labels))
    assert parse_selector(str(sel)) == sel


@pytest.mark.parametrize(
    "bad", ["9lives", "name{", 'name{a="b"', "name{a=b}", 'name{a="b" c="d"}', "na me"]
)
def test_a_bad_selector_is_refused(bad):
    with pytest.raises(ValueError):
        parse_selector(bad)


def test_hostile_label_values_never_leave_their_promql_string():
    hostile = 'x"} or vector(1) #\n'
    q = history_query(tuple(PROFILES.values()), hostile)
    assert hostile not in q
    assert '\\"} or vector(1) #\\n' in q
    assert "vector(1) #" not in q.replace('x\\"} or vector(1) #\\n', "")
    peak = peak_query(tuple(PROFILES.values()), "1h")
    assert all(f'"novapool_profile", "{name}"' in peak for name in PROFILES)


CUSTOM = """\
prometheus:
  metrics: [acme-pool, go-sql]
profiles:
  acme-pool:
    size: acme_pool_connections
    idle: 'acme_pool_connections_state{state="idle"}'
    max: [acme_pool_connections_limit, acme_pool_limit]
    service_labels: [app]
    service_regex: '^(?P<service>[a-z-]+?)(-canary)?$'
"""


def test_a_custom_profile_from_the_settings_file(tmp_path):
    cfg = tmp_path / "novapool.yaml"
    cfg.write_text(CUSTOM)
    s = settings.load(str(cfg), env={}, cwd=tmp_path)
    assert [p.name for p in s.profiles] == ["acme-pool", "go-sql"]
    text = (
        'acme_pool_connections{app="billing-canary"} 6\n'
        'acme_pool_connections_state{app="billing-canary",state="idle"} 4\n'
        'acme_pool_connections_state{app="billing-canary",state="busy"} 2\n'
        'acme_pool_limit{app="billing-canary"} 8\n'
        'acme_pool_connections{app="Not A Service"} 1\n'
    )
    pools = {p.service: p for p in parse_metrics(text, s.profiles, "pod")}
    assert list(pools) == ["billing"]
    assert (pools["billing"].size, pools["billing"].idle, pools["billing"].max) == (6, 4, 8)
    # what the demo writes back is read back the same
    dumped = settings.dump(s)
    import yaml

    cfg2 = tmp_path / "again.yaml"
    cfg2.write_text(yaml.safe_dump(dumped))
    assert settings.load(str(cfg2), env={}, cwd=tmp_path).profiles == s.profiles


def test_the_example_settings_file_documents_a_working_custom_profile(tmp_path):
    text = (ROOT / "config" / "novapool.example.yaml").read_text()
    block = text[text.index("# profiles:") :].split("\n\n")[0].splitlines()
    example = "\n".join(line[2:] for line in block)
    cfg = tmp_path / "n.yaml"
    cfg.write_text(example + "\n")
    s = settings.load(str(cfg), env={}, cwd=tmp_path)
    assert "acme-pool" in s.custom_profiles


@pytest.mark.parametrize(
    ("body", "line", "field", "says"),
    [
        ("prometheus:\n  metrics: [go-sql, nope]\n", 2, "prometheus.metrics", "unknown profile"),
        (
            "profiles:\n  x:\n    size: a\n    idle: b\n    colour: c\n",
            5,
            "profiles.x.colour",
            "unknown key",
        ),
        ("profiles:\n  x:\n    size: a\n    idle: 'b{c=d}'\n", 4, "profiles.x.idle", "label"),
        (
            "profiles:\n  x:\n    size: a\n    idle: b\n    service_regex: '(('\n",
            5,
            "profiles.x.service_regex",
            "regular expression",
        ),
        ("profiles:\n  x:\n    size: a\n", 2, "profiles.x", "two of size"),
        ("profiles:\n  go-sql:\n    size: a\n    idle: b\n", 2, "profiles.go-sql", "built-in"),
        (
            "profiles:\n  x:\n    size: a\n    idle: b\n    service_labels: ['a-b']\n",
            5,
            "profiles.x.service_labels",
            "label names",
        ),
    ],
)
def test_profile_mistakes_are_located(tmp_path, body, line, field, says):
    cfg = tmp_path / "novapool.yaml"
    cfg.write_text(body)
    with pytest.raises(InputError) as err:
        settings.load(str(cfg), env={}, cwd=tmp_path)
    e = err.value
    assert (e.file, e.line, e.field) == (str(cfg), line, field)
    assert says in e.message


def test_one_profile_name_still_works(tmp_path):
    cfg = tmp_path / "novapool.yaml"
    cfg.write_text("prometheus:\n  metrics: hikaricp\n")
    assert [p.name for p in settings.load(str(cfg), env={}, cwd=tmp_path).profiles] == ["hikaricp"]
    assert [p.name for p in settings.load(env={}, cwd=tmp_path).profiles] == ["nova-db-pool"]


def test_profiles_from_the_flag_and_the_environment_as_lists_or_commas(tmp_path):
    s = settings.load(env={"NOVAPOOL_METRICS": "go-sql, otel"}, cwd=tmp_path)
    assert [p.name for p in s.profiles] == ["go-sql", "otel"]
    s = settings.load(env={}, cwd=tmp_path, metrics=["hikaricp,go-sql", "otel"])
    assert [p.name for p in s.profiles] == ["hikaricp", "go-sql", "otel"]
    with pytest.raises(InputError) as err:
        settings.load(env={}, cwd=tmp_path, metrics=["nope"])
    assert err.value.field == "--metrics"


def test_pgbouncer_exporter_pools_are_the_poolers_own():
    # As prometheus-pgbouncer-exporter 2.1 writes it: pools per database/user pair.
    text = (
        'pgbouncer_pools_server_active_connections{database="app",user="a"} 2.0\n'
        'pgbouncer_pools_server_active_connections{database="app",user="b"} 1.0\n'
        'pgbouncer_pools_client_waiting_connections{database="app",user="a"} 4.0\n'
        'pgbouncer_databases_database_current_connections{backend_database="app",database="app"} 5.0\n'
    )
    p = one(text, "pgbouncer")["pgbouncer"]
    assert (p.size, p.in_use, p.idle, p.pending, p.max) == (5, 3, 2, 4, None)
    named = text.replace('user="a"}', 'user="a",pooler="edge-bouncer"}')
    assert "edge-bouncer" in one(named, "pgbouncer")
