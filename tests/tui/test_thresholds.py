"""One settings file, one threshold: the help screen, the audit text and the finding all follow
it (rules and thresholds are declared once and rendered everywhere)."""

from __future__ import annotations

import dataclasses

from rich.console import Console

from console.cli import main
from console.core import settings
from console.core.assessment import assess
from console.core.rules import RULES
from console.demo.sample import incident_snapshot
from console.tui.screens.help import HelpScreen, help_renderable
from tests.conftest import ALLOCATION, ROOT
from tests.tui.conftest import build_app, settled

SETTINGS = "thresholds:\n  idle_in_transaction_s: {warning: 7, critical: 9000}\n"
SAID = "idle in transaction > 7 s (critical > 9000 s)"


def test_a_threshold_from_the_settings_file_reaches_help_audit_and_finding(isolated, capsys):
    path = isolated / "novapool.yaml"
    path.write_text(SETTINGS)
    s = settings.load(str(path))
    # the finding: pid 4242 has been idle in transaction 412 s — critical by default (> 300 s),
    # only a warning under these thresholds
    snap = incident_snapshot()
    (leak,) = [f for f in assess(snap, _alloc(), s.thresholds).findings if 4242 in f.pids]
    assert (leak.rule, leak.severity) == ("idle-in-transaction", "warning")
    (default,) = [f for f in assess(snap, _alloc()).findings if 4242 in f.pids]
    assert default.severity == "critical"
    # the audit
    assert main(["audit", "--offline", "--config", str(path), "--allocation", str(ALLOCATION)]) == 0
    text = capsys.readouterr().out
    said = SAID.replace(">", "&gt;").replace("(", "\\(").replace(")", "\\)")
    assert said in text and "&gt; 30 s" not in text  # Markdown-escaped


async def test_the_help_screen_says_the_thresholds_in_force():
    s = settings.Thresholds(idle_in_transaction_s=settings.Levels(7, 9000))
    app = build_app(thresholds=s)
    async with app.run_test(size=(200, 80)) as pilot:
        await settled(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=200, record=True, color_system=None)
        console.print(help_renderable(app.screen.thresholds))  # what the screen shows
        shown = " ".join(console.export_text().split())
        assert SAID in shown and "idle in transaction > 30 s" not in shown


def _alloc():
    from console.core.allocation import load

    return load(ALLOCATION)


def test_every_rule_is_documented_in_the_readme_and_the_contract_ids_exist():
    readme = (ROOT / "README.md").read_text()
    missing = [r for r in RULES if f"`{r}`" not in readme]
    assert missing == []
    contract = {
        "pool-utilization-high",
        "idle-in-transaction",
        "long-running-query",
        "lock-wait",
        "unknown-application",
        "service-over-allocation",
        "cluster-near-max",
        "budget-overcommitted",
        "pool-max-drift",
        "metrics-stale",
        "source-unreachable",
        "lifetime-no-jitter",
    }
    assert contract <= set(RULES)


def test_the_example_settings_file_documents_every_key_and_loads_as_the_defaults():
    text = (ROOT / "config" / "novapool.example.yaml").read_text()
    undocumented = [k for k in settings.file_keys() if f"{k.split('.')[-1]}:" not in text]
    assert undocumented == []
    s = settings.load(str(ROOT / "config" / "novapool.example.yaml"), env={})
    defaults = settings.Settings()
    for f, _ in settings.declared(settings.Settings):
        if f.name != "allocation_path":
            assert getattr(s, f.name) == getattr(defaults, f.name), f.name


def test_a_settings_dump_loads_back_as_the_same_settings(isolated):
    s = dataclasses.replace(
        settings.Settings(),
        dsn="postgresql://u@db/x",
        scrape=("http://a/metrics",),
        refresh_s=3.5,
        thresholds=settings.Thresholds(lock_wait_s=settings.Levels(2, 4)),
    )
    import yaml

    path = isolated / "dumped.yaml"
    path.write_text(yaml.safe_dump(settings.dump(s)))
    back = settings.load(str(path), env={})
    for f, _ in settings.declared(settings.Settings):
        assert getattr(back, f.name) == getattr(s, f.name), f.name
