"""Every ``airgap ...`` command line in the README names commands and flags that exist:
each is run with ``--help`` appended (click parses every flag before printing help)."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.conftest import ROOT, Cli

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def command_lines() -> list[str]:
    found = []
    for doc in DOCS:
        for block in re.findall(r"```[a-z]*\n(.*?)```", doc.read_text(), re.S):
            for line in block.splitlines():
                line = line.strip().removeprefix("$ ").split("  #")[0].strip()
                for part in line.split("&&"):
                    part = part.strip()
                    match = re.search(r"(?:^|/|: |- |\$ )airgap\s.*", part)
                    if match and not part.startswith("#"):
                        command = match.group(0).split(" > ")[0].split(" | ")[0]
                        found.append(re.sub(r"^(?:/|: |- |\$ )", "", command))
    return sorted(set(found))


COMMANDS = command_lines()


def test_docs_have_commands() -> None:
    assert len(COMMANDS) > 15


@pytest.mark.parametrize("line", COMMANDS)
def test_documented_command_exists(line: str, cli: Cli) -> None:
    words = shlex.split(line.replace("~", "/tmp"))[1:]
    run = cli(*words, "--help")
    assert run.code == 0, (line, run.err)
    assert "Usage:" in run.out
