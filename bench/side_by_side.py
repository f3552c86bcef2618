"""novapool beside pg_activity, at the same time against the same PostgreSQL, each in its own
tmux terminal (160×48) at a 1 s refresh, with a realistic session mix: 85 % idle, 5 % active,
3 % idle in transaction, lock waiters behind one holder, the allocation's services and unknown
applications. pg_activity is installed by this script in a venv of its own (.cache/).

Reported per size: server time per refresh of each console (from the server's own statement
log, by application_name), console CPU (% of one core, from /proc) and RSS at the start and
the end. Not a timed test: run it, read the ratios.

    .venv/bin/python bench/side_by_side.py --backends 100 1000 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from console.core.allocation import load as load_allocation  # noqa: E402
from console.demo.pgserver import LocalPostgres  # noqa: E402

NOVAPOOL = str(ROOT / ".venv" / "bin" / "novapool")
VENV = ROOT / ".cache" / "pg_activity"
DURATION = re.compile(r"^(novapool|pg_activity)\|LOG:  duration: ([\d.]+) ms")


def pg_activity() -> str:
    """pg_activity from PyPI, in its own venv (installed once)."""
    exe = VENV / "bin" / "pg_activity"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "pg_activity[psycopg]"], check=True
        )
    return str(exe)


def tree_cpu_rss(pid: int) -> tuple[float, float]:
    """CPU seconds and RSS (MB) of a process and its descendants."""
    pids, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            child = int(stat.parent.name)
            if int(fields[1]) == parent and child not in pids:
                pids.add(child)
                frontier.append(child)
    cpu = rss = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            m = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{p}/status").read_text())
            rss += int(m.group(1)) / 1024 if m else 0
        except OSError:
            continue
    return cpu, rss


async def fleet(dsn: str, n: int) -> list[asyncpg.Connection]:
    """n sessions: 85 % idle, 5 % active, 3 % idle in transaction, a lock holder and its
    waiters, the rest unknown applications."""
    services = load_allocation(ROOT / "config" / "allocation.yaml").names()
    admin = await asyncpg.connect(dsn)
    await admin.execute(
        "CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY); "
        "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING"
    )
    await admin.close()
    sem = asyncio.Semaphore(50)

    async def one(i: int) -> asyncpg.Connection:
        app = services[i % len(services)] if i % 10 else f"adhoc-{i % 7}"
        async with sem:
            c = await asyncpg.connect(dsn, server_settings={"application_name": app})
        return c

    conns = await asyncio.gather(*(one(i) for i in range(n)))
    active = max(1, n * 5 // 100)
    idle_tx = max(1, n * 3 // 100)
    for c in conns[:active]:
        _background(c.execute("SELECT pg_sleep(3600)"))
    for c in conns[active : active + idle_tx]:
        await c.execute("BEGIN; SELECT 1")
    holder = conns[active + idle_tx]
    await holder.execute("BEGIN; UPDATE t SET id = 1 WHERE id = 1")
    for c in conns[active + idle_tx + 1 : active + idle_tx + 4]:
        _background(c.execute("UPDATE t SET id = 1 WHERE id = 1"))
    return conns


def _background(coro: object) -> None:
    """A statement left running (active, or waiting on a lock); its end, when the sessions
    are closed at the end of the run, is expected."""
    task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())


def start(session: str, command: str) -> int:
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", command],
        check=True,
    )
    out = subprocess.run(
        ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split()[0])


async def measure(n: int, seconds: float, pga: str) -> dict[str, float]:
    pg = LocalPostgres(
        max_connections=n + 50,
        extra={"log_min_duration_statement": "0", "log_line_prefix": "%a|"},
    ).start()
    conns: list[asyncpg.Connection] = []
    sessions = [f"nv{os.getpid()}", f"pga{os.getpid()}"]
    try:
        conns = await fleet(pg.dsn, n)
        nv = start(
            sessions[0],
            f"{NOVAPOOL} --refresh 1 --dsn {pg.dsn} --allocation {ROOT}/config/allocation.yaml",
        )
        pa = start(
            sessions[1],
            f"{pga} --refresh 1 -h 127.0.0.1 -p {pg.port} -U postgres -d postgres --no-app-name",
        )
        await asyncio.sleep(10)  # both started and refreshing (their start-up is not measured)
        log_at = len((pg.workdir / "server.log").read_text(errors="replace"))
        c0 = {k: tree_cpu_rss(p) for k, p in (("nv", nv), ("pa", pa))}
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - t0
        c1 = {k: tree_cpu_rss(p) for k, p in (("nv", nv), ("pa", pa))}
        log = (pg.workdir / "server.log").read_text(errors="replace")[log_at:]
        server = {"novapool": 0.0, "pg_activity": 0.0}
        for line in log.splitlines():
            m = DURATION.match(line)
            if m:
                server[m.group(1)] += float(m.group(2))
        return {
            "nv_server_ms": server["novapool"] / elapsed,  # 1 refresh per second
            "pa_server_ms": server["pg_activity"] / elapsed,
            "nv_cpu": 100 * (c1["nv"][0] - c0["nv"][0]) / elapsed,
            "pa_cpu": 100 * (c1["pa"][0] - c0["pa"][0]) / elapsed,
            "nv_rss0": c0["nv"][1],
            "nv_rss1": c1["nv"][1],
            "pa_rss0": c0["pa"][1],
            "pa_rss1": c1["pa"][1],
        }
    finally:
        for s in sessions:
            subprocess.run(["tmux", "kill-session", "-t", s], capture_output=True)
        for c in conns:
            c.terminate()
        pg.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backends", type=int, nargs="+", default=[100, 1000])
    p.add_argument("--seconds", type=float, default=60)
    args = p.parse_args()
    pga = pg_activity()
    rows = [(n, asyncio.run(measure(n, args.seconds, pga))) for n in args.backends]
    print(f"novapool beside pg_activity, 1 s refresh, {args.seconds:g} s each, tmux 160x48")
    print(
        "| backends | server ms/refresh novapool / pg_activity | ratio | CPU % novapool / "
        "pg_activity | ratio | RSS MB novapool (start → end) / pg_activity |"
    )
    print("|---:|---|---:|---|---:|---|")
    for n, r in rows:
        sr = r["nv_server_ms"] / r["pa_server_ms"] if r["pa_server_ms"] else float("nan")
        cr = r["nv_cpu"] / r["pa_cpu"] if r["pa_cpu"] else float("nan")
        print(
            f"| {n} | {r['nv_server_ms']:.1f} / {r['pa_server_ms']:.1f} | {sr:.2f} | "
            f"{r['nv_cpu']:.1f} / {r['pa_cpu']:.1f} | {cr:.2f} | "
            f"{r['nv_rss0']:.0f} → {r['nv_rss1']:.0f} / {r['pa_rss0']:.0f} → {r['pa_rss1']:.0f} |"
        )


if __name__ == "__main__":
    main()
