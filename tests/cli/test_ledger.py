"""``airgap ledger`` through the CLI: record, show, export, prove offline, repair."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from airgap.signing.minisign import SecretKey
from tests.conftest import SAMPLES, Cli


@pytest.fixture
def ledger(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("AIRGAP_LEDGER", str(path))
    sample = SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml"
    assert cli("ledger", "record", "--step", "usage.save", "--device", "PID:C9300-24UX,SN:X",
               "--product", sample, "--note", "saved on the switch").code == 0
    assert cli("ledger", "record", "--step", "cssm.upload", "--material", sample).code == 0
    return path


def test_no_ledger_is_exit_3(cli: Cli) -> None:
    run = cli("ledger", "show")
    assert run.code == 3 and "no ledger configured" in run.err


def test_unknown_step_is_refused(ledger: Path, cli: Cli) -> None:
    run = cli("ledger", "record", "--step", "coffee")
    assert run.code == 3 and "unknown step" in run.err


def test_show_and_filters(ledger: Path, cli: Cli) -> None:
    run = cli("ledger", "show")
    assert run.code == 0 and "usage.save" in run.out and "cssm.upload" in run.out
    shown = json.loads(cli("ledger", "show", "--step", "usage.save", "--format", "json").out)
    (entry,) = shown["results"]
    assert entry["device"] == "PID:C9300-24UX,SN:X"
    digest = next(iter(entry["products"].values()))
    assert digest.startswith("sha256:") and len(digest) == 71


def test_exports(ledger: Path, cli: Cli, tmp_path: Path) -> None:
    assert cli("ledger", "export", "--as", "jsonl").out.encode() == ledger.read_bytes()
    rows = list(csv.DictReader(io.StringIO(cli("ledger", "export", "--as", "csv").out)))
    assert [r["step"] for r in rows] == ["usage.save", "cssm.upload"]
    key = SecretKey.generate()
    (tmp_path / "auditor.key").write_text(key.text(None))
    (tmp_path / "auditor.key").chmod(0o600)
    links = [json.loads(line) for line in cli("ledger", "export", "--as", "in-toto", "--key",
                                              tmp_path / "auditor.key").out.splitlines()]
    assert links[0]["signed"]["_type"] == "link" and links[0]["signed"]["name"] == "usage.save"
    assert links[0]["signatures"][0]["keyid"] == key.public.id


def test_prove_and_verify_offline(ledger: Path, cli: Cli, tmp_path: Path) -> None:
    assert cli("ledger", "checkpoint").code == 0
    proof, entry, pub = tmp_path / "p.txt", tmp_path / "e.json", tmp_path / "host.pub"
    assert cli("ledger", "prove", "2", "--out", proof, "--entry-out", entry).code == 0
    pub.write_text(cli("key", "export").out)
    run = cli("ledger", "verify-proof", proof, entry, "--trusted-key", pub)
    assert run.code == 0 and "entry 2 is in airgap/" in run.out
    entry.write_bytes(entry.read_bytes().replace(b"cssm.upload", b"cssm.download"))
    run = cli("ledger", "verify-proof", proof, entry, "--trusted-key", pub)
    assert run.code == 4 and "proof does not verify" in run.err
    stranger = SecretKey.generate()
    (tmp_path / "s.pub").write_text(stranger.public.text())
    run = cli("ledger", "verify-proof", proof, entry, "--trusted-key", tmp_path / "s.pub")
    assert run.code == 4 and "checkpoint does not verify" in run.err


def test_repair_through_the_cli(ledger: Path, cli: Cli) -> None:
    with ledger.open("ab") as handle:
        handle.write(b'{"seq":3,"prev":')
    assert cli("ledger", "verify").code == 1
    run = cli("ledger", "repair")
    assert run.code == 0 and "moved the torn tail" in run.out
    assert cli("ledger", "verify").code == 0
    assert cli("ledger", "repair").out.strip() == "nothing to repair"
