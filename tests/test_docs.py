"""Every ``airgap ...`` command line in the README names commands and flags that exist:
each is run with ``--help`` appended (click parses every flag before printing help)."""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

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


def install_lines() -> list[tuple[str, str]]:
    """Every ``pip install ...`` in the README and docs/, in code blocks and inline code alike,
    with the document it is in."""
    found = []
    for doc in DOCS:
        for line in doc.read_text().splitlines():
            for match in re.finditer(r"pip3? install\s+([^`&|;#]*)", line):
                found.append((doc.name, match.group(1).strip()))
    return found


# Options of ``pip install`` that take a value (the value is not a requirement).
PIP_VALUE_OPTIONS = {"-r", "--requirement", "-f", "--find-links", "-c", "--constraint", "-i"}


def installed_targets(arguments: str) -> list[str]:
    """What a ``pip install`` line installs: its requirements, not its options."""
    words = shlex.split(arguments)
    targets, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in PIP_VALUE_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            targets.append(word)
    return targets


def from_here(target: str) -> bool:
    """A requirement that can only mean this project: a path to this repository or to a built
    wheel, or our own distribution name pinned to a URL (``airgap-slup @ git+...``)."""
    if target.startswith((".", "/", "~")) or target.endswith(".whl"):
        return True
    return bool(re.fullmatch(r"airgap-slup(\[[\w,]+\])?\s*@\s*\S+", target))


def test_docs_install_only_this_project() -> None:
    lines = install_lines()
    assert len(lines) >= 4, lines
    for doc, arguments in lines:
        for target in installed_targets(arguments):
            assert from_here(target), (
                f"{doc}: 'pip install {arguments}' installs {target!r} from the index"
            )


def test_the_distribution_name_is_not_the_index_airgap() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "airgap-slup"
    assert project["scripts"] == {"airgap": "airgap.cli.main:main"}
    assert project["optional-dependencies"]["dev"][0].startswith("airgap-slup[")


def test_pre_commit_revs_are_commits_or_real_tags() -> None:
    import subprocess

    tags = subprocess.run(
        ["git", "-C", str(ROOT), "tag"], capture_output=True, text=True, check=False
    ).stdout.split()
    revs = [
        (doc.name, m.group(1))
        for doc in DOCS
        for m in re.finditer(r"^\s*rev:\s*(\S+)", doc.read_text(), re.M)
    ]
    assert revs
    for doc, rev in revs:
        assert re.fullmatch(r"[0-9a-f]{40}", rev) or rev in tags, (doc, rev)


def hook_fields(hook_id: str) -> dict[str, str]:
    """One hook's ``key: value`` lines from .pre-commit-hooks.yaml (plain scalars only, as
    that file writes them; no YAML library is a dependency)."""
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    block = text.split(f"- id: {hook_id}\n", 1)[1].split("\n- id:", 1)[0]
    return dict(re.findall(r"^  (\w+): (.*)$", block, re.M))


HOOK_NAMES = [
    "usage.xml",
    "sites/plant-7/usage_FCW2437L0TZ.xml",
    "usage-2026-11.txt",
    "USAGE",
    "ACK_usage-2026-11.txt",
    "acks/ack_c9300.xml",
    "dev_1_usage.txt",
    "slac-request.txt",
    "rum_123",
    "pom.xml",
    "README.md",
    "notes.txt",
    "docs/usage-chart.png",
    "usage.csv",
    "src/main.py",
    "LICENSE",
    "unused.txt",
    "ackbar.txt",
]


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_the_validate_hook_is_given_licensing_files_only(name: str) -> None:
    """pre-commit gives the hook what its ``files`` pattern searches and ``exclude`` does not:
    exactly the names airgap reads as meant to be licensing files."""
    from airgap.formats import licensing_name

    hook = hook_fields("airgap-validate")
    given = bool(re.search(hook["files"], name)) and not re.search(hook["exclude"], name)
    assert given == licensing_name(name)


# Commands as the docs show them: after a prompt (`$`, or `jump$` / `inet$` for the two hosts).
PROMPT = re.compile(r"^(?:\$|jump\$|inet\$) (.*)$")


def section(doc: Path, heading: str) -> str:
    """The text of one ``## heading`` section, up to the next heading of that level."""
    text = doc.read_text()
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def blocks(text: str) -> list[tuple[str, str, str]]:
    """Each fenced block: (language, body, the prose just before it)."""
    return [
        (lang, body, before.rsplit("```", 1)[-1])
        for before, lang, body in re.findall(r"(?s)((?:(?!```).)*)```(\w*)\n(.*?)```", text)
    ]


def shell_commands(text: str) -> list[str]:
    """The commands of a section's console blocks (prompted lines) and bash blocks (every
    line that is not a comment), in order, as a person would type them."""
    commands = []
    for lang, body, _ in blocks(text):
        for line in body.splitlines():
            prompted = PROMPT.match(line)
            if lang == "console" and prompted:
                commands.append(prompted.group(1))
            elif lang == "bash" and line.strip() and not line.lstrip().startswith("#"):
                commands.append(line)
    return commands


