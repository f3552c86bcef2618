"""Export: the contract's example, determinism, round-trips, atomicity and refusals."""

import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.cli import main
from console.core import allocation, budget, export
from tests.conftest import ALLOCATION


def test_contract_example_writes_exactly_one_file(tmp_path, capsys):
    out = tmp_path / "ov"
    assert (
        main(
            [
                "export",
                "--allocation",
                str(ALLOCATION),
                "--set",
                "auth-service.max=16",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    files = sorted(p.name for p in out.iterdir())
    assert files == ["auth-service.env"]
    assert export.parse_env((out / "auth-service.env").read_text()) == {"DB_MAX_CONNECTIONS": "16"}
    assert "written" in capsys.readouterr().out


def test_no_secrets_ever(tmp_path, shipped_allocation):
    the_plan = export.plan(shipped_allocation, shipped_allocation, all_keys=True)
    for fmt in export.FORMATS:
        for text in export.render(
            the_plan, fmt, "a.yaml", budget.compute(shipped_allocation)
        ).values():
            assert "DATABASE_URL" not in text and "PASSWORD" not in text.upper()


def test_refuses_changed_target_without_force(tmp_path, capsys):
    out = tmp_path / "ov"
    args = ["export", "--allocation", str(ALLOCATION), "--out", str(out)]
    assert main(args + ["--set", "auth-service.max=16"]) == 0
    assert main(args + ["--set", "auth-service.max=16"]) == 0  # same bytes: fine
    assert main(args + ["--set", "auth-service.max=14"]) == 73
    assert "DB_MAX_CONNECTIONS=16" in (out / "auth-service.env").read_text()
    assert main(args + ["--set", "auth-service.max=14", "--force"]) == 0
    assert "DB_MAX_CONNECTIONS=14" in (out / "auth-service.env").read_text()


def test_refuses_overcommit_without_flag(tmp_path):
    args = [
        "export",
        "--allocation",
        str(ALLOCATION),
        "--out",
        str(tmp_path / "o"),
        "--set",
        "auth-service.replicas=4",
    ]
    assert main(args) == 73
    assert not (tmp_path / "o").exists()
    assert main(args + ["--set", "auth-service.max=13", "--allow-overcommit"]) == 0


def test_bad_set_is_usage_error(tmp_path, capsys):
    for bad in ("auth-service.max", "auth-service.max=x", "nope.max=3", "auth-service.min=99"):
        assert (
            main(["export", "--allocation", str(ALLOCATION), "--out", str(tmp_path), "--set", bad])
            == 64
        )
    assert "Traceback" not in capsys.readouterr().err


def test_atomic_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    targets = {tmp_path / "a.env": "A=1\n", tmp_path / "b.env": "B=2\n"}
    calls = []
    real_replace = os.replace

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        export.write(targets)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.env"]  # no temp files left


def test_configmap_and_yaml_are_valid_yaml(shipped_allocation):
    edited = allocation.apply_edit(shipped_allocation, "feed-service", "max", 10)
    the_plan = export.plan(shipped_allocation, edited)
    b = budget.compute(edited)
    (cm,) = export.render(the_plan, "configmap", "a.yaml", b).values()
    docs = [d for d in yaml.safe_load_all(cm) if d]
    assert docs[0]["kind"] == "ConfigMap"
    assert docs[0]["metadata"]["name"] == "feed-service-db-pool"
    assert docs[0]["data"] == {"DB_MAX_CONNECTIONS": "10"}
    (y,) = export.render(the_plan, "yaml", "a.yaml", b).values()
    assert yaml.safe_load(y) == {"feed-service": {"DB_MAX_CONNECTIONS": "10"}}


edit_fields = st.sampled_from(
    ["max", "min", "connect_timeout", "acquire_timeout", "idle_timeout", "max_lifetime"]
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.integers(0, 11), edit_fields, st.integers(1, 40)), max_size=8),
    st.sampled_from(export.FORMATS),
    st.booleans(),
)
def test_round_trip_written_files_parse_back_to_the_edit(shipped_allocation, edits, fmt, all_keys):
    base = shipped_allocation
    edited = base
    for idx, field, value in edits:
        try:
            edited = allocation.apply_edit(edited, base.names()[idx], field, value)
        except allocation.EditError:
            continue
    the_plan = export.plan(base, edited, all_keys=all_keys)
    files = export.render(the_plan, fmt, "config/allocation.yaml", budget.compute(edited))
    assert files == export.render(the_plan, fmt, "config/allocation.yaml", budget.compute(edited))
    parsed = export.parse_files(files, fmt) if the_plan or fmt != "env" else {}
    assert parsed == the_plan
    applied = export.apply_plan(base, parsed)
    for name in base.names():
        assert applied.effective(applied.service(name)).__dict__ | {
            "source": None
        } == edited.effective(edited.service(name)).__dict__ | {"source": None}


def test_unwritable_target_is_73_with_a_message(tmp_path, capsys):
    blocker = tmp_path / "ov"
    blocker.write_text("a file where the directory should be")
    assert (
        main(
            [
                "export",
                "--allocation",
                str(ALLOCATION),
                "--set",
                "auth-service.max=16",
                "--out",
                str(blocker),
            ]
        )
        == 73
    )
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err
