"""The demo fleet without the UI: its scenario's findings appear in `check --json`, and
stopping it leaves no process and no temp dir."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.live.conftest import novapool, rules_of, service


def _pids_of(pattern: str) -> set[int]:
    out = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if pattern in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    out.add(int(proc.name))
            except OSError:
                continue
    return out


def _in_own_tmp(check):
    """Run check(tmp_path) with a temp dir of its own (the demo's TMPDIR)."""
    import shutil
    import tempfile

    async def run() -> None:
        tmp_path = Path(tempfile.mkdtemp(prefix="novapool-demo-test-"))
        os.chmod(tmp_path, 0o755)  # the server's unprivileged user must reach in
        try:
            await check(tmp_path)
        finally:
            shutil.rmtree(tmp_path, ignore_errors=True)

    return run


async def test_demo_fleet_findings_and_clean_stop():
    await _in_own_tmp(_run_demo_and_check)()


async def test_demo_standby_below_its_primary_is_flagged_from_another_terminal():
    async def check(tmp_path: Path) -> None:
        async def flagged(urls: dict[str, str]) -> None:
            code, doc, err = await novapool(
                "check",
                "--json",
                "--config",
                urls["NOVAPOOL_CONFIG"],
                allocation=urls["NOVAPOOL_ALLOCATION"],
            )
            assert code == 2, err
            (finding,) = rules_of(doc)["standby-settings-below-primary"]
            assert finding["server"] == "replica-1"
            assert "max_connections 100 is below its primary primary's 120" in finding["message"]

        await _run_demo_and_check(tmp_path, "--scenario", "standby-below", then=flagged)

    await _in_own_tmp(check)()


async def _run_demo_and_check(tmp_path: Path, *args: str, then=None) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        "demo",
        "--no-tui",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    urls: dict[str, str] = {}
    try:
        while not {
            "PROMETHEUS_URL",
            "DATABASE_URL",
            "NOVAPOOL_CONFIG",
            "NOVAPOOL_ALLOCATION",
        } <= set(urls):
            line = (await asyncio.wait_for(proc.stdout.readline(), 300)).decode().strip()
            assert line or proc.returncode is None, (await proc.stderr.read()).decode()
            if "=" in line and line.split("=", 1)[0].isupper():
                urls.setdefault(line.split("=", 1)[0], line.split("=", 1)[1])
        dsn, prom, config = urls["DATABASE_URL"], urls["PROMETHEUS_URL"], urls["NOVAPOOL_CONFIG"]
        data_dirs = list(tmp_path.glob("novapool-*"))
        # the primary, its standby, Prometheus, the demo's settings and allocation
        assert len(data_dirs) == 4, data_dirs
        # The settings file it printed names every server and source, and its allocation:
        # `check --config` alone reaches them all.
        code, doc, err = await novapool(
            "check", "--json", "--config", config, allocation=urls["NOVAPOOL_ALLOCATION"]
        )
        assert isinstance(doc, dict), err
        assert doc["sources"]["postgres"]["status"] == "ok", doc["sources"]
        assert doc["sources"]["prometheus"]["status"] == "ok", doc["sources"]
        servers = {s["name"]: s for s in doc["servers"]}
        assert list(servers) == ["primary", "replica-1"]
        assert servers["replica-1"]["status"]["status"] == "ok"
        assert servers["replica-1"]["in_recovery"] is True
        readers = {s["name"] for s in servers["replica-1"]["services"]}
        assert readers == {"feed-service", "search-service"}
        if then is not None:  # another scenario's own checks
            await then(urls)
            return
        # The fleet's read pools opened once the app role had streamed to the standby: its
        # WAL sender on the primary is up, and counted apart from the clients.
        assert servers["primary"]["cluster"]["wal_senders"] == 1

        wanted = {
            "budget-overcommitted",
            "pool-max-drift",
            "lock-wait",
            "unknown-application",
            "service-over-allocation",
        }
        deadline = (
            time.monotonic() + 180
        )  # the scenario's incidents, with room for a loaded machine
        seen: set[str] = set()
        while time.monotonic() < deadline and not wanted <= seen:
            code, doc, err = await novapool("check", "--json", "--dsn", dsn, "--prometheus", prom)
            if isinstance(doc, dict):
                seen = set(rules_of(doc))
            await asyncio.sleep(3)
        assert wanted <= seen, (seen, err)
        assert code == 2
        assert len(doc["services"]) == 12
        assert all(s["pool_size"] is not None for s in doc["services"])  # live gauges
        assert service(doc, "auth-service")["replicas"] == 3  # the scale-up
        assert doc["budget"]["overcommitted"] is True
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        # A hang guard: the demo's own stop steps are bounded (fleet 15 + 10 s, servers 20 s
        # each) and take a few seconds on a quiet machine; 30 s was not enough beside full load.
        try:
            await asyncio.wait_for(proc.wait(), 180)
        except TimeoutError:
            proc.kill()
            said = (await proc.stderr.read()).decode(errors="replace")
            raise AssertionError(f"the demo did not stop within 180 s; it said:\n{said}") from None
    assert proc.returncode == 0
    assert list(tmp_path.glob("novapool-*")) == []  # temp data removed
    assert _pids_of(str(tmp_path)) == set()  # no server left
