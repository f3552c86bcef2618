"""Real pool libraries, unmodified, read by novapool through --scrape and through a real
Prometheus: Go database/sql with client_golang's DB stats collector (built here from Debian's
packages) and SQLAlchemy with OpenTelemetry's instrumentation and Prometheus exporter (from
PyPI). Every number asserted is what the component itself reports (db.Stats(), the pool's
checked-out/checked-in counts) or what pg_stat_activity holds."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.live.conftest import novapool, rules_of, service, wait_for_targets

COMPONENTS = ROOT / "tests" / "components"


@pytest.fixture(scope="session")
def gosql_binary(tmp_path_factory) -> Path:
    """The Go program, built offline against Debian's client_golang and lib/pq."""
    go = shutil.which("go") or "/usr/lib/go/bin/go"
    assert Path(go).exists(), "no Go toolchain: scripts/ensure-debian installs golang-go"
    out = tmp_path_factory.mktemp("go") / "gosql-pool"
    env = {
        **os.environ,
        "GOPATH": "/usr/share/gocode",
        "GO111MODULE": "off",
        "GOCACHE": str(ROOT / ".cache" / "go-build"),
    }
    subprocess.run(
        [go, "build", "-o", str(out), "."], cwd=COMPONENTS / "gosql", env=env, check=True
    )
    return out


class Component:
    """A process that prints one JSON line (its URL and its own numbers), then serves until
    its stdin closes."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the process prints it or exits
        assert line, f"{argv[0]} exited with {self.proc.wait()}"
        self.report = json.loads(line)
        self.url: str = self.report["url"]

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


@pytest.fixture
def components():
    started: list[Component] = []

    def start(argv: list[str]) -> Component:
        c = Component(argv)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


def libpq(dsn: str, **params: str) -> str:
    return dsn + ("&" if "?" in dsn else "?") + "&".join(f"{k}={v}" for k, v in params.items())


async def test_go_database_sql_and_sqlalchemy_otel_pools(pg1, prometheus, components, gosql_binary):
    feed = components(  # SetMaxOpenConns never called: unlimited
        [
            str(gosql_binary),
            "-dsn",
            libpq(pg1.dsn, sslmode="disable", application_name="feed-service"),
            "-name",
            "feed-service",
            "-busy",
            "2",
            "-idle",
            "1",
        ]
    )
    search = components(
        [
            str(gosql_binary),
            "-dsn",
            libpq(pg1.dsn, sslmode="disable", application_name="search-service"),
            "-name",
            "search-service",
            "-max-open",
            "6",
            "-busy",
            "1",
            "-idle",
            "2",
        ]
    )
    media = components(
        [
            sys.executable,
            str(COMPONENTS / "otel_pool.py"),
            "--name",
            "media-service",
            "--url",
            pg1.dsn.replace("postgresql://", "postgresql+pg8000://"),
            "--busy",
            "2",
            "--idle",
            "1",
        ]
    )
    assert feed.report["max_open"] == 0 and search.report["max_open"] == 6
    want = {
        "feed-service": (feed.report["open"], feed.report["idle"], feed.report["in_use"], None),
        "search-service": (
            search.report["open"],
            search.report["idle"],
            search.report["in_use"],
            6,
        ),
        "media-service": (
            media.report["checked_out"] + media.report["checked_in"],
            media.report["checked_in"],
            media.report["checked_out"],
            None,
        ),
    }
    assert want["feed-service"][:3] == (3, 1, 2)  # the components did what they were told
    prometheus.set_targets([feed.url, search.url, media.url])
    await asyncio.to_thread(wait_for_targets, prometheus.url, [feed.url, search.url, media.url])
    for flags in (
        ["--scrape", feed.url, "--scrape", search.url, "--scrape", media.url],
        ["--prometheus", prometheus.url],
    ):
        code, doc, err = await novapool(
            "check", "--json", "--dsn", pg1.dsn, "--metrics", "go-sql,otel", *flags
        )
        assert isinstance(doc, dict), err
        for name, (size, idle, in_use, max_) in want.items():
            row = service(doc, name)
            got = (row["pool_size"], row["pool_idle"], row["in_use"], row["pool_max_reported"])
            assert got == (size, idle, in_use, max_), (flags[0], name)
            assert row["server_connections"] == size, (flags[0], name)  # pg_stat_activity
        assert service(doc, "feed-service")["pool_unlimited_instances"] == 1
        found = rules_of(doc)
        assert [f["service"] for f in found["pool-unlimited"]] == ["feed-service"]
        assert [f["service"] for f in found.get("pool-max-drift", [])] == ["search-service"]
        assert "source-no-series" not in found
