"""The console's own cost: time from launch to the first frame with data, then CPU and memory
over a soak at a 1 s refresh, against the demo fleet. Needs tmux (a real terminal).

    .venv/bin/python bench/console_soak.py --minutes 10
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOVAPOOL = str(ROOT / ".venv" / "bin" / "novapool")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    m = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) / 1024


def pane() -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", "soak"], capture_output=True, text=True
    ).stdout


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=10)
    args = p.parse_args()
    if not shutil.which("tmux"):
        sys.exit("needs tmux")
    fleet = subprocess.Popen(
        [NOVAPOOL, "demo", "--no-tui"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    env = {}
    while len(env) < 2:
        line = fleet.stdout.readline().strip()
        for key in ("DATABASE_URL", "PROMETHEUS_URL"):
            if line.startswith(key + "="):
                env[key] = line.split("=", 1)[1]
    cmd = f"{NOVAPOOL} --refresh 1 --dsn {env['DATABASE_URL']} --prometheus {env['PROMETHEUS_URL']}"
    try:
        t0 = time.monotonic()
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                "soak",
                "-x",
                "160",
                "-y",
                "48",
                f"cd {ROOT} && {cmd}",
            ],
            check=True,
        )
        while "PostgreSQL" not in pane():
            time.sleep(0.02)
        first = time.monotonic() - t0
        while "auth-service" not in pane() or "%" not in pane():
            time.sleep(0.02)
        with_gauges = time.monotonic() - t0
        pid = next(
            int(x)
            for x in subprocess.run(
                ["pgrep", "-f", "novapool --refresh 1"], capture_output=True, text=True
            ).stdout.split()
            if "python" in os.readlink(f"/proc/{x}/exe")
        )
        print(
            f"launch → first frame with server data: {first:.2f} s; "
            f"with pool gauges: {with_gauges:.2f} s"
        )
        c0, w0 = cpu_seconds(pid), time.monotonic()
        samples = []
        end = w0 + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(30)
            samples.append((time.monotonic() - w0, cpu_seconds(pid) - c0, rss_mb(pid)))
            t, c, r = samples[-1]
            print(f"  {t:5.0f} s  cpu {100 * c / t:5.1f} %  rss {r:6.1f} MB", flush=True)
        t, c, r = samples[-1]
        print(
            f"over {t / 60:.1f} min at 1 s refresh: mean CPU {100 * c / t:.1f} % of one core, "
            f"RSS {samples[0][2]:.0f} → {r:.0f} MB"
        )
    finally:
        subprocess.run(["tmux", "send-keys", "-t", "soak", "q"])
        time.sleep(2)
        subprocess.run(["tmux", "kill-session", "-t", "soak"], stderr=subprocess.DEVNULL)
        fleet.send_signal(signal.SIGTERM)
        fleet.wait(timeout=30)


if __name__ == "__main__":
    main()
