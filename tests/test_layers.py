"""The layer contract in pyproject.toml (import-linter) holds for the code, and it fails on a
copy of the code given one upward import or one terminal import."""

from __future__ import annotations

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
