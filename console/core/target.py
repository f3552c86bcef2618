"""The inspected PostgreSQL as configured — a DSN, or the libpq environment — described for
people (header, logs) and masked wherever text about it, or any other configured secret, is
shown or logged: one object for both, used by the header, the log and the collector."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# The libpq variables that name a server (PGPASSWORD is a secret: never kept here).
LIBPQ_NAMES = ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE")

_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")
_PASSWORD_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)


def has_password(dsn: str) -> bool:
    """Whether a DSN carries a password (URL userinfo or password=...)."""
    return mask_password(dsn) != dsn


def password_of(dsn: str) -> str | None:
    """The password a DSN carries in its URL userinfo, if any."""
    m = _PASSWORD_IN_URL.search(dsn)
    return m.group(2) if m else None


def mask_password(text: str, dsn: str | None = None, secrets: tuple[str, ...] = ()) -> str:
    """text with any password (URL userinfo, password=..., the DSN's own) and every other
    configured secret (header values, tokens) replaced by ***."""
    text = _PASSWORD_IN_URL.sub(r"\1***\3", text)
    text = _PASSWORD_KV.sub(r"\1***", text)
    m = _PASSWORD_IN_URL.search(dsn) if dsn else None
    hidden = [m.group(2)] if m else []
    for value in sorted(_variants(hidden + [s for s in secrets if s]), key=len, reverse=True):
        if len(value) >= 3 and value != "***":
            text = text.replace(value, "***")
    return text


def _variants(secrets: list[str]) -> set[str]:
    """Each secret as an error message may quote it: as it is, stripped (a token read from a
    file ends in a newline), escaped (repr shows a newline as \\n), and the credential alone
    ("Bearer abc…": abc…)."""
    out: set[str] = set()
    for s in secrets:
        for v in (s, s.strip()):
            out |= {v, v.encode("unicode_escape").decode("ascii")}
        words = s.split()
        if len(words) > 1:
            out |= {w for w in words if len(w) >= 8}
    return out


@dataclass(frozen=True)
class Target:
    dsn: str | None
    pg_env: Mapping[str, str] = field(default_factory=dict)
    # Other configured secrets to mask with the DSN's password (Prometheus header values).
    secrets: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.dsn) or bool(self.pg_env)

    def mask(self, text: str) -> str:
        return mask_password(text, self.dsn, self.secrets)

    def describe(self) -> str:
        """user@host:port/db, never the password."""
        if self.dsn and "://" in self.dsn:
            u = urlsplit(self.dsn)
            try:
                port = f":{u.port}" if u.port else ""
            except ValueError:
                port = ""
            user = f"{u.username}@" if u.username else ""
            return f"{user}{u.hostname or 'localhost'}{port}{u.path or ''}"
        if self.dsn:
            return self.mask(self.dsn)
        if self.pg_env:
            env = self.pg_env
            db = f"/{env['PGDATABASE']}" if env.get("PGDATABASE") else ""
            return (
                f"{env.get('PGUSER', '')}@{env.get('PGHOST', 'localhost')}:"
                f"{env.get('PGPORT', '5432')}{db}"
            )
        return "no PostgreSQL configured"
