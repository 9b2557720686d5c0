"""The root command: every command listed, each built only when used, one error boundary."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from airgap.cli.main import COMMANDS
from tests.conftest import SAMPLES, Cli


def test_help_lists_every_command_in_order(cli: Cli) -> None:
    run = cli("--help")
    assert run.code == 0
    listed = re.findall(r"^  (\S+)  ", run.out.split("Commands:")[1], flags=re.MULTILINE)
    assert listed == list(COMMANDS)


def test_a_command_loads_only_what_it_needs() -> None:
    # Not the other commands' modules, and not rich when its output goes to a pipe.
    script = (
        "import sys\n"
        "from airgap.cli.main import main\n"
        f"sys.argv = ['airgap', 'validate', {str(SAMPLES / 'usage-n9k-nxos-v1.xml')!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print(sorted(m for m in sys.modules if m.startswith('airgap.cli.')))\n"
        "print('rich.console' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == [
        "1 file validated: 0 invalid, 0 errors, 0 warnings",
        "['airgap.cli.main', 'airgap.cli.options', 'airgap.cli.output', 'airgap.cli.validate']",
        "False",
    ]


def test_a_mistyped_command_gets_a_suggestion(cli: Cli) -> None:
    run = cli("validat", "x.xml")
    assert run.code == 2
    assert "No such command 'validat'. Did you mean 'validate'?" in run.err


def test_every_command_builds_with_its_help(cli: Cli) -> None:
    for name in COMMANDS:
        run = cli(name, "--help")
        assert run.code == 0, (name, run.err)
        usage = run.out.splitlines()[0]  # in-process, click names the program after pytest
        assert usage.startswith("Usage: ") and f"airgap {name} " in usage, name


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_full_disk_is_one_line_and_exit_3(fmt: str) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with Path("/dev/full").open("w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "airgap", "rules", "--format", fmt],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        "error: cannot write the output: No space left on device",
        "hint: free some space, or write the output elsewhere",
    ]
