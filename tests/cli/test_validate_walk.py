"""Folder, archive and hook walks never hide a licensing file, and every command gives a file
the same verdict: an empty, UTF-16 or unknown-root file meant to be a licensing file is a
finding (exit 1) wherever it is met; only what is plainly something else is skipped."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.bundle import hostile
from tests.conftest import ROOT, SAMPLES, Cli

GOOD = SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def encoded(codec: str) -> bytes:
    """The good usage file as a Windows editor or copy step might re-encode it."""
    return GOOD.read_text(encoding="utf-8").encode(codec)


# name -> (bytes, the rule every command must give)
BROKEN = {
    "usage-x.xml": (b"", "empty-file"),
    "usage-ws.txt": (b"  \n\t\r\n", "empty-file"),
    "ACK_dev_1_20260101.txt": (b"", "empty-file"),
    "other.xml": (b"<licenseReport/>", "unknown-root"),
    "no-extension": (b"<?xml version='1.0'?>\n<deviceReport/>", "unknown-root"),
    "foreign.xml": (b"<smartLicense><x:part xmlns:x='urn:other'/></smartLicense>", "unknown-root"),
    "xinclude.xml": (
        b"<smartLicense xmlns:xi='http://www.w3.org/2001/XInclude'>"
        b"<xi:include href='/etc/hostname' parse='text'/></smartLicense>",
        "unknown-root",
    ),
    "doctype-only": (b"<!DOCTYPE report SYSTEM 'x.dtd'><report/>", "doctype"),
    "usage16.xml": (encoded("utf-16"), "encoding"),
    "dev_2_20260101": (encoded("utf-16-be"), "encoding"),
    "usage32.txt": (encoded("utf-32"), "encoding"),
}
PLAIN = {
    "notes.txt": b"remember to export the usage file\n",
    "diagram.png": PNG,
    "usage-chart.png": PNG,
    "empty.md": b"",
}


def folder(tmp_path: Path, name: str | None = None) -> Path:
    """A good usage file, plain text and an image, and the broken file ``name`` if given."""
    top = tmp_path / "files"
    top.mkdir()
    (top / GOOD.name).write_bytes(GOOD.read_bytes())
    for plain, data in PLAIN.items():
        (top / plain).write_bytes(data)
    if name is not None:
        (top / name).write_bytes(BROKEN[name][0])
    return top


def finding_lines(out: str, path: str, rule: str) -> list[str]:
    return [
        line
        for line in out.splitlines()
        if line.startswith(path) and line.endswith(f"[{rule}]") and ": error: " in line
    ]


def assert_plain_files_noted(err: str, top: Path) -> None:
    for plain in PLAIN:
        assert f"note: skipped {top / plain}: not a licensing file" in err


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_validate_folder_reports_a_broken_licensing_file(
    name: str, tmp_path: Path, cli: Cli
) -> None:
    top = folder(tmp_path, name)
    run = cli("validate", top)
    assert run.code == 1, run
    assert len(finding_lines(run.out, str(top / name), BROKEN[name][1])) == 1, run.out
    assert "2 files validated: 1 invalid" in run.out and "(4 files skipped)" in run.out
    assert_plain_files_noted(run.err, top)
    doc = json.loads(cli("validate", "--format", "json", top).out)
    assert doc["ok"] is False
    broken = [r for r in doc["results"] if r["path"] == str(top / name)]
    assert [f["rule"] for f in broken[0]["findings"]] == [BROKEN[name][1]]
    assert sorted(s["path"] for s in doc["skipped"]) == sorted(str(top / p) for p in PLAIN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_validate_archive_member_is_a_finding(name: str, tmp_path: Path, cli: Cli) -> None:
    archive = tmp_path / "usage.tar.gz"
    archive.write_bytes(
        hostile.tar_bytes(
            [
                ("usage/" + GOOD.name, GOOD.read_bytes()),
                (f"usage/{name}", BROKEN[name][0]),
                *((f"usage/{p}", data) for p, data in PLAIN.items()),
            ]
        )
    )
    run = cli("validate", archive)
    assert run.code == 1, run
    assert len(finding_lines(run.out, f"{archive}!usage/{name}", BROKEN[name][1])) == 1, run.out
    for plain in PLAIN:
        assert f"note: skipped {archive}!usage/{plain}: not a licensing file" in run.err


def hook(hook_id: str) -> tuple[list[str], str]:
    """The entry of a hook in .pre-commit-hooks.yaml, as arguments, and its whole block."""
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    block = text.split(f"- id: {hook_id}\n", 1)[1].split("\n- id: ", 1)[0]
    entry = re.search(r"^\s*entry: (.+)$", block, re.MULTILINE)
    assert entry
    return shlex.split(entry[1]), block


def test_pre_commit_hook_does_not_filter_by_type_tags() -> None:
    # pre-commit tags a UTF-16 file with no extension as binary: a text-only filter would
    # never pass it to airgap, and the hook would pass. The hook goes by name alone
    # (tests/test_docs.py checks its patterns against airgap's own).
    _, block = hook("airgap-validate")
    assert not re.search(r"^\s*types(_or)?:", block, re.MULTILINE)
    files = re.search(r"^\s*files: (.+)$", block, re.MULTILINE)
    assert files and re.search(files[1], "licensing/usage_FCW2437L0TZ")


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_pre_commit_path_reports_a_broken_licensing_file(
    name: str, tmp_path: Path, cli: Cli
) -> None:
    entry, _ = hook("airgap-validate")
    assert entry[:2] == ["airgap", "validate"]
    top = folder(tmp_path, name)
    files = sorted(top.iterdir())  # pre-commit names each file that changed
    run = cli(*entry[1:], *files)
    assert run.code == 1, run
    assert len(finding_lines(run.out, str(top / name), BROKEN[name][1])) == 1, run.out
    assert_plain_files_noted(run.err, top)
    clean = cli(*entry[1:], *(f for f in files if f.name != name))
    assert clean.code == 0, clean
    assert_plain_files_noted(clean.err, top)


def test_hook_exclude_patterns_apply_to_named_files(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry, _ = hook("airgap-validate")
    monkeypatch.chdir(tmp_path)
    Path("pom.xml").write_bytes(b"<project/>")
    run = cli(*entry[1:], "pom.xml")
    assert run.code == 1 and "[unknown-root]" in run.out
    Path("airgap.toml").write_text('exclude = ["pom.xml"]\n')
    assert cli(*entry[1:], "pom.xml").code == 0


def test_plain_files_in_a_folder_are_still_skipped_with_a_note(tmp_path: Path, cli: Cli) -> None:
    top = folder(tmp_path)
    run = cli("validate", top)
    assert run.code == 0, run
    assert run.out.splitlines()[-1] == (
        "1 file validated: 0 invalid, 0 errors, 0 warnings (4 files skipped)"
    )
    assert_plain_files_noted(run.err, top)
    assert "binary, not XML" in run.err and "text, not XML" in run.err


@pytest.mark.parametrize("name", ["notes.txt", "diagram.png"])
def test_a_named_plain_file_is_of_no_kind_for_validate_and_inspect(
    name: str, tmp_path: Path, cli: Cli
) -> None:
    path = folder(tmp_path) / name
    for command in ("validate", "inspect"):
        run = cli(command, path)
        assert run.code == 3, (command, run)
        assert "no kind airgap knows" in run.out + run.err and "Traceback" not in run.err


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_inspect_gives_the_verdict_validate_gives(name: str, tmp_path: Path, cli: Cli) -> None:
    top = folder(tmp_path, name)
    rule = BROKEN[name][1]
    for target in (top / name, top):
        run = cli("inspect", target)
        assert run.code == 1, (target, run)
        (line,) = [e for e in run.err.splitlines() if e.startswith("error: ")]
        assert line.endswith(f" [{rule}]: {top / name}")
    doc = json.loads(cli("inspect", "--format", "json", top / name).out)
    assert doc["ok"] is False and doc["results"][0]["rule"] == rule


@pytest.fixture
def key(tmp_path: Path) -> Path:
    from airgap.signing.minisign import SecretKey

    path = tmp_path / "op.key"
    path.write_text(SecretKey.generate().text(None))
    path.chmod(0o600)  # a secret key others can read is refused
    return path


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_bundle_create_fails_naming_a_broken_licensing_file(
    name: str, tmp_path: Path, cli: Cli, key: Path
) -> None:
    top = folder(tmp_path, name)
    out = tmp_path / "out.tar.gz"
    run = cli("bundle", "create", "--out", out, top, "--key", key)
    assert run.code == 1, run
    assert len(finding_lines(run.err, str(top / name), BROKEN[name][1])) == 1, run.err
    assert "error: refusing to bundle invalid files" in run.err
    assert not out.exists() and not Path(f"{out}.minisig").exists()


def test_bundle_create_carries_every_licensing_file_and_names_what_it_leaves_out(
    tmp_path: Path, cli: Cli, key: Path
) -> None:
    top = folder(tmp_path)
    out = tmp_path / "out.tar.gz"
    run = cli("bundle", "create", "--format", "json", out, top, "--key", key)
    assert run.code == 0, run
    assert json.loads(run.out)["results"][0]["files"] == 1
    for plain in PLAIN:
        assert f"note: left out {top / plain}" in run.err


def test_bundle_create_refuses_a_link_in_a_folder(tmp_path: Path, cli: Cli, key: Path) -> None:
    top = folder(tmp_path)
    (top / "usage-link.xml").symlink_to(GOOD)
    out = tmp_path / "out.tar.gz"
    run = cli("bundle", "create", "--out", out, top, "--key", key)
    assert run.code == 3, run
    assert run.err.startswith(f"error: cannot bundle: {top / 'usage-link.xml'} - a symbolic link")
    assert not out.exists()


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_a_wide_usage_file_gets_one_answer_everywhere(
    codec: str, tmp_path: Path, cli: Cli, key: Path
) -> None:
    path = tmp_path / "files" / "router1.xml"
    path.parent.mkdir()
    path.write_bytes(encoded(codec))
    for target in (path, path.parent):
        run = cli("validate", target)
        assert run.code == 1 and len(finding_lines(run.out, str(path), "encoding")) == 1, run
        run = cli("inspect", target)
        assert run.code == 1 and run.err.rstrip().endswith(f"[encoding]: {path}"), run
        run = cli("bundle", "create", "--out", tmp_path / "b.tar.gz", target, "--key", key)
        assert run.code == 1 and len(finding_lines(run.err, str(path), "encoding")) == 1, run
    assert not (tmp_path / "b.tar.gz").exists()


def test_a_cisco_named_unknown_part_is_still_an_import_with_a_warning(
    tmp_path: Path, cli: Cli
) -> None:
    # Trust-code and conversion ACK element names are not public (FORMATS.md): a part named
    # like Cisco's own is kept and warned about; only foreign ones make no licensing file.
    path = tmp_path / "ACK_trust.xml"
    path.write_bytes(b"<smartLicense><smartLicenseTrustCode/></smartLicense>")
    run = cli("validate", path)
    assert run.code == 0 and "[unknown-part]" in run.out, run
    assert json.loads(cli("inspect", "--format", "json", path).out)["results"][0]["kind"] == (
        "import"
    )


@pytest.mark.parametrize("name", ["usage-x.xml", "usage-ws.txt", "usage16.xml"])
def test_reconcile_reports_a_broken_usage_file(name: str, tmp_path: Path, cli: Cli) -> None:
    top = folder(tmp_path, name)
    run = cli("reconcile", top)
    assert run.code == 1, run
    assert f": {top / name}" in run.err and "Traceback" not in run.err


def test_a_folder_with_nothing_to_check_is_exit_3(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    run = cli("validate", empty)
    assert run.code == 3 and run.out == ""
    assert f"nothing to check: {empty}" in run.err and "Traceback" not in run.err
    (empty / "notes.txt").write_text("plain notes\n")
    run = cli("validate", empty)
    assert run.code == 3 and "1 skipped" in run.err and "notes.txt" in run.err


def test_named_files_all_skipped_stay_exit_0(cli: Cli, tmp_path: Path) -> None:
    """What a pre-commit hook may give: named files, none a licensing file."""
    (tmp_path / "notes.txt").write_text("plain notes\n")
    run = cli("validate", tmp_path / "notes.txt", "--skip-unknown")
    assert run.code == 0 and "1 file skipped" in run.out
