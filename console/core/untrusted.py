"""Untrusted text (application names, queries, user names, label values, error messages from a
server) made safe to show: one definition, used by the report, the check output and the UI."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Characters that reorder or hide text: bidi overrides and isolates (a name that reads as
# another), zero-width characters (two names that look the same).
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def clean(text: object) -> str:
    """Control characters (terminal escapes, newlines) made visible as \\xNN, bidi and
    zero-width characters as \\uNNNN: one line that shows what it is."""
    if text is None:
        return ""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", shown)
