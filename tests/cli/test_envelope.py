"""Every command answers ``--format json`` with one envelope, and a failure with one error
shape (schemas/envelope.schema.json): a missing path, a usage error (exit 2), or a prompt
with no terminal all read the same to a script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from airgap.xml import schema_dir
from tests.conftest import ROOT, Cli

# Each command with a path that does not exist where it reads one ("nope...").
MISSING: dict[str, tuple[str, ...]] = {
    "inspect": ("inspect", "nope"),
    "validate": ("validate", "nope"),
    "state": ("state", "nope"),
    "sign": ("sign", "nope", "--key", "nope.key"),
    "verify": ("verify", "nope", "--trusted-key", "nope.pub"),
    "diff": ("diff", "nope", "nope2"),
    "reconcile": ("reconcile", "nope"),
    "deadlines": ("deadlines", "nope"),
    "health": ("health", "nope"),
    "collect": ("collect", "--inventory", "nope.toml", "--known-hosts", "nope-kh", "--out", "u"),
    "push": (
        "push",
        "nope.xml",
        "--inventory",
        "nope.toml",
        "--known-hosts",
        "nope-kh",
    ),
    "inventory check": ("inventory", "check", "--inventory", "nope.toml", "--known-hosts", "nope"),
    "audit report": (
        "audit",
        "report",
        "--since",
        "2026-01-01",
        "--out",
        "r.html",
        "--ledger",
        "nope.jsonl",
    ),
    "key list": ("key", "list", "--trusted-keys", "nope"),
    "key export": ("key", "export", "--key", "nope.key"),
    "key passphrase": ("key", "passphrase", "nope.key"),
    "key trust": (
        "key",
        "trust",
        "nope.pub",
        "--name",
        "a",
        "--role",
        "operator",
        "--trusted-keys",
        "trusted",
        "--yes",
    ),
    "bundle create": ("bundle", "create", "out.tar.gz", "nope", "--key", "nope.key"),
    "bundle verify": ("bundle", "verify", "nope"),
    "bundle approve": ("bundle", "approve", "nope", "--key", "nope.key"),
    "bundle list": ("bundle", "list", "nope"),
    "bundle extract": ("bundle", "extract", "nope", "out"),
    "media write": ("media", "write", "nope", "dest"),
    "media scan": ("media", "scan", "nope"),
    "cslu pack": ("cslu", "pack", "nope", "--out", "out.tar.gz"),
    "cslu unpack": ("cslu", "unpack", "nope", "out"),
    "ledger record": (
        "ledger",
        "record",
        "--step",
        "validate",
        "--material",
        "nope",
        "--ledger",
        "l.jsonl",
    ),
    "ledger show": ("ledger", "show", "--ledger", "nope"),
    "ledger verify": ("ledger", "verify", "--ledger", "nope"),
    "ledger checkpoint": ("ledger", "checkpoint", "--ledger", "nope"),
    "ledger prove": ("ledger", "prove", "1", "--ledger", "nope"),
    "ledger verify-proof": ("ledger", "verify-proof", "nope", "nope2", "--trusted-keys", "nope-k"),
    "ledger export": ("ledger", "export", "--ledger", "nope"),
    "ledger repair": ("ledger", "repair", "--ledger", "nope"),
    "lab cssm": ("lab", "cssm", "nope", "--out", "out"),
    "lab serve": ("lab", "serve", "nope"),
}
# Commands that read no path: a flag they do not have is their failure (exit 2).
NO_PATH = {
    "demo": ("demo",),
    "rules": ("rules",),
    "key generate": ("key", "generate"),
    "key revoke": ("key", "revoke"),
    "lab fleet": ("lab", "fleet"),
    "config show": ("config", "show"),
}


def _leaves() -> set[str]:
    from airgap.cli.main import app

    found: set[str] = set()

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if not subs:
            found.add(" ".join(path))
            return
        for name in list(subs):
            walk(subs[name], (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def _checked(text: str) -> dict[str, Any]:
    import jsonschema_rs

    doc = json.loads(text)
    schema = json.loads((schema_dir() / "envelope.schema.json").read_text())
    jsonschema_rs.validator_for(schema).validate(doc)
    assert isinstance(doc, dict)
    return doc


def test_every_command_is_in_this_test() -> None:
    assert _leaves() == set(MISSING) | set(NO_PATH)


@pytest.mark.parametrize("command", sorted(MISSING))
def test_a_missing_path_is_one_error_shape(cli: Cli, command: str) -> None:
    done = cli(*MISSING[command], "--format", "json")
    doc = _checked(done.out)
    assert doc["ok"] is False
    assert doc["command"] == command
    error = doc["error"]
    assert done.code == error["exit_code"]
    assert done.code in (3, 4), (done.code, error)
    assert "nope" in (error["path"] or ""), error
    assert f"error: {error['message']}" in done.err


@pytest.mark.parametrize("command", sorted(MISSING))
def test_a_missing_path_is_one_error_line_on_stderr(cli: Cli, command: str) -> None:
    """In text, the failure is the JSON error's message as one ``error:`` line on stderr, in
    every command, and nothing of it on stdout (validate once named it there)."""
    message = _checked(cli(*MISSING[command], "--format", "json").out)["error"]["message"]
    done = cli(*MISSING[command])
    assert done.code in (3, 4)
    assert f"error: {message}\n" in done.err
    assert "error:" not in done.out and "nope" not in done.out, done.out


@pytest.mark.parametrize("command", sorted(NO_PATH))
def test_a_usage_error_is_the_same_shape(cli: Cli, command: str) -> None:
    done = cli(*NO_PATH[command], "--no-such-flag", "--format", "json")
    doc = _checked(done.out)
    assert done.code == 2
    assert doc["ok"] is False
    assert doc["command"] == command
    assert doc["error"]["exit_code"] == 2
    assert "--no-such-flag" in doc["error"]["message"]
    assert "--no-such-flag" in done.err


def test_a_bad_choice_is_exit_2_in_json_too(cli: Cli) -> None:
    done = cli("validate", "samples", "--privacy", "bogus", "--format", "json")
    assert done.code == 2
    assert _checked(done.out)["error"]["exit_code"] == 2


def test_without_json_a_usage_error_writes_nothing_to_stdout(cli: Cli) -> None:
    done = cli("validate", "--no-such-flag")
    assert done.code == 2
    assert done.out == ""
    assert "No such option" in done.err


def _airgap(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "airgap", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_reader_that_stops_reading_is_exit_0_with_no_message(fmt: str) -> None:
    """``airgap rules | head -1``: the pipe is closed before airgap writes."""
    process = _airgap("rules", "--format", fmt)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert stderr == b""


def test_ctrl_c_is_exit_130_and_one_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C reaches airgap's own boundary (typer's would exit 130 silently, or 1 with
    'Aborted!' at a prompt)."""
    from airgap.validate import rules

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(rules, "RULES", _Raising(interrupted))
    done = cli("rules", "--format", "json")
    assert done.code == 130
    assert done.err == "error: interrupted\n"
    assert _checked(done.out)["error"]["exit_code"] == 130


