"""``bundle verify DIR``: an extracted bag verified at rest, with the archive's checks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from airgap.bundle import bag
from airgap.signing.minisign import SecretKey, Signature, blake2b_file
from tests.conftest import SAMPLES, Cli

PAYLOAD = [*sorted(SAMPLES.glob("*.xml")), SAMPLES / "show"]


@pytest.fixture
def extracted(tmp_path: Path, cli: Cli) -> Path:
    """A bundle made and extracted by the CLI, with its signer trusted at tmp/op.pub."""
    key = SecretKey.generate()
    (tmp_path / "op.key").write_text(key.text(None))
    (tmp_path / "op.key").chmod(0o600)  # a secret key others can read is refused
    (tmp_path / "op.pub").write_text(key.public.text())
    bundle = tmp_path / "usage.tar.gz"
    assert (
        cli("bundle", "create", "--out", bundle, *PAYLOAD, "--key", tmp_path / "op.key").code == 0
    )
    run = cli(
        "bundle",
        "extract",
        "--no-scan-required",
        bundle,
        tmp_path / "bag",
        "--trusted-key",
        tmp_path / "op.pub",
    )
    assert run.code == 0, run.out + run.err
    return tmp_path / "bag"


def verify(cli: Cli, folder: Path, *extra: str) -> tuple[int, str]:
    run = cli("bundle", "verify", folder, "--trusted-key", folder.parent / "op.pub", *extra)
    return run.code, run.out + run.err


def test_a_good_bag_verifies_at_rest(extracted: Path, cli: Cli) -> None:
    run = cli(
        "bundle",
        "verify",
        extracted,
        "--trusted-key",
        extracted.parent / "op.pub",
        "--format",
        "json",
    )
    assert run.code == 0, run.out + run.err
    (result,) = json.loads(run.out)["results"]
    assert result["ok"] and result["at_rest"] and result["problems"] == []
    names = {f["name"] for f in result["files"]}
    assert "data/show/" + sorted((SAMPLES / "show").iterdir())[0].name in names
    assert len(names) == len(bag.parse_manifest((extracted / bag.MANIFEST).read_text())[0])
    code, output = verify(cli, extracted)
    assert code == 0 and f"{extracted}: verified: bundle AG" in output
    code, output = verify(cli, extracted, "--sig", str(extracted / bag.INNER_SIGNATURE))
    assert code == 2 and "a bag at rest carries its own signature" in output


def edit_payload(folder: Path) -> str:
    target = next((folder / "data").glob("usage-*.xml"))
    target.write_bytes(target.read_bytes() + b"\n")  # still valid XML, but not what was signed
    return f"manifest mismatch: data/{target.name} does not have the SHA-256"


def add_file(folder: Path) -> str:
    (folder / "data" / "extra.xml").write_bytes((SAMPLES / "policy-default.xml").read_bytes())
    return "data/extra.xml is in the bag but not in manifest-sha256.txt"


def remove_file(folder: Path) -> str:
    target = next((folder / "data").glob("*.xml"))
    target.unlink()
    return f"lists data/{target.name}, which is not in the bag"


def link_file(folder: Path) -> str:
    (folder / "data" / "passwd.xml").symlink_to("/etc/passwd")
    return "symbolic link in the bag: data/passwd.xml"


def stray_tag_file(folder: Path) -> str:
    (folder / "notes.txt").write_text("site list")
    return "unexpected file in the bag: notes.txt"


def edit_bag_info(folder: Path) -> str:
    info = folder / bag.BAG_INFO
    info.write_text(info.read_text().replace("outbound", "inbound"))
    return "manifest mismatch: bag-info.txt does not have the SHA-256 tagmanifest-sha256.txt"


def edit_tag_manifest(folder: Path) -> str:
    with (folder / bag.TAG_MANIFEST).open("a") as handle:
        handle.write("\n")
    return "bad signature"


def resign_by_stranger(folder: Path) -> str:
    stranger = SecretKey.generate()
    signature = Signature.create(
        stranger,
        blake2b_file([(folder / bag.TAG_MANIFEST).read_bytes()]),
        f"file:{bag.TAG_MANIFEST}\tctx:{bag.BAG_CTX}\tbundle:x",
    )
    (folder / bag.INNER_SIGNATURE).write_text(signature.text())
    return f"untrusted key: {folder}/{bag.INNER_SIGNATURE} - signed by key {stranger.public.id}"


def fifo(folder: Path) -> str:
    os.mkfifo(folder / "data" / "pipe.xml")  # reading it would block: it must not be opened
    return "not a regular file in the bag: data/pipe.xml"


def no_signature(folder: Path) -> str:
    (folder / bag.INNER_SIGNATURE).unlink()
    return f"missing from the bag: {bag.INNER_SIGNATURE}"


TAMPER: dict[str, Callable[[Path], str]] = {
    f.__name__: f
    for f in (
        edit_payload,
        add_file,
        remove_file,
        link_file,
        stray_tag_file,
        edit_bag_info,
        edit_tag_manifest,
        resign_by_stranger,
        fifo,
        no_signature,
    )
}


@pytest.mark.parametrize("tamper", TAMPER)
def test_a_tampered_bag_is_refused_and_named(tamper: str, extracted: Path, cli: Cli) -> None:
    expect = TAMPER[tamper](extracted)
    code, output = verify(cli, extracted)
    assert code == 4, output
    assert expect in output, output
    assert f"{extracted}: NOT verified" in output


def test_a_payload_file_beyond_the_signed_size_is_not_read(extracted: Path, cli: Cli) -> None:
    oxum = bag.parse_info((extracted / bag.BAG_INFO).read_text())["Payload-Oxum"]
    size = int(oxum.split(".")[0])
    target = next((extracted / "data").glob("usage-*.xml"))
    target.write_bytes(bytes(size + 1))
    code, output = verify(cli, extracted)
    assert code == 4
    assert f"{target}: larger than the whole payload bag-info vouches for ({size} bytes)" in output
    assert "[not-xml]" not in output  # refused unread, not validated
