"""``airgap cslu pack/unpack`` through the real CLI: exit codes, stdout and stderr apart, and
nothing written where it should not be."""

from __future__ import annotations

import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airgap.formats import cslu
from tests.bundle import hostile
from tests.conftest import SAMPLES, Cli

USAGE = sorted(SAMPLES.glob("usage-*.xml"))
ACK = SAMPLES / "ack-c8000v.xml"
EPOCH = "1793800000"
Members = list[tarfile.TarInfo | tuple[str, bytes]]


def tree(path: Path) -> dict[str, bytes | None]:
    """Every path under ``path`` with its bytes (None for folders)."""
    return {
        str(p.relative_to(path)): None if p.is_dir() else p.read_bytes()
        for p in sorted(path.rglob("*"))
    }


def packed(cli: Cli, tmp_path: Path, *args: str | Path) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / "upload.tar.gz"
    run = cli("cslu", "pack", "--out", out, *USAGE, "--format", "json", *args)
    assert run.code == 0, run
    result = json.loads(run.out)
    assert result["command"] == "cslu pack" and result["ok"] is True
    return out, result["results"][0]


def test_help_names_the_source_of_the_layout(cli: Cli) -> None:
    for command in (("cslu",), ("cslu", "pack"), ("cslu", "unpack")):
        run = cli(*command, "--help")
        assert run.code == 0
        text = " ".join(run.out.split())
        assert (
            "This layout follows Cisco's published sample code "
            "(CiscoDevNet/xe-sip-api-code); no real CSLU archive is public."
        ) in text
    assert "Example: airgap cslu pack" in " ".join(cli("cslu", "pack", "--help").out.split())
    assert "Example: airgap cslu unpack" in cli("cslu", "unpack", "--help").out


