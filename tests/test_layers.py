"""The layer contract in pyproject.toml (import-linter) holds for the code, and it fails on a
copy of the code given one upward import or one terminal import."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter comes with the dev extra")

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path, package: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with ``root``'s pyproject.toml over the ``airgap`` in ``package``."""
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo", str(root / "pyproject.toml")],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(package)},
        capture_output=True,
        text=True,
        check=False,
    )


def copy_with(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package and its pyproject.toml, ``line`` added to ``module``."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        ROOT / "airgap", tmp_path / "src" / "airgap", ignore=shutil.ignore_patterns("__pycache__")
    )
    path = tmp_path / "src" / "airgap" / module
    path.write_text(path.read_text() + f"\n{line}\n")
    return tmp_path


def test_the_code_keeps_its_layers() -> None:
    run = lint(ROOT, ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    """validate reaching up into the lab for a constant, as it once did."""
    root = copy_with(tmp_path, "validate/checks.py", "from airgap.lab import captures")
    run = lint(root, root / "src")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "core packages import downward only BROKEN" in run.stdout
    assert "airgap.validate.checks -> airgap.lab.captures" in run.stdout
    assert "only the cli imports the terminal libraries KEPT" in run.stdout


def test_an_import_beside_its_layer_breaks_the_layers(tmp_path: Path) -> None:
    """bundle and ledger sit side by side: neither imports the other."""
    root = copy_with(tmp_path, "ledger/store.py", "from airgap.bundle import bag")
    run = lint(root, root / "src")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "airgap.ledger.store -> airgap.bundle.bag" in run.stdout


def test_a_terminal_import_in_core_breaks_the_contract(tmp_path: Path) -> None:
    root = copy_with(tmp_path, "archive.py", "import rich")
    run = lint(root, root / "src")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "only the cli imports the terminal libraries BROKEN" in run.stdout
    assert "airgap.archive -> rich" in run.stdout


MUTATORS = {"append", "add", "clear", "update", "pop", "popitem", "setdefault", "extend", "remove"}
PACKAGE = ROOT / "airgap"
CORE = sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "cli")
# Memo tables of the state package, kept for speed (its own area): listed, so no other appears.
KNOWN = {
    "state/deadlines.py": {"_TERMS"},
    "state/evidence.py": {"_NONE_STAMPS"},
    "state/parse_blocks.py": {"_POLICIES"},
}


def _changed(node: ast.AST, names: set[str]) -> tuple[str, str] | None:
    """The module-level name ``node`` changes in place or rebinds, and how; else None."""
    if isinstance(node, ast.Global):
        return node.names[0], f"global {', '.join(node.names)}"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in names
        and node.func.attr in MUTATORS
    ):
        return node.func.value.id, f"{node.func.value.id}.{node.func.attr}()"
    targets = node.targets if isinstance(node, ast.Assign) else []
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    for target in targets:
        if (
            isinstance(target, ast.Subscript | ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id in names
        ):
            shown = "[...]" if isinstance(target, ast.Subscript) else f".{target.attr}"
            return target.value.id, f"{target.value.id}{shown} ="
    return None


def mutated_module_names(source: str, allowed: set[str] | None = None) -> list[str]:
    """Module-level names (other than ``allowed``) that a function changes in place or rebinds
    (``global``): state that hides between calls instead of travelling as an argument."""
    tree = ast.parse(source)
    names = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    } - (allowed or set())
    found = set()
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if (change := _changed(node, names)) is not None and change[0] in names:
                    line = getattr(node, "lineno", 0)
                    found.add((line, f"{change[1]} (line {line})"))
    return [text for _, text in sorted(found)]


@pytest.mark.parametrize("path", CORE, ids=[str(p.relative_to(PACKAGE)) for p in CORE])
def test_core_keeps_no_module_state(path: Path) -> None:
    known = KNOWN.get(path.relative_to(PACKAGE).as_posix(), set())
    assert mutated_module_names(path.read_text(), known) == []


def test_module_state_is_found() -> None:
    """The check above sees each way a module hid state (ledger keys, rule levels, a debug
    flag, an output format)."""
    source = (
        "_keys: dict[str, object] = {}\n_levels = {}\n_on = False\ncurrent = object()\n"
        "def load(k):\n    _keys.clear()\n    _keys.update(k)\n"
        "def set_level(r, v):\n    _levels[r] = v\n"
        "def debug():\n    global _on\n    _on = True\n"
        "def begin(f):\n    current.format = f\n"
        "def fine(x):\n    local = {}\n    local.update(x)\n    return local\n"
    )
    assert mutated_module_names(source) == [
        "_keys.clear() (line 6)",
        "_keys.update() (line 7)",
        "_levels[...] = (line 9)",
        "global _on (line 11)",
        "current.format = (line 14)",
    ]
    assert mutated_module_names(source, {"_keys", "_levels", "_on", "current"}) == []
