"""`novapool init` and the allocation search path: the installed tool works with no allocation
file, and writes one ready to edit."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.cli import main
from console.core import allocation, scaffold
from console.core.allocation import SERVICE_NAME, Allocation, ClusterConfig, Service
from tests.conftest import ALLOCATION


def test_init_without_sources_writes_the_example_and_it_is_then_found(isolated, capsys):
    assert main(["init"]) == 0
    written = isolated / "config" / "allocation.yaml"
    assert written.read_text() == ALLOCATION.read_text()
    assert "written: config/allocation.yaml" in capsys.readouterr().out
    # found on the search path from this directory: the offline audit uses it, no note
    assert main(["audit", "--offline", "--format", "json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["allocation"] == str(written)
    assert "no allocation file" not in out.err


def test_init_never_overwrites_a_changed_file(isolated):
    target = isolated / "mine.yaml"
    target.write_text("services: {a: {max_connections: 3}}\n")
    assert main(["init", "--out", str(target)]) == 73
    assert target.read_text() == "services: {a: {max_connections: 3}}\n"
    assert main(["init", "--out", str(target), "--force"]) == 0
    assert allocation.load(target).names()[0] == "auth-service"


def test_the_xdg_allocation_is_found_and_the_environment_wins(isolated, monkeypatch, capsys):
    import os

    xdg = Path(os.environ["XDG_CONFIG_HOME"]) / "novapool" / "allocation.yaml"
    xdg.parent.mkdir(parents=True)
    xdg.write_text("services: {from-xdg: {max_connections: 3}}\n")
    assert main(["audit", "--format", "json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)["services"]] == ["from-xdg"]
    other = isolated / "env.yaml"
    other.write_text("services: {from-env: {max_connections: 4}}\n")
    monkeypatch.setenv("NOVAPOOL_ALLOCATION", str(other))
    assert main(["audit", "--format", "json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)["services"]] == ["from-env"]
    assert main(["audit", "--format", "json", "--allocation", str(ALLOCATION)]) == 0
    assert len(json.loads(capsys.readouterr().out)["services"]) == 12  # the flag wins


def test_offline_audit_without_any_allocation_audits_the_example_and_says_so(capsys):
    assert main(["audit", "--offline"]) == 0
    out = capsys.readouterr()
    assert "allocate **77** of **97**" in out.out
    assert "no allocation file" in out.err and "novapool init" in out.err


def test_export_without_an_allocation_is_a_clear_error(capsys):
    assert main(["export", "--set", "a.max=3"]) == 64
    assert "novapool init" in capsys.readouterr().err


def test_check_with_no_source_at_all_is_unknown(capsys):
    assert main(["check"]) == 3
    assert capsys.readouterr().out.startswith("NOVAPOOL UNKNOWN: no source configured")
    assert main(["check", "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert "no source configured" in doc["error"]
    assert doc["sources"]["postgres"]["status"] == "absent"


def test_options_are_never_matched_by_prefix(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--al", "--allocation", str(ALLOCATION)])
    assert exit_.value.code == 64
    assert "unrecognized arguments: --al" in capsys.readouterr().err


names = st.from_regex(SERVICE_NAME, fullmatch=True)
services = st.builds(
    Service,
    name=names,
    tier=st.none() | st.sampled_from(["high", "true", "null", "1.5", "a: b"]),
    replicas=st.integers(1, 50),
    max_connections=st.integers(1, 500),
    min_connections=st.integers(0, 1),
)


@given(st.lists(services, min_size=1, max_size=8, unique_by=lambda s: s.name), st.integers(5, 5000))
def test_what_init_writes_loads_back_as_the_same_allocation(svcs, max_connections):
    alloc = Allocation(cluster=ClusterConfig(max_connections, 3, 1), services=tuple(svcs))
    text = scaffold.render(alloc, "by a test")
    loaded = allocation.parse(text, "written.yaml")
    assert loaded.cluster == alloc.cluster
    assert [
        (s.name, s.tier, s.replicas, s.max_connections, s.min_connections) for s in loaded.services
    ] == [(s.name, s.tier, s.replicas, s.max_connections, s.min_connections) for s in svcs]


@pytest.mark.parametrize("name", ["true", "null", "1.5", "0x10", "yes"])
def test_service_names_that_look_like_other_yaml_stay_names(name):
    alloc = Allocation(services=(Service(name=name, max_connections=2, min_connections=1),))
    assert allocation.parse(scaffold.render(alloc, "t")).names() == (name,)


def test_init_from_an_unreachable_source_writes_nothing_and_says_why(isolated, capsys):
    assert main(["init", "--dsn", "postgresql://nobody:pw-secret@127.0.0.1:1/x"]) == 69
    err = capsys.readouterr().err
    assert "cannot observe: postgres unreachable" in err and "pw-secret" not in err
    assert not (isolated / "config").exists()


def test_a_settings_files_allocation_is_relative_to_the_file(isolated):
    from console.core import settings

    (isolated / "etc").mkdir()
    (isolated / "etc" / "alloc.yaml").write_text("services: {a: {max_connections: 3}}\n")
    (isolated / "etc" / "novapool.yaml").write_text("allocation: alloc.yaml\n")
    s = settings.load(str(isolated / "etc" / "novapool.yaml"), env={}, cwd=isolated)
    assert s.allocation_path == str(isolated / "etc" / "alloc.yaml")
    (isolated / "etc" / "old.yaml").write_text("allocation: etc/alloc.yaml\n")  # cwd-relative
    s = settings.load(str(isolated / "etc" / "old.yaml"), env={}, cwd=isolated)
    assert s.allocation_path == "etc/alloc.yaml"