def test_pack_then_unpack_gives_byte_identical_usage_files(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out, result = packed(
        cli, tmp_path, "--virtual-account", "WAN-EDGE", "--smart-account", "Example Industrial Inc"
    )
    stamp = cslu.timestamp(datetime.fromtimestamp(int(EPOCH), UTC))
    assert result["name"] == f"UD_SA_{stamp}.tar.gz" and result["kind"] == cslu.UPLOAD
    assert result["manifest"]["smart_account"] == "Example Industrial Inc"
    dest = tmp_path / "dest"
    run = cli("cslu", "unpack", out, dest)
    assert run.code == 0, run
    for item in result["files"]:
        target = dest / item["member"].replace(".tar.gz", "")
        assert target.read_bytes() == Path(item["source"]).read_bytes()
        udi = item["udis"][0]
        assert f"{item['member']}: usage; UDI {udi['pid']} {udi['sn']}; VA WAN-EDGE" in run.out
    assert "manifest.mf: manifest" in run.out
    assert run.err == ""


def test_the_same_inputs_and_epoch_give_the_same_bytes(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    assert cli("cslu", "pack", "--out", first, *USAGE, "--virtual-account", "VA").code == 0
    assert (
        cli("cslu", "pack", "--out", second, *reversed(USAGE), "--virtual-account", "VA").code == 0
    )
    assert first.read_bytes() == second.read_bytes()


def test_out_as_a_folder_gets_the_cslu_name(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    run = cli("cslu", "pack", "--out", tmp_path, USAGE[0])
    assert run.code == 0, run
    (archive,) = tmp_path.glob("UD_SA_*.tar.gz")
    assert run.out.startswith(f"{archive}: cslu-upload-archive, 1 usage file in 1 virtual")


def test_accounts_map_with_two_virtual_accounts(cli: Cli, tmp_path: Path) -> None:
    accounts = tmp_path / "map.csv"
    rows = [f"{p.name},{'CAMPUS' if 'c9' in p.name else 'WAN'}" for p in USAGE]
    accounts.write_text("file,virtual_account\n" + "\n".join(rows) + "\nother.xml,LAB\n")
    out, result = packed(cli, tmp_path, "--accounts", accounts)
    entries = result["manifest"]["entries"]
    assert [e["virtual_account"] for e in entries] == ["CAMPUS", "WAN"]
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert names == ["manifest.mf", *(e["name"] for e in entries)]
    for item in result["files"]:
        expected = "CAMPUS" if "c9" in Path(item["source"]).name else "WAN"
        assert item["virtual_account"] == expected
    run = cli("cslu", "unpack", "--format", "json", out, tmp_path / "dest")
    assert run.code == 0, run
    document = json.loads(run.out)
    assert document["kind"] == cslu.UPLOAD and document["dest"] == str(tmp_path / "dest")
    assert {r["virtual_account"] for r in document["results"]} == {None, "CAMPUS", "WAN"}


def test_accounts_map_rows_by_path(cli: Cli, tmp_path: Path) -> None:
    accounts = tmp_path / "map.csv"
    accounts.write_text("".join(f"{p},VA{n}\n" for n, p in enumerate(USAGE)))
    run = cli("cslu", "pack", "--out", tmp_path / "up.tar.gz", *USAGE, "--accounts", accounts)
    assert run.code == 0, run
    assert run.err == ""


def test_a_file_missing_from_the_map_is_an_error(cli: Cli, tmp_path: Path) -> None:
    accounts = tmp_path / "map.csv"
    accounts.write_text(f"{USAGE[0].name},WAN\n")
    out = tmp_path / "up.tar.gz"
    run = cli("cslu", "pack", "--out", out, *USAGE[:2], "--accounts", accounts)
    assert run.code == 3
    assert f"error: cannot pack: {USAGE[1]} - no row for it in {accounts}" in run.err
    assert not out.exists()


def test_virtual_account_and_accounts_together_are_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    accounts = tmp_path / "map.csv"
    accounts.write_text("a,b\n")
    run = cli(
        "cslu",
        "pack",
        "--out",
        tmp_path / "o",
        USAGE[0],
        "--accounts",
        accounts,
        "--virtual-account",
        "X",
    )
    assert run.code == 2


@pytest.mark.parametrize(
    ("path", "code", "why"),
    [
        (ACK, 3, "an import file, not a usage file"),
        (SAMPLES / "invalid" / "not-xml.xml", 1, "not well-formed XML"),
        (SAMPLES / "invalid" / "empty-file.xml", 3, "empty file"),
        (SAMPLES / "nothing.xml", 3, "no such file"),
        (SAMPLES, 3, "a folder"),
    ],
)
def test_a_file_that_is_not_a_usage_file_is_refused(
    cli: Cli, tmp_path: Path, path: Path, code: int, why: str
) -> None:
    out = tmp_path / "up.tar.gz"
    run = cli("cslu", "pack", "--out", out, USAGE[0], path)
    assert run.code == code, run
    (line, *_) = run.err.splitlines()
    assert line.startswith(f"error: cannot pack: {path} - ") and why in line
    assert "Traceback" not in run.err
    assert not out.exists() and list(tmp_path.iterdir()) == []
    run = cli("cslu", "pack", "--format", "json", "--out", out, USAGE[0], path)
    assert json.loads(run.out)["error"]["exit_code"] == code


def test_out_is_not_overwritten_without_force(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "up.tar.gz"
    out.write_bytes(b"mine")
    run = cli("cslu", "pack", "--out", out, USAGE[0])
    assert run.code == 3 and "it exists (use --force)" in run.err
    assert out.read_bytes() == b"mine"
    assert cli("cslu", "pack", "--out", out, USAGE[0], "--force").code == 0
    assert cslu.detect(out.read_bytes()) == cslu.UPLOAD


def test_unpack_of_an_ack_archive_reports_the_udis(cli: Cli, tmp_path: Path) -> None:
    archive = tmp_path / "ACK_UD_SA.tar.gz"
    archive.write_bytes(
        cslu.ack_archive(
            {"UD_VA_1.tar.gz": [("dev_1_x.txt", ACK.read_bytes())]},
            when=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    run = cli("cslu", "unpack", archive, tmp_path / "acks")
    assert run.code == 0, run
    assert (
        "ACK_UD_VA_1.tar.gz/ACK_dev_1_x.txt: import; UDI C8000V 9KQW3TZ7R2M; "
        "UDI (inferred) C8000V 9KQW3TZ7R2M; answers dev_1_x.txt"
    ) in run.out
    assert run.out.startswith(f"{archive}: cssm-ack-archive, 1 file")
    assert (tmp_path / "acks" / "ACK_UD_VA_1" / "ACK_dev_1_x.txt").read_bytes() == ACK.read_bytes()
    run = cli("cslu", "unpack", "--format", "json", archive, tmp_path / "again")
    (result,) = json.loads(run.out)["results"]
    assert result["udis"] == [{"pid": "C8000V", "sn": "9KQW3TZ7R2M"}]
    assert result["udis_inferred"] == result["udis"]
    assert result["written_to"] == str(tmp_path / "again" / "ACK_UD_VA_1" / "ACK_dev_1_x.txt")


HOSTILE: dict[str, Members] = {
    "dotdot": [("../evil.txt", b"x")],
    "absolute": [("/tmp/evil.txt", b"x")],
    "symlink": [hostile.special("link.txt", tarfile.SYMTYPE, "/etc/passwd")],
    "late-dotdot": [
        ("dev_1.txt", (SAMPLES / "usage-n9k-nxos-v1.xml").read_bytes()),
        ("../../evil.txt", b"x"),
    ],
}


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("dest_exists", [False, True], ids=["new-dest", "existing-dest"])
def test_a_hostile_nested_archive_is_refused_and_nothing_is_written(
    case: str, dest_exists: bool, cli: Cli, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    archive = tmp_path / "UD_SA_x.tar.gz"
    archive.write_bytes(
        hostile.tar_bytes(
            [
                ("manifest.mf", b"Manifest-Version: 1.0\n"),
                ("UD_VA_x.tar.gz", hostile.tar_bytes(HOSTILE[case])),
            ]
        )
    )
    dest = work / "dest"
    if dest_exists:
        dest.mkdir()
        (dest / "kept.txt").write_bytes(b"kept")
    before = tree(tmp_path)
    run = cli("cslu", "unpack", archive, dest)
    assert run.code == 4, run
    assert run.err.startswith(f"error: unsafe archive member: {archive}!UD_VA_x.tar.gz!")
    assert "Traceback" not in run.err
    assert tree(tmp_path) == before
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_a_gzip_bomb_inside_is_refused_and_nothing_is_written(cli: Cli, tmp_path: Path) -> None:
    archive = tmp_path / "UD_SA_x.tar.gz"
    archive.write_bytes(hostile.tar_bytes([("UD_VA_x.tar.gz", hostile.gzip_bomb(256 << 20))]))
    before = tree(tmp_path)
    run = cli("cslu", "unpack", archive, tmp_path / "dest")
    assert run.code == 4, run
    assert "compression bomb" in run.err
    assert tree(tmp_path) == before


def test_existing_files_in_dest_are_not_overwritten_without_force(cli: Cli, tmp_path: Path) -> None:
    out, result = packed(cli, tmp_path, "--virtual-account", "VA")
    dest = tmp_path / "dest"
    assert cli("cslu", "unpack", out, dest).code == 0
    member = result["files"][1]["member"]
    target = dest / member.replace(".tar.gz", "")
    target.write_bytes(b"operator's own copy")
    before = tree(dest)
    run = cli("cslu", "unpack", out, dest)
    assert run.code == 3
    assert run.err.startswith("error: refusing to overwrite: ") and "use --force" in run.err
    assert tree(dest) == before
    run = cli("cslu", "unpack", out, dest, "--force")
    assert run.code == 0, run
    assert target.read_bytes() == Path(result["files"][1]["source"]).read_bytes()


@pytest.mark.parametrize(
    ("content", "code", "why"),
    [
        (None, 3, "no such file"),
        (b"<smartLicense/>", 3, "not an archive"),
        (hostile.tar_bytes([("a.xml", b"<smartLicense/>")]), 3, "neither a CSLU upload"),
        (
            hostile.tar_bytes([("UD_VA_1.tar.gz", hostile.tar_bytes([("a", bytes(5000))]))])[:120],
            1,
            "corrupt archive",
        ),
    ],
)
def test_unpack_errors_are_one_line_with_their_exit_code(
    cli: Cli, tmp_path: Path, content: bytes | None, code: int, why: str
) -> None:
    archive = tmp_path / "in.tar.gz"
    if content is not None:
        archive.write_bytes(content)
    run = cli("cslu", "unpack", archive, tmp_path / "dest")
    assert run.code == code, run
    assert run.err.splitlines()[0].startswith("error: ") and why in run.err
    assert str(archive) in run.err.splitlines()[0]
    assert not (tmp_path / "dest").exists()


def test_a_broken_usage_file_inside_is_written_and_exits_1(cli: Cli, tmp_path: Path) -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    va = cslu.tar_gz([("dev_1.txt", b"<smartLicense><RUMReport>")], when)
    archive = tmp_path / "UD_SA.tar.gz"
    archive.write_bytes(cslu.tar_gz([("UD_VA_1.tar.gz", va)], when))
    run = cli("cslu", "unpack", archive, tmp_path / "dest")
    assert run.code == 1, run
    assert "error: line 1: " in run.err and f"{archive}!UD_VA_1.tar.gz!dev_1.txt" in run.err
    assert "note: no manifest.mf" in run.err
    assert (tmp_path / "dest" / "UD_VA_1" / "dev_1.txt").exists()
