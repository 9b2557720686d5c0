"""The USB step: write with read-back, and scanning a medium for anything unexpected."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from airgap.bundle import media
from airgap.errors import TrustError
from tests.conftest import Cli


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    bundle = tmp_path / "b.tar.gz"
    bundle.write_bytes(b"\x1f\x8b" + os.urandom(4000))
    Path(f"{bundle}.minisig").write_text("untrusted comment: x\n")
    return bundle


def test_write_reads_back_and_reports(signed: Path, tmp_path: Path, cli: Cli) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    run = cli("media", "write", signed, usb, "--format", "json")
    assert run.code == 0, run.err
    result = json.loads(run.out)
    assert [Path(w["target"]).name for w in result["results"]] == ["b.tar.gz", "b.tar.gz.minisig"]
    assert (usb / "b.tar.gz").read_bytes() == signed.read_bytes()
    assert "mount_point" in result["medium"]
    scan = cli("media", "scan", usb)
    assert scan.code == 0 and "1 signed bundle, 0 unexpected" in scan.out


def test_read_back_mismatch_is_a_trust_failure(signed: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    monkeypatch.setattr(media, "sha256_file", lambda path, uncached=False: "0" * 64)
    with pytest.raises(TrustError, match="read-back mismatch"):
        media.write(signed, usb)


def test_scan_lists_everything_unexpected(signed: Path, tmp_path: Path, cli: Cli) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    media.write(signed, usb)
    (usb / ".Trashes").mkdir()
    (usb / ".DS_Store").write_text("x")
    (usb / "link.tar.gz").symlink_to(signed)
    (usb / "notes.txt").write_text("site list")
    (usb / "orphan.tar.gz.minisig").write_text("x")
    (usb / "fake.tar.gz").write_text("not an archive")
    (usb / "fake.tar.gz.minisig").write_text("x")
    run = cli("media", "scan", usb, "--format", "json")
    assert run.code == 1
    found = {Path(u["path"]).name: u["why"] for u in json.loads(run.out)["results"][0]
             ["unexpected"]}
    assert found == {".Trashes": "hidden folder", ".DS_Store": "hidden file",
                     "link.tar.gz": "symbolic link", "notes.txt": "no signature beside it",
                     "orphan.tar.gz.minisig": "signature without its bundle",
                     "fake.tar.gz": "signed, but not an archive"}
