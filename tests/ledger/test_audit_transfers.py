"""The audit report's transfers, from ledgers made by the real commands on one host (a lab that
plays both sides): a bundle's create, approval, media write, malware scan, verify and extract
joined into one transfer with its hashes; a detection and a refused verify as exceptions; a
ledger recorded before verify named the bundle it answers still gives a report."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from airgap.signing.minisign import PublicKey, SecretKey
from airgap.xml import schema_dir
from tests.bundle.test_malware import database
from tests.conftest import SAMPLES, Cli, need_tool

PEOPLE = {"alice": ("Alice", "operator"), "bob": ("Bob", "approver")}


@pytest.fixture
def site(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger and a trusted-keys folder with Alice (operator) and Bob (approver)."""
    monkeypatch.setenv("AIRGAP_LEDGER", str(tmp_path / "ledger.jsonl"))
    monkeypatch.setenv("AIRGAP_TRUSTED_KEYS", str(tmp_path / "trusted"))
    for handle, (name, role) in PEOPLE.items():
        key = SecretKey.generate()
        (tmp_path / f"{handle}.key").write_text(key.text(None))
        (tmp_path / f"{handle}.key").chmod(0o600)
        (tmp_path / f"{handle}.pub").write_text(key.public.text())
        trusted = cli(
            "key", "trust", tmp_path / f"{handle}.pub", "--name", name, "--role", role, "--yes"
        )
        assert trusted.code == 0, trusted.err
    return tmp_path


def ok(cli: Cli, *args: str | Path, code: int = 0) -> str:
    run = cli(*args)
    assert run.code == code, run.out + run.err
    return run.out


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def report(cli: Cli, out: Path) -> dict[str, Any]:
    """The JSON report over the whole ledger, checked against its schema."""
    import jsonschema_rs

    ok(cli, "audit", "report", "--since", "2000-01-01", "--out", out, "--format", "json")
    doc: dict[str, Any] = json.loads(out.read_text())
    schema = json.loads((schema_dir() / "audit-report.schema.json").read_text())
    jsonschema_rs.validator_for(schema).validate(doc)
    return doc


def outbound(cli: Cli, site: Path) -> tuple[Path, str, list[Path]]:
    """Alice bundles two usage files: the archive, its bundle id, the files."""
    files = sorted(SAMPLES.glob("usage-*.xml"))[:2]
    archive = site / "out" / "usage.tar.gz"
    said = ok(cli, "bundle", "create", "--out", archive, *files, "--key", site / "alice.key")
    found = re.search(r"bundle (AG\S+)", said)
    assert found, said
    return archive, found[1], files


def test_a_transfer_joins_create_approve_write_scan_verify_and_extract(
    site: Path, cli: Cli
) -> None:
    need_tool("clamscan")
    archive, bundle_id, files = outbound(cli, site)
    ok(cli, "bundle", "approve", archive, "--key", site / "bob.key", "--role", "approver")
    (site / "usb").mkdir()
    ok(cli, "media", "write", archive, site / "usb")
    clean = database(site, b"bytes no medium here carries " + bytes(range(32)))
    ok(cli, "media", "scan", site / "usb", "--av", "clamscan", "--av-db", clean)
    on_stick = site / "usb" / archive.name
    ok(cli, "bundle", "verify", on_stick)
    ok(cli, "bundle", "extract", on_stick, site / "received")

    doc = report(cli, site / "report.json")
    steps = {r["seq"]: r["step"] for r in doc["rows"]}
    (transfer,) = [t for t in doc["transfers"] if t["kind"] == "bundle"]
    assert transfer["bundle_id"] == bundle_id and transfer["direction"] == "outbound"
    assert sorted(steps[n] for n in transfer["entries"]) == [
        "bundle.approve",
        "bundle.create",
        "bundle.extract",
        "bundle.verify",  # approve verifies first
        "bundle.verify",
        "media.scan",
        "media.write",
    ]
    assert transfer["archive"] == {str(archive): sha256(archive)} and not transfer["exception"]
    assert transfer["files"] == {str(f): sha256(f) for f in files}
    for f in files:  # the same bytes came out on the other side
        assert sha256(site / "received" / "data" / f.name) == transfer["files"][str(f)]
    alice = PublicKey.load(site / "alice.pub").id
    assert transfer["who"] == {"key_id": alice, "person": "Alice", "role": "operator"}
    (approval,) = transfer["approvals"]
    assert (approval["person"], approval["role"], steps[approval["seq"]]) == (
        "Bob",
        "approver",
        "bundle.approve",
    )
    assert transfer["validation"]["result"] == "ok"
    assert {steps[n] for n in transfer["validation"]["entries"]} == {
        "bundle.create",
        "bundle.verify",
        "bundle.extract",
    }
    assert transfer["scan"]["result"] == "ok"
    assert [steps[n] for n in transfer["scan"]["entries"]] == ["media.scan"]
    assert transfer["medium"] and transfer["from_host"] == transfer["to_host"] == doc["origin"]
    assert transfer["receipt"] is None
    assert transfer["receipt_status"] == "no answer recorded in this window"

    ok(
        cli,
        "audit",
        "report",
        "--since",
        "2000-01-01",
        "--out",
        site / "report.csv",
        "--format",
        "csv",
    )
    lines = (site / "report.csv").read_text().splitlines()
    (line,) = [x for x in lines if x.startswith(bundle_id)]
    assert sha256(archive) in line and "Bob (approver" in line


