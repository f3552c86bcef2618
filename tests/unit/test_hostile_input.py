"""Hostile files and arguments (issue 13): an alias bomb, deep nesting, huge or non-finite
numbers, oversized or non-regular files, non-http URLs, absurd refresh rates, a closed pipe.
Each is a located error or a clean exit: never a traceback, never a hang."""

import os
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.cli import main
from console.core import settings, yamlfile
from console.core.errors import InputError

BOMB = "services: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*{prev}'] * 9)}]\n"
    for i, prev in enumerate(["a", "l0", "l1", "l2", "l3", "l4"])
)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (BOMB, "aliases expanding"),
        ("services: " + "[" * 3000 + "]" * 3000 + "\n", "nested more than"),
        ("services: " + "[" * 40 + "]" * 40 + "\n", "nested more than"),
        ("reserved: {x: " + "9" * 3000 + "}\n", "number out of range"),
        ("refresh_s: .inf\n", "finite number"),
        ("refresh_s: .nan\n", "finite number"),
        ("# " + "x" * (yamlfile.MAX_BYTES + 1) + "\n", "KiB"),
    ],
)
def test_hostile_yaml_is_a_located_error(text, says):
    with pytest.raises(InputError) as err:
        yamlfile.parse(text, "f.yaml")
    assert says in err.value.message and err.value.file == "f.yaml"


