"""Only console/tui imports Textual: the core stays usable from check/audit and testable
without a terminal."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "console"


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_only_tui_imports_textual():
    offenders = []
    files = [p for p in PACKAGE.rglob("*.py") if "tui" not in p.relative_to(PACKAGE).parts]
    assert len(files) > 10
    for path in files:
        for mod in imported_modules(path):
            if mod == "textual" or mod.startswith("textual."):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {mod}")
    assert offenders == []
