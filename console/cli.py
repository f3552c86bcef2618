"""The `novapool` command: tui | check | audit | export | init | demo.

Exit codes follow the contract: check 0/1/2/3 (Nagios); 64 bad usage or input; 73 export refused.
Every error a user can cause prints one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from console import __version__
from console.core import allocation as allocation_mod
from console.core import errors, observe
from console.core import settings as settings_mod
from console.core.allocation import Allocation
from console.core.errors import InputError
from console.core.settings import Settings
from console.core.snapshot import Fleet, Snapshot, SourceState
from console.core.target import has_password
from console.examples import allocation_path as example_allocation_path

COMMANDS = ("tui", "check", "audit", "export", "init", "demo")


class _Parser(argparse.ArgumentParser):
    usage_exit = errors.EXIT_USAGE  # bad usage is 64, as sysexits(3) EX_USAGE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False  # `--al` is not `--all`
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(self.usage_exit, f"{self.prog}: error: {message}\n")


MIN_REFRESH_S = 0.2  # faster is a busy loop, not a console


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a finite number > 0")
    if value < MIN_REFRESH_S:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_REFRESH_S:g}")
    return value


def _global_options(parser: argparse.ArgumentParser) -> None:
    """Every global option maps to a declared setting of the same flag name (settings.py)."""
    # SUPPRESS: the same option may come before or after the command without one hiding the other.
    g = parser.add_argument_group("global options")
    s = argparse.SUPPRESS
    g.add_argument("--config", metavar="PATH", default=s, help="settings file")
    g.add_argument("--allocation", metavar="PATH", default=s, help="allocation file")
    g.add_argument(
        "--dsn",
        metavar="DSN",
        default=s,
        help="PostgreSQL to inspect (default $DATABASE_URL, else PG* env)",
    )
    g.add_argument("--prometheus", metavar="URL", default=s, help="Prometheus URL")
    g.add_argument(
        "--scrape",
        metavar="URL",
        action="append",
        default=s,
        help="exporter /metrics URL (repeatable)",
    )
    g.add_argument(
        "--metrics",
        metavar="PROFILE",
        action="append",
        default=s,
        help="metric profile(s) of the pools: go-sql, hikaricp, otel, ... (repeatable or a,b)",
    )
    g.add_argument("--refresh", metavar="SECONDS", type=_positive_float, default=s)
    g.add_argument(
        "--allow-signal",
        action="store_true",
        default=s,
        help="allow cancel/terminate of backends in the console (asks first)",
    )


def build_parser() -> _Parser:
    parser = _Parser(prog="novapool", description="PostgreSQL connection budgets, live.")
    parser.add_argument("--version", action="version", version=f"novapool {__version__}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("tui", help="the live console (the default)")
    _global_options(p)

    p = sub.add_parser("check", help="one collection; exit 0 OK, 1 warning, 2 critical, 3 unknown")
    p.usage_exit = errors.EXIT_UNKNOWN  # a monitoring plugin never answers 64: it is UNKNOWN
    _global_options(p)
    p.add_argument("--json", action="store_true", help="the contract's JSON document")

    p = sub.add_parser("audit", help="the written audit of the allocation (and live state)")
    _global_options(p)
    p.add_argument("--format", choices=("markdown", "json"), default="markdown")
    p.add_argument(
        "--offline",
        action="store_true",
        help="use the allocation file's cluster values; contact no server",
    )

    p = sub.add_parser("export", help="write env-override files for the deployment")
    _global_options(p)
    p.add_argument(
        "--set",
        dest="edits",
        action="append",
        default=[],
        metavar="SERVICE.FIELD=VALUE",
        help="a what-if edit: max, min, replicas, connect_timeout, acquire_timeout, "
        "idle_timeout, max_lifetime; or cluster.max_connections",
    )
    p.add_argument("--format", choices=("env", "yaml", "configmap"), default="env")
    p.add_argument(
        "--out",
        metavar="PATH",
        default="overrides",
        help="directory (env) or file/directory (yaml, configmap); '-' for stdout",
    )
    p.add_argument("--all", action="store_true", help="every key of every service")
    p.add_argument("--force", action="store_true", help="overwrite files that differ")
    p.add_argument(
        "--allow-overcommit",
        action="store_true",
        help="write even if the edited allocation is over budget",
    )

    p = sub.add_parser(
        "init",
        help="write an allocation file from what the sources show "
        "(or the built-in example), ready to edit",
    )
    _global_options(p)
    p.add_argument(
        "--out",
        metavar="PATH",
        default="config/allocation.yaml",
        help="where to write it ('-' for stdout; default ./config/allocation.yaml)",
    )
    p.add_argument(
        "--example",
        action="store_true",
        help="write the built-in example (the seed fleet) even if sources answer",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing, different file")

    p = sub.add_parser(
        "demo", help="a throwaway PostgreSQL and a simulated fleet, then the console"
    )
    p.add_argument(
        "--services",
        type=int,
        default=None,
        metavar="N",
        help="how many of the allocation's services to simulate (default all)",
    )
    p.add_argument(
        "--replicas",
        type=int,
        default=None,
        metavar="N",
        help="replicas of every service (default: the scenario's)",
    )
    p.add_argument(
        "--scenario", default="incident", help="incident (default) | calm | standby-below"
    )
    p.add_argument("--no-tui", action="store_true", help="run only the fleet; print DSN and URLs")
    p.add_argument(
        "--allocation",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="allocation to simulate (default: the built-in seed fleet)",
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="settings file (thresholds, refresh); the demo's sources win",
    )
    return parser


FLAGS = ("allocation", "dsn", "prometheus", "scrape", "metrics", "refresh", "allow_signal")


def load_settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    """The settings loader with the command line's flags (and the caller's overrides)."""
    flags = {name: getattr(args, name, None) for name in FLAGS}
    if flags["dsn"] and has_password(flags["dsn"]):
        print(
            "novapool: warning: the password in --dsn is visible to every user of this machine "
            "(ps); give it in $DATABASE_URL, ~/.pgpass or $PGPASSWORD instead",
            file=sys.stderr,
        )
    return settings_mod.load(getattr(args, "config", None), **{**flags, **overrides})


def load_allocation(settings: Settings, *, offline: bool = False) -> Allocation:
    """The allocation file found for these settings; with none: an observer's allocation (the
    console, check, a live audit), or the built-in example offline (nothing to observe)."""
    if settings.allocation_path:
        return allocation_mod.load(settings.allocation_path)
    if offline:
        print(
            f"novapool: no allocation file (looked for {', '.join(settings.allocation_searched)}"
            "); auditing the built-in example fleet. `novapool init` writes one.",
            file=sys.stderr,
        )
        return allocation_mod.load(example_allocation_path())
    return observe.observer()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    given = sys.argv[1:] if argv is None else argv
    if "check" in given:  # even a bad option before the command: UNKNOWN, as `check` promises
        parser.usage_exit = errors.EXIT_UNKNOWN
    args, extra = parser.parse_known_args(argv)
    command = args.command or "tui"
    if extra:
        if command == "check":
            parser.usage_exit = errors.EXIT_UNKNOWN
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if command == "demo":
            from console.demo.run import run_demo

            try:
                return run_demo(args)
            except RuntimeError as exc:  # a server that would not start: say why
                print(f"novapool demo: {exc}", file=sys.stderr)
                return 1
        settings = load_settings(args)
        if command == "init":
            return cmd_init(args, settings)
        if command == "export" and not settings.allocation_path:
            raise InputError(
                "no allocation file to export from (looked for "
                f"{', '.join(settings.allocation_searched)}); `novapool init` "
                "writes one",
                field="--allocation",
            )
        offline = command == "audit" and (args.offline or not settings.sources_configured)
        allocation = load_allocation(settings, offline=offline)
        if command == "audit":
            return cmd_audit(args, settings, allocation, offline)
        if command == "export":
            return cmd_export(args, settings, allocation)
        if command == "check":
            return cmd_check(args, settings, allocation)
        from console.tui.app import run_console

        return run_console(settings, allocation)
    except InputError as exc:
        print(f"novapool: {exc}", file=sys.stderr)
        if command == "check":  # the contract: an invalid configuration is UNKNOWN
            if not getattr(args, "json", False):
                print(f"NOVAPOOL UNKNOWN: invalid configuration: {exc}")
            return errors.EXIT_UNKNOWN
        return errors.EXIT_USAGE
    except errors.ExportRefused as exc:
        print(f"novapool: export refused: {exc}", file=sys.stderr)
        return errors.EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `novapool check --json | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return errors.EXIT_UNKNOWN if command == "check" else 1


def _collect_once(settings: Settings, allocation: Allocation) -> Fleet:
    from console.sources.collect import collect_once

    return asyncio.run(collect_once(settings, allocation))


def cmd_check(args: argparse.Namespace, settings: Settings, allocation: Allocation) -> int:
    from console.core import fleet, report

    if not settings.sources_configured:
        # A cron job that lost DATABASE_URL must not stay green.
        a = fleet.assess(Snapshot(taken_at=time.time()), allocation, settings.thresholds)
        reason = (
            "no source configured: give --dsn (or $DATABASE_URL, PG* variables), "
            "--prometheus (or $PROMETHEUS_URL) or --scrape"
        )
        print(
            json.dumps(report.to_json(a) | {"error": reason}, indent=2)
            if args.json
            else f"NOVAPOOL UNKNOWN: {reason}"
        )
        return errors.EXIT_UNKNOWN
    a = fleet.assess(_collect_once(settings, allocation), allocation, settings.thresholds)
    if args.json:
        print(json.dumps(report.to_json(a), indent=2))
    else:
        print(report.check_text(a))
    return report.exit_code(a)


def cmd_audit(
    args: argparse.Namespace, settings: Settings, allocation: Allocation, offline: bool
) -> int:
    from console.core import fleet, report

    snap = Snapshot(taken_at=time.time()) if offline else _collect_once(settings, allocation)
    a = fleet.assess(snap, allocation, settings.thresholds)
    if args.format == "json":
        print(json.dumps(report.audit_json(a, offline=offline), indent=2))
    else:
        sys.stdout.write(report.audit_markdown(a, offline=offline, thresholds=settings.thresholds))
    return 0


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    """An allocation file from one collection (every service seen, at the size it reports),
    or the built-in example when nothing is configured or seen."""
    from console.core import assessment, export, scaffold

    text = None
    if settings.sources_configured and not args.example:
        snap = _collect_once(settings, observe.observer()).first
        down = [
            f"{name} unreachable: {status.error}"
            for name, status in snap.sources.items()
            if status.status == SourceState.UNREACHABLE
        ]
        if down:  # writing the example instead would pass a guess off as an observation
            print(
                f"novapool: cannot observe: {'; '.join(down)} (--example writes the built-in "
                "example instead)",
                file=sys.stderr,
            )
            return errors.EXIT_UNAVAILABLE
        observed = assessment.assess(snap, observe.observer(), settings.thresholds).allocation
        if observed.services:
            if snap.server is not None:
                server = snap.server
                observed = dataclasses.replace(
                    observed,
                    cluster=allocation_mod.ClusterConfig(
                        server.max_connections,
                        server.superuser_reserved_connections,
                        server.reserved_connections,
                    ),
                )
            text = scaffold.render(
                observed,
                f"from {len(observed.services)} service(s) seen on "
                f"{settings.target.describe()} at {_now()}",
            )
        else:
            print(
                "novapool: the sources show no service yet; writing the built-in example",
                file=sys.stderr,
            )
    if text is None:
        text = example_allocation_path().read_text(encoding="utf-8")
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.out)
    try:
        written = export.write({target: text}, force=args.force)
    except OSError as exc:
        raise errors.ExportRefused(f"cannot write {target}: {exc.strerror or exc}") from None
    print(
        f"{written[0].action}: {target} — edit it, then run novapool (it is found there "
        "from this directory; or pass --allocation / set $NOVAPOOL_ALLOCATION)"
    )
    return 0


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def parse_set(edit: str) -> tuple[str, str, int]:
    target, eq, raw = edit.partition("=")
    service, dot, field = target.rpartition(".")
    if not eq or not dot or not service or not field:
        raise InputError(f"--set {edit!r}: expected SERVICE.FIELD=VALUE", field="--set")
    try:
        value = allocation_mod.parse_edit_value(raw)
    except allocation_mod.EditError as exc:
        raise InputError(f"--set {edit!r}: {exc}", field="--set") from None
    return service, field, value


def apply_sets(allocation: Allocation, edits: list[str]) -> Allocation:
    edited = allocation
    for edit in edits:
        service, field, value = parse_set(edit)
        try:
            edited = allocation_mod.apply_edit(edited, service, field, value)
        except allocation_mod.EditError as exc:
            raise InputError(f"--set {edit!r}: {exc}", field="--set") from None
    return edited


def cmd_export(args: argparse.Namespace, settings: Settings, allocation: Allocation) -> int:
    from console.core import export, fleet

    edited = apply_sets(allocation, args.edits)
    b = export.budgets(edited)
    over = export.overcommitted(b)
    if over and not args.allow_overcommit:
        raise errors.ExportRefused(
            f"the allocation is overcommitted: {'; '.join(over)}; "
            "use --allow-overcommit to write it anyway"
        )
    for finding in fleet.planned_conflicts(edited):  # a server setting: not ours to write
        print(f"novapool: warning: {finding.message}", file=sys.stderr)
    the_plan = export.plan(allocation, edited, all_keys=args.all)
    source = f"{allocation.path}" + (
        f" with {len(args.edits)} edit(s): {' '.join(args.edits)}" if args.edits else ""
    )
    files = export.render(the_plan, args.format, source, b)
    if not the_plan:
        print(
            "novapool: nothing to export: no key differs from the allocation file "
            "(replica counts are not env keys; use --all to write every key)",
            file=sys.stderr,
        )
        return 0
    if args.out == "-":
        for content in files.values():
            sys.stdout.write(content)
        return 0
    targets = export.target_paths(files, Path(args.out), args.format)
    try:
        written = export.write(targets, force=args.force)
    except OSError as exc:  # EX_CANTCREAT: the output cannot be created
        raise errors.ExportRefused(f"cannot write {args.out}: {exc.strerror or exc}") from None
    for w in written:
        keys = (
            sum(len(v) for v in the_plan.values())
            if args.format != "env"
            else len(the_plan[w.path.name.removesuffix(".env")])
        )
        print(f"{w.action}: {w.path} ({keys} key(s))")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
