"""Regenerate screenshots/*.svg from the same app factory the CLI and the snapshot tests use,
fed by the deterministic incident state (console/demo/sample.py).  Run: make screenshots"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from console.core.allocation import load as load_allocation  # noqa: E402
from console.core.settings import Settings  # noqa: E402
from console.demo.sample import T0, incident_snapshot  # noqa: E402
from console.tui.app import make_app  # noqa: E402
from console.tui.feed import ReplayFeed  # noqa: E402

SHOTS = [
    # file, terminal size, keys pressed before the shot
    ("dashboard.svg", (160, 48), []),
    ("dashboard-80x24.svg", (80, 24), []),
    ("service-detail.svg", (160, 48), ["down", "down", "down", "down", "enter"]),
    ("whatif.svg", (160, 48), ["w", "down", "minus", "minus", "down", "down", "down", "plus"]),
    ("export.svg", (160, 48), ["w", "down", "minus", "minus", "e"]),
    ("edit-form.svg", (160, 48), ["w", "down", "down", "enter", "tab", "ctrl+u", "9"]),
    ("suggest.svg", (160, 48), ["w", "g"]),
    ("help.svg", (160, 48), ["question_mark"]),
    ("blocking.svg", (160, 48), ["b"]),
]


async def shoot(name: str, size: tuple[int, int], keys: list[str]) -> None:
    app = make_app(
        Settings(allow_signal=True),
        load_allocation(ROOT / "config/allocation.yaml"),
        ReplayFeed([incident_snapshot()]),
        target_label="app@db.internal:5432/postgres",
        clock=lambda: T0 + 1,
        live_refresh=False,
    )
    async with app.run_test(size=size) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.save_screenshot(str(ROOT / "screenshots" / name))
    print(f"screenshots/{name}")


async def main() -> None:
    (ROOT / "screenshots").mkdir(exist_ok=True)
    # An empty working directory: what the export dialog previews must not depend on ours.
    os.chdir(tempfile.mkdtemp(prefix="novapool-screenshots-"))
    for name, size, keys in SHOTS:
        await shoot(name, size, keys)


if __name__ == "__main__":
    asyncio.run(main())
