"""The bundle and media commands as thin layers over the core workflows: ``--lab`` and
``--privacy`` on ``bundle create`` as on ``validate``, ``--ledger`` on every command that
records, and a bag at rest verified (and recorded) with the archive's checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgap.bundle import bag
from airgap.ledger.store import Ledger, parse_entry
from airgap.signing.minisign import SecretKey
from tests.conftest import SAMPLES, Cli

SIMULATED_ACK = SAMPLES / "invalid" / "simulated-ack.xml"
HOSTNAME = SAMPLES / "warnings" / "hostname-present.xml"
USAGE = SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml"


@pytest.fixture
def key(tmp_path: Path) -> Path:
    """An unencrypted operator key at tmp/op.key, its public key at tmp/op.pub."""
    secret = SecretKey.generate()
    (tmp_path / "op.key").write_text(secret.text(None))
    (tmp_path / "op.key").chmod(0o600)
    (tmp_path / "op.pub").write_text(secret.public.text())
    return tmp_path / "op.key"


def steps_in(ledger: Path) -> list[str]:
    return [parse_entry(line)["step"] for _, line in Ledger(ledger).lines()]


def test_a_simulated_ack_is_refused_naming_lab_and_carried_with_it(
    tmp_path: Path, cli: Cli, key: Path
) -> None:
    out = tmp_path / "acks.tar.gz"
    args = ("bundle", "create", "--out", out, SIMULATED_ACK, "--key", key, "--direction", "inbound")
    run = cli(*args)
    assert run.code == 1, run.err
    assert "[simulated-ack]" in run.err
    assert "error: refusing to bundle invalid files" in run.err
    assert "--lab for simulated ACKs" in run.err
    assert not out.exists() and run.out == ""
    run = cli(*args, "--lab")
    assert run.code == 0, run.err
    assert out.exists() and "bundle " in run.out


def test_lab_carries_no_other_invalid_file(tmp_path: Path, cli: Cli, key: Path) -> None:
    out = tmp_path / "acks.tar.gz"
    bad = SAMPLES / "invalid" / "xml-schema.xml"
    run = cli("bundle", "create", "--out", out, bad, "--key", key, "--lab")
    assert run.code == 1 and "--lab for simulated ACKs" not in run.err
    assert "--lab and --privacy work as for 'airgap validate'" in run.err
    assert not out.exists()


def test_privacy_strict_refuses_a_hostname_and_names_privacy(
    tmp_path: Path, cli: Cli, key: Path
) -> None:
    out = tmp_path / "usage.tar.gz"
    run = cli("bundle", "create", "--out", out, HOSTNAME, "--key", key, "--privacy", "strict")
    assert run.code == 1, run.err
    assert "[hostname-present]" in run.err and "--privacy normal" in run.err
    assert not out.exists()
    run = cli("bundle", "create", "--out", out, HOSTNAME, "--key", key)
    assert run.code == 0, run.err  # under normal privacy a hostname is a warning
    assert "[hostname-present]" in run.err


def test_ledger_flag_records_every_step_of_the_round_trip(
    tmp_path: Path, cli: Cli, key: Path
) -> None:
    ledger = tmp_path / "site.jsonl"
    out = tmp_path / "usage.tar.gz"
    trust = ("--trusted-key", tmp_path / "op.pub")
    run = cli("bundle", "create", "--out", out, USAGE, "--key", key, "--ledger", ledger)
    assert run.code == 0, run.err
    assert "recorded ledger entry 1: bundle.create" in run.err
    assert cli("bundle", "verify", out, *trust, "--ledger", ledger).code == 0
    usb = tmp_path / "usb"
    usb.mkdir()
    assert cli("media", "write", out, usb, "--ledger", ledger).code == 0
    extracted = tmp_path / "bag"
    run = cli("bundle", "extract", "--no-scan-required", out, extracted, *trust, "--ledger", ledger)
    assert run.code == 0, run.err
    run = cli("bundle", "verify", extracted, *trust, "--ledger", ledger)
    assert run.code == 0, run.out + run.err
    assert f"{extracted}: verified: bundle " in run.out
    assert steps_in(ledger) == [
        "bundle.create",
        "bundle.verify",
        "media.write",
        "bundle.extract",
        "bundle.verify",
    ]
    last = parse_entry(list(Ledger(ledger).lines())[-1][1])
    manifest = extracted / bag.TAG_MANIFEST
    assert last["materials"] == {str(manifest): f"sha256:{bag.sha256(manifest.read_bytes())}"}
    assert last["result"] == "ok"


def test_a_tampered_bag_at_rest_is_recorded_as_refused(tmp_path: Path, cli: Cli, key: Path) -> None:
    ledger = tmp_path / "site.jsonl"
    out = tmp_path / "usage.tar.gz"
    trust = ("--trusted-key", tmp_path / "op.pub")
    assert cli("bundle", "create", "--out", out, USAGE, "--key", key).code == 0
    extracted = tmp_path / "bag"
    assert cli("bundle", "extract", "--no-scan-required", out, extracted, *trust).code == 0
    payload = next((extracted / "data").iterdir())
    payload.write_bytes(payload.read_bytes().replace(b"  ", b" \t", 1))  # same size, still XML
    run = cli("bundle", "verify", extracted, *trust, "--ledger", ledger, "--format", "json")
    assert run.code == 4, run.err
    (result,) = json.loads(run.out)["results"]
    assert result["at_rest"] and not result["ok"]
    assert any("manifest mismatch" in p["message"] for p in result["problems"]), result
    (line,) = [line for _, line in Ledger(ledger).lines()]
    entry = parse_entry(line)
    assert entry["step"] == "bundle.verify" and entry["result"] == "refused"


def test_sig_and_approvals_are_refused_for_a_bag_at_rest(tmp_path: Path, cli: Cli) -> None:
    folder = tmp_path / "bag"
    folder.mkdir()
    run = cli("bundle", "verify", folder, "--sig", tmp_path / "x.minisig")
    assert run.code == 2 and "a bag at rest carries its own signature" in run.err
    for flag in (("--require-approvals", "1"), ("--approver-role", "approver")):
        run = cli("bundle", "verify", folder, *flag)
        assert run.code == 2 and "approvals sign a bundle's archive" in run.err, run.err
        assert run.out == ""


def test_without_a_ledger_nothing_is_recorded(tmp_path: Path, cli: Cli, key: Path) -> None:
    out = tmp_path / "usage.tar.gz"
    run = cli("bundle", "create", "--out", out, USAGE, "--key", key)
    assert run.code == 0 and "recorded ledger entry" not in run.err
    assert not list(tmp_path.rglob("*.jsonl"))
