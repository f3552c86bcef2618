"""Untrusted text (application names, queries, user names, label values, error messages from a
server) made safe to show: one definition, used by the report, the check output and the UI."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(text: object) -> str:
    """Control characters (terminal escapes, newlines) made visible as \\xNN: one line."""
    if text is None:
        return ""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
