"""genieparser's parse of a field capture, for the tests that compare with it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any


def expected(path: Path) -> dict[str, Any]:
    """The dict genieparser's test expects for the capture at ``path``."""
    source = path.with_name(path.name.replace("_output.txt", "_expected.py")).read_text()
    value = ast.literal_eval(source.split("=", 1)[1].strip())
    assert isinstance(value, dict)
    return value


def first(tree: Any, key: str) -> Any:
    """genieparser's value for ``key``, depth first."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        for value in tree.values():
            if (found := first(value, key)) is not None:
                return found
    return None
