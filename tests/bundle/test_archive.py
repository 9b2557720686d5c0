"""Hostile archives are refused with exit 4 naming the member, and nothing reaches the disk;
a good archive validates exactly as its loose files do."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import py7zr
import pytest

from airgap import archive
from airgap.bundle import bag
from airgap.signing.minisign import SecretKey, Signature, blake2b_file
from tests.bundle import hostile
from tests.conftest import SAMPLES, Cli


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def refused(cli: Cli, path: Path, member: str, code: int = 4) -> str:
    """Validate and inspect ``path``; both exit ``code`` with one error line, naming
    ``member``; nothing new on disk."""
    before = files_under(path.parent) | files_under(Path.cwd())
    for command in ("validate", "inspect"):
        run = cli(command, path)
        assert run.code == code, (command, run)
        errors = [line for line in (run.out + run.err).splitlines() if "error:" in line]
        assert len(errors) == 1 and member in run.out + run.err, run
        assert "Traceback" not in run.err
    assert files_under(path.parent) | files_under(Path.cwd()) == before
    return run.out + run.err


Members = list[tarfile.TarInfo | tuple[str, bytes]]
CASES: dict[str, tuple[Members, str, str]] = {
    "dotdot": ([("../evil.xml", hostile.GOOD)], "../evil.xml", "'..'"),
    "absolute": ([("/etc/evil.xml", hostile.GOOD)], "/etc/evil.xml", "absolute"),
    "symlink": (
        [hostile.special("link.xml", tarfile.SYMTYPE, "/etc/passwd")],
        "link.xml",
        "symbolic link",
    ),
    "hardlink": (
        [("a.xml", hostile.GOOD), hostile.special("b.xml", tarfile.LNKTYPE, "a.xml")],
        "b.xml",
        "hard link",
    ),
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
    assert (
        run.code == 1
        and "error: corrupt archive: " in run.err
        and run.out.endswith("(1 problem)\n")
    )


def test_nested_members_are_named_outer_inner_member(tmp_path: Path, cli: Cli) -> None:
    inner = hostile.tar_bytes([("dev_1.xml", hostile.GOOD)])
    path = tmp_path / "UD_SA.tar.gz"
    path.write_bytes(
        hostile.tar_bytes([("manifest.mf", b"Manifest-Version: 1.0\n"), ("UD_VA.tar.gz", inner)])
    )
    run = cli("inspect", "--format", "json", path)
    assert run.code == 0, run
    assert [(r["path"], r["kind"]) for r in json.loads(run.out)["results"]] == [
        (str(path), "cslu-upload-archive"),
        (f"{path}!UD_VA.tar.gz!dev_1.xml", "usage"),
    ]
    assert f"skipped {path}!manifest.mf" in run.err


def test_tar_gz_of_samples_validates_like_the_loose_files(tmp_path: Path, cli: Cli) -> None:
    loose = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and "invalid" not in p.parts)
    members = [(str(p.relative_to(SAMPLES)), p.read_bytes()) for p in loose]
    path = tmp_path / "samples.tar.gz"
    path.write_bytes(hostile.tar_bytes(members))

    def results(target: Path, prefix: str) -> list[tuple[str, str | None, list[object]]]:
        run = cli("validate", "--format", "json", target, "--exclude", "invalid/*")
        assert run.code == 0, run.out
        return [
            (
                r["path"].removeprefix(prefix),
                r["kind"],
                [(f["rule"], f["line"], f["message"]) for f in r["findings"]],
            )
            for r in json.loads(run.out)["results"]
        ]

    from_loose = results(SAMPLES, f"{SAMPLES}/")
    assert len(from_loose) == len([p for p in loose if p.suffix == ".xml"])
    assert any(findings for _, _, findings in from_loose)
    assert results(path, f"{path}!") == from_loose


def test_7z_without_the_extra_names_the_install_command(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    path = hostile.seven_zip(tmp_path / "ok.7z", {"a.xml": hostile.GOOD})
    monkeypatch.setitem(sys.modules, "py7zr", None)
    run = cli("validate", path)
    assert run.code == 3 and "pip install 'airgap[7z]'" in run.out + run.err


BUNDLE_ID = "AG20261201-000000000000"
Builder = Callable[[Path], Path]


def _written(name: str, data: Callable[[], bytes]) -> Builder:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data())
        return path

    return build


def _seven_zip(name: str, offset: int | None = None, **options: Any) -> Builder:
    """A 7z of one file built with ``options``, damaged from ``offset`` when given."""

    def build(folder: Path) -> Path:
        path = hostile.seven_zip(
            folder / name, {f"{BUNDLE_ID}/data/a.xml": hostile.GOOD * 50}, **options
        )
        return path if offset is None else hostile.damaged(path, offset, 8)

    return build


def _truncated_7z(folder: Path) -> Path:
    path = _seven_zip("cut.7z")(folder)
    path.write_bytes(path.read_bytes()[:-40])
    return path


PPMD, DEFLATE, BZIP2 = (
    [{"id": py7zr.FILTER_PPMD}],
    [{"id": py7zr.FILTER_DEFLATE}],
    [{"id": py7zr.FILTER_BZIP2}],
)
# name: (builder, exit code, a pattern of what the one error line says)
HOSTILE: dict[str, tuple[Builder, int, str]] = {
    "pax-header-bomb": (
        _written("pax.tar.gz", hostile.pax_bomb),
        4,
        "an extended header of 188743",
    ),
    "gnu-long-name-bomb": (
        _written("long.tar.gz", hostile.gnu_long_name_bomb),
        4,
        "an extended header of 188743",
    ),
    "headers-past-the-budget": (
        _written("many.tar.gz", lambda: hostile.pax_headers_bomb(120, prefix=f"{BUNDLE_ID}/data/")),
        4,
        r"expands more than 100:1|more than \d+ bytes uncompressed",
    ),
    "header-chain": (
        _written("chain.tar.gz", lambda: hostile.extended_chain(400)),
        4,
        "more than 8 extended headers in a row",
    ),
    "corrupt-second-header": (
        _written(
            "second.tar.gz", lambda: hostile.corrupt_second_header(prefix=f"{BUNDLE_ID}/data/")
        ),
        1,
        "a damaged tar header",
    ),
    "corrupt-second-header-tar": (
        _written(
            "second.tar",
            lambda: hostile.corrupt_second_header(gz=False, prefix=f"{BUNDLE_ID}/data/"),
        ),
        1,
        "a damaged tar header",
    ),
    "negative-pax-size": (
        _written("neg.tar.gz", lambda: hostile.pax_member("size", "-5")),
        1,
        "PAX size '-5' is not a size",
    ),
    "non-numeric-pax-size": (
        _written("nan.tar", lambda: hostile.pax_member("size", "12abc", gz=False)),
        1,
        "PAX size '12abc' is not a size",
    ),
    "non-numeric-sparse-size": (
        _written("sparse-size.tar", lambda: hostile.pax_member("GNU.sparse.size", "x", gz=False)),
        1,
        "corrupt archive.*invalid literal",
    ),
    "too-many-pax-records": (
        _written(
            "records.tar.gz",
            lambda: hostile.pax_records(
                b"".join(hostile.pax_record(f"SCHILY.xattr.user.{n}", b"x") for n in range(80))
            ),
        ),
        4,
        "more than 64 PAX records",
    ),
    "gnu-sparse": (
        _written("sparse.tar", lambda: hostile.gnu_sparse(pax=False)),
        4,
        "a GNU sparse file",
    ),
    "gnu-sparse-map": (
        _written("map.tar", lambda: hostile.gnu_sparse(pax=True)),
        4,
        "a GNU sparse file",
    ),
    "7z-ppmd": (_seven_zip("ppmd.7z", filters=PPMD), 4, "7z data packed with PPMD"),
    "7z-ppmd-damaged": (_seven_zip("ppmd-bad.7z", 40, filters=PPMD), 4, "7z data packed with PPMD"),
    "7z-ppmd-header": (
        _seven_zip("ppmd-header.7z", header_filters=PPMD),
        4,
        "7z header packed with PPMD",
    ),
    "7z-encrypted-data": (_seven_zip("enc.7z", password="secret"), 4, "encrypted 7z data"),
    "7z-encrypted-header": (
        _seven_zip("henc.7z", password="secret", header_encryption=True),
        4,
        "encrypted 7z header",
    ),
    "7z-lzma2-damaged": (_seven_zip("lzma2.7z", 34), 1, "Corrupt input data"),
    "7z-deflate-damaged": (
        _seven_zip("deflate.7z", 34, filters=DEFLATE),
        1,
        "does not match its CRC",
    ),
    "7z-bzip2-damaged": (_seven_zip("bzip2.7z", 34, filters=BZIP2), 1, "Invalid data stream"),
    "7z-signature-header-damaged": (_seven_zip("start.7z", 12), 1, "invalid header data"),
    "7z-truncated": (_truncated_7z, 1, "corrupt archive"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_archive_is_refused_by_validate_and_inspect(
    case: str, tmp_path: Path, cli: Cli
) -> None:
    build, code, why = HOSTILE[case]
    path = build(tmp_path)
    assert re.search(why, refused(cli, path, str(path), code))


def signed(path: Path, folder: Path) -> Path:
    """Sign ``path`` as a bundle with a new key, as a trusted but careless sender would;
    the public key's path."""
    key = SecretKey.generate()
    public = folder / "sender.pub"
    public.write_text(key.public.text())
    comment = (
        f"timestamp:1795800000\tfile:{path.name}\tctx:{bag.BUNDLE_CTX}"
        f"\tbundle:{BUNDLE_ID}\tsize:{1 << 20}\tfiles:10"
    )
    signature = Signature.create(key, blake2b_file([path.read_bytes()]), comment)
    Path(f"{path}.minisig").write_text(signature.text())
    return public


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_archive_is_refused_by_bundle_verify(case: str, tmp_path: Path, cli: Cli) -> None:
    build, code, why = HOSTILE[case]
    (tmp_path / "medium").mkdir()
    path = build(tmp_path / "medium")
    public = signed(path, tmp_path)
    before = files_under(tmp_path)
    run = cli("bundle", "verify", path, "--trusted-key", public)
    assert run.code == code, run
    errors = [line for line in (run.out + run.err).splitlines() if "error:" in line]
    assert len(errors) == 1 and re.search(why, errors[0]), run
    assert "Traceback" not in run.err
    assert files_under(tmp_path) == before


