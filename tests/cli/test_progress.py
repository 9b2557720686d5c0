"""Progress on the terminal: on stderr, only when stderr is a terminal, never under
``--no-progress`` or ``-q``, and never in what a script reads (stdout)."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES


def on_terminal(*args: str | Path, cwd: Path) -> tuple[int, bytes, bytes]:
    """``airgap ARGS`` with stderr on a pseudo-terminal and stdout in a file (a pipe nobody
    reads would fill and stop the command): the exit code, stdout, and what the terminal
    showed."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    with tempfile.TemporaryFile() as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "airgap", *map(str, args)],
            stdout=stdout,
            stderr=follower,
            cwd=cwd,
            env={**env, "COLUMNS": "100", "TERM": "xterm"},
        )
        os.close(follower)
        shown = b""
        while True:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                shown += chunk
            elif process.poll() is not None:
                break
        code = process.wait(timeout=120)
        os.close(leader)
        stdout.seek(0)
        return code, stdout.read(), shown


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough usage files that validating them takes more than a second (copies of one: each
    report is a duplicate of the first file's, so every copy but one is invalid)."""
    folder = tmp_path_factory.mktemp("many")
    sample = SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml"
    for n in range(12000):
        shutil.copyfile(sample, folder / f"usage-{n:05}.xml")
    return folder


@pytest.mark.slow
def test_validate_counts_files_on_a_terminal_and_not_under_no_progress(many: Path) -> None:
    code, stdout, shown = on_terminal("validate", many, "--jobs", "1", cwd=ROOT)
    assert code == 1
    assert b"validating: " in shown
    assert b"validating" not in stdout and b"12000 files validated" in stdout
    code, stdout, shown = on_terminal("validate", many, "--jobs", "1", "--no-progress", cwd=ROOT)
    assert code == 1 and b"validating" not in shown and b"12000 files validated" in stdout
    code, stdout, shown = on_terminal("validate", many, "--jobs", "1", "-q", cwd=ROOT)
    assert code == 1 and shown == b""
    assert b"files validated" not in stdout and stdout.count(b": error: ") == 3 * 11999


@pytest.mark.slow
def test_collect_counts_devices_on_a_terminal(tmp_path: Path) -> None:
    """A running count of the devices done, over real SSH to the lab's devices."""
    lab = tmp_path / "lab"
    made = subprocess.run(
        [sys.executable, "-m", "airgap", "lab", "fleet", "--devices", "3", "--out", lab],
        capture_output=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    server = subprocess.Popen(
        [sys.executable, "-m", "airgap", "lab", "serve", lab, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert server.stdout is not None
        while not server.stdout.readline().startswith(b"}"):  # the envelope: all listen
            assert server.poll() is None, "lab serve stopped"
        args = (
            "collect",
            "--inventory",
            lab / "inventory.toml",
            "--known-hosts",
            lab / "known_hosts",
        )
        code, _, shown = on_terminal(*args, "--out", tmp_path / "u", cwd=ROOT)
        assert code == 0
        assert b"3/3" in shown  # the bar's count of devices done
        code, _, shown = on_terminal(*args, "--out", tmp_path / "v", "--no-progress", cwd=ROOT)
        assert code == 0 and b"3/3" not in shown
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough lab captures that reading them takes more than a second."""
    folder = tmp_path_factory.mktemp("fleet") / "lab"
    made = subprocess.run(
        [sys.executable, "-m", "airgap", "lab", "fleet", "--devices", "5000", "--out", folder],
        capture_output=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("command", ["state", "deadlines", "reconcile", "health"])
def test_reading_many_captures_counts_files_on_a_terminal(fleet: Path, command: str) -> None:
    json = ("--format", "json")  # the results in a file; what the terminal shows is the count
    code, stdout, shown = on_terminal(command, fleet / "before", *json, cwd=ROOT)
    assert b"reading: " in shown, (code, shown[-300:])
    assert b"reading" not in stdout
    code, stdout, shown = on_terminal(command, fleet / "before", "--no-progress", *json, cwd=ROOT)
    assert b"reading: " not in shown
