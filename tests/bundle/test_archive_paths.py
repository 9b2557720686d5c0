"""A member's place is a tuple of names, never a display string split again: a folder or an
archive whose name holds ``!`` reads like any other."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airgap import archive
from airgap.formats import cslu
from airgap.signing.minisign import SecretKey
from tests.bundle import hostile
from tests.conftest import SAMPLES, Cli

EPOCH = "1764547200"


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An unencrypted operator key at tmp/op.key, its public key at tmp/op.pub."""
    secret = SecretKey.generate()
    (tmp_path / "op.key").write_text(secret.text(None))
    (tmp_path / "op.key").chmod(0o600)
    (tmp_path / "op.pub").write_text(secret.public.text())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return tmp_path / "op.key"


def test_a_signed_bundle_in_a_folder_named_with_a_bang_verifies(
    tmp_path: Path, cli: Cli, key: Path
) -> None:
    out = tmp_path / "x!y" / "usage.tar.gz"
    payload = sorted(SAMPLES.glob("*.xml"))[:2]
    assert cli("bundle", "create", "--out", out, *payload, "--key", key).code == 0
    run = cli("bundle", "verify", out, "--trusted-key", tmp_path / "op.pub")
    assert run.code == 0, run.out + run.err
    assert "error" not in run.out + run.err
    dest = tmp_path / "x!y" / "dest"
    run = cli(
        "bundle",
        "extract",
        "--no-scan-required",
        out,
        dest,
        "--trusted-key",
        tmp_path / "op.pub",
    )
    assert run.code == 0, run.out + run.err
    assert sorted(p.name for p in (dest / "data").iterdir()) == sorted(p.name for p in payload)


def test_members_carry_their_place_as_parts() -> None:
    inner = hostile.tar_bytes([("c!d.xml", hostile.GOOD)])
    outer = hostile.tar_bytes([("in!ner.tar", inner), ("top.xml", hostile.GOOD)])
    members = list(archive.read_members(outer, "a!b.tar"))
    assert [m.parts for m in members] == [
        ("a!b.tar", "in!ner.tar", "c!d.xml"),
        ("a!b.tar", "top.xml"),
    ]
    assert [m.path for m in members] == ["a!b.tar!in!ner.tar!c!d.xml", "a!b.tar!top.xml"]
    assert [m.name for m in members] == ["c!d.xml", "top.xml"]
    # levels=1 keeps the inner archive as a member
    assert [m.parts for m in archive.read_members(outer, "o", levels=1)] == [
        ("o", "in!ner.tar"),
        ("o", "top.xml"),
    ]


def test_the_same_name_in_two_nested_archives_is_no_duplicate() -> None:
    """Names are unique within their own archive: two virtual-account archives may both
    hold dev_1.txt; the same name twice in one archive is still refused."""
    usage = (SAMPLES / "usage-n9k-nxos-v1.xml").read_bytes()
    va = hostile.tar_bytes([("dev_1.txt", usage)])
    upload = hostile.tar_bytes([("UD_VA_1.tar.gz", va), ("UD_VA_2.tar.gz", va)])
    unpacked = cslu.unpack(upload, "up!load.tar")
    assert [f.parts for f in unpacked.files] == [
        ("UD_VA_1.tar.gz", "dev_1.txt"),
        ("UD_VA_2.tar.gz", "dev_1.txt"),
    ]
    twice = hostile.tar_bytes([("dev_1.txt", usage), ("./dev_1.txt", usage)])
    with pytest.raises(archive.UnsafeArchiveError, match="duplicate name"):
        list(archive.read_members(twice, "t.tar"))


def test_inspect_reads_an_upload_archive_once(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """inspect names the archive as a whole and summarises its files from one walk."""
    usage = (SAMPLES / "usage-n9k-nxos-v1.xml").read_bytes()
    when = datetime(2026, 11, 3, tzinfo=UTC)
    va = cslu.tar_gz([("dev_1.txt", usage)], when)
    path = tmp_path / "up.tar.gz"
    path.write_bytes(cslu.tar_gz([("UD_VA_1.tar.gz", va)], when))
    walks: list[str] = []
    real = archive.read_members

    def counted(
        source: Path | bytes,
        name: str,
        limits: archive.Limits | None = None,
        *,
        levels: int | None = None,
    ) -> Iterator[archive.Member]:
        walks.append(name)
        return real(source, name, limits, levels=levels)

    monkeypatch.setattr(archive, "read_members", counted)
    run = cli("inspect", path, "--format", "json")
    assert run.code == 0, run.err
    assert walks == [str(path)]
    assert '"kind":"cslu-upload-archive"' in run.out.replace(" ", "")
