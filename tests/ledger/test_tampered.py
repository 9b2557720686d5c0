"""The ledger tools on a tampered ledger: each kind of line that is not an entry gives findings
(exit 4) or one line (exit 3) in verify, show, export and verify-proof, never an internal error;
record refuses to append after it; a binary checkpoint or proof is refused; the tail is read in
time linear in its size."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from airgap.ledger.store import Ledger
from tests.conftest import Cli, Run
from tests.ledger.hostile import TAMPERED, append_line, oversize


@pytest.fixture
def ledger(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two entries signed by this host's key; AIRGAP_LEDGER points at them."""
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("AIRGAP_LEDGER", str(path))
    for text in ("first", "second"):
        assert cli("ledger", "record", "--step", "note", "--note", text).code == 0
    return path


def no_bug(run: Run) -> None:
    """Neither an internal error nor a traceback."""
    assert run.code != 5 and "internal error" not in run.err, run.err
    assert "Traceback" not in run.err + run.out


@pytest.mark.parametrize("kind", sorted(TAMPERED))
def test_verify_names_the_line(kind: str, ledger: Path, cli: Cli) -> None:
    append_line(ledger, TAMPERED[kind])
    run = cli("ledger", "verify")
    no_bug(run)
    assert run.code == 4 and "line 3: not a ledger entry" in run.out, run.out
    run = cli("ledger", "verify", "--format", "json")
    report = json.loads(run.out)["results"][0]
    assert run.code == 4 and [f["line"] for f in report["findings"]] == [3]


@pytest.mark.parametrize("kind", sorted(TAMPERED))
def test_show_and_export_show_what_they_can_then_exit_4(kind: str, ledger: Path, cli: Cli) -> None:
    append_line(ledger, TAMPERED[kind])
    append_line(ledger, ledger.read_bytes().splitlines()[0])  # a valid line after it
    run = cli("ledger", "show")
    no_bug(run)
    assert run.code == 4 and "line 3 is not a ledger entry" in run.err
    assert run.out.count(" note ") == 3
    run = cli("ledger", "show", "--format", "json")
    assert run.code == 4 and json.loads(run.out)["ok"] is False
    for kind_of_export in ("jsonl", "csv", "in-toto"):
        run = cli("ledger", "export", "--as", kind_of_export)
        no_bug(run)
        assert run.code == 4 and "line 3 is not a ledger entry" in run.err, kind_of_export
        assert "first" in run.out and "tampered ledger" in run.err


@pytest.mark.parametrize("kind", sorted(TAMPERED))
def test_record_refuses_to_append_after_it(kind: str, ledger: Path, cli: Cli) -> None:
    append_line(ledger, TAMPERED[kind])
    before = ledger.read_bytes()
    run = cli("ledger", "record", "--step", "note", "--note", "after")
    no_bug(run)
    assert run.code == 4 and "refusing to append" in run.err
    assert "the last line is not a ledger entry" in run.err
    assert ledger.read_bytes() == before


@pytest.mark.parametrize("kind", sorted(TAMPERED))
def test_verify_proof_of_a_tampered_entry(
    kind: str, ledger: Path, cli: Cli, tmp_path: Path
) -> None:
    assert cli("ledger", "checkpoint").code == 0
    proof, entry, pub = tmp_path / "p.txt", tmp_path / "e.json", tmp_path / "host.pub"
    assert cli("ledger", "prove", "2", "--out", proof).code == 0
    pub.write_text(cli("key", "export").out)
    entry.write_bytes(TAMPERED[kind] + b"\n")
    run = cli("ledger", "verify-proof", proof, entry, "--trusted-key", pub)
    no_bug(run)
    assert run.code == 4 and "proof does not verify" in run.err


@pytest.mark.parametrize("kind", ["binary", "deep nesting", "invalid UTF-8"])
def test_a_binary_proof_or_checkpoint(kind: str, ledger: Path, cli: Cli, tmp_path: Path) -> None:
    pub, bad = tmp_path / "host.pub", tmp_path / "bad.txt"
    pub.write_text(cli("key", "export").out)
    bad.write_bytes(TAMPERED[kind])
    entry = tmp_path / "e.json"
    entry.write_bytes(ledger.read_bytes().splitlines(keepends=True)[0])
    for run in (
        cli("ledger", "verify-proof", bad, entry, "--trusted-key", pub),
        cli("ledger", "verify", "--since-checkpoint", bad),
    ):
        no_bug(run)
        assert run.code in (3, 4) and run.err.startswith("error: ")
        assert len(run.err.splitlines()) <= 2  # the error and its hint


def test_oversize_proof_checkpoint_and_entry_are_refused(
    ledger: Path, cli: Cli, tmp_path: Path
) -> None:
    pub = tmp_path / "host.pub"
    pub.write_text(cli("key", "export").out)
    big = oversize(tmp_path / "big.txt", (2 << 20) + 1)
    entry = tmp_path / "e.json"
    entry.write_bytes(ledger.read_bytes().splitlines(keepends=True)[0])
    for run in (
        cli("ledger", "verify-proof", big, entry, "--trusted-key", pub),
        cli("ledger", "verify-proof", entry, big, "--trusted-key", pub),
        cli("ledger", "verify", "--since-checkpoint", big),
    ):
        assert run.code == 3 and "larger than" in run.err, run.err


def test_an_overlong_line_is_a_finding(ledger: Path, cli: Cli) -> None:
    first = ledger.read_bytes().splitlines()[0]
    append_line(ledger, b'{"note":"' + b"x" * (2 << 20) + b'"}')
    run = cli("ledger", "record", "--step", "note")
    assert run.code == 4 and "longer than" in run.err  # the last line is no entry
    append_line(ledger, first)
    run = cli("ledger", "verify")
    assert run.code == 4 and "line 3: not a ledger entry: longer than" in run.out, run.out
    assert "line 4" in run.out  # the lines after it are still read


def test_saved_state_that_is_not_one_falls_back_to_a_full_verify(
    ledger: Path, cli: Cli, tmp_path: Path
) -> None:
    run = cli("ledger", "checkpoint")
    assert run.code == 0
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_text(run.out)
    state = ledger.with_name(f"{ledger.name}.state")
    for content in (
        TAMPERED["deep nesting"],
        b'{"size":"2"}',
        b"[]",
        json.dumps({**json.loads(state.read_bytes()), "compact": ["zz"]}).encode(),
    ):
        state.write_bytes(content)
        run = cli("ledger", "verify", "--since-checkpoint", checkpoint, "--format", "json")
        no_bug(run)
        report = json.loads(run.out)["results"][0]
        assert run.code == 0 and report["incremental_from"] is None and report["entries"] == 2


def test_the_tail_is_read_once(ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding the last line reads each byte after the last line but one at most once, however
    long the torn tail (the old reader re-joined and re-counted its buffer at every step)."""
    with ledger.open("ab") as handle:
        handle.write(b"x" * (8 << 20))  # a torn tail of 8 MiB
    read: list[int] = []
    real = os.pread

    def counting(fd: int, size: int, offset: int) -> bytes:
        read.append(size)
        return real(fd, size, offset)

    monkeypatch.setattr(os, "pread", counting)
    tail = Ledger(ledger).tail()
    assert tail.torn == 8 << 20 and tail.count == 2
    assert sum(read) <= ledger.stat().st_size + (1 << 16)
