"""The installed tool, as a new user gets it: `pip install` of this checkout into a fresh venv,
run from an empty directory with no allocation file anywhere — the demo, the offline audit,
init, and check against a real server (as an observer)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.egg-info",
    "build",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    "__snapshots__",
    "screenshots",
    "overrides",
)


def test_pip_installed_novapool_works_anywhere_without_an_allocation(tmp_path):
    src, venv, work = tmp_path / "src", tmp_path / "venv", tmp_path / "work"
    shutil.copytree(ROOT, src, ignore=IGNORE, symlinks=True)  # never build inside the checkout
    work.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", f"{src}[demo]"],
        check=True,
        cwd=work,
        timeout=1200,
    )
    shutil.rmtree(src)  # the installed package must not lean on the source tree
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "NOVAPOOL_")) and k not in ("DATABASE_URL", "PROMETHEUS_URL")
    }
    env |= {
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "TMPDIR": str(tmp_path),
    }
    os.chmod(tmp_path, 0o755)  # the demo server's unprivileged user must reach its data dir

    def novapool(*args: str, cwd: Path = work) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "novapool"), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    # one version, from one place
    version = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m, console; print(m.version('novapool'), console.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert version[0] == version[1]
    assert novapool("--version").stdout.strip() == f"novapool {version[0]}"

    audit = novapool("audit", "--offline")
    assert audit.returncode == 0, audit.stderr
    assert "allocate **77** of **97**" in audit.stdout  # the built-in example, and it says so
    assert "no allocation file" in audit.stderr

    example = novapool("init", "--out", "-")
    assert example.returncode == 0 and "auth-service" in example.stdout

    demo = subprocess.Popen(
        [str(venv / "bin" / "novapool"), "demo", "--no-tui"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: dict[str, str] = {}
        while "NOVAPOOL_CONFIG" not in lines:
            line = demo.stdout.readline()
            assert line, demo.stderr.read()
            key, eq, value = line.strip().partition("=")
            if eq and key.isupper():
                lines[key] = value
        dsn = lines["DATABASE_URL"]

        check = novapool("check", "--json", "--dsn", dsn)  # no allocation: an observer
        assert check.returncode in (0, 1, 2), check.stderr
        doc = json.loads(check.stdout)
        assert doc["allocation_observed"] is True
        assert doc["sources"]["postgres"]["status"] == "ok"
        assert "auth-service" in {s["name"] for s in doc["services"]}
        assert {s["allocation_source"] for s in doc["services"]} == {"observed"}

        init = novapool("init", "--dsn", dsn)  # from what it sees, into ./config/
        assert init.returncode == 0, init.stderr
        written = (work / "config" / "allocation.yaml").read_text()
        assert "auth-service" in written and "from " in written.splitlines()[1]
        check = novapool("check", "--json", "--dsn", dsn)
        doc = json.loads(check.stdout)
        assert doc["allocation_observed"] is False  # now it is found, from this directory
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=120)
    assert demo.returncode == 0, demo.stderr.read()
