"""Malformed allocation files: the error names file, line and field; the CLI exits 64."""

import json

import pytest

from console.cli import main
from console.core import allocation
from console.core.errors import InputError

GOOD = """\
cluster:
  max_connections: 100
  superuser_reserved_connections: 3
services:
  auth-service: {tier: high, max_connections: 12, min_connections: 4, replicas: 1}
  feed-service:
    max_connections: 8
    min_connections: 3
"""


def error_of(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        allocation.parse(text, "alloc.yaml")
    return info.value


def test_good_file_parses():
    alloc = allocation.parse(GOOD, "alloc.yaml")
    assert alloc.names() == ("auth-service", "feed-service")


@pytest.mark.parametrize(
    "text, line, field, words",
    [
        (
            GOOD.replace("max_connections: 8", "max_connections: 0"),
            7,
            "services.feed-service.max_connections",
            "≥ 1",
        ),
        (
            GOOD.replace("max_connections: 8", "max_connections: -4"),
            7,
            "services.feed-service.max_connections",
            "≥ 1",
        ),
        (
            GOOD.replace("max_connections: 8", "max_connections: eight"),
            7,
            "services.feed-service.max_connections",
            "integer",
        ),
        (
            GOOD.replace("min_connections: 3", "min_connections: 9"),
            8,
            "services.feed-service.min_connections",
            "greater than max",
        ),
        (
            GOOD.replace("    min_connections: 3", "    min_connections: 3\n    max_conns: 3"),
            9,
            "services.feed-service.max_conns",
            "unknown key",
        ),
        (GOOD + "  auth-service: {max_connections: 3}\n", 9, "services.auth-service", "duplicate"),
        (GOOD.replace("replicas: 1", "replicas: 0"), 5, "services.auth-service.replicas", "≥ 1"),
        (GOOD.replace("cluster:", "clustr:"), 1, "clustr", "unknown key"),
        (
            GOOD.replace("max_connections: 100", "max_connections: 3"),
            2,
            "cluster.max_connections",
            "no connection",
        ),
        ("services: {}\n", 1, "services", "at least one"),
        ("services:\n  a: {max_connections: [}\n", 2, None, "YAML"),
    ],
)
def test_errors_name_file_line_and_field(text, line, field, words):
    err = error_of(text)
    assert err.file == "alloc.yaml"
    assert err.line == line
    assert err.field == field
    assert words in str(err)


def test_empty_file():
    err = error_of("")
    assert (err.line, "empty" in err.message) == (1, True)


def test_cli_exits_64_with_one_line_and_no_traceback(tmp_path, capsys):
    bad = tmp_path / "allocation.yaml"
    bad.write_text(GOOD.replace("min_connections: 3", "min_connections: 9"))
    code = main(["audit", "--offline", "--allocation", str(bad)])
    err = capsys.readouterr().err
    assert code == 64
    assert f"{bad}:8: services.feed-service.min_connections:" in err
    assert "Traceback" not in err


def test_missing_file_is_64(tmp_path, capsys):
    assert main(["audit", "--offline", "--allocation", str(tmp_path / "nope.yaml")]) == 64
    assert "file not found" in capsys.readouterr().err


def test_edits_are_validated(shipped_allocation):
    with pytest.raises(allocation.EditError, match="greater than"):
        allocation.apply_edit(shipped_allocation, "auth-service", "min", 20)
    with pytest.raises(allocation.EditError, match="unknown service"):
        allocation.apply_edit(shipped_allocation, "nope", "max", 2)
    with pytest.raises(allocation.EditError, match="unknown field"):
        allocation.apply_edit(shipped_allocation, "auth-service", "colour", 2)
    edited = allocation.apply_edit(shipped_allocation, "cluster", "max_connections", 200)
    assert edited.cluster.max_connections == 200
    assert shipped_allocation.cluster.max_connections == 100


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

yaml_ish = st.text(
    alphabet=st.sampled_from(list("servicsmax_conn: {}[]-,'\"\n 0123456789#&*!|>")), max_size=120
)


@settings(max_examples=300)
@given(yaml_ish)
def test_any_text_is_an_allocation_or_a_located_input_error(text):
    try:
        allocation.parse(text, "fuzz.yaml")
    except InputError as err:
        assert err.file == "fuzz.yaml"
        assert err.line is None or err.line >= 1


@given(
    st.sampled_from(["max_connections", "min_connections", "replicas", "idle_timeout_secs"]),
    st.one_of(st.integers(-5, 0), st.text(max_size=5), st.booleans(), st.floats(0.5, 3)),
)
def test_bad_values_name_their_field(field, value):
    shown = json.dumps(value)  # a YAML scalar whatever the value (Python's repr is not YAML)
    text = (
        GOOD.replace("    min_connections: 3\n", "    min_connections: 3\n")
        + f"  bad-service:\n    max_connections: 4\n    {field}: {shown}\n"
    )
    if field == "max_connections":
        text = GOOD + f"  bad-service:\n    {field}: {shown}\n"
    try:
        allocation.parse(text, "a.yaml")
    except InputError as err:
        assert err.field and err.field.startswith("services.bad-service")
        assert err.line and err.line >= 9
