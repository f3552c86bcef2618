"""YAML loading that remembers where every value came from, so errors can name the line.

PyYAML's safe loader builds plain dicts and forgets positions (and silently keeps the last
of duplicate keys). We compose the node tree instead, construct scalars with the safe
constructor, and record the line of every key path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from console.core.errors import InputError

KeyPath = tuple[str | int, ...]


@dataclass
class Document:
    """Parsed YAML plus the 1-based line of each key path."""

    path: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, keypath: KeyPath) -> int | None:
        """The line of keypath, or of its nearest ancestor that has one."""
        while keypath:
            if keypath in self.lines:
                return self.lines[keypath]
            keypath = keypath[:-1]
        return self.lines.get((), None)

    def error(self, keypath: KeyPath, message: str) -> InputError:
        return InputError(
            message,
            file=self.path,
            line=self.line(keypath),
            field=".".join(str(k) for k in keypath) or None,
        )


# Limits: an allocation or settings file is a few KB. Anything far beyond is a mistake or an
# attack (an alias bomb expands a few hundred bytes into millions of values).
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_VALUES = 100_000
MAX_INT = 10**15  # larger than any count or timeout; beyond it float conversion overflows


def parse(text: str, path: str) -> Document:
    if len(text) > MAX_BYTES:
        raise InputError(f"larger than {MAX_BYTES // 1024} KiB: not a novapool file", file=path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise InputError(f"nested more than {MAX_DEPTH} levels deep", file=path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(
            f"not valid YAML: {exc.problem or exc.context}",
            file=path,
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        raise InputError(f"not valid YAML: {exc}", file=path) from None
    if root is None:
        raise InputError("the file is empty", file=path, line=1)
    doc = Document(path=path, data=None)
    constructor = yaml.SafeLoader("")
    try:
        doc.data = _build(root, (), doc, constructor, [0])
    except yaml.MarkedYAMLError as exc:  # e.g. an unknown tag (`!foo`) or a bad merge key
        mark = exc.problem_mark or exc.context_mark
        raise InputError(
            f"not valid YAML: {exc.problem or exc.context}",
            file=path,
            line=mark.line + 1 if mark else None,
        ) from None
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        raise InputError(f"not valid YAML: {exc}", file=path) from None
    return doc


def load(path: str | Path) -> Document:
    p = Path(path)
    try:
        if p.exists() and not p.is_file():
            raise InputError("not a regular file", file=str(path))
        with p.open("rb") as f:  # at most one byte past the limit is read
            text = f.read(MAX_BYTES + 1).decode("utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    return parse(text, str(path))


def _build(
    node: yaml.Node,
    keypath: KeyPath,
    doc: Document,
    constructor: yaml.SafeLoader,
    built: list[int],
) -> Any:
    doc.lines.setdefault(keypath, node.start_mark.line + 1)
    built[0] += 1
    if built[0] > MAX_VALUES:
        raise doc.error(keypath, f"more than {MAX_VALUES} values (aliases expanding?)")
    if len(keypath) > MAX_DEPTH:
        raise doc.error(keypath, f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, yaml.MappingNode):
        constructor.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | bool | float) or key is None:
                raise InputError(
                    "mapping keys must be plain scalars",
                    file=doc.path,
                    line=key_node.start_mark.line + 1,
                )
            key = str(key) if not isinstance(key, str) else key
            if key in result:
                raise InputError(
                    f"duplicate key (first on line {doc.lines[keypath + (key,)]})",
                    file=doc.path,
                    line=key_node.start_mark.line + 1,
                    field=".".join(str(k) for k in keypath + (key,)),
                )
            doc.lines[keypath + (key,)] = key_node.start_mark.line + 1
            result[key] = _build(value_node, keypath + (key,), doc, constructor, built)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, keypath + (i,), doc, constructor, built)
            for i, item in enumerate(node.value)
        ]
    value = constructor.construct_object(node, deep=True)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise doc.error(keypath, f"number out of range (at most {MAX_INT:.0e})")
    if isinstance(value, float) and not math.isfinite(value):
        raise doc.error(keypath, f"must be a finite number (got {value})")
    return value
