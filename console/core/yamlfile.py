"""YAML loading that remembers where every value came from, so errors can name the line.

PyYAML's safe loader builds plain dicts and forgets positions (and silently keeps the last
of duplicate keys). We compose the node tree instead, construct scalars with the safe
constructor, and record the line of every key path.
"""

from __future__ import annotations

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


def parse(text: str, path: str) -> Document:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
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
        doc.data = _build(root, (), doc, constructor)
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
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    return parse(text, str(path))


def _build(node: yaml.Node, keypath: KeyPath, doc: Document, constructor: yaml.SafeLoader) -> Any:
    doc.lines.setdefault(keypath, node.start_mark.line + 1)
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
            result[key] = _build(value_node, keypath + (key,), doc, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, keypath + (i,), doc, constructor) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)
