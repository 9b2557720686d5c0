"""Hostile archives are refused with exit 4 naming the member, and nothing reaches the disk;
a good archive validates exactly as its loose files do."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from airgap.bundle import archive
from tests.bundle import hostile
from tests.conftest import SAMPLES, Cli


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def refused(cli: Cli, path: Path, member: str) -> str:
    """Validate and inspect ``path``; both exit 4 naming ``member``; nothing new on disk."""
    before = files_under(path.parent) | files_under(Path.cwd())
    for command in ("validate", "inspect"):
        run = cli(command, path)
        assert run.code == 4, (command, run)
        assert member in run.out + run.err, run
        assert "Traceback" not in run.err
    assert files_under(path.parent) | files_under(Path.cwd()) == before
    return run.out + run.err


Members = list[tarfile.TarInfo | tuple[str, bytes]]
CASES: dict[str, tuple[Members, str, str]] = {
    "dotdot": ([("../evil.xml", hostile.GOOD)], "../evil.xml", "'..'"),
    "absolute": ([("/etc/evil.xml", hostile.GOOD)], "/etc/evil.xml", "absolute"),
    "symlink": ([hostile.special("link.xml", tarfile.SYMTYPE, "/etc/passwd")], "link.xml",
                "symbolic link"),
    "hardlink": ([("a.xml", hostile.GOOD), hostile.special("b.xml", tarfile.LNKTYPE, "a.xml")],
                 "b.xml", "hard link"),
    "device": ([hostile.special("dev.xml", tarfile.CHRTYPE)], "dev.xml", "device"),
    "fifo": ([hostile.special("fifo.xml", tarfile.FIFOTYPE)], "fifo.xml", "FIFO"),
    "duplicate": ([("a.xml", hostile.GOOD), ("./a.xml", hostile.GOOD)], "a.xml", "duplicate"),
    "control": ([("a\nb.xml", hostile.GOOD)], "a\\nb.xml", "control"),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("gz", [True, False], ids=["tar.gz", "tar"])
def test_unsafe_member_is_refused(case: str, gz: bool, tmp_path: Path, cli: Cli) -> None:
    members, name, why = CASES[case]
    path = tmp_path / ("upload.tar.gz" if gz else "upload.tar")
    path.write_bytes(hostile.tar_bytes(members, gz=gz))
    output = refused(cli, path, f"{path}!{name}")
    assert why in output


@pytest.fixture(scope="module")
def gzip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.tar.gz"
    path.write_bytes(hostile.gzip_bomb())
    return path


def test_gzip_bomb_of_2_gib_is_refused(gzip_bomb: Path, cli: Cli) -> None:
    output = refused(cli, gzip_bomb, f"{gzip_bomb}!zeros.xml")
    assert "budget" in output


def test_gzip_bomb_hiding_its_size_is_caught_by_the_ratio(tmp_path: Path) -> None:
    path = tmp_path / "many.tar.gz"
    path.write_bytes(hostile.gzip_bomb_undeclared())
    with pytest.raises(archive.UnsafeArchiveError, match="expands more than"):
        list(archive.read_members(path, str(path)))


def test_7z_bomb_is_refused(tmp_path: Path, cli: Cli) -> None:
    path = hostile.seven_zip(tmp_path / "bomb.7z", {"zeros.xml": bytes(256 << 20)})
    output = refused(cli, path, str(path))
    assert "compression bomb" in output


def test_7z_unsafe_names_are_refused(tmp_path: Path, cli: Cli) -> None:
    path = hostile.seven_zip(tmp_path / "dup.7z", {"a.xml": hostile.GOOD, "./a.xml": b"x"})
    refused(cli, path, f"{path}!")


def test_nesting_deeper_than_the_limit_is_refused(tmp_path: Path, cli: Cli) -> None:
    depth = archive.Limits().depth
    ok = tmp_path / "ok.tar.gz"
    ok.write_bytes(hostile.nested(depth))
    assert cli("inspect", ok).code == 0
    deep = tmp_path / "deep.tar.gz"
    deep.write_bytes(hostile.nested(depth + 1))
    output = refused(cli, deep, f"{deep}!level{depth - 1}.tar.gz!level{depth - 2}.tar.gz")
    assert "nested deeper" in output


def test_corrupt_archive_is_exit_1(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(hostile.tar_bytes([("a.xml", os.urandom(4096))])[:300])
    run = cli("validate", path)
    assert run.code == 1 and "corrupt archive" in run.out


def test_nested_members_are_named_outer_inner_member(tmp_path: Path, cli: Cli) -> None:
    inner = hostile.tar_bytes([("dev_1.xml", hostile.GOOD)])
    path = tmp_path / "UD_SA.tar.gz"
    path.write_bytes(hostile.tar_bytes([("manifest.mf", b"Manifest-Version: 1.0\n"),
                                        ("UD_VA.tar.gz", inner)]))
    run = cli("inspect", "--format", "json", path)
    assert run.code == 0, run
    assert [(r["path"], r["kind"]) for r in json.loads(run.out)["results"]] == [
        (str(path), "cslu-upload-archive"), (f"{path}!UD_VA.tar.gz!dev_1.xml", "usage")]
    assert f"skipped {path}!manifest.mf" in run.err


def test_tar_gz_of_samples_validates_like_the_loose_files(tmp_path: Path, cli: Cli) -> None:
    loose = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and "invalid" not in p.parts)
    members = [(str(p.relative_to(SAMPLES)), p.read_bytes()) for p in loose]
    path = tmp_path / "samples.tar.gz"
    path.write_bytes(hostile.tar_bytes(members))

    def results(target: Path, prefix: str) -> list[tuple[str, str | None, list[object]]]:
        run = cli("validate", "--format", "json", target, "--exclude", "invalid/*")
        assert run.code == 0, run.out
        return [(r["path"].removeprefix(prefix), r["kind"],
                 [(f["rule"], f["line"], f["message"]) for f in r["findings"]])
                for r in json.loads(run.out)["results"]]

    from_loose = results(SAMPLES, f"{SAMPLES}/")
    assert len(from_loose) == len([p for p in loose if p.suffix == ".xml"])
    assert any(findings for _, _, findings in from_loose)
    assert results(path, f"{path}!") == from_loose


def test_7z_without_the_extra_names_the_install_command(tmp_path: Path, cli: Cli,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    path = hostile.seven_zip(tmp_path / "ok.7z", {"a.xml": hostile.GOOD})
    monkeypatch.setitem(sys.modules, "py7zr", None)
    run = cli("validate", path)
    assert run.code == 3 and "pip install 'airgap[7z]'" in run.out + run.err
