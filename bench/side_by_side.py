"""novapool beside pg_activity, at the same time against the same PostgreSQL, each in its own
tmux terminal (160×48) at a 1 s refresh, with a realistic session mix: 85 % idle, 5 % active,
3 % idle in transaction, lock waiters behind one holder, the allocation's services and unknown
applications. pg_activity is installed by this script in a venv of its own (.cache/).

Reported per size: server time per refresh of each console (from the server's own statement
log, by application_name), console CPU (% of one core, from /proc) and RSS at the start and
the end. Not a timed test: run it, read the ratios.

With --fleet 200x5: 200 services × 5 instances each through a real Prometheus (one target per
instance, scraped every 5 s; the gauges served by this script and moving), an allocation of the
200 services, 300 backends of theirs: the same figures, then Prometheus's answer bytes and
queries per refresh (its own metrics), then key → screen latency in novapool's terminal while
it refreshes (sort, each typed character of a filter, page down, open a detail, back), each
timed until the screen shows that key's effect.

    .venv/bin/python bench/side_by_side.py --backends 100 1000 --seconds 60 [--fleet 200x5]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import yaml  # noqa: E402

from console.core.allocation import load as load_allocation  # noqa: E402
from console.demo.pgserver import LocalPostgres  # noqa: E402

NOVAPOOL = str(ROOT / ".venv" / "bin" / "novapool")
VENV = ROOT / ".cache" / "pg_activity"
DURATION = re.compile(r"^(novapool|pg_activity)\|LOG:  duration: ([\d.]+) ms  (\w+)[^:]*: ?(.*)")
# A refresh of each console, in the statement log: novapool runs one statement a refresh;
# pg_activity several, of which its server-information statement once a refresh.
REFRESH = {"novapool": "", "pg_activity": "WITH dbinfo AS("}
# The bare scan of pg_stat_activity (PostgreSQL looks each backend's process up in its process
# array: the scan grows with the square of the backends): no console that reads the view can
# cost less per read. pg_activity reads it three times a refresh, novapool once.
SCAN_SQL = "SELECT count(*) FROM pg_stat_get_activity(NULL)"
SCAN = re.compile(r"^(scan-alone)\|LOG:  duration: ([\d.]+) ms  execute")


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
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):  # once: thousands of backends are there
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    pids, frontier = {pid}, [pid]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in pids:
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


def close(sessions: list[str], conns: list[asyncpg.Connection]) -> None:
    """The consoles' terminals and the fleet's sessions."""
    for s in sessions:
        subprocess.run(["tmux", "kill-session", "-t", s], capture_output=True)
    for c in conns:
        c.terminate()


def usage(
    c0: dict[str, tuple[float, float]], c1: dict[str, tuple[float, float]], elapsed: float
) -> dict[str, float]:
    """CPU (% of a core) of each console over the window, and its RSS at both ends (MB)."""
    out = {}
    for k in ("nv", "pa"):
        out[f"{k}_cpu"] = 100 * (c1[k][0] - c0[k][0]) / elapsed
        out[f"{k}_rss0"], out[f"{k}_rss1"] = c0[k][1], c1[k][1]
    return out


async def fleet(dsn: str, n: int, services: list[str] | None = None) -> list[asyncpg.Connection]:
    """n sessions: 85 % idle, 5 % active, 3 % idle in transaction, a lock holder and its
    waiters, the rest unknown applications."""
    services = services or load_allocation(ROOT / "config" / "allocation.yaml").names()
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
    await settled(dsn, active)
    return conns


async def settled(dsn: str, active: int) -> None:
    """Until the server shows the fleet as built: its active statements running and its
    three lock waiters waiting (a console launched before would time the fleet's start-up,
    not its own)."""
    conn = await asyncpg.connect(dsn)
    deadline = time.monotonic() + 300  # a hang guard: the server's word decides
    try:
        while True:
            running, waiting = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE query = 'SELECT pg_sleep(3600)'), "
                "count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity"
            )
            if running == active and waiting == 3:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the fleet never settled: {running}/{active} active")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


def server_time(log: str) -> tuple[dict[str, float], dict[str, int]]:
    """Each console's server time (every duration the log shows: parse, bind, execute) and
    its refreshes, in a stretch of the statement log."""
    server = {"novapool": 0.0, "pg_activity": 0.0}
    refreshes = {"novapool": 0, "pg_activity": 0}
    for line in log.splitlines():
        m = DURATION.match(line)
        if m:
            app, ms, step, text = m.groups()
            server[app] += float(ms)
            refreshes[app] += step == "execute" and text.startswith(REFRESH[app])
    return server, refreshes


async def bare_scans(dsn: str, seconds: float) -> None:
    """The bare scan once a second for `seconds` (timed by the server's log, application
    scan-alone)."""
    conn = await asyncpg.connect(dsn, server_settings={"application_name": "scan-alone"})
    try:
        scan = await conn.prepare(SCAN_SQL)
        for _ in range(int(seconds)):
            await scan.fetchval()
            await asyncio.sleep(1)
    finally:
        await conn.close()


def _background(coro: object) -> None:
    """A statement left running (active, or waiting on a lock); its end, when the sessions
    are closed at the end of the run, is expected."""
    task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
    task.add_done_callback(lambda t: None if t.cancelled() else t.exception())


EXITED = "novapool-bench: exited with status"


def start(session: str, command: str) -> int:
    """`command` in a new tmux session of 160×48; the pid of the pane's process. Should the
    command end, its pane stays, saying so (see `exited`)."""
    kept = f"{command}; echo; echo {EXITED} $?; sleep 86400"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "48", kept],
        check=True,
    )
    out = subprocess.run(
        ["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split()[0])


class FleetGauges:
    """Every instance's /metrics on one port (path /m/<i>), moving with time: what 200
    services × 5 pods would expose. Prometheus is told each target's path and instance."""

    def __init__(self, services: int, instances: int) -> None:
        self.services, self.instances = services, instances
        self.port = 0

    def name(self, i: int) -> str:
        return f"svc-{i // self.instances:03d}"

    def body(self, i: int) -> bytes:
        tick = int(time.time() // 5) + i
        size, idle = 4 + tick % 5, 1 + (tick // 2) % 3
        svc = self.name(i)
        return (
            f'db_pool_size{{service="{svc}"}} {size}\n'
            f'db_pool_idle{{service="{svc}"}} {idle}\n'
            f'db_pool_max{{service="{svc}"}} 10\n'
        ).encode()

    async def start(self) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                request = await reader.readuntil(b"\r\n\r\n")
                path = request.split(b" ", 2)[1].decode()
                body = self.body(int(path.rsplit("/", 1)[-1]))
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
            except (OSError, ValueError, asyncio.IncompleteReadError):
                pass
            except asyncio.CancelledError:
                pass  # the bench is over: a scrape cut short ends quietly, not as a traceback
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]

    def targets(self) -> list[dict[str, object]]:
        return [
            {
                "targets": [f"127.0.0.1:{self.port}"],
                "labels": {
                    "job": "db-pool",
                    "instance": f"{self.name(i)}-pod-{i % self.instances}",
                    "__metrics_path__": f"/m/{i}",
                },
            }
            for i in range(self.services * self.instances)
        ]


def fleet_allocation(services: int, instances: int) -> str:
    doc = {
        "cluster": {"max_connections": 3000, "superuser_reserved_connections": 3},
        "services": {
            f"svc-{i:03d}": {"max_connections": 10, "min_connections": 2, "replicas": instances}
            for i in range(services)
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def prom_metric(url: str, expr: str) -> float:
    with urllib.request.urlopen(f"{url}/api/v1/query?query={urllib.parse.quote(expr)}") as r:
        result = json.load(r)["data"]["result"]
    return sum(float(x["value"][1]) for x in result)


def prom_self(url: str, series: str) -> float:
    """One series of Prometheus's own /metrics (it does not scrape itself here)."""
    with urllib.request.urlopen(f"{url}/metrics") as r:
        for line in r.read().decode().splitlines():
            if line.startswith(series + " "):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def exited(sessions: dict[str, str]) -> str | None:
    """Which console (name → tmux session) has ended during a measure, and its last words:
    its figures would be nothing, not a measure."""
    for name, session in sessions.items():
        text = pane(session)
        if EXITED in text:
            last = [line.strip() for line in text.splitlines() if line.strip()][-4:]
            return f"{name} ended: " + " / ".join(last)
    return None


STOPPING = re.compile(r"novapool stopping: (\d+) collections, (\d+) ticks coalesced")


def quit_and_count(session: str, state: Path) -> tuple[int, int]:
    """Quit the console (Escape twice: out of a filter or a detail; then q) and read from its
    log how many collections it ran and how many ticks came while one still ran: refreshes
    skipped for lack of time."""
    for key in ("Escape", "Escape", "q"):
        subprocess.run(["tmux", "send-keys", "-t", session, key], check=True)
        time.sleep(0.3)  # past Textual's wait for a lone Escape
    deadline = time.monotonic() + 60  # a hang guard
    while time.monotonic() < deadline:
        for log in (state / "novapool").glob("novapool-*.log"):
            m = STOPPING.search(log.read_text(errors="replace"))
            if m:
                return int(m.group(1)), int(m.group(2))
        time.sleep(0.1)
    raise RuntimeError(f"novapool did not log that it stopped (in {state})")


def pane(session: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
    ).stdout


def services_shown(text: str) -> list[str]:
    """The services in the table's rows (not those the findings name)."""
    table = text.split(" Service ", 1)[-1].split("────", 1)[0]
    return re.findall(r"^ (svc-\d{3}) ", table, re.MULTILINE)


def filtered(text: str, typed: str) -> bool:
    """The filter shows what was typed, and the table only rows that match it."""
    echoed = any(line.strip() == typed for line in text.splitlines())
    return echoed and all(typed in name for name in services_shown(text))


# Each step: the keys sent, and what the screen shows once they took effect.
KEY_STEPS: list[tuple[str, list[str], Any]] = [
    ("sort", ["s"], lambda t, b: "sorted by name" in t),
    ("sort", ["s"], lambda t, b: "sorted by busy" in t),
    ("sort", ["s"], lambda t, b: "sorted by server conns" in t),
    ("sort", ["s"], lambda t, b: "sorted by allocated" in t),
    ("sort", ["s"], lambda t, b: "sorted by worst" in t),  # `s` cycles the first five
    ("filter /", ["/"], lambda t, b: "filter services by name" in t),
    ("filter char", ["s"], lambda t, b: filtered(t, "s")),
    ("filter char", ["v"], lambda t, b: filtered(t, "sv")),
    ("filter char", ["c"], lambda t, b: filtered(t, "svc")),
    ("filter char", ["-"], lambda t, b: filtered(t, "svc-")),
    ("filter char", ["1"], lambda t, b: filtered(t, "svc-1")),
    ("filter char", ["2"], lambda t, b: filtered(t, "svc-12")),
    ("filter clear", ["Escape"], lambda t, b: "sorted by" in t and len(services_shown(t)) > 6),
    ("page down", ["PageDown"], lambda t, b: services_shown(t)[:1] != services_shown(b)[:1]),
    ("page down", ["PageDown"], lambda t, b: services_shown(t)[:1] != services_shown(b)[:1]),
    # a service's detail, or the unattributed sessions' (where page down landed on that row)
    ("open detail", ["Enter"], lambda t, b: "Pools per instance" in t or "matching no" in t),
    ("back", ["Escape"], lambda t, b: "sorted by" in t),
    ("top", ["Home"], lambda t, b: services_shown(t)[:1] != services_shown(b)[:1]),
]


class ControlClient:
    """A tmux control-mode client of one session: a command costs a line on a pipe, not a
    process, and the pane's output is announced (%output), so the screen is read again when
    it may have changed instead of polled in a loop that would itself load the machine."""

    def __init__(self, session: str) -> None:
        # attaching must not resize the console's terminal
        subprocess.run(["tmux", "set-option", "-t", session, "window-size", "manual"], check=True)
        self.proc = subprocess.Popen(
            ["tmux", "-C", "attach-session", "-t", session],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            errors="replace",
            bufsize=1,
        )
        self.session = session
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        marker = f"sync-{os.getpid()}"
        self.send(f"display-message -p {marker}")
        while marker not in self.block():
            pass  # blocks of the attach itself, before our command's

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("%output"):
                self.output.set()
            else:
                self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def command(self, command: str) -> str:
        """The command's output (one command at a time: its answer is the next block)."""
        self.send(command)
        return self.block()

    def block(self) -> str:
        """The next %begin…%end block's lines."""
        out: list[str] = []
        inside = False
        while True:
            line = self.lines.get(timeout=10)
            if line is None:
                raise RuntimeError("the tmux control client ended")
            if line.startswith("%begin"):
                inside = True
            elif inside and line.startswith(("%end", "%error")):
                if line.startswith("%error"):
                    raise RuntimeError(f"tmux: {out}")
                return "\n".join(out)
            elif inside:
                out.append(line)

    def screen(self) -> str:
        """The pane's text. A screen is never empty: an empty block before it is a stray
        answer (tmux may report the attach itself after our first command) and is skipped."""
        self.send(f"capture-pane -p -t {self.session}")
        while not (text := self.block()):
            pass
        return text

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


# The keys issue 14's goal names. Back and filter clear are Escape: Textual tells a lone
# Escape from the start of an escape sequence (an arrow key) only after ESCDELAY (100 ms),
# checked when its input thread wakes (every 100 ms), so they take ≥ 100 ms more by design.
GOAL_KEYS = {"sort", "filter /", "filter char", "page down", "open detail"}


def key_latencies(session: str, rounds: int) -> dict[str, list[float]]:
    """Each step's keys sent through tmux → the screen shows their effect (ms): the screen
    is read after each output of the console's (at least every 10 ms)."""
    out: dict[str, list[float]] = {}
    client = ControlClient(session)
    try:
        for _ in range(rounds):
            for label, keys, shown in KEY_STEPS:
                before = client.screen()
                t = time.perf_counter()
                client.command(f"send-keys -t {session} {' '.join(keys)}")
                while True:
                    client.output.clear()  # before reading: output meanwhile wakes the wait
                    now = client.screen()
                    if shown(now, before):
                        break
                    if time.perf_counter() - t > 10:  # a hang guard, reported as such
                        raise RuntimeError(f"{label} ({' '.join(keys)}): never shown\n{now}")
                    client.output.wait(0.01)
                out.setdefault(label, []).append((time.perf_counter() - t) * 1000)
                time.sleep(0.25)  # a user's pace: refreshes happen between keys too
    finally:
        client.close()
    return out


async def measure_fleet(
    services: int, instances: int, seconds: float, pga: str, rounds: int, backends: int = 300
) -> dict[str, Any]:
    from console.demo.promserver import LocalPrometheus

    gauges = FleetGauges(services, instances)
    await gauges.start()
    names = [f"svc-{i:03d}" for i in range(services)]
    pg = LocalPostgres(
        max_connections=backends + 100,
        extra={"log_min_duration_statement": "0", "log_line_prefix": "%a|"},
    ).start()
    prom = LocalPrometheus(scrape_interval_s=5).start()
    tmp = Path(tempfile.mkdtemp(prefix="novapool-bench-"))
    alloc = tmp / "allocation.yaml"
    alloc.write_text(fleet_allocation(services, instances))
    (prom.workdir / "targets.json").write_text(json.dumps(gauges.targets()))
    conns: list[asyncpg.Connection] = []
    sessions = [f"nvf{os.getpid()}", f"pgaf{os.getpid()}"]
    try:
        conns = await fleet(pg.dsn, backends, names)
        while prom_metric(prom.url, "count(db_pool_size)") < services * instances:
            await asyncio.sleep(1)  # every target scraped once
        t_launch = time.perf_counter()
        nv = start(
            sessions[0],
            f"XDG_STATE_HOME={tmp} {NOVAPOOL} --refresh 1 --dsn {pg.dsn} --prometheus {prom.url} "
            f"--allocation {alloc}",
        )
        while "svc-000" not in pane(sessions[0]) or "allocated" not in pane(sessions[0]):
            await asyncio.sleep(0.01)
        first_frame = time.perf_counter() - t_launch
        pa = start(
            sessions[1],
            f"{pga} --refresh 1 -h 127.0.0.1 -p {pg.port} -U postgres -d postgres --no-app-name",
        )
        await asyncio.sleep(10)
        query_bytes = 'prometheus_http_response_size_bytes_sum{handler="/api/v1/query"}'
        query_count = 'prometheus_http_response_size_bytes_count{handler="/api/v1/query"}'
        b0, q0 = prom_self(prom.url, query_bytes), prom_self(prom.url, query_count)
        c0 = {k: tree_cpu_rss(p) for k, p in (("nv", nv), ("pa", pa))}
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - t0
        c1 = {k: tree_cpu_rss(p) for k, p in (("nv", nv), ("pa", pa))}
        died = exited({"novapool": sessions[0], "pg_activity": sessions[1]})
        if died:
            raise RuntimeError(died)
        b1, q1 = prom_self(prom.url, query_bytes), prom_self(prom.url, query_count)
        keys = await asyncio.to_thread(key_latencies, sessions[0], rounds)
        collections, coalesced = await asyncio.to_thread(quit_and_count, sessions[0], tmp)
        return {
            "collections": collections,
            "coalesced": coalesced,
            **usage(c0, c1, elapsed),
            # only the console queries Prometheus meanwhile (this script reads /metrics)
            "prom_bytes": (b1 - b0) / elapsed,
            "prom_queries": (q1 - q0) / elapsed,
            "first_frame_s": first_frame,
            "keys": keys,
        }
    finally:
        close(sessions, conns)
        prom.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def measure(n: int, seconds: float, pga: str) -> dict[str, Any]:
    pg = LocalPostgres(
        max_connections=n + 50,
        extra={"log_min_duration_statement": "0", "log_line_prefix": "%a|"},
    ).start()
    conns: list[asyncpg.Connection] = []
    sessions = [f"nv{os.getpid()}", f"pga{os.getpid()}"]
    state = Path(tempfile.mkdtemp(prefix="novapool-bench-"))
    try:
        conns = await fleet(pg.dsn, n)
        t_launch = time.perf_counter()
        nv = start(
            sessions[0],
            f"XDG_STATE_HOME={state} {NOVAPOOL} --refresh 1 --dsn {pg.dsn} "
            f"--allocation {ROOT}/config/allocation.yaml",
        )
        while not re.search(r"clients \d+/\d+", pane(sessions[0])):  # the server's answer
            await asyncio.sleep(0.01)
        first_frame = time.perf_counter() - t_launch
        pa = start(
            sessions[1],
            f"{pga} --refresh 1 -h 127.0.0.1 -p {pg.port} -U postgres -d postgres --no-app-name",
        )
        # Both started and refreshing (their start-up is not measured). Meanwhile, under the
        # same load, the floor of any statement that reads pg_stat_activity: the bare scan.
        scan_at = len((pg.workdir / "server.log").read_text(errors="replace"))
        await bare_scans(pg.dsn, seconds=10)
        scan_log = (pg.workdir / "server.log").read_text(errors="replace")[scan_at:]
        c0 = {k: tree_cpu_rss(p) for k, p in (("nv", nv), ("pa", pa))}
        log_at = len((pg.workdir / "server.log").read_text(errors="replace"))
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - t0
        log = (pg.workdir / "server.log").read_text(errors="replace")[log_at:]
        c1 = {k: tree_cpu_rss(p) for k, p in (("nv", nv), ("pa", pa))}
        died = exited({"novapool": sessions[0], "pg_activity": sessions[1]})
        collections, coalesced = (0, 0) if died else quit_and_count(sessions[0], state)
        server, refreshes = server_time(log)
        scan_ms = [float(m.group(2)) for ln in scan_log.splitlines() if (m := SCAN.match(ln))]
        return {
            "first_frame_s": first_frame,
            # per refresh: each console's refreshes counted in the log (a console whose
            # refresh takes longer refreshes less often than once a second)
            "nv_server_ms": server["novapool"] / max(1, refreshes["novapool"]),
            "pa_server_ms": server["pg_activity"] / max(1, refreshes["pg_activity"]),
            "nv_refresh_hz": refreshes["novapool"] / elapsed,
            "pa_refresh_hz": refreshes["pg_activity"] / elapsed,
            "scan_ms": statistics.median(scan_ms) if scan_ms else float("nan"),
            **usage(c0, c1, elapsed),
            "died": died,
            "collections": collections,
            "coalesced": coalesced,
        }
    finally:
        close(sessions, conns)
        pg.stop()
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backends", type=int, nargs="*", default=[100, 1000])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--fleet", help="SERVICESxINSTANCES through Prometheus, e.g. 200x5")
    p.add_argument("--key-rounds", type=int, default=3, help="rounds of key steps (--fleet)")
    p.add_argument("--fleet-backends", type=int, default=300, help="client backends (--fleet)")
    args = p.parse_args()
    pga = pg_activity()
    # Both consoles start from bytecode, as pip installs them (pip compiles what it installs;
    # novapool here is an editable install, and a PYTHONDONTWRITEBYTECODE environment would
    # have it compile every module again at each launch: 0.1 s of its first frame).
    compileall.compile_dir(str(ROOT / "console"), quiet=1)
    rows = [(n, asyncio.run(measure(n, args.seconds, pga))) for n in args.backends]
    print(f"novapool beside pg_activity, 1 s refresh, {args.seconds:g} s each, tmux 160x48")
    print(
        "| backends | server ms/refresh novapool / pg_activity | ratio | bare scan ms (÷ "
        "pg_activity) | refreshes/s novapool / pg_activity | CPU % novapool / pg_activity | "
        "ratio | RSS MB novapool (start → end) / pg_activity | first frame s | novapool "
        "refreshes (skipped) |"
    )
    print("|---:|---|---:|---|---|---|---:|---|---:|---:|")
    for n, r in rows:
        if r["died"]:
            print(f"| {n} | {r['died']} (no measure) |")
            continue
        print(
            f"| {n} | {r['nv_server_ms']:.1f} / {r['pa_server_ms']:.1f} | "
            f"{_ratio(r['nv_server_ms'], r['pa_server_ms'])} | "
            f"{r['scan_ms']:.1f} ({_ratio(r['scan_ms'], r['pa_server_ms'])}) | "
            f"{r['nv_refresh_hz']:.2f} / {r['pa_refresh_hz']:.2f} | "
            f"{_cpu_and_rss(r)} | {r['first_frame_s']:.2f} | {_refreshes(r)} |"
        )
    if args.fleet:
        services, instances = (int(x) for x in args.fleet.lower().split("x"))
        r = asyncio.run(
            measure_fleet(
                services, instances, args.seconds, pga, args.key_rounds, args.fleet_backends
            )
        )
        print(
            f"| {services} services × {instances} (Prometheus), {args.fleet_backends} backends "
            f"| — | — | — | — | {_cpu_and_rss(r)} | {r['first_frame_s']:.2f} | {_refreshes(r)} |"
        )
        print(
            f"\nPrometheus, per second (1 refresh): {r['prom_queries']:.2f} queries, "
            f"{r['prom_bytes'] / 1024:.1f} KiB of answers"
        )
        print(f"launch → first frame with the services: {r['first_frame_s']:.2f} s")
        print("key → screen showing its effect, ms (median / p90 / max):")
        every = [v for vs in r["keys"].values() for v in vs]
        print(f"  {'all':<13} {_stats(every)}")
        goal = [v for k, vs in r["keys"].items() if k in GOAL_KEYS for v in vs]
        print(f"  {'issue 14 set':<13} {_stats(goal)}  ({', '.join(sorted(GOAL_KEYS))})")
        for label, values in r["keys"].items():
            print(f"  {label:<13} {_stats(values)}")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "—"


def _cpu_and_rss(r: dict[str, Any]) -> str:
    cr = r["nv_cpu"] / r["pa_cpu"] if r["pa_cpu"] else float("nan")
    return (
        f"{r['nv_cpu']:.1f} / {r['pa_cpu']:.1f} | {cr:.2f} | "
        f"{r['nv_rss0']:.0f} → {r['nv_rss1']:.0f} / {r['pa_rss0']:.0f} → {r['pa_rss1']:.0f}"
    )


def _refreshes(r: dict[str, Any]) -> str:
    """Collections over the console's whole run (the measure, and the keys with --fleet), and
    the ticks that found one still running: refreshes skipped for lack of time."""
    return f"{r['collections']} ({r['coalesced']})"


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"{statistics.median(ordered):.0f} / {p90:.0f} / {ordered[-1]:.0f} (n={len(ordered)})"


if __name__ == "__main__":
    main()
