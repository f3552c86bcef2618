"""The console as a process on a real terminal (a pty): it draws, and a closed terminal
(SIGHUP) ends it instead of leaving it spinning."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

from tests.conftest import ALLOCATION, ROOT


def test_sighup_ends_the_console(pg1, tmp_path):
    master, slave = pty.openpty()
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "40",
        "XDG_STATE_HOME": str(tmp_path),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console",
            "--dsn",
            pg1.dsn,
            "--allocation",
            str(ALLOCATION),
            "--refresh",
            "0.5",
        ],
        cwd=ROOT,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 90  # a hang guard, not a speed test
    try:
        while b"PostgreSQL" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                seen += os.read(master, 65536)
        assert b"PostgreSQL" in seen  # a frame with server data
        proc.send_signal(signal.SIGHUP)
        t0 = time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < 60:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
        assert proc.wait(timeout=60) is not None
        assert time.monotonic() - t0 < 60
        assert b"Traceback" not in seen
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_a_terminal_that_is_gone_ends_the_console(pg1, tmp_path):
    """The pty closed first (its reader gone: writes to it fail or block), then the hang-up:
    the console ends anyway, by its watchdog if the graceful exit is stuck."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "XDG_STATE_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "--dsn", pg1.dsn, "--allocation", str(ALLOCATION)],
        cwd=ROOT,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 90  # a hang guard, not a speed test
    try:
        while b"PostgreSQL" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                seen += os.read(master, 65536)
        assert b"PostgreSQL" in seen
        os.close(master)  # the terminal window is gone
        master = -1
        t0 = time.monotonic()
        proc.send_signal(signal.SIGHUP)  # what the kernel sends the foreground group
        assert proc.wait(timeout=60) is not None  # a hang guard: it ends, stuck or not
        print(f"ended {time.monotonic() - t0:.2f} s after the hang-up")
    finally:
        if proc.poll() is None:
            proc.kill()
        if master >= 0:
            os.close(master)


def test_twenty_vanished_terminals_leave_no_survivor(tmp_path):
    """The pty closed and the hang-up sent, 20 times over, at whatever moment the console is
    in (drawing, collecting from a source that refuses): every process ends."""
    env = {**os.environ, "TERM": "xterm-256color", "XDG_STATE_HOME": str(tmp_path)}
    survivors = []
    for i in range(20):
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "console", "--allocation", str(ALLOCATION),
                "--scrape", "http://127.0.0.1:9/metrics", "--refresh", "0.2",
            ],
            cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        seen = b""
        deadline = time.monotonic() + 90  # a hang guard
        while b"novapool" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                seen += os.read(master, 65536)
        for _ in range(i % 4):  # a few more frames for some: a different moment each time
            select.select([master], [], [], 0.2)
            try:
                os.read(master, 65536)
            except OSError:
                break
        os.close(master)
        proc.send_signal(signal.SIGHUP)
        try:
            proc.wait(timeout=60)  # a hang guard only
        except subprocess.TimeoutExpired:
            survivors.append(proc.pid)
            proc.kill()
    assert survivors == []
