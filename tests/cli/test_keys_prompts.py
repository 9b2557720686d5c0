"""Prompts that scripts survive: questions go to the terminal (stderr), never stdout; with no
terminal a question that needs a flag exits 2 at once naming it; passphrases come from stdin
with --passphrase-stdin; an empty one is refused with the reason; ``key passphrase`` changes it.

Runs are real processes (``python -m airgap``), with stdin a pipe or a pseudo-terminal."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from airgap.signing.minisign import PublicKey, SecretKey
from tests.terminal import on_terminal

AIRGAP = [sys.executable, "-m", "airgap"]


def run(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """airgap with stdin a pipe (``stdin`` its text, else nothing): no terminal at all."""
    return subprocess.run(
        [*AIRGAP, *map(str, args)],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_on_terminal(*args: str | Path, answers: list[str]) -> tuple[int, str, str]:
    """airgap typed on a terminal, its stdout a pipe (see :func:`tests.terminal.on_terminal`)."""
    return on_terminal([*AIRGAP, *map(str, args)], answers)


@pytest.fixture
def public_key(tmp_path: Path) -> Path:
    """A key pair made with no passphrase, for the trust questions."""
    assert run("key", "generate", "--out", tmp_path / "alice", "--no-passphrase").returncode == 0
    return tmp_path / "alice.pub"


def test_trust_with_no_terminal_and_no_yes_is_exit_2_naming_the_flag(
    public_key: Path, tmp_path: Path
) -> None:
    for fmt in ("text", "json"):
        done = run(
            "key", "trust", public_key, "--name", "Alice Ng", "--role", "operator",
            "--trusted-keys", tmp_path / "trusted", "--format", fmt,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "--yes" in done.stderr and "Aborted" not in done.stderr + done.stdout
        assert "Is this the key id" not in done.stdout
        if fmt == "json":
            assert json.loads(done.stdout)["error"]["exit_code"] == 2
        assert not (tmp_path / "trusted").exists()


def test_trust_asks_on_the_terminal_never_on_stdout(public_key: Path, tmp_path: Path) -> None:
    key_id = PublicKey.load(public_key).id
    code, stdout, shown = run_on_terminal(
        "key", "trust", public_key, "--name", "Alice Ng", "--role", "operator",
        "--trusted-keys", tmp_path / "trusted", "--format", "json",
        answers=["y"],
    )  # fmt: skip
    assert code == 0, shown
    assert "Is this the key id its holder reads out to you?" in shown and key_id in shown
    assert json.loads(stdout)["results"][0]["key_id"] == key_id
    assert (tmp_path / "trusted" / f"{key_id}.pub").exists()


def test_trust_answered_no_trusts_nothing(public_key: Path, tmp_path: Path) -> None:
    code, stdout, shown = run_on_terminal(
        "key", "trust", public_key, "--name", "Alice Ng", "--role", "operator",
        "--trusted-keys", tmp_path / "trusted", answers=["n"],
    )  # fmt: skip
    assert code == 1 and "not trusted" in shown and stdout == ""
    assert not list((tmp_path / "trusted").glob("*.pub"))


def test_a_passphrase_with_no_terminal_is_exit_2_naming_the_ways(tmp_path: Path) -> None:
    done = run("key", "generate", "--out", tmp_path / "op")
    assert done.returncode == 2
    assert "--passphrase-stdin" in done.stderr and "AIRGAP_PASSPHRASE_FILE" in done.stderr
    assert not (tmp_path / "op.key").exists()


def test_passphrase_stdin_reads_one_line(tmp_path: Path) -> None:
    done = run("key", "generate", "--out", tmp_path / "op", "--passphrase-stdin", stdin="s3 cret\n")
    assert done.returncode == 0, done.stderr
    assert SecretKey.encrypted((tmp_path / "op.key").read_text())
    SecretKey.load(tmp_path / "op.key", b"s3 cret")  # the line, without its newline
    (tmp_path / "f.xml").write_text("<smartLicense/>")
    done = run(
        "sign", tmp_path / "f.xml", "--key", tmp_path / "op.key", "--passphrase-stdin",
        stdin="s3 cret\nnot read\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = run("verify", tmp_path / "f.xml", "--trusted-key", tmp_path / "op.pub")
    assert done.returncode == 0, done.stderr
    wrong = run(
        "sign", tmp_path / "f.xml", "--key", tmp_path / "op.key", "--passphrase-stdin",
        stdin="S3 cret\n",
    )  # fmt: skip
    assert wrong.returncode == 3 and "passphrase" in wrong.stderr


@pytest.mark.parametrize("given", ["", "\n", "\r\n"])
def test_an_empty_passphrase_on_stdin_is_refused_saying_why(given: str, tmp_path: Path) -> None:
    done = run("key", "generate", "--out", tmp_path / "op", "--passphrase-stdin", stdin=given)
    assert done.returncode == 3
    assert "empty passphrase" in done.stderr and "unencrypted" in done.stderr
    assert not (tmp_path / "op.key").exists()


def test_an_empty_passphrase_on_the_terminal_says_why_and_asks_again(tmp_path: Path) -> None:
    code, stdout, shown = run_on_terminal(
        "key", "generate", "--out", tmp_path / "op", answers=["", "pw-1", "pw-1"]
    )
    assert code == 0, shown
    assert "empty passphrase refused" in shown and "Passphrase:" in shown
    assert "pw-1" not in shown + stdout  # never echoed
    assert "Passphrase" not in stdout
    SecretKey.load(tmp_path / "op.key", b"pw-1")


def test_only_empty_answers_stop_after_three_tries(tmp_path: Path) -> None:
    code, _, shown = run_on_terminal(
        "key", "generate", "--out", tmp_path / "op", answers=["", "", ""]
    )
    assert code == 3 and shown.count("empty passphrase refused") == 3
    assert not (tmp_path / "op.key").exists()


def test_key_passphrase_changes_it_keeping_the_key_and_mode(tmp_path: Path) -> None:
    key = tmp_path / "op.key"
    assert (
        run(
            "key", "generate", "--out", tmp_path / "op", "--passphrase-stdin", stdin="old\n"
        ).returncode
        == 0
    )
    before = SecretKey.load(key, b"old")
    done = run("key", "passphrase", key, "--passphrase-stdin", stdin="old\nnew one\n")
    assert done.returncode == 0, done.stderr
    assert before.public.id in done.stdout
    assert "old" not in done.stdout + done.stderr and "new one" not in done.stdout + done.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    after = SecretKey.load(key, b"new one")
    assert after.secret == before.secret and after.public == PublicKey.load(tmp_path / "op.pub")
    with pytest.raises(Exception, match="passphrase"):
        SecretKey.load(key, b"old")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_key_passphrase_with_a_wrong_one_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    key = tmp_path / "op.key"
    assert (
        run(
            "key", "generate", "--out", tmp_path / "op", "--passphrase-stdin", stdin="old\n"
        ).returncode
        == 0
    )
    before = key.read_bytes()
    done = run("key", "passphrase", key, "--passphrase-stdin", stdin="wrong\nnew\n")
    assert done.returncode == 3 and key.read_bytes() == before
    empty_new = run("key", "passphrase", key, "--passphrase-stdin", stdin="old\n\n")
    assert empty_new.returncode == 3 and "empty passphrase" in empty_new.stderr
    assert key.read_bytes() == before


def test_key_passphrase_on_the_terminal(tmp_path: Path) -> None:
    key = tmp_path / "op.key"
    assert (
        run(
            "key", "generate", "--out", tmp_path / "op", "--passphrase-stdin", stdin="old\n"
        ).returncode
        == 0
    )
    code, stdout, shown = run_on_terminal(
        "key", "passphrase", key, answers=["old", "fresh", "fresh"]
    )
    assert code == 0, shown
    assert "New passphrase" in shown and "Repeat it" in shown and "New passphrase" not in stdout
    SecretKey.load(key, b"fresh")


def test_a_folder_given_to_trusted_key_hints_at_trusted_keys(tmp_path: Path) -> None:
    assert run("key", "generate", "--out", tmp_path / "op", "--no-passphrase").returncode == 0
    (tmp_path / "f.xml").write_text("<smartLicense/>")
    assert run("sign", tmp_path / "f.xml", "--key", tmp_path / "op.key").returncode == 0
    trust = run(
        "key", "trust", tmp_path / "op.pub", "--name", "O P", "--role", "operator",
        "--trusted-keys", tmp_path / "trusted", "--yes",
    )  # fmt: skip
    assert trust.returncode == 0, trust.stderr
    mixed = run("verify", tmp_path / "f.xml", "--trusted-key", tmp_path / "trusted")
    assert mixed.returncode == 3 and "it is a folder" in mixed.stderr
    assert f"--trusted-keys {tmp_path / 'trusted'}" in mixed.stderr
    assert "Traceback" not in mixed.stderr


@pytest.mark.parametrize("command", ["verify", "key list", "key trust"])
def test_a_file_given_to_trusted_keys_hints_at_trusted_key(command: str, tmp_path: Path) -> None:
    assert run("key", "generate", "--out", tmp_path / "op", "--no-passphrase").returncode == 0
    (tmp_path / "f.xml").write_text("<smartLicense/>")
    assert run("sign", tmp_path / "f.xml", "--key", tmp_path / "op.key").returncode == 0
    pub = tmp_path / "op.pub"
    before = pub.read_bytes()
    commands: dict[str, list[str | Path]] = {
        "verify": ["verify", tmp_path / "f.xml"],
        "key list": ["key", "list"],
        "key trust": ["key", "trust", pub, "--name", "O P", "--role", "operator", "--yes"],
    }
    mixed = run(*commands[command], "--trusted-keys", pub)
    assert mixed.returncode == 3, mixed.stderr
    assert "it is a file" in mixed.stderr and f"--trusted-key {pub}" in mixed.stderr
    assert "Traceback" not in mixed.stderr and pub.read_bytes() == before


@pytest.mark.parametrize(
    "command",
    [
        ("bundle", "create", "{usage}", "--out", "{dir}/b.tar.gz", "--key", "{key}"),
        ("ledger", "record", "--step", "note", "--ledger", "{dir}/l.jsonl", "--key", "{key}"),
        ("audit", "report", "--since", "2026-01-01", "--out", "{dir}/r.html", "--ledger",
         "{dir}/l.jsonl", "--sign", "{key}"),
    ],
)  # fmt: skip
def test_every_command_that_takes_a_secret_key_reads_stdin(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    done = run("key", "generate", "--out", tmp_path / "op", "--passphrase-stdin", stdin="pw\n")
    assert done.returncode == 0, done.stderr
    ledger = run(
        "ledger", "record", "--step", "note", "--ledger", tmp_path / "l.jsonl",
        "--key", tmp_path / "op.key", "--passphrase-stdin", stdin="pw\n",
    )  # fmt: skip
    assert ledger.returncode == 0, ledger.stderr
    usage = Path(__file__).parents[2] / "samples" / "usage-c9300-ios-xe-17.6-v1.xml"
    args = [a.format(usage=usage, dir=tmp_path, key=tmp_path / "op.key") for a in command]
    without = run(*args)
    assert without.returncode == 2 and "--passphrase-stdin" in without.stderr
    given = run(*args, "--passphrase-stdin", stdin="pw\n")
    assert given.returncode == 0, given.stderr