class _Raising(dict[str, object]):
    def __init__(self, action: Any) -> None:
        super().__init__()
        self.action = action

    def values(self) -> Any:
        return self.action()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (("cslu", "pack", "{out}", "{usage}"), ("cslu", "pack", "{usage}", "--out", "{out}")),
        (("lab", "cssm", "{usage}", "{out}"), ("lab", "cssm", "{usage}", "--out", "{out}")),
    ],
)
def test_outputs_are_out_and_the_old_spelling_works_with_a_note(
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    old: tuple[str, ...],
    new: tuple[str, ...],
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # the same bytes both ways
    usage = str(ROOT / "samples" / "usage-c9300-ios-xe-17.6-v1.xml")
    fresh = cli(*(a.format(out=tmp_path / "new", usage=usage) for a in new))
    assert fresh.code == 0, fresh.err
    assert "deprecated" not in fresh.err
    former = cli(*(a.format(out=tmp_path / "old", usage=usage) for a in old))
    assert former.code == 0, former.err
    assert "deprecated" in former.err and f"--out {tmp_path / 'old'}" in former.err
    new_out, old_out = tmp_path / "new", tmp_path / "old"
    if new_out.is_dir():
        assert sorted(p.name for p in new_out.iterdir()) == sorted(
            p.name for p in old_out.iterdir()
        )
    else:
        assert new_out.read_bytes() == old_out.read_bytes()


def test_lab_serve_says_in_json_where_each_device_listens(cli: Cli, tmp_path: Path) -> None:
    assert cli("lab", "fleet", "--devices", "2", "--out", tmp_path / "lab").code == 0
    process = _airgap("lab", "serve", str(tmp_path / "lab"), "--format", "json")
    try:
        assert process.stdout is not None
        text = b""
        while not text.endswith(b"\n}\n"):
            line = process.stdout.readline()
            assert line, "lab serve stopped before it said where it listens"
            text += line
        doc = _checked(text.decode())
        assert doc["command"] == "lab serve" and doc["ok"] is True
        assert len(doc["results"]) == 2 and all(r["port"] > 0 for r in doc["results"])
        assert doc["inventory"] == str(tmp_path / "lab" / "inventory.toml")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_verify_of_a_folder_is_exit_3_not_a_trust_failure(cli: Cli, tmp_path: Path) -> None:
    done = cli("verify", tmp_path, "--trusted-key", tmp_path / "k.pub")
    assert done.code == 3
    assert done.err.startswith(f"error: cannot verify: {tmp_path} - a folder, not a file")


def test_reconcile_quiet_is_the_findings_alone_and_verbose_names_each_file(cli: Cli) -> None:
    usage = ROOT / "samples" / "usage-c9300-ios-xe-17.6-v1.xml"
    plain = cli("reconcile", usage)
    assert plain.code == 1 and "DEVICE" in plain.out and "outstanding" in plain.out
    quiet = cli("reconcile", usage, "-q")
    assert quiet.code == 1 and "DEVICE" not in quiet.out and "outstanding:" in quiet.out
    assert "reports exported" not in quiet.out
    verbose = cli("reconcile", usage, "-v")
    assert verbose.out.startswith(f"{usage}: read")
