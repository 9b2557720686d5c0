"""The USB step: write with read-back, and scanning a medium for anything unexpected."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airgap.bundle import bag, media
from airgap.signing.minisign import SecretKey, Signature, blake2b_file
from tests.conftest import ROOT, SAMPLES, Cli

USAGE = sorted(SAMPLES.glob("usage-*.xml"))


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    """An archive-looking file with a bundle signature over it, by a key trusted at op.pub."""
    key = SecretKey.generate()
    (tmp_path / "op.pub").write_text(key.public.text())
    bundle = tmp_path / "b.tar.gz"
    bundle.write_bytes(b"\x1f\x8b" + os.urandom(200_000))
    comment = (
        f"timestamp:1\tfile:{bundle.name}\tctx:{bag.BUNDLE_CTX}\tbundle:AG1-X\tsize:1\tfiles:1"
    )
    signature = Signature.create(key, blake2b_file([bundle.read_bytes()]), comment)
    Path(f"{bundle}.minisig").write_text(signature.text())
    return bundle


def usb_of(tmp_path: Path) -> Path:
    usb = tmp_path / "usb"
    usb.mkdir()
    return usb


def test_write_reads_back_and_reports(signed: Path, tmp_path: Path, cli: Cli) -> None:
    usb = usb_of(tmp_path)
    run = cli("media", "write", signed, usb, "--format", "json")
    assert run.code == 0, run.err
    result = json.loads(run.out)
    assert [Path(w["target"]).name for w in result["results"]] == ["b.tar.gz", "b.tar.gz.minisig"]
    assert (usb / "b.tar.gz").read_bytes() == signed.read_bytes()
    assert "mount_point" in result["medium"]
    assert sorted(p.name for p in usb.iterdir()) == ["b.tar.gz", "b.tar.gz.minisig"]
    scan = cli("media", "scan", usb)
    assert scan.code == 0 and "1 signed bundle, 0 unexpected" in scan.out


def test_write_refuses_to_overwrite_unless_forced(signed: Path, tmp_path: Path, cli: Cli) -> None:
    usb = usb_of(tmp_path)
    (usb / "b.tar.gz").write_text("older")
    run = cli("media", "write", signed, usb)
    assert run.code == 3 and "refusing to overwrite" in run.err and "--force" in run.err
    assert sorted(p.name for p in usb.iterdir()) == ["b.tar.gz"]
    assert (usb / "b.tar.gz").read_text() == "older"
    assert cli("media", "write", signed, usb, "--force").code == 0
    assert (usb / "b.tar.gz").read_bytes() == signed.read_bytes()


def test_read_back_mismatch_leaves_no_orphan_signature(
    signed: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    usb = usb_of(tmp_path)
    real = media.sha256_file

    def bundle_reads_back_wrong(path: Path, **how: Any) -> str:
        return "0" * 64 if path.name.startswith(".b.tar.gz.") else real(path, **how)

    monkeypatch.setattr(media, "sha256_file", bundle_reads_back_wrong)
    run = cli("media", "write", signed, usb)
    assert run.code == 4 and "read-back mismatch" in run.err and run.out == ""
    assert list(usb.iterdir()) == []


def test_a_write_that_fails_part_way_leaves_no_orphan_signature(
    signed: Path, tmp_path: Path
) -> None:
    usb = usb_of(tmp_path)

    def small_files_only() -> None:  # the signature fits, the bundle's write fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))

    done = subprocess.run(
        [sys.executable, "-m", "airgap", "media", "write", str(signed), str(usb)],
        capture_output=True,
        text=True,
        preexec_fn=small_files_only,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith(
        f"error: cannot write to media: {usb / 'b.tar.gz'} - File too large\n"
    ), done.stderr
    assert done.stdout == "" and list(usb.iterdir()) == []


def test_scan_lists_everything_unexpected(signed: Path, tmp_path: Path, cli: Cli) -> None:
    usb = usb_of(tmp_path)
    media.write(signed, usb)
    (usb / ".Trashes").mkdir()
    (usb / ".DS_Store").write_text("x")
    (usb / "link.tar.gz").symlink_to(signed)
    (usb / "notes.txt").write_text("site list")
    (usb / "orphan.tar.gz.minisig").write_text("x")
    (usb / "fake.tar.gz").write_text("not an archive")
    (usb / "fake.tar.gz.minisig").write_text("x")
    (usb / "forged.tar.gz").write_bytes(signed.read_bytes())
    (usb / "forged.tar.gz.minisig").write_text("untrusted comment: x\n")
    run = cli("media", "scan", usb, "--format", "json")
    assert run.code == 1
    (result,) = json.loads(run.out)["results"]
    found = {Path(u["path"]).name: u["why"] for u in result["unexpected"]}
    assert found == {
        ".Trashes": "hidden folder",
        ".DS_Store": "hidden file",
        "link.tar.gz": "symbolic link",
        "notes.txt": "no signature beside it",
        "orphan.tar.gz.minisig": "signature without its bundle",
        "fake.tar.gz": "signed, but not an archive",
        "forged.tar.gz.minisig": "not in minisign's format",
    }
    assert result["bundles"] == [str(usb / "b.tar.gz")]
    assert result["signatures_verified"] is False


@pytest.fixture
def parts(tmp_path: Path, cli: Cli) -> list[Path]:
    """A bundle split in three parts (one usage file each), signed by a key at op.pub."""
    key = SecretKey.generate()
    (tmp_path / "op.key").write_text(key.text(None))
    (tmp_path / "op.key").chmod(0o600)  # a secret key others can read is refused
    (tmp_path / "op.pub").write_text(key.public.text())
    run = cli(
        "bundle",
        "create",
        "--out",
        tmp_path / "out" / "cycle.tar.gz",
        *USAGE[:3],
        "--key",
        tmp_path / "op.key",
        "--max-size",
        "1",
        "--format",
        "json",
    )
    assert run.code == 0, run.err
    return [Path(r["archive"]) for r in json.loads(run.out)["results"]]


def test_scan_names_an_incomplete_split_bundle(parts: list[Path], tmp_path: Path, cli: Cli) -> None:
    usb = usb_of(tmp_path)
    for part in (parts[0], parts[2]):
        media.write(part, usb)
    group = bag.part_of(
        Signature.parse(Path(f"{parts[0]}.minisig").read_text()).fields()["bundle"]
    )[0]
    run = cli("media", "scan", usb)
    assert run.code == 1 and run.err == ""
    assert (
        f"incomplete split bundle {group}: 2 of 3 parts here, missing part 2 (bundle "
        f"{group}-2of3, file cycle.part2of3.tar.gz)"
    ) in run.out
    assert "2 signed bundles, 0 unexpected, 1 incomplete split bundle\n" in run.out
    assert run.out.endswith(
        "signatures: NOT verified (this scan does not verify signatures; "
        "give --trusted-keys or --trusted-key, or run 'airgap bundle "
        "verify')\n"
    )
    run = cli("media", "scan", usb, "--trusted-key", tmp_path / "op.pub", "--format", "json")
    assert run.code == 1
    (result,) = json.loads(run.out)["results"]
    assert result["signatures_verified"] is True and result["bad_signatures"] == []
    assert [m["file"] for m in result["incomplete"][0]["missing"]] == ["cycle.part2of3.tar.gz"]
    media.write(parts[1], usb)
    run = cli("media", "scan", usb, "--trusted-key", tmp_path / "op.pub")
    assert run.code == 0, run.out
    assert "3 signed bundles, 0 unexpected, 0 incomplete split bundles" in run.out
    assert run.out.endswith("signatures: 3 of 3 verified against the trusted keys\n")


def test_scan_with_trusted_keys_verifies_signatures(
    parts: list[Path], tmp_path: Path, cli: Cli
) -> None:
    usb = usb_of(tmp_path)
    for part in parts:
        media.write(part, usb)
    tampered = usb / parts[1].name
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 1
    tampered.write_bytes(bytes(data))
    renamed = usb / "cycle.tar.gz"
    (usb / parts[2].name).rename(renamed)
    (usb / f"{parts[2].name}.minisig").rename(f"{renamed}.minisig")
    run = cli("media", "scan", usb)
    assert run.code == 0 and "signatures: NOT verified" in run.out  # it says it did not look
    run = cli("media", "scan", usb, "--trusted-key", tmp_path / "op.pub")
    assert run.code == 4, run.out
    assert f"{tampered}: error: bad signature: {tampered} - the file changed" in run.out
    assert (
        f"{renamed}: error: renamed or replayed bundle: signed as cycle.part3of3.tar.gz, "
        "named cycle.tar.gz"
    ) in run.out
    assert "signatures: 1 of 3 verified against the trusted keys" in run.out
    stranger = tmp_path / "stranger.pub"
    stranger.write_text(SecretKey.generate().public.text())
    run = cli("media", "scan", usb, "--trusted-key", stranger)
    assert run.code == 4 and run.out.count("untrusted key") == 3
