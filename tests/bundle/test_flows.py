"""The bundle and media workflows called as core functions, with no command line: what the
device commands and other workflows build on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from airgap.errors import ExitCode, FindingsError, TrustError
from airgap.flows import bundle as flows
from airgap.flows import media as media_flows
from airgap.flows import verify as verify_flows
from airgap.ledger.store import Ledger, parse_entry
from airgap.signing.minisign import SecretKey
from tests.conftest import SAMPLES

USAGE = SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml"


class Heard:
    """Hooks that keep what a workflow says, instead of a terminal."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.notes: list[str] = []
        self.entries: list[dict[str, Any]] = []

    def hooks(self) -> flows.Hooks:
        return flows.Hooks(
            say=self.lines.append, note=self.notes.append, announce=self.entries.append
        )


@pytest.fixture
def key(tmp_path: Path) -> Path:
    secret = SecretKey.generate()
    (tmp_path / "op.key").write_text(secret.text(None))
    (tmp_path / "op.key").chmod(0o600)
    (tmp_path / "op.pub").write_text(secret.public.text())
    return tmp_path / "op.key"


def test_create_verify_extract_as_functions(tmp_path: Path, key: Path) -> None:
    heard, ledger = Heard(), tmp_path / "site.jsonl"
    options = flows.CreateOptions(tmp_path / "u.tar.gz", (USAGE,), key, ledger=ledger)
    created = flows.create_bundle(options, heard.hooks())
    (bundle,) = created.bundles
    assert bundle.archive.is_file() and bundle.signature.is_file()
    assert [e["step"] for e in heard.entries] == ["bundle.create"]
    trusted = (tmp_path / "op.pub",)
    (verified,) = verify_flows.verify_bundles(
        verify_flows.VerifyOptions((bundle.archive,), trusted, ledger=ledger), heard.hooks()
    )
    assert verified.exit_code == ExitCode.OK and verified.bundle_id == bundle.bundle_id
    refused = verify_flows.extract_bundle(
        verify_flows.ExtractOptions(bundle.archive, tmp_path / "in", trusted, ledger=ledger),
        heard.hooks(),
    )
    assert not refused.extracted and refused.verified.exit_code == ExitCode.TRUST
    assert "malware scan" in refused.verified.problems[0].message
    assert not (tmp_path / "in").exists()
    done = verify_flows.extract_bundle(
        verify_flows.ExtractOptions(
            bundle.archive, tmp_path / "in", trusted, scan_required=False, ledger=ledger
        ),
        heard.hooks(),
    )
    assert done.extracted and (tmp_path / "in" / "data" / USAGE.name).is_file()
    assert [parse_entry(line)["result"] for _, line in Ledger(ledger).lines()] == [
        "ok",
        "ok",
        "refused",
        "ok",
    ]


def test_findings_go_to_the_hooks_and_refuse(tmp_path: Path, key: Path) -> None:
    heard = Heard()
    bad = SAMPLES / "invalid" / "xml-schema.xml"
    options = flows.CreateOptions(tmp_path / "u.tar.gz", (bad,), key)
    with pytest.raises(FindingsError) as refused:
        flows.create_bundle(options, heard.hooks())
    assert "--allow-invalid" in refused.value.hint
    assert heard.lines and all(str(bad) in line for line in heard.lines)
    assert not (tmp_path / "u.tar.gz").exists()
    created = flows.create_bundle(replace(options, allow_invalid=True), heard.hooks())
    assert created.bundles[0].archive.is_file()


def test_approve_by_a_second_person(tmp_path: Path, key: Path) -> None:
    created = flows.create_bundle(flows.CreateOptions(tmp_path / "u.tar.gz", (USAGE,), key))
    archive = created.bundles[0].archive
    second = SecretKey.generate()
    (tmp_path / "ap.key").write_text(second.text(None))
    (tmp_path / "ap.key").chmod(0o600)
    (tmp_path / "ap.pub").write_text(second.public.text())
    trusted = (tmp_path / "op.pub", tmp_path / "ap.pub")
    with pytest.raises(TrustError, match="a second person must"):
        verify_flows.approve_bundle(verify_flows.ApproveOptions(archive, key, trusted_key=trusted))
    short = verify_flows.verify_bundles(
        verify_flows.VerifyOptions((archive,), trusted, approvals=1)
    )[0]
    assert short.exit_code == ExitCode.TRUST
    approved = verify_flows.approve_bundle(
        verify_flows.ApproveOptions(archive, tmp_path / "ap.key", trusted_key=trusted)
    )
    assert approved.approval is not None and approved.approval.is_file()
    assert (
        approved.key_id == second.public.id and approved.bundle_id == created.bundles[0].bundle_id
    )
    (verified,) = verify_flows.verify_bundles(
        verify_flows.VerifyOptions((archive,), trusted, approvals=1)
    )
    assert verified.exit_code == ExitCode.OK, verified.problems


def test_media_write_and_scan_as_functions(tmp_path: Path, key: Path) -> None:
    created = flows.create_bundle(flows.CreateOptions(tmp_path / "u.tar.gz", (USAGE,), key))
    usb = tmp_path / "usb"
    usb.mkdir()
    written = media_flows.write_media(
        media_flows.WriteOptions(created.bundles[0].archive, usb, ledger=tmp_path / "l.jsonl")
    )
    assert not written.refused and len(written.written) == 2
    assert [parse_entry(line)["step"] for _, line in Ledger(tmp_path / "l.jsonl").lines()] == [
        "media.write"
    ]
    (usb / ".hidden").write_text("x")
    scanned = media_flows.scan_media(media_flows.ScanOptions(usb, (tmp_path / "op.pub",)))
    assert scanned.exit_code == ExitCode.FINDINGS
    assert scanned.scan.signatures_verified and not scanned.scan.bad_signatures
    assert [path for path, _ in scanned.scan.unexpected] == [str(usb / ".hidden")]