def test_a_detection_and_a_refused_verify_are_exceptions_listed_first(site: Path, cli: Cli) -> None:
    need_tool("clamscan")
    archive, bundle_id, _ = outbound(cli, site)
    (site / "usb").mkdir()
    ok(cli, "media", "write", archive, site / "usb")
    bad = b"airgap test detection " + bytes(range(64))
    (site / "usb" / "planted.bin").write_bytes(bad)
    detects = database(site, bad)
    ok(cli, "media", "scan", site / "usb", "--av", "clamscan", "--av-db", detects, code=4)
    tampered = site / "tampered.tar.gz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 1
    tampered.write_bytes(bytes(data))
    shutil.copyfile(f"{archive}.minisig", f"{tampered}.minisig")
    ok(cli, "bundle", "verify", tampered, code=4)
    unsigned = site / "unsigned.tar.gz"  # no signature names any bundle: a transfer of its own
    unsigned.write_bytes(bytes(data[:-1]))
    ok(cli, "bundle", "verify", unsigned, code=4)

    doc = report(cli, site / "report.json")
    steps = {r["seq"]: (r["step"], r["result"]) for r in doc["rows"]}
    assert sorted(steps[n] for n in doc["exceptions"]) == [
        ("bundle.verify", "refused"),
        ("bundle.verify", "refused"),
        ("media.scan", "failed"),
    ]
    first, alone, *rest = doc["transfers"]
    assert first["exception"] and alone["exception"] and not any(t["exception"] for t in rest)
    assert alone["bundle_id"] is None and alone["archive"] == {str(unsigned): sha256(unsigned)}
    assert alone["validation"]["result"] == "refused" and len(alone["entries"]) == 1
    # the tampered copy names the bundle in its (bad) signature: a refused verify of that bundle
    assert first["bundle_id"] == bundle_id and set(doc["exceptions"]) == {
        *first["entries"][2:],
        *alone["entries"],
    }
    assert first["scan"]["result"] == "failed"  # the medium it was on carried a detection
    assert first["validation"]["result"] == "refused"
    refused = [r["materials"] for r in doc["rows"] if r["seq"] in first["entries"]]
    assert {str(tampered): sha256(tampered)} in refused
    assert first["archive"] == {str(archive): sha256(archive)}

    page = site / "report.html"
    ok(cli, "audit", "report", "--since", "2000-01-01", "--out", page)
    text = page.read_text()
    sections = [text.index(f"<h2>{h}") for h in ("Exceptions", "Transfers", "Devices", "Timeline")]
    assert sections == sorted(sections)
    exceptions = text[sections[0] : sections[1]]
    assert "refused" in exceptions and "failed" in exceptions and "Airgap.Test" in exceptions


def test_a_ledger_from_before_verify_named_the_answered_bundle_still_gives_a_report(
    site: Path, cli: Cli
) -> None:
    """Entries as airgap recorded them before: a verify note without direction or answered
    bundle. The outbound bundle's receipt is then 'not recorded', never 'none'."""
    archive, bundle_id, _ = outbound(cli, site)
    inbound = site / "inbound.tar.gz"
    inbound.write_bytes(b"an inbound bundle as the ledger saw it")
    for step, note in (
        ("bundle.verify", "bundle AG20261130-0123456789AB signed by 0123456789ABCDEF; "),
        ("bundle.extract", "bundle AG20261130-0123456789AB signed by 0123456789ABCDEF; "),
    ):
        ok(
            cli,
            "ledger",
            "record",
            "--step",
            step,
            "--material",
            inbound,
            "--note",
            note + "sender checkpoint airgap/internet/0011223344556677 at 8",
        )
    doc = report(cli, site / "report.json")
    bundles = {t["bundle_id"]: t for t in doc["transfers"] if t["kind"] == "bundle"}
    answered = bundles["AG20261130-0123456789AB"]
    assert answered["direction"] is None and answered["answers"] is None
    assert answered["from_host"] == "airgap/internet/0011223344556677"
    assert answered["sender_checkpoint"] == "airgap/internet/0011223344556677 at 8"
    assert answered["who"] == {"key_id": "0123456789ABCDEF", "person": None, "role": None}
    sent = bundles[bundle_id]
    assert sent["receipt"] is None and sent["receipt_status"] == "not recorded"
    page = site / "report.html"
    ok(cli, "audit", "report", "--since", "2000-01-01", "--out", page)
    assert "direction not recorded" in page.read_text()
    assert archive.exists()


def test_a_bundle_carrying_invalid_files_is_never_shown_as_validated(site: Path, cli: Cli) -> None:
    bad = SAMPLES / "invalid" / "sudi-mismatch.xml"
    archive = site / "x.tar.gz"
    ok(
        cli,
        "bundle",
        "create",
        "--out",
        archive,
        bad,
        "--key",
        site / "alice.key",
        "--allow-invalid",
    )
    doc = report(cli, site / "report.json")
    (transfer,) = [t for t in doc["transfers"] if t["kind"] == "bundle"]
    assert transfer["validation"]["result"] == "invalid" and transfer["exception"]
    assert transfer["files"] == {str(bad): sha256(bad)} and doc["exceptions"] == transfer["entries"]
