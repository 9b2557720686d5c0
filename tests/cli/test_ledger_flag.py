"""``--ledger FILE`` on the commands that record, with no ledger setting: each records its step
there, and a command that must record and has no ledger says how to give one."""

from __future__ import annotations

from pathlib import Path

from airgap.ledger.store import Ledger, parse_entry
from airgap.signing.minisign import SecretKey
from tests.conftest import SAMPLES, Cli


def entries(ledger: Path) -> list[dict[str, object]]:
    return [parse_entry(line) for _, line in Ledger(ledger).lines()]


def test_validate_and_diff_record_into_the_flag_ledger(tmp_path: Path, cli: Cli) -> None:
    ledger = tmp_path / "site.jsonl"
    run = cli("validate", "--record", SAMPLES / "ack-c8000v.xml")
    assert run.code == 3 and "--record needs --ledger FILE" in run.err
    run = cli("validate", "--record", SAMPLES / "ack-c8000v.xml", "--ledger", ledger)
    assert run.code == 0, run.err
    assert "recorded ledger entry 1: validate" in run.err
    before, after = SAMPLES / "import" / "before", SAMPLES / "import" / "after"
    run = cli("diff", before, after, "--record", "--ledger", ledger)
    assert run.code == 0, run.err
    assert [e["step"] for e in entries(ledger)] == ["validate", "diff"]
    assert entries(ledger)[-1]["note"] == "states, verdict took effect"


def test_key_trust_and_revoke_record_into_the_flag_ledger(tmp_path: Path, cli: Cli) -> None:
    ledger = tmp_path / "site.jsonl"
    key = SecretKey.generate()
    (tmp_path / "op.pub").write_text(key.public.text())
    folder = tmp_path / "trusted"
    run = cli(
        "key",
        "trust",
        tmp_path / "op.pub",
        "--name",
        "Olga",
        "--role",
        "operator",
        "--trusted-keys",
        folder,
        "--yes",
        "--ledger",
        ledger,
    )
    assert run.code == 0, run.err
    run = cli("key", "revoke", key.public.id, "--trusted-keys", folder, "--ledger", ledger)
    assert run.code == 0, run.err
    steps = [(e["step"], e["note"]) for e in entries(ledger)]
    assert steps == [
        ("key.trust", f"trusted key {key.public.id} for Olga (operator)"),
        ("key.revoke", f"revoked key {key.public.id} (Olga, operator)"),
    ]
