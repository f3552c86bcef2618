"""Many servers in one console: by default 50 servers × 20 services, at 1 s refresh.

Starts R real PostgreSQL servers (default 4) with client sessions of the services on each,
S "slow" servers (a TCP proxy to a real one that holds every chunk for D ms, default 6 at
300 ms) and the rest "dead" (a port that accepts and never answers, as a hung host does). An
allocation names all of them (each a cluster of its own; every service has its home pool on the
first and a pool on each of the others). The console is built by the CLI's own factory
(make_app) with the real Collector, run headless, and driven by keys while it refreshes.

Reports: refresh intervals (an assessment recorded every refresh interval, dead servers or
not), collect() durations, each key's latency (the key pressed → the app has handled it and is
idle again), and the servers' states. Not a timed test: run it, read the numbers.

With --tmux the real `novapool` runs in a tmux terminal (160×48) instead, and a key's latency
is what a user sees: the key sent → the screen changed (capture-pane, with attributes, polled
every 2 ms; a refresh landing first counts as the change, so figures are a lower bound).

    .venv/bin/python bench/servers.py --servers 50 --services 20 --seconds 30 [--tmux]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import yaml  # noqa: E402

from console.core import allocation as allocation_mod  # noqa: E402
from console.core.settings import Settings  # noqa: E402
from console.demo.pgserver import LocalPostgres  # noqa: E402
from console.tui.app import make_app  # noqa: E402


class Endpoints:
    """Slow proxies and dead ports, on a loop of their own (never the console's)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.dead: list[socket.socket] = []

    def slow(self, target_port: int, delay_s: float) -> int:
        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    await asyncio.sleep(delay_s)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def start() -> int:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            return int(server.sockets[0].getsockname()[1])

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result()

    def dead_port(self) -> int:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(512)  # the kernel completes the handshake; nobody ever answers
        self.dead.append(s)
        return int(s.getsockname()[1])


def allocation_text(servers: list[str], services: int) -> str:
    doc = {
        "cluster": {"max_connections": 100, "superuser_reserved_connections": 3},
        "servers": {name: {"role": "primary"} for name in servers},
        "services": {
            f"svc-{i:02d}": {
                "max_connections": 3,
                "min_connections": 1,
                "replicas": 1,
                "pools": {s: {"max_connections": 2, "min_connections": 0} for s in servers[1:]},
            }
            for i in range(services)
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def stats(values: list[float]) -> str:
    if not values:
        return "—"
    v = sorted(values)
    p90 = v[min(len(v) - 1, int(0.9 * len(v)))]
    return f"median {statistics.median(v):7.1f}  p90 {p90:7.1f}  max {v[-1]:7.1f}  (n={len(v)})"


async def run(args: argparse.Namespace) -> None:
    reals = [
        LocalPostgres(max_connections=60, extra={"shared_buffers": "16MB"}).start()
        for _ in range(args.real)
    ]
    endpoints = Endpoints()
    conns: list[asyncpg.Connection] = []
    tmp = Path(reals[0].workdir) / "bench"
    tmp.mkdir()
    try:
        dsns = [r.dsn for r in reals]
        port = reals[0].port
        for _ in range(args.slow):
            dsns.append(
                f"postgresql://postgres@127.0.0.1:{endpoints.slow(port, args.delay)}/postgres"
            )
        while len(dsns) < args.servers:
            dsns.append(f"postgresql://postgres@127.0.0.1:{endpoints.dead_port()}/postgres")
        names = [f"s{i:02d}" for i in range(args.servers)]
        for r in reals:  # sessions of the services on each real server
            for i in range(args.services):
                conns.append(
                    await asyncpg.connect(
                        r.dsn, server_settings={"application_name": f"svc-{i:02d}"}
                    )
                )
        alloc_path = tmp / "allocation.yaml"
        alloc_path.write_text(allocation_text(names, args.services))
        allocation = allocation_mod.load(alloc_path)
        settings = Settings(
            server_dsns=dict(zip(names, dsns, strict=True)),
            refresh_s=args.refresh,
            connect_timeout_s=args.connect_timeout,
        )
        if args.tmux:
            await asyncio.to_thread(run_in_tmux, args, tmp, alloc_path, settings)
            return
        app = make_app(settings, allocation)
        recorded: list[float] = []
        collects: list[float] = []
        record = app.record

        def timed_record(x):  # type: ignore[no-untyped-def]
            recorded.append(time.perf_counter())
            record(x)

        app.record = timed_record  # type: ignore[method-assign]
        keys = [
            "down",
            "down",
            "v",
            "down",
            "enter",
            "right_square_bracket",
            "w",
            "escape",
            "left_square_bracket",
            "question_mark",
            "escape",
            "up",
        ]
        latencies: dict[str, list[float]] = {}
        async with app.run_test(size=(160, 48)) as pilot:
            collector = app.feed.collector  # type: ignore[attr-defined]
            collect = collector.collect

            async def timed_collect():  # type: ignore[no-untyped-def]
                t0 = time.perf_counter()
                try:
                    return await collect()
                finally:
                    collects.append((time.perf_counter() - t0) * 1000)

            collector.collect = timed_collect
            end = time.perf_counter() + args.seconds
            i = 0
            while time.perf_counter() < end:
                key = keys[i % len(keys)]
                t0 = time.perf_counter()
                await pilot.press(key)
                latencies.setdefault(key, []).append((time.perf_counter() - t0) * 1000)
                i += 1
                await asyncio.sleep(0.2)
            fa = app.fleet
            states: dict[str, int] = {}
            for sa in fa.servers if fa else ():
                states[str(sa.status.status)] = states.get(str(sa.status.status), 0) + 1
            coalesced = app.coalesced_ticks
        intervals = [(b - a) * 1000 for a, b in zip(recorded, recorded[1:], strict=False)]
        every = [v for vs in latencies.values() for v in vs]
        print(
            f"servers {args.servers} ({args.real} real, {args.slow} slow +{args.delay * 1000:.0f} ms"
            f"/chunk, {args.servers - args.real - args.slow} dead), services {args.services}, "
            f"refresh {args.refresh:g} s, {args.seconds:g} s run"
        )
        print(f"refresh interval (ms): {stats(intervals)}; ticks coalesced {coalesced}")
        print(f"collect() (ms):        {stats(collects)}")
        print(f"key → handled (ms):    {stats(every)}")
        for key, vs in sorted(latencies.items()):
            print(f"  {key:<22} {stats(vs)}")
        print(f"server states at the end: {states}")
    finally:
        for c in conns:
            c.terminate()
        for r in reals:
            r.stop()
        for s in endpoints.dead:
            s.close()
        # the proxies' loop runs in a daemon thread and ends with the process: stopping it
        # here would leave its open pipes to complain at exit


KEYS = ["down", "down", "v", "down", "Enter", "]", "w", "Escape", "[", "?", "Escape", "up"]


def run_in_tmux(args: argparse.Namespace, tmp: Path, alloc: Path, settings: Settings) -> None:
    """The real console in tmux: launch → first frame with data, then key → screen."""
    import subprocess

    cfg = tmp / "novapool.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "allocation": str(alloc),
                "servers": dict(settings.server_dsns),
                "refresh_s": args.refresh,
            }
        )
    )
    novapool = str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "novapool")
    session = f"nvbench{int(time.time())}"

    def pane() -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-e", "-p", "-t", session], capture_output=True, text=True
        ).stdout

    t0 = time.perf_counter()
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "160",
            "-y",
            "48",
            f"{novapool} --config {cfg}",
        ],
        check=True,
    )
    try:
        while "servers" not in pane() or "allocated" not in pane():
            if time.perf_counter() - t0 > 120:  # a hang guard
                raise RuntimeError("no first frame:\n" + pane())
            time.sleep(0.01)
        first = time.perf_counter() - t0
        latencies: dict[str, list[float]] = {}
        end = time.perf_counter() + args.seconds
        i = 0
        while time.perf_counter() < end:
            key = KEYS[i % len(KEYS)]
            before = pane()
            t = time.perf_counter()
            subprocess.run(["tmux", "send-keys", "-t", session, key], check=True)
            while pane() == before and time.perf_counter() - t < 3:
                time.sleep(0.002)
            latencies.setdefault(key, []).append((time.perf_counter() - t) * 1000)
            i += 1
            time.sleep(0.3)
        every = [v for vs in latencies.values() for v in vs]
        print(
            f"servers {args.servers} ({args.real} real, {args.slow} slow, "
            f"{args.servers - args.real - args.slow} dead), services {args.services}, refresh "
            f"{args.refresh:g} s, real console in tmux 160x48, {args.seconds:g} s of keys"
        )
        print(f"launch → first frame with data: {first:.2f} s")
        print(f"key → screen changed (ms): {stats(every)}")
        for key, vs in sorted(latencies.items()):
            print(f"  {key:<22} {stats(vs)}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", type=int, default=50)
    p.add_argument("--services", type=int, default=20)
    p.add_argument("--real", type=int, default=4)
    p.add_argument("--slow", type=int, default=6)
    p.add_argument("--delay", type=float, default=0.3, help="seconds each slow chunk is held")
    p.add_argument("--refresh", type=float, default=1.0)
    p.add_argument("--connect-timeout", type=float, default=5.0)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--tmux", action="store_true", help="the real console in tmux (needs tmux)")
    args = p.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
