"""The layering STYLE.md asks for: core code never prints, exits or touches the terminal
libraries, and start-up does not import the heavy ones."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "airgap"
CORE = sorted(
    p
    for p in PACKAGE.rglob("*.py")
    if "cli" not in p.relative_to(PACKAGE).parts and p.name != "__main__.py"
)
TERMINAL = {"typer", "rich", "click"}


@pytest.mark.parametrize("path", CORE, ids=[str(p.relative_to(PACKAGE)) for p in CORE])
def test_core_module_stays_out_of_the_terminal(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & TERMINAL, path
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] not in TERMINAL, path
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"print", "exit"}, f"{path}:{node.lineno}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) != ("sys", "exit"), f"{path}:{node.lineno}"


def test_start_up_imports_no_heavy_module() -> None:
    code = (
        "import sys, airgap.cli.main; "
        "print(sorted(m for m in ('lxml', 'cryptography', 'py7zr', 'jsonschema_rs', 'orjson') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