def test_the_carrying_flow_runs_as_written(tmp_path: Path) -> None:
    """The README's whole "Carrying files across the gap" section, in an empty folder, in one
    shell, each `key trust` answered on a terminal; the passphrase from the file the README
    names, the malware databases a test signature file where the flow keeps them."""
    from tests.conftest import need_tool
    from tests.terminal import on_terminal

    need_tool("clamscan")
    need_tool("minisign")
    commands = shell_commands(section(ROOT / "README.md", "Carrying files across the gap"))
    assert any("key trust" in c for c in commands) and any("bundle extract" in c for c in commands)
    home, work = tmp_path / "home", tmp_path / "work"
    (home / "clamav").mkdir(parents=True)
    (home / "clamav" / "test.hdb").write_text(f"{'0' * 32}:12:Airgap.Test.Nothing\n")
    (home / "passphrase").write_text("correct horse\n")
    work.mkdir()
    script = "set -e\n" + "".join(
        f"echo '== {n}' >&2\n{command}\n" for n, command in enumerate(commands, 1)
    )
    env = {
        **os.environ,
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "AIRGAP_PASSPHRASE_FILE": str(home / "passphrase"),
    }
    trusts = sum("key trust" in c for c in commands)
    code, stdout, shown = on_terminal(
        ["bash", "-c", script], ["y"] * trusts, cwd=work, env=env, timeout=300
    )
    assert code == 0, (shown[-2000:], stdout[-2000:])
    assert f"== {len(commands)}" in shown
    assert shown.count("Is this the key id its holder reads out to you?") == trusts
    assert "verified: bundle" in stdout and "NOT verified" not in stdout
    assert list((work / "outgoing" / "data" / "usage").glob("*.xml"))


def sample_blocks() -> list[tuple[str, list[tuple[str, list[str]]], int]]:
    """The console blocks of README and docs/ that run on ``samples/``: per block, each
    command with the output shown under it, and the exit code the prose says (else 0)."""
    found = []
    for doc in DOCS:
        for lang, body, before in blocks(doc.read_text()):
            if lang != "console" or "samples/" not in body:
                continue
            runs: list[tuple[str, list[str]]] = []
            for line in body.splitlines():
                prompted = PROMPT.match(line)
                if prompted:
                    runs.append((prompted.group(1), []))
                elif runs:
                    runs[-1][1].append(line)
            said = re.findall(r"exit (\d)\)", before.strip().rsplit("\n\n", 1)[-1])
            found.append((doc.name, runs, int(said[-1]) if said else 0))
    return [(doc, runs, code) for doc, runs, code in found]


SAMPLE_BLOCKS = sample_blocks()


def test_docs_have_sample_blocks() -> None:
    assert len(SAMPLE_BLOCKS) >= 6


@pytest.mark.parametrize(
    ("doc", "runs", "code"),
    SAMPLE_BLOCKS,
    ids=[f"{doc}:{runs[0][0][:60]}" for doc, runs, _ in SAMPLE_BLOCKS],
)
def test_sample_blocks_print_what_is_shown(
    doc: str, runs: list[tuple[str, list[str]]], code: int, tmp_path: Path
) -> None:
    """Each command, run in a copy of samples/, exits as the prose says and prints what the
    block shows (up to a '...' line where the block is abridged)."""
    import shutil
    import subprocess

    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    for command, shown in runs:
        words = shlex.split(command)
        assert words[0] == "airgap", command
        done = subprocess.run(
            [sys.executable, "-m", "airgap", *words[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == code, (command, done.stderr)
        printed = done.stdout.splitlines()
        if "..." in shown:
            shown = shown[: shown.index("...")]
            printed = printed[: len(shown)]
        assert printed == shown, command


def test_the_verify_bundle_hook_as_docs_ci_configures_it(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook's entry with the args docs/ci.md gives it, on the files its pattern picks in
    a repository holding a signed bundle: a good bundle passes, a flipped byte is exit 4."""
    hook = hook_fields("airgap-verify-bundle")
    ci = (ROOT / "docs" / "ci.md").read_text()
    args = re.search(r"id: airgap-verify-bundle.*\n\s*args: \[(.*)\]", ci)
    assert args
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIRGAP_PASSPHRASE_FILE", str(tmp_path / "passphrase"))
    Path("passphrase").write_text("correct horse\n")
    Path("usage").mkdir()
    Path("usage/usage.xml").write_bytes((ROOT / "samples/usage-n9k-nxos-v1.xml").read_bytes())
    assert cli("key", "generate", "--out", "op").code == 0
    trust = ["--name", "O P", "--role", "operator", "--trusted-keys", "keys/trusted", "--yes"]
    assert cli("key", "trust", "op.pub", *trust).code == 0
    assert cli("bundle", "create", "bundles/usage.tar.gz", "usage", "--key", "op.key").code == 0
    files = [str(p) for p in Path("bundles").iterdir() if re.search(hook["files"], str(p))]
    assert files == ["bundles/usage.tar.gz"]
    entry = [*shlex.split(hook["entry"]), *(a.strip() for a in args[1].split(","))]
    run = cli(*entry[1:], *files)
    assert run.code == 0, run.err
    data = bytearray(Path(files[0]).read_bytes())
    data[len(data) // 2] ^= 1
    Path(files[0]).write_bytes(bytes(data))
    assert cli(*entry[1:], *files).code == 4


def test_readme_links_the_operator_guide_for_each_topology() -> None:
    """Each docs/workflows.md link in the README names a heading there (GitHub's anchors),
    and the three topologies of Cisco's guide are each linked."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / "docs" / "workflows.md").read_text(), re.M)
    anchors = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
    links = re.findall(r"\]\(docs/workflows\.md#([^)]+)\)", (ROOT / "README.md").read_text())
    assert len(set(links)) >= 3
    assert set(links) <= anchors, set(links) - anchors
    assert {link[0] for link in links} >= {"1", "2", "3"}
