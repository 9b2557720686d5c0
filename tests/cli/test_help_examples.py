"""Every ``Example:`` line in ``--help`` runs as written: in one folder set up as a site
(samples, lab usage files, lab ACKs and captures, a passphrase file, a ledger, ClamAV test
signatures), in the order an operator would meet them, each exiting as its command promises."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, need_tool

# The order the examples run in: each leaves what a later one names.
ORDER = [
    "rules", "config show", "inspect", "validate", "state", "diff", "health",
    "lab fleet", "lab cssm", "key generate", "key export", "key trust", "key list",
    "key passphrase", "sign", "verify", "bundle create", "bundle approve", "bundle list",
    "media write", "media scan", "bundle verify", "bundle extract", "cslu pack", "cslu unpack",
    "reconcile", "deadlines", "ledger record", "ledger show", "ledger checkpoint",
    "ledger verify", "ledger prove", "ledger verify-proof", "ledger export", "ledger repair",
    "audit report",
]  # fmt: skip
# Examples a test cannot run, and why.
NOT_RUN = {
    "collect": "needs devices over SSH (tests/devices runs it against the emulated fleet)",
    "push": "needs devices over SSH (tests/devices runs it against the emulated fleet)",
    "inventory check": "needs devices over SSH (tests/devices runs it)",
    "lab serve": "serves until stopped",
    "demo": "the whole round trip (tests/cli/test_demo.py runs it)",
    "key revoke": "names a key id of its own, which no generated key has",
}

# What an example needs that the examples before it did not leave, made just before it.
BEFORE = {
    "key trust": "cp ~/keys/operator.pub alice.pub",  # the operator's key, as Alice's
    "bundle approve": "airgap key trust ~/keys/approver.pub --name 'Ana R' --role approver "
    "--trusted-keys ~/trusted --yes",
    "cslu unpack": "airgap lab cssm UD_SA_upload.tar.gz cssm/ && mv cssm/ACK_UD_SA_upload.tar.gz .",
    "ledger verify": "airgap ledger checkpoint > checkpoint-1000.txt",
}
# Under --format nagios, health exits as the Monitoring Plugins say: 2 is "critical".
ALLOWED = {"health": {0, 1, 2}, "reconcile": {0, 1}, "deadlines": {0, 1}}

# What the site holds before the first example, made as an operator would.
SITE = """
set -e
cp -r "$ROOT/samples" samples
airgap lab fleet --devices 2 --out site-lab > /dev/null
airgap lab cssm site-lab/usage/ answer/ > /dev/null
cp -r site-lab/usage usage && mkdir acks captures usb
cp answer/ACK_* acks/ && cp answer/after/* captures/
tar czf usage.tar.gz usage
airgap key generate --out ~/keys/approver > /dev/null
"""


def examples() -> Iterator[tuple[str, str]]:
    """(command path, example) for every command's help, read from the CLI's own commands."""
    import typer.main

    from airgap.cli.main import app

    def walk(command: Any, path: list[str], ctx: Any) -> Iterator[tuple[str, str]]:
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                yield from walk(
                    sub, [*path, name], sub.context_class(sub, info_name=name, parent=ctx)
                )
            return
        for example in re.findall(r"Example: (.*)", " ".join((command.epilog or "").split())):
            yield " ".join(path), example

    root = typer.main.get_command(app)
    yield from walk(root, [], root.context_class(root, info_name="airgap"))


def test_every_example_is_run_or_says_why_not() -> None:
    found = [path for path, _ in examples()]
    assert sorted(found) == sorted([*ORDER, *NOT_RUN]), set(found) ^ {*ORDER, *NOT_RUN}


def test_every_help_example_runs(tmp_path: Path) -> None:
    need_tool("clamscan")
    home, site = tmp_path / "home", tmp_path / "site"
    (home / "clamav").mkdir(parents=True)
    (home / "clamav" / "test.hdb").write_text(f"{'0' * 32}:12:Airgap.Test.Nothing\n")
    (home / "passphrase").write_text("correct horse\n")
    site.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "ROOT": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "AIRGAP_PASSPHRASE_FILE": str(home / "passphrase"),
        "AIRGAP_LEDGER": str(home / "ledger.jsonl"),
        "SHELL": shutil.which("bash") or "/bin/bash",
    }

    def sh(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script], cwd=site, env=env, capture_output=True, text=True,
            timeout=300, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    made = sh(SITE)
    assert made.returncode == 0, made.stderr
    by_path = dict(examples())
    failed = []
    for path in ORDER:
        example = by_path[path]
        if path == "key trust":
            example += " --yes"  # no terminal here: the flag its prompt names
        if path in BEFORE:
            before = sh(BEFORE[path])
            assert before.returncode == 0, (BEFORE[path], before.stderr)
        done = sh(example)
        if done.returncode not in ALLOWED.get(path, {0}) or "Traceback" in done.stderr:
            failed.append(f"{example}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    assert not failed, "\n".join(failed)
