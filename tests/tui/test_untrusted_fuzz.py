"""Property-based fuzz of every untrusted string path (issue 13): application names, queries,
user names, pool label values (service names from metrics), tiers from the allocation file.
Whatever they hold, the console keeps rendering, `check --json` is strict JSON, and no C0/C1
control, bidi or zero-width character reaches the terminal, the check text or the audit."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.core import allocation as alloc_mod
from console.core import report
from console.core.assessment import assess
from console.core.settings import Settings
from console.core.snapshot import ActivityCount, PoolInstance
from console.demo.sample import T0, incident_snapshot
from console.tui.app import make_app
from console.tui.feed import ReplayFeed
from console.tui.screens.detail import ServiceDetailScreen
from tests.conftest import ALLOCATION

# What must never reach a terminal: C0 (but the SVG's own line breaks) and C1 controls, bidi
# overrides and isolates, zero-width characters.
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
HOSTILE = [
    "\x1b[2J\x1b[31mred",
    "\x1b]52;c;cHduZWQ=\x07",
    "[bold red]markup[/]",
    "ad\u202enim",
    "zero\u200bwidth",
    "\u2066iso\u2069",
    "line\nbreak\r",
    "\x00nul\x7fdel\x9bcsi",
    "![t](http://h/x.png)",
    "| pipe |",
    "😀 wide",
]
hostile = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=12), min_size=1, max_size=3).map(
    "".join
)


def hostile_state(app_name: str, query: str, user: str, label: str, tier: str):
    snap = incident_snapshot()
    backends = tuple(
        dataclasses.replace(b, application_name=app_name, query=query, usename=user)
        if i % 2 == 0
        else b
        for i, b in enumerate(snap.backends)
    )
    snap = dataclasses.replace(
        snap,
        backends=backends,
        activity=snap.activity + (ActivityCount(app_name, "idle", 3, user),),
        pools=snap.pools + (PoolInstance(label, f"{label}:9187", 3, 1, 5),),
    )
    alloc = alloc_mod.load(ALLOCATION)
    alloc = dataclasses.replace(
        alloc, services=tuple(dataclasses.replace(s, tier=tier) for s in alloc.services)
    )
    return snap, alloc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile, hostile, hostile, hostile, hostile)
def test_reports_stay_strict_and_clean(app_name, query, user, label, tier):
    snap, alloc = hostile_state(app_name, query, user, label, tier)
    a = assess(snap, alloc)
    json.loads(json.dumps(report.to_json(a), allow_nan=False))  # strict JSON, no NaN
    for text in (
        report.check_text(a),
        report.audit_markdown(a, offline=False),
    ):
        assert not FORBIDDEN.search(text.replace("\n", "")), text


async def _screens(snap, alloc) -> list[str]:
    app = make_app(
        Settings(),
        alloc,
        ReplayFeed([snap]),
        target_label="app@db:5432/postgres",
        clock=lambda: T0 + 1,
        live_refresh=False,
    )
    shots = []
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        shots.append(app.export_screenshot())
        app.push_screen(ServiceDetailScreen(alloc.services[0].name))
        await pilot.pause()
        shots.append(app.export_screenshot())
        assert app.is_running  # still rendering
    return shots


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile, hostile, hostile, hostile, hostile)
def test_the_console_renders_hostile_strings_literally(app_name, query, user, label, tier):
    snap, alloc = hostile_state(app_name, query, user, label, tier)
    for svg in asyncio.run(_screens(snap, alloc)):
        text = "".join(re.findall(r">([^<]*)</text>", svg))  # what the terminal shows
        assert not FORBIDDEN.search(text), FORBIDDEN.search(text)