def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(InputError, match="not a regular file"):
        yamlfile.load(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        yamlfile.load(tmp_path)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x", "/etc/passwd"])
def test_sources_are_http_only(tmp_path, url):
    with pytest.raises(InputError) as err:
        settings.load(env={}, cwd=tmp_path, scrape=[url])
    assert err.value.field == "--scrape" and "http" in err.value.message
    with pytest.raises(InputError) as err:
        settings.load(env={"PROMETHEUS_URL": url}, cwd=tmp_path)
    assert err.value.field == "$PROMETHEUS_URL"


@pytest.mark.parametrize("refresh", ["nan", "inf", "1e-9", "0", "abc"])
def test_absurd_refresh_rates_are_refused(refresh, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--refresh", refresh, "audit", "--offline"])
    assert exit_.value.code == 64
    with pytest.raises(SystemExit) as exit_:
        main(["--refresh", refresh, "check"])
    assert exit_.value.code == 3  # check answers UNKNOWN, never 64


def test_a_closed_pipe_is_no_traceback():
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "check", "--json", "--scrape", "http://127.0.0.1:9/m"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader leaves before anything is written
    _, err = proc.communicate(timeout=120)  # a hang guard only
    assert b"Traceback" not in err and b"BrokenPipe" not in err
    assert proc.returncode == 3


def test_untrusted_text_cannot_become_markdown_links_or_hide_itself():
    from console.core.report import md
    from console.core.untrusted import clean

    cell = md("![t](http://host/track.png) [login](https://x.example) `x` *b*")
    assert "![" not in cell and "](" not in cell.replace("\\](", "")
    assert all(f"\\{c}" in cell for c in "[]()!`*")
    shown = clean("ad\u202enim\u200b\u2066x")
    assert "\u202e" not in shown and "\u200b" not in shown and "\\u202e" in shown


def test_a_secret_is_masked_however_an_error_quotes_it():
    from console.core.target import mask_password

    token = "Bearer s3cr3t-token-42\n"
    said = f"Invalid header value b'{token.strip()}\\n': s3cr3t-token-42 rejected"
    masked = mask_password(said, None, (token,))
    assert "s3cr3t" not in masked


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", fullmatch=True))
def test_configmap_names_are_valid_dns1123(service):
    from console.core.export import configmap_name

    name = configmap_name(service)
    assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)


def test_configmap_names_never_collide():
    from console.core.export import configmap_name

    names = ["auth", "Auth", "AUTH", "my_svc", "my-svc", "my.svc", "a--b"]
    assert len({configmap_name(n) for n in names}) == len(names)
    assert configmap_name("auth-service") == "auth-service-db-pool"  # valid names unchanged


def test_a_password_on_the_command_line_is_warned_about(capsys):
    main(["--dsn", "postgresql://app:pw123@127.0.0.1:9/x", "audit", "--offline"])
    assert "visible to every user" in capsys.readouterr().err
    main(["--dsn", "postgresql://app@127.0.0.1:9/x", "audit", "--offline"])
    assert "visible" not in capsys.readouterr().err


def _two_files(tmp_path):
    return {tmp_path / "auth-service.env": "A=1\n", tmp_path / "user-service.env": "B=2\n"}


def test_export_checks_every_target_before_replacing_any(tmp_path):
    from console.core import export
    from console.core.errors import ExportRefused

    targets = _two_files(tmp_path)
    (tmp_path / "auth-service.env").write_text("old\n")
    (tmp_path / "user-service.env").mkdir()  # a directory where a file goes
    with pytest.raises(ExportRefused, match="not a regular file"):
        export.write(targets, force=True)
    assert (tmp_path / "auth-service.env").read_text() == "old\n"  # nothing replaced
    assert not list(tmp_path.glob(".*.tmp"))


def test_hostile_files_at_an_export_target(tmp_path):
    from console.core import export
    from console.core.errors import ExportRefused

    targets = _two_files(tmp_path)
    (tmp_path / "auth-service.env").write_bytes(b"\xff\xfe not utf-8")
    assert export.conflicts(targets) == [tmp_path / "auth-service.env"]  # differs, no crash
    os.mkfifo(tmp_path / "user-service.env")  # reading it would block
    with pytest.raises(ExportRefused, match="not a regular file"):
        export.conflicts(targets)
    (tmp_path / "user-service.env").unlink()
    (tmp_path / "user-service.env").symlink_to("/dev/zero")  # never ends
    with pytest.raises(ExportRefused, match="not a regular file"):
        export.conflicts(targets)


def test_stale_temp_files_of_a_killed_export_are_cleaned(tmp_path):
    from console.core import export

    stale = tmp_path / ".auth-service.env.abc123.tmp"
    stale.write_text("half")
    os.utime(stale, (1, 1))  # long ago
    fresh = tmp_path / ".auth-service.env.def456.tmp"  # another export writing right now
    fresh.write_text("in progress")
    export.write(_two_files(tmp_path))
    assert not stale.exists() and fresh.exists()
    assert (tmp_path / "auth-service.env").read_text() == "A=1\n"


def test_the_hangup_watchdog_ends_a_process_whose_main_thread_is_stuck():
    stuck = (
        "import threading\n"
        "from console.tui.app import _exit_after\n"
        "threading.Thread(target=_exit_after, args=(0.1,), daemon=True).start()\n"
        "threading.Event().wait()  # stuck, as in a write to a dead terminal\n"
    )
    done = subprocess.run([sys.executable, "-c", stuck], timeout=120)  # a hang guard only
    assert done.returncode == 129


@given(
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=24),
    st.sampled_from(["", "\n", " ", "\r\n"]),
    st.sampled_from(["{}", "'{}'", "b'{}'", "Bearer {}", "{!r}"]),
)
def test_no_configured_secret_survives_any_quoting(token, tail, quoting):
    from console.core.settings import Settings

    s = Settings(
        dsn=f"postgresql://app:{token}x@db:5432/x",
        prometheus_headers={"Authorization": f"Bearer {token}{tail}"},
    )
    secret = f"Bearer {token}{tail}"
    said = f"request failed: {quoting.format(secret)} / dsn {s.dsn}"
    masked = s.mask(said)
    assert token not in masked


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("postgres:\n  connect_timeout_s: 1.0e+12\n", "postgres.connect_timeout_s"),
        ("postgres:\n  statement_timeout_ms: 86400000\n", "postgres.statement_timeout_ms"),
        ("prometheus:\n  timeout_s: 100000\n", "prometheus.timeout_s"),
        ("refresh_s: 0.001\n", "refresh_s"),
    ],
)
def test_timeouts_and_rates_stay_in_sane_ranges(tmp_path, body, field):
    cfg = tmp_path / "n.yaml"
    cfg.write_text(body)
    with pytest.raises(InputError) as err:
        settings.load(str(cfg), env={}, cwd=tmp_path)
    assert err.value.field == field and err.value.line is not None
