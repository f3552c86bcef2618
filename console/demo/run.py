"""`novapool demo`: a throwaway PostgreSQL, a simulated fleet, then the console on them.

Everything it starts is stopped on the way out — on quit, Ctrl+C, SIGTERM, a closed terminal
(SIGHUP) or an exception; the servers also die with this process (PR_SET_PDEATHSIG) if it is
killed outright. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from console.core import allocation as allocation_mod
from console.core import logs
from console.core import settings as settings_mod
from console.core.errors import InputError
from console.demo.fleet import REPLICA, SCENARIOS, Fleet, plan_for, scale_allocation, with_replica
from console.demo.pgserver import LocalPostgres
from console.demo.promserver import LocalPrometheus, find_prometheus
from console.examples import allocation_path as example_allocation_path


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:  # unwind the finally blocks
    raise _Stop(signum)


def run_demo(args: argparse.Namespace) -> int:
    if args.scenario not in SCENARIOS:
        raise InputError(
            f"unknown scenario {args.scenario!r}; one of {', '.join(SCENARIOS)}", field="--scenario"
        )
    for name in ("services", "replicas"):
        value = getattr(args, name)
        if value is not None and not 1 <= value <= 200:
            raise InputError("must be between 1 and 200", field=f"--{name}")
    allocation_file = str(getattr(args, "allocation", None) or example_allocation_path())
    allocation = scale_allocation(allocation_mod.load(allocation_file), args.services)
    # The user's settings (thresholds, refresh) are read now, so a bad file fails before any
    # server starts; the demo's own sources are given as flags, which win.
    settings_mod.load(getattr(args, "config", None), allocation=allocation_file)
    plan = plan_for(args.scenario, allocation, args.replicas)

    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    # Ctrl+C stops the demo even where the shell started us with SIGINT ignored.
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    pg = replica = prom = fleet = None
    workdir = Path(tempfile.mkdtemp(prefix="novapool-demo-"))
    logs.setup()
    try:
        say("starting a throwaway PostgreSQL on 127.0.0.1…")
        # The allocation's own slots (100 for the seed), unless a large --services/--replicas
        # fleet could not even open its minimum pools in them.
        floor = sum(
            allocation.effective(svc).min_connections
            * max(plan.replicas[svc.name], plan.scale_up.get(svc.name, 0))
            for svc in allocation.services
        )
        pg = LocalPostgres(
            max_connections=max(allocation.cluster.max_connections, floor + 30),
            superuser_reserved_connections=allocation.cluster.superuser_reserved_connections,
        ).start()
        say(f"  PostgreSQL {pg.version} at {pg.dsn}")
        try:  # a real streaming standby of it, from the same binaries
            replica = LocalPostgres(
                bindir=pg.bindir,
                max_connections=pg.max_connections,
                superuser_reserved_connections=pg.superuser_reserved_connections,
            ).start(standby_of=pg)
            say(f"  its streaming standby {REPLICA} at {replica.dsn}")
            allocation = with_replica(allocation)
        except RuntimeError as exc:
            say(f"  no standby ({exc}): one server only")
            replica = None
        say(f"starting the fleet: {len(allocation.services)} services, scenario {args.scenario}…")
        fleet = Fleet(
            pg.dsn, allocation, plan, replica_dsn=replica.dsn if replica else None
        ).start()
        if replica is not None and args.scenario == "standby-below":
            # After the fleet's set-up has replicated: the standby pauses replay from here.
            more = pg.max_connections + 20
            say(f"  restarting the primary with max_connections {more}: above its standby's")
            pg.restart(max_connections=str(more))
        # The fleet's allocation as a file beside the settings: another terminal sees it all.
        allocation_file = str(workdir / "allocation.yaml")
        Path(allocation_file).write_text(
            yaml.safe_dump(allocation_mod.to_document(allocation), sort_keys=False)
        )
        allocation = allocation_mod.load(allocation_file)
        sources: dict[str, Any] = {"dsn": pg.dsn}
        if find_prometheus():
            prom = LocalPrometheus(scrape_interval_s=2).start(fleet.exporter_urls)
            say(f"  Prometheus at {prom.url} scraping {len(fleet.exporter_urls)} exporters")
            sources["prometheus"] = prom.url
        else:
            say(
                f"  no prometheus binary: reading the {len(fleet.exporter_urls)} exporters directly"
            )
            sources["scrape"] = list(fleet.exporter_urls)
        # The same loader as every other command: the user's --config (thresholds, refresh),
        # with the demo's sources and the simulated allocation as flags.
        settings = settings_mod.load(
            getattr(args, "config", None), allocation=allocation_file, allow_signal=True, **sources
        )
        # Only the demo's own sources: none from the user's file or environment.
        settings = dataclasses.replace(
            settings,
            prometheus_url=sources.get("prometheus"),
            scrape=tuple(sources.get("scrape", ())),
            server_dsns={"primary": pg.dsn, REPLICA: replica.dsn} if replica else {},
            server_env={},
        )
        config = workdir / "novapool.yaml"
        config.write_text(yaml.safe_dump(settings_mod.dump(settings), sort_keys=False))
        if args.no_tui:
            return _serve(pg, prom, fleet, config, allocation_file)
        from console.tui.app import run_console

        return run_console(settings, allocation, target_label=f"demo {pg.dsn}")
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        say("stopping the demo…")
        for step in (
            fleet.stop if fleet else None,
            prom.stop if prom else None,
            replica.stop if replica else None,
            pg.stop if pg else None,
        ):
            if step is not None:
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                    say(f"  while stopping: {exc}")
        shutil.rmtree(workdir, ignore_errors=True)
        for s, handler in previous.items():
            signal.signal(s, handler)
        say("stopped; nothing left running.")


def say(text: str) -> None:
    try:
        print(f"novapool demo: {text}", file=sys.stderr, flush=True)
    except OSError:
        pass  # a closed terminal or pipe must not stop the clean-up that follows


def _serve(
    pg: LocalPostgres,
    prom: LocalPrometheus | None,
    fleet: Fleet,
    config: Path,
    allocation_file: str,
) -> int:
    print(f"DATABASE_URL={pg.dsn}")
    if prom:
        print(f"PROMETHEUS_URL={prom.url}")
    for url in fleet.exporter_urls:
        print(f"SCRAPE_URL={url}")
    print(f"NOVAPOOL_CONFIG={config}")
    print(f"NOVAPOOL_ALLOCATION={allocation_file}")
    metrics = (
        f"--prometheus {prom.url}"
        if prom
        else " ".join(f"--scrape {u}" for u in fleet.exporter_urls)
    )
    print(
        f"\n# in another terminal (every server and source of the demo):\n"
        f"novapool --config {config}\nnovapool check --config {config}\n"
        f"# or the primary alone:\nnovapool --dsn {pg.dsn} {metrics}\n",
        flush=True,
    )
    say("fleet running; Ctrl+C stops it")
    # Python runs a signal's handler in the main thread, and the kernel may deliver SIGTERM
    # to any thread: a wait without a timeout would never wake to run it (the demo then
    # outlived a SIGTERM in CI). Waking twice a second, the handler runs within 0.5 s.
    idle = threading.Event()
    while not idle.wait(0.5):
        pass
    return 0
