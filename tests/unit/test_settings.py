import pytest

from console.core import settings
from console.core.errors import InputError


def test_defaults_without_any_file(tmp_path):
    s = settings.load(env={}, cwd=tmp_path)
    assert s.config_path is None
    assert s.refresh_s == 2
    assert s.thresholds.lock_wait_s.critical == 60
    assert not s.postgres_configured and s.prometheus_url is None


def test_flag_beats_environment_beats_file(tmp_path):
    cfg = tmp_path / "n.yaml"
    cfg.write_text(
        "prometheus:\n  url: http://file:9090\n  headers: {Authorization: 'Bearer ${TOK}'}\n"
        "refresh_s: 5\nthresholds:\n  lock_wait_s: {warning: 1, critical: 2}\n"
    )
    env = {"PROMETHEUS_URL": "http://env:9090", "TOK": "s3cret", "DATABASE_URL": "postgresql://x"}
    s = settings.load(str(cfg), env=env, cwd=tmp_path)
    assert s.prometheus_url == "http://env:9090"
    assert settings.load(str(cfg), env={}, cwd=tmp_path).prometheus_url == "http://file:9090"
    assert s.prometheus_headers == {"Authorization": "Bearer s3cret"}
    assert s.refresh_s == 5 and s.thresholds.lock_wait_s.warning == 1
    assert s.dsn == "postgresql://x" and s.postgres_configured
    s = settings.load(str(cfg), env=env, cwd=tmp_path, prometheus="http://flag:1", refresh=0.5)
    assert (s.prometheus_url, s.refresh_s) == ("http://flag:1", 0.5)


def test_config_search_order(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "novapool.yaml").write_text("refresh_s: 7\n")
    assert settings.load(env={}, cwd=tmp_path).refresh_s == 7
    other = tmp_path / "other.yaml"
    other.write_text("refresh_s: 9\n")
    assert settings.load(env={"NOVAPOOL_CONFIG": str(other)}, cwd=tmp_path).refresh_s == 9


def test_example_file_documents_valid_settings():
    from tests.conftest import ROOT

    s = settings.load(str(ROOT / "config" / "novapool.example.yaml"), env={}, cwd=ROOT)
    assert s.thresholds == settings.Thresholds()


@pytest.mark.parametrize(
    "text, line, field",
    [
        ("refresh_s: fast\n", 1, "refresh_s"),
        ("postgres:\n  dsn: x\n  timeout: 3\n", 3, "postgres.timeout"),
        (
            "thresholds:\n  lock_wait_s: {warning: 9, critical: 2}\n",
            2,
            "thresholds.lock_wait_s.critical",
        ),
        ("prometheus:\n  metrics: statsd\n", 2, "prometheus.metrics"),
    ],
)
def test_errors_name_line_and_field(tmp_path, text, line, field):
    cfg = tmp_path / "n.yaml"
    cfg.write_text(text)
    with pytest.raises(InputError) as info:
        settings.load(str(cfg), env={}, cwd=tmp_path)
    assert (info.value.line, info.value.field) == (line, field)
