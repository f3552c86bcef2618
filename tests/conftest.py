"""Every test runs isolated from the machine it runs on: in its own empty working directory,
with its own XDG directories, without the developer's settings or servers in the environment.

Markers: tests under tests/live/ (and any marked `live`) start real servers; `make test-fast`
leaves them out, `make test` runs everything."""

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parent.parent
ALLOCATION = ROOT / "config" / "allocation.yaml"

# Tests never read the developer's own settings or point at their servers.
for var in (
    "NOVAPOOL_CONFIG",
    "NOVAPOOL_ALLOCATION",
    "DATABASE_URL",
    "PROMETHEUS_URL",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGSERVICE",
):
    os.environ.pop(var, None)
for var in [v for v in os.environ if v.startswith("NOVAPOOL_DSN_")]:
    os.environ.pop(var)

# Property tests: no deadline (a loaded machine is not a failure); in CI the same examples every
# run (a red CI blocks everything), locally new ones each run (that is how they find bugs).
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev", deadline=None, print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "live" in Path(str(item.fspath)).relative_to(ROOT / "tests").parts:
            item.add_marker(pytest.mark.live)


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    """A fresh, empty working directory and XDG homes for every test."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state")):
        (home / sub).mkdir()
        monkeypatch.setenv(var, str(home / sub))
    work = home / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def shipped_allocation():
    from console.core import allocation

    return allocation.load(ALLOCATION)