PEAK = """import resource, subprocess, sys
run = subprocess.run(sys.argv[1:], capture_output=True)
print(run.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"""


@pytest.mark.parametrize(
    "case", ["pax-header-bomb", "gnu-long-name-bomb", "headers-past-the-budget"]
)
def test_refusing_a_header_bomb_keeps_memory_flat(case: str, tmp_path: Path) -> None:
    """Peak RSS of ``airgap validate`` in a process of its own: well under the 180 MiB one
    header holds (before the header cap, 580 MB; 350 MB for 120 headers of 1 MiB)."""
    build, code, _ = HOSTILE[case]
    path = build(tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", PEAK, sys.executable, "-m", "airgap", "validate", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    returncode, peak_kib = map(int, run.stdout.split())
    assert returncode == code
    assert peak_kib < 100 << 10, f"peak RSS {peak_kib} KiB"


def test_extended_headers_of_real_writers_are_read(tmp_path: Path, cli: Cli) -> None:
    """PAX (with a global header, as git archive writes) and GNU long names stay readable."""
    long_name = "d" * 120 + "/usage.xml"
    usage = (SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml").read_bytes()
    for form in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        path = tmp_path / f"long-{form}.tar.gz"
        with tarfile.open(path, "w:gz", format=form, pax_headers={"comment": "0123abcd"}) as tar:
            info = tarfile.TarInfo(long_name)
            info.size = len(usage)
            tar.addfile(info, io.BytesIO(usage))
        run = cli("validate", "--format", "json", path)
        assert run.code == 0, run
        assert [r["path"] for r in json.loads(run.out)["results"]] == [f"{path}!{long_name}"]


@pytest.mark.parametrize(
    "filters",
    [
        None,
        [{"id": py7zr.FILTER_LZMA2}],
        [{"id": py7zr.FILTER_LZMA}],
        DEFLATE,
        BZIP2,
        [{"id": py7zr.FILTER_COPY}],
    ],
    ids=["bcj-lzma2", "lzma2", "lzma", "deflate", "bzip2", "copy"],
)
def test_7z_of_every_trusted_coder_is_read(
    filters: list[dict[str, int]] | None, tmp_path: Path, cli: Cli
) -> None:
    usage = (SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml").read_bytes()
    path = hostile.seven_zip(tmp_path / "ok.7z", {"usage.xml": usage}, filters=filters)
    run = cli("validate", "--format", "json", path)
    assert run.code == 0, run
    assert [(r["path"], r["kind"]) for r in json.loads(run.out)["results"]] == [
        (f"{path}!usage.xml", "usage")
    ]


def test_7z_bundle_round_trips(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """bundle create --archive 7z, verify, extract: the payload comes back byte for byte;
    a flipped byte in the archive is a bad signature."""
    key = SecretKey.generate()
    (tmp_path / "op.key").write_text(key.text(None))
    (tmp_path / "op.key").chmod(0o600)  # a secret key others can read is refused
    (tmp_path / "op.pub").write_text(key.public.text())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795800000")
    payload = sorted(SAMPLES.glob("*.xml"))
    out = tmp_path / "out" / "usage.7z"
    run = cli(
        "bundle", "create", "--out", out, *payload, "--key", tmp_path / "op.key", "--archive", "7z"
    )
    assert run.code == 0, run
    assert out.read_bytes().startswith(archive.SEVEN_ZIP_MAGIC)
    trusted = ("--trusted-key", tmp_path / "op.pub")
    run = cli("bundle", "verify", out, *trusted)
    assert run.code == 0 and "verified" in run.out, run
    run = cli("bundle", "extract", "--no-scan-required", out, tmp_path / "in", *trusted)
    assert run.code == 0, run
    assert {p.name: p.read_bytes() for p in (tmp_path / "in" / "data").iterdir()} == {
        p.name: p.read_bytes() for p in payload
    }
    hostile.damaged(out, 100, 1)
    run = cli("bundle", "verify", out, *trusted)
    assert run.code == 4 and "signature" in run.out + run.err, run


def test_a_packed_7z_header_is_capped_before_py7zr_decodes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = hostile.seven_zip(tmp_path / "ok.7z", {"a.xml": hostile.GOOD})
    assert [m.path for m in archive.read_members(path, "ok.7z")] == ["ok.7z!a.xml"]
    monkeypatch.setattr(archive, "MAX_7Z_HEADER", 16)
    with pytest.raises(archive.UnsafeArchiveError, match=r"a 7z header of \d+ bytes"):
        list(archive.read_members(path, "ok.7z"))
