"""Shared fixtures: a hermetic environment, the real CLI run in-process, and the corpora."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
FIELD = ROOT.parent / "shared" / "field"


@dataclass(frozen=True)
class Run:
    """What a CLI run gave: exit code, stdout and stderr, kept apart."""

    code: int
    out: str
    err: str


Cli = Callable[..., Run]


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, config folders and the working folder in a temp dir; no AIRGAP_* from outside."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("AIRGAP_") or name in ("NO_COLOR", "SOURCE_DATE_EPOCH"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("AIRGAP_SYSTEM_CONFIG", str(home / "etc" / "config.toml"))
    monkeypatch.chdir(home)
    return home


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run ``airgap ARGS...`` through the real entry point and its error boundary."""
    from airgap.cli.main import main

    def run(*args: str | Path) -> Run:
        monkeypatch.setattr(sys, "argv", ["airgap", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def need_field(*parts: str) -> Path:
    """A path under ../shared/field, or skip the test when that folder is absent."""
    path = FIELD.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"field captures not present: {path}")
    return path


def need_tool(name: str) -> str:
    """A stock tool's path; under CI a missing tool fails the test, elsewhere it skips."""
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required under CI but is not installed")
    pytest.skip(f"{name} is not installed")


def wrap_fragment(fragment: bytes) -> bytes:
    """A bare <RUMReport> element wrapped into a whole usage file."""
    return b"<smartLicense>" + fragment + b"</smartLicense>"


def nested(top: Path, depth: int) -> Path:
    """``depth`` folders nested in ``top``, made one by one (pathlib's parents recurse); the
    innermost is returned. Remove them with ``unnested``: pytest removes old temporary
    folders with ``shutil.rmtree``, which recurses too."""
    deep = top
    for _ in range(depth):
        deep = deep / "d"
        deep.mkdir()
    return deep


def unnested(top: Path) -> None:
    """Everything under ``top`` removed, deepest first, with no recursion."""
    from airgap.fsutil import walk_tree

    folders = []
    for folder, _, files in walk_tree(top):
        folders.append(folder)
        for name in files:
            (folder / name).unlink()
    for folder in reversed(folders[1:]):
        folder.rmdir()
