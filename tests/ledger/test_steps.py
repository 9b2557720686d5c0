"""The recorder every workflow shares, and the host key: made when an entry is first written,
never by reading or verifying a ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from airgap.flows import ledger as steps
from airgap.ledger.store import Ledger, parse_entry
from airgap.signing.minisign import SecretKey
from tests.conftest import Cli

HOST_KEY = Path(".local") / "share" / "airgap" / "host.key"


def operator_key(path: Path) -> SecretKey:
    key = SecretKey.generate()
    path.write_text(key.text(None))
    path.chmod(0o600)
    path.with_suffix(".pub").write_text(key.public.text())
    return key


def test_reading_and_verifying_a_ledger_make_no_host_key(
    tmp_path: Path, cli: Cli, hermetic: Path
) -> None:
    ledger = tmp_path / "site.jsonl"
    operator_key(tmp_path / "op.key")
    run = cli(
        "ledger", "record", "--step", "note", "--key", tmp_path / "op.key", "--ledger", ledger
    )
    assert run.code == 0, run.err
    run = cli("ledger", "verify", "--trusted-key", tmp_path / "op.pub", "--ledger", ledger)
    assert run.code == 0, run.out + run.err
    assert cli("ledger", "show", "--ledger", ledger).code == 0
    assert cli("ledger", "export", "--ledger", ledger).code == 0
    assert not (hermetic / HOST_KEY).exists()


def test_verifying_with_no_trusted_key_names_the_unchecked_signer(
    tmp_path: Path, cli: Cli, hermetic: Path
) -> None:
    ledger = tmp_path / "site.jsonl"
    key = operator_key(tmp_path / "op.key")
    cli("ledger", "record", "--step", "note", "--key", tmp_path / "op.key", "--ledger", ledger)
    run = cli("ledger", "verify", "--ledger", ledger)
    assert run.code == 3 and "cannot check the signatures" in run.err
    assert key.public.id in run.err
    assert not (hermetic / HOST_KEY).exists()


def test_the_recorder_makes_the_host_key_with_its_first_entry(
    tmp_path: Path, hermetic: Path
) -> None:
    seen: list[dict[str, object]] = []
    nowhere = steps.Recorder(None, seen.append)
    assert nowhere("note", note="nothing configured") is None
    assert not (hermetic / HOST_KEY).exists() and seen == []
    record = steps.Recorder(Ledger(tmp_path / "site.jsonl"), seen.append)
    entry = record("note", device="dev\x1b1", materials={"a\nb": "sha256:00"}, note="x")
    assert entry is not None and (hermetic / HOST_KEY).exists()
    assert seen == [entry]
    (line,) = [line for _, line in Ledger(tmp_path / "site.jsonl").lines()]
    written = parse_entry(line)
    assert written["device"] == "dev\\x1b1" and written["materials"] == {"a\\x0ab": "sha256:00"}
    assert written["operator"] == SecretKey.load(hermetic / HOST_KEY, None).public.id


def test_the_ledger_flag_wins_over_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRGAP_LEDGER", str(tmp_path / "setting.jsonl"))
    flag = steps.configured(tmp_path / "flag.jsonl")
    assert flag is not None and flag.path == tmp_path / "flag.jsonl"
    setting = steps.configured()
    assert setting is not None and setting.path == tmp_path / "setting.jsonl"
