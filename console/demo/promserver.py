"""A throwaway Prometheus server (Debian's `prometheus` binary) scraping the given exporters.

Targets live in a file_sd JSON file, so they can change while it runs. Listens on 127.0.0.1
only; dies with its parent (PR_SET_PDEATHSIG); data in a temp dir removed on stop.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from console.demo.pgserver import _die_with_parent, free_port, make_root


def find_prometheus() -> str | None:
    return (
        os.environ.get("NOVAPOOL_PROMETHEUS_BIN")
        or shutil.which("prometheus")
        or ("/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None)
    )


@dataclass
class LocalPrometheus:
    scrape_interval_s: float = 1.0
    port: int = 0
    root: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def workdir(self) -> Path:
        assert self.root is not None, "not started"
        return self.root

    targets: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_targets(self, urls: list[str]) -> None:
        """Exporter URLs (http://127.0.0.1:PORT/metrics); takes effect within a second."""
        self.targets = list(urls)
        groups = [
            {
                "targets": [u.split("://", 1)[-1].split("/", 1)[0] for u in urls],
                "labels": {"job": "db-pool"},
            }
        ]
        tmp = self.workdir / "targets.json.tmp"
        tmp.write_text(json.dumps(groups))
        os.replace(tmp, self.workdir / "targets.json")

    def start(self, targets: Sequence[str] = (), timeout: float = 30) -> LocalPrometheus:
        binary = find_prometheus()
        if not binary:
            raise RuntimeError("no `prometheus` binary (Debian package `prometheus`)")
        self.root = make_root("novapool-prom-")
        self.port = self.port or free_port()
        interval = f"{int(self.scrape_interval_s * 1000)}ms"
        (self.workdir / "prometheus.yml").write_text(
            "global:\n"
            f"  scrape_interval: {interval}\n"
            f"  scrape_timeout: {interval}\n"
            f"  evaluation_interval: {interval}\n"
            "scrape_configs:\n"
            "  - job_name: db-pool\n"
            "    file_sd_configs:\n"
            f"      - files: ['{self.workdir / 'targets.json'}']\n"
            "        refresh_interval: 1s\n"
        )
        self.set_targets(list(targets))
        self._args = [
            binary,
            f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=2h",
            "--log.level=warn",
        ]
        self._spawn(timeout)
        return self

    def _spawn(self, timeout: float) -> None:
        with open(self.workdir / "prometheus.log", "ab") as log:
            self.process = subprocess.Popen(
                self._args,
                stdout=log,
                stderr=log,
                cwd=self.root,
                preexec_fn=_die_with_parent,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "prometheus exited:\n"
                    + (self.workdir / "prometheus.log").read_text(errors="replace")[-2000:]
                )
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("prometheus did not become ready")

    def pause(self) -> None:
        """Stop the server (the data stays) — a Prometheus outage."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)

    def resume(self, timeout: float = 30) -> None:
        self._spawn(timeout)

    def stop(self) -> None:
        self.pause()
        self.process = None
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
