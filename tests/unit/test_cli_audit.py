import json

from console.cli import main
from tests.conftest import ALLOCATION


def test_offline_json_audit_has_the_contract_figures(capsys):
    assert main(["audit", "--offline", "--format", "json", "--allocation", str(ALLOCATION)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["services"]) == 12
    b = doc["budget"]
    assert (b["allocated"], b["min_floor"], b["available"], b["headroom"]) == (77, 28, 97, 20)
    assert doc["sources"]["postgres"]["status"] == "absent"
    assert doc["cluster"]["client_backends"] is None  # never a made-up 0
    messaging = next(s for s in doc["services"] if s["name"] == "messaging-service")
    assert messaging["allocation_source"] == "library-default"
    rules = {f["rule"] for f in doc["findings"]}
    assert {"allocation-library-default", "lifetime-no-jitter"} <= rules


def test_markdown_audit_shows_the_same_figures(capsys):
    assert main(["audit", "--offline", "--allocation", str(ALLOCATION)]) == 0
    text = capsys.readouterr().out
    assert "allocate **77** of **97**" in text
    assert "headroom **20** (20.6 % of available)" in text
    assert "min floor **28**" in text
    assert "| **total** | **12** | **12** | **77** | **28** | **79.4 %** |" in text
    assert "| messaging-service | medium | 2 | 1 | 1 | 2 | 1 | library default |" in text


def test_markdown_escapes_untrusted_names(tmp_path, capsys):
    alloc = tmp_path / "a.yaml"
    alloc.write_text("services:\n  a: {tier: 'x|y<script>', max_connections: 2}\n")
    assert main(["audit", "--offline", "--allocation", str(alloc)]) == 0
    out = capsys.readouterr().out
    assert "x\\|y&lt;script&gt;" in out and "<script>" not in out


def test_bad_usage_is_64(capsys):
    import pytest

    with pytest.raises(SystemExit) as info:
        main(["audit", "--format", "pdf"])
    assert info.value.code == 64


def test_check_never_answers_64_an_invalid_configuration_is_unknown(tmp_path, capsys):
    import pytest

    assert main(["check", "--allocation", str(tmp_path / "missing.yaml")]) == 3
    out = capsys.readouterr()
    assert out.out.startswith("NOVAPOOL UNKNOWN: invalid configuration")
    assert "missing.yaml: file not found" in out.err
    for argv in (["check", "--bogus"], ["check", "--refresh", "-1"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 3
    with pytest.raises(SystemExit) as info:
        main(["audit", "--bogus"])
    assert info.value.code == 64
