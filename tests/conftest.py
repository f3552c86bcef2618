import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOCATION = ROOT / "config" / "allocation.yaml"

# Tests never read the developer's own settings or point at their servers.
for var in ("NOVAPOOL_CONFIG", "DATABASE_URL", "PROMETHEUS_URL", "PGHOST", "PGPORT", "PGUSER",
            "PGDATABASE", "PGPASSWORD", "PGSERVICE"):
    os.environ.pop(var, None)
os.environ["XDG_CONFIG_HOME"] = str(ROOT / "tests" / ".no-xdg-config")


@pytest.fixture
def shipped_allocation():
    from console.core import allocation
    return allocation.load(ALLOCATION)
