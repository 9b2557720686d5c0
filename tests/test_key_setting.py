"""The ``key`` setting (AIRGAP_KEY, the user config) is the secret key a command signs with
when no --key is given; the flag wins; without either, signing commands exit 3 with a hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgap.signing.minisign import SecretKey
from tests.conftest import SAMPLES, Cli

USAGE = SAMPLES / "usage-n9k-nxos-v1.xml"


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SecretKey:
    """An unencrypted operator key at tmp/op.key (op.pub beside it)."""
    key = SecretKey.generate()
    (tmp_path / "op.key").write_text(key.text(None))
    (tmp_path / "op.key").chmod(0o600)
    (tmp_path / "op.pub").write_text(key.public.text())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")
    return key


def signer_of(signature: Path) -> str:
    """The key id a minisign signature file names (its second line, base64)."""
    import base64

    raw = base64.b64decode(signature.read_text().splitlines()[1])
    return raw[2:10][::-1].hex().upper()


def test_sign_takes_the_key_from_airgap_key(
    tmp_path: Path, cli: Cli, operator: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRGAP_KEY", str(tmp_path / "op.key"))
    target = tmp_path / "usage.xml"
    target.write_bytes(USAGE.read_bytes())
    run = cli("sign", target)
    assert run.code == 0, run.err
    assert signer_of(tmp_path / "usage.xml.minisig") == operator.public.id
    run = cli("verify", target, "--trusted-key", tmp_path / "op.pub")
    assert run.code == 0, run.out + run.err


def test_the_user_config_names_the_key_and_the_flag_wins(
    tmp_path: Path, cli: Cli, operator: SecretKey, hermetic: Path
) -> None:
    config = hermetic / ".config" / "airgap" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'key = "{tmp_path / "missing.key"}"\n')
    target = tmp_path / "usage.xml"
    target.write_bytes(USAGE.read_bytes())
    run = cli("sign", target)
    assert run.code == 3, run.out + run.err
    assert "missing.key" in run.err and "Traceback" not in run.err
    run = cli("sign", target, "--key", tmp_path / "op.key")
    assert run.code == 0, run.err
    assert signer_of(tmp_path / "usage.xml.minisig") == operator.public.id


def test_without_a_key_signing_exits_3_with_a_hint(tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "usage.xml"
    target.write_bytes(USAGE.read_bytes())
    for args in (("sign", target), ("bundle", "create", "--out", tmp_path / "b.tar.gz", target)):
        run = cli(*args)
        assert run.code == 3, (args, run)
        assert "error: no secret key to sign with" in run.err
        assert "AIRGAP_KEY" in run.err
        assert "Traceback" not in run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usage.xml"]


def test_bundle_create_signs_with_airgap_key(
    tmp_path: Path, cli: Cli, operator: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRGAP_KEY", str(tmp_path / "op.key"))
    out = tmp_path / "out" / "usage.tar.gz"
    assert cli("bundle", "create", "--out", out, USAGE).code == 0
    run = cli("bundle", "verify", out, "--trusted-key", tmp_path / "op.pub")
    assert run.code == 0, run.out + run.err


def test_ledger_record_signs_with_airgap_key_not_the_host_key(
    tmp_path: Path, cli: Cli, operator: SecretKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    run = cli("ledger", "record", "--step", "note", "--ledger", ledger, "--note", "host")
    assert run.code == 0, run.err
    assert "this host's key" in run.err
    monkeypatch.setenv("AIRGAP_KEY", str(tmp_path / "op.key"))
    run = cli("ledger", "record", "--step", "note", "--ledger", ledger, "--note", "operator")
    assert run.code == 0, run.err
    assert "this host's key" not in run.err
    entries = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert entries[0]["operator"] != operator.public.id
    assert entries[1]["operator"] == operator.public.id
