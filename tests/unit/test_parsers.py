"""Parsers and escapers: exposition text, PromQL strings, durations, password masking."""

import math
import string

from hypothesis import assume, given
from hypothesis import strategies as st

from console.core.profiles import PROFILES, promql_string
from console.core.target import mask_password
from console.sources.prometheus import duration_s, queries
from console.sources.scrape import parse_metrics

label_values = st.text(alphabet=string.printable + "ü€[]{}", min_size=1, max_size=30)


@given(
    st.dictionaries(
        label_values,
        st.tuples(st.integers(0, 500), st.integers(0, 500), st.integers(1, 500)),
        min_size=1,
        max_size=6,
    )
)
def test_exposition_round_trip(pools):
    def esc(v):
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    lines = []
    for metric, idx in (("db_pool_size", 0), ("db_pool_idle", 1), ("db_pool_max", 2)):
        lines.append(f"# TYPE {metric} gauge")
        for svc, values in pools.items():
            lines.append(f'{metric}{{service="{esc(svc)}"}} {values[idx]}')
    parsed = parse_metrics("\n".join(lines) + "\n", (PROFILES["nova-db-pool"],), "pod-1")
    assert {p.service: (p.size, p.idle, p.max) for p in parsed} == {
        k: tuple(float(x) for x in v) for k, v in pools.items()
    }
    assert all(p.instance == "pod-1" and p.up for p in parsed)


@given(label_values)
def test_promql_string_is_a_closed_literal(value):
    lit = promql_string(value)
    assert lit.startswith('"') and lit.endswith('"')
    body = lit[1:-1]
    # every quote inside is escaped, so the literal cannot be closed early
    i = 0
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        assert body[i] not in '"\n'
        i += 1


def test_profiles_build_constant_queries():
    every = tuple(PROFILES.values())
    for profiles in [(p,) for p in every] + [every]:
        q = queries(profiles)
        assert set(q) == {"read", "down"}
        for p in profiles:
            assert all(name in q["read"] and name in q["down"] for name in p.metric_names)
            assert all(label in q["down"] for label in p.service_labels)


def test_durations():
    assert duration_s("15s") == 15
    assert duration_s("1m30s") == 90
    assert duration_s("500ms") == 0.5
    assert duration_s("bogus") is None


@given(st.text(alphabet=string.ascii_letters + string.digits + "!%^&*()", min_size=3, max_size=20))
def test_passwords_are_masked(password):
    assume("***" not in password)  # the mask itself cannot be told from a password
    dsn = f"postgresql://alice:{password}@db.internal:5432/postgres"
    message = f"could not connect to {dsn} (password={password})"
    masked = mask_password(message, dsn)
    assert password not in masked.replace("alice", "").replace("db.internal", "").replace(
        "postgresql", ""
    ).replace("postgres", "")


def test_the_log_never_holds_a_secret_and_names_its_process(tmp_path, monkeypatch):
    import logging
    import os

    from console.core import logs
    from console.core.settings import Settings

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    dsn = "postgresql://alice:s3cr3t-pw@db:5432/x"
    settings = Settings(dsn=dsn, prometheus_headers={"Authorization": "Bearer tok-123456"})
    path = logs.setup(settings.mask)
    assert path is not None and path.name == f"novapool-{os.getpid()}.log"
    try:
        raise ConnectionError(f"could not connect to {dsn} with Bearer tok-123456")
    except ConnectionError:
        logging.getLogger("novapool").exception("connect %s", dsn)
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text()
    assert "could not connect" in text and f"pid {os.getpid()} " in text
    assert "s3cr3t-pw" not in text and "tok-123456" not in text


def test_old_log_files_are_pruned(tmp_path, monkeypatch):
    import os

    from console.core import logs

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    directory = tmp_path / "novapool"
    directory.mkdir()
    for i in range(logs.KEEP + 5):
        old = directory / f"novapool-{100000 + i}.log"
        old.write_text("x")
        os.utime(old, (i, i))
    path = logs.setup()
    kept = sorted(directory.glob("novapool-*.log"))
    assert len(kept) == logs.KEEP and path in kept
    assert not (directory / "novapool-100000.log").exists()  # the oldest went first


def test_the_target_describes_without_secrets_and_masks_them():
    from console.core.settings import Settings
    from console.core.target import Target

    s = Settings(
        dsn="postgresql://alice:pw-123@db.internal:6432/app",
        prometheus_headers={"Authorization": "Bearer tok-987654"},
    )
    assert s.target.describe() == "alice@db.internal:6432/app"
    said = s.mask("failed: postgresql://alice:pw-123@db.internal:6432/app with Bearer tok-987654")
    assert "pw-123" not in said and "tok-987654" not in said
    libpq = Target(None, {"PGHOST": "db2", "PGUSER": "bob", "PGDATABASE": "x"})
    assert libpq.configured and libpq.describe() == "bob@db2:5432/x"
    assert Target(None).describe() == "no PostgreSQL configured" and not Target(None).configured


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["db_pool_size", "db_pool_idle", "db_pool_max"]),
            st.sampled_from(["a", "b"]),
            st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(["NaN", "+Inf"]),
        ),
        max_size=12,
    )
)
def test_any_gauge_value_parses_to_a_number_or_unknown(samples):
    from console.core.profiles import GaugeChecks

    text = "".join(f'{name}{{service="{svc}"}} {value}\n' for name, svc, value in samples)
    checks = GaugeChecks()
    pools = parse_metrics(text, (PROFILES["nova-db-pool"],), "pod", checks)
    for p in pools:
        for v in (p.size, p.idle, p.max, p.fill_pct):
            assert v is None or (math.isfinite(v) and v >= 0)
        for v in (p.in_use, p.busy_pct):  # size < idle is possible: finite, maybe negative
            assert v is None or math.isfinite(v)
    bad = [s for s in samples if not (math.isfinite(float(s[2])) and float(s[2]) >= 0)]
    assert bool(checks.notes()) == bool(bad)


@given(st.lists(st.integers(min_value=1, max_value=2**31 - 1), max_size=20))
def test_blocking_pids_read_from_their_text_form(pids):
    from console.sources.postgres import pids_of

    assert pids_of("{" + ",".join(map(str, pids)) + "}") == tuple(pids)
    assert pids_of(None) == () and pids_of("{}") == ()


def test_a_read_is_one_query_whose_ages_are_told_apart_by_their_tag():
    from console.sources.prometheus import AGG_LABEL, is_age, read_query

    every = tuple(PROFILES.values())
    assert read_query(every).count(f'"{AGG_LABEL}", "age"') == 1
    assert is_age({AGG_LABEL: "age", "instance": "a:1", "service": "auth-service"})
    assert not is_age({AGG_LABEL: "size", "service": "auth-service"})
    # postgres_exporter's series keep their own labels: one saying `age` is not one of ours
    assert not is_age({"__name__": "pg_settings_max_connections", AGG_LABEL: "age"})
