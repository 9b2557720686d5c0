"""Hostile names and paths, built in tmp_path: names that are not UTF-8 or hold control
characters are shown and written escaped; an operating-system error on a named path is exit 3
with one line, for every command that meets it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from tests.bundle.hostile import tar_bytes
from tests.conftest import SAMPLES, Cli, Run, nested, unnested

VALID = (SAMPLES / "usage-n9k-nxos-v1.xml").read_bytes()
INVALID = (SAMPLES / "invalid" / "not-xml.xml").read_bytes()

# A name as the file system has it -> how airgap shows and writes it.
NAMES = {
    b"bad\xff\xfe.xml": "bad\\xff\\xfe.xml",
    b"\x1b[2K\x1b[1Aok.xml": "\\x1b[2K\\x1b[1Aok.xml",
    b"invoice\xe2\x80\xaelmx.xml": "invoice\\u202elmx.xml",
    b"two\nlines: ok.xml": "two\\x0alines: ok.xml",
}
SCREEN_CHANGERS = ("\x1b", "\u202e", "\n\n")


def hostile_folder(tmp_path: Path) -> Path:
    """A folder holding each hostile name, the first valid and the others invalid, written
    by their bytes."""
    folder = tmp_path / "names"
    folder.mkdir()
    for index, name in enumerate(NAMES):
        with open(os.fsencode(folder) + b"/" + name, "wb") as handle:
            handle.write(VALID if index == 0 else INVALID)
    return folder


def assert_harmless(run: Run) -> None:
    """Nothing in the output can rewrite a screen, forge a line, or fail to encode."""
    assert run.code in (0, 1), (run.code, run.err)
    assert "Traceback" not in run.err and "internal error" not in run.err
    for text in (run.out, run.err):
        text.encode("utf-8")  # no lone surrogate reached the stream
        assert not any(c in text for c in SCREEN_CHANGERS[:2]), text


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["validate", "--format", "json"],
        ["validate", "--format", "github"],
        ["inspect"],
        ["inspect", "--format", "json"],
        ["state"],
        ["state", "--format", "json"],
        ["media", "scan"],
        ["media", "scan", "--format", "json"],
        ["reconcile"],
        ["deadlines"],
    ],
    ids=" ".join,
)
def test_hostile_names_are_shown_escaped(args: list[str], tmp_path: Path, cli: Cli) -> None:
    folder = hostile_folder(tmp_path)
    run = cli(*args, folder)
    assert_harmless(run)
    if "--format" in args and "json" in args:
        document = json.loads(run.out)
        assert document["ok"] is (run.code == 0)
    if args[0] in ("validate", "inspect", "media"):  # validate lists the invalid ones
        names = list(NAMES.values())[args[0] == "validate" :]
        shown = (run.out + run.err).replace("\\\\", "\\")  # JSON doubles each backslash
        assert all(name in shown for name in names), shown


def test_sarif_quotes_the_bytes_and_junit_stays_well_formed(tmp_path: Path, cli: Cli) -> None:
    folder = hostile_folder(tmp_path)
    sarif = cli("validate", "--format", "sarif", folder)
    assert_harmless(sarif)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in json.loads(sarif.out)["runs"][0]["results"]
    }
    assert f"{folder}/%1B%5B2K%1B%5B1Aok.xml" in uris and f"{folder}/two%0Alines:%20ok.xml" in uris
    junit = cli("validate", "--format", "junit", folder)
    assert_harmless(junit)
    names = [case.get("name") for case in etree.fromstring(junit.out.encode()).iter("testcase")]
    assert sorted(names) == sorted(f"{folder}/{name}" for name in NAMES.values())


def test_tar_member_names_that_are_not_utf8_are_escaped(tmp_path: Path, cli: Cli) -> None:
    archive = tmp_path / "usage.tar"
    archive.write_bytes(tar_bytes([("m\udcff\udcfe.xml", INVALID)], gz=False))
    with tarfile.open(archive) as tar:  # the member's name is those bytes, not UTF-8
        assert tar.getmembers()[0].name.encode("utf-8", "surrogateescape") == b"m\xff\xfe.xml"
    for fmt in ("text", "json", "sarif", "junit", "github"):
        run = cli("validate", "--format", fmt, archive)
        assert run.code == 1, (fmt, run.err)
        assert_harmless(run)
        assert "m\\xff\\xfe.xml" in run.out.replace("\\\\", "\\") or "m%FF%FE.xml" in run.out, (
            fmt,
            run.out,
        )


def test_tar_member_names_with_escape_sequences_are_refused_harmlessly(
    tmp_path: Path, cli: Cli
) -> None:
    archive = tmp_path / "usage.tar"
    archive.write_bytes(tar_bytes([("m\x1b]0;owned\x07\x1b[2J.xml", INVALID)], gz=False))
    for fmt in ("text", "json", "junit", "github"):
        run = cli("validate", "--format", fmt, archive)
        assert run.code == 4, (fmt, run.err)  # an unsafe member, as DESIGN says
        assert "Traceback" not in run.err and "\x1b" not in run.out + run.err


def test_ledger_materials_record_hostile_names_escaped(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("AIRGAP_LEDGER", str(ledger))
    folder = hostile_folder(tmp_path)
    assert_harmless(cli("validate", "--record", folder))
    bad = os.fsdecode(os.fsencode(folder) + b"/bad\xff\xfe.xml")
    run = cli("ledger", "record", "--step", "note", "--material", bad, "--note", "\x1b[2J")
    assert run.code == 0, run.err
    entries = [json.loads(line) for line in ledger.read_bytes().decode("utf-8").splitlines()]
    assert sorted(entries[0]["materials"]) == sorted(f"{folder}/{n}" for n in NAMES.values())
    assert list(entries[1]["materials"]) == [f"{folder}/bad\\xff\\xfe.xml"]
    assert entries[1]["note"] == "\\x1b[2J"
    assert cli("ledger", "verify").code == 0


def test_a_signed_hostile_name_has_an_escaped_trusted_comment(tmp_path: Path, cli: Cli) -> None:
    assert cli("key", "generate", "--out", tmp_path / "op", "--no-passphrase").code == 0
    folder = hostile_folder(tmp_path)
    for raw_name, shown in NAMES.items():
        path = os.fsdecode(os.fsencode(folder) + b"/" + raw_name)
        run = cli("sign", path, "--key", tmp_path / "op.key")
        assert run.code == 0, run.err
        assert_harmless(run)
        comment = Path(path + ".minisig").read_bytes().decode("utf-8").splitlines()[2]
        assert comment.split("\t")[1] == f"file:{shown}"
        verified = cli("verify", path, "--trusted-key", tmp_path / "op.pub")
        assert verified.code == 0, verified.err
        assert_harmless(verified)


# Operating-system errors on a path the user named.


@dataclass(frozen=True)
class Site:
    """A key pair and a bundle made with them, for commands that need one."""

    root: Path
    key: Path
    pub: Path
    bundle: Path
    usage: Path


@pytest.fixture
def site(tmp_path: Path, cli: Cli) -> Site:
    key = tmp_path / "keys" / "op"
    assert cli("key", "generate", "--out", key, "--no-passphrase").code == 0
    usage = tmp_path / "usage" / "usage.xml"
    usage.parent.mkdir()
    usage.write_bytes(VALID)
    bundle = tmp_path / "usage.tar.gz"
    assert cli("bundle", "create", "--out", bundle, usage, "--key", f"{key}.key").code == 0
    return Site(tmp_path, Path(f"{key}.key"), Path(f"{key}.pub"), bundle, usage)


Args = Callable[[Site, Path], list[str | Path]]
# Every command that writes to a path the user names, with that path as ``target``.
WRITERS: dict[str, Args] = {
    "bundle create": lambda s, t: [
        "bundle",
        "create",
        "--out",
        t / "out.tar.gz",
        s.usage,
        "--key",
        s.key,
    ],
    "bundle extract": lambda s, t: [
        "bundle",
        "extract",
        "--no-scan-required",
        s.bundle,
        t / "in",
        "--trusted-key",
        s.pub,
    ],
    "media write": lambda s, t: ["media", "write", s.bundle, t],
    "sign": lambda s, t: ["sign", s.usage, "--key", s.key, "--out", t / "usage.minisig"],
    "key generate": lambda s, t: ["key", "generate", "--out", t / "op2", "--no-passphrase"],
    "ledger record": lambda s, t: [
        "ledger",
        "record",
        "--step",
        "note",
        "--ledger",
        t / "ledger.jsonl",
    ],
    "lab fleet": lambda s, t: ["lab", "fleet", "--out", t / "fleet", "--devices", "1"],
    "cslu pack": lambda s, t: ["cslu", "pack", "--out", t / "upload.tar", s.usage],
}


def assert_one_line(run: Run, code: int = 3) -> str:
    """The documented exit code, and one error line (with at most a hint) on stderr."""
    assert run.code == code, (run.code, run.err)
    lines = run.err.splitlines()
    if not lines:  # validate reports a path it cannot read as a result, on stdout
        lines = [line.split(": ", 1)[1] for line in run.out.splitlines() if ": error: " in line]
    assert lines and lines[0].startswith("error: "), run.err
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    return lines[0]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder on a read-only file system (a tmpfs mounted read-only; needs root)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    if not mounted:
        pytest.skip("cannot mount a read-only file system here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("command", WRITERS)
def test_a_read_only_destination_is_exit_3(
    command: str, site: Site, read_only: Path, cli: Cli
) -> None:
    line = assert_one_line(cli(*WRITERS[command](site, read_only)))
    assert "Read-only file system" in line and str(read_only) in line


@pytest.mark.parametrize("command", WRITERS)
def test_a_dangling_link_as_destination_is_exit_3_and_stays(
    command: str, site: Site, cli: Cli
) -> None:
    target = site.root / "target"
    target.mkdir()
    args = WRITERS[command](site, target)
    if command == "media write":  # the folder itself is the destination
        named = target
        target.rmdir()
    else:
        named = next(a for a in args if isinstance(a, Path) and a.parent == target)
    if command == "key generate":  # a prefix: the files it writes are PREFIX.key and .pub
        named = named.with_suffix(".key")
    named.symlink_to(site.root / "nowhere" / "x")
    assert_one_line(cli(*args))
    assert named.is_symlink() and not (site.root / "nowhere").exists()


@pytest.mark.parametrize(
    ("what", "args"),
    [
        ("folder as a file", lambda s: ["sign", s.usage.parent, "--key", s.key]),
        ("folder as a key", lambda s: ["sign", s.usage, "--key", s.usage.parent]),
        (
            "folder as a ledger",
            lambda s: ["ledger", "record", "--step", "note", "--ledger", s.usage.parent],
        ),
        ("folder as a ledger to show", lambda s: ["ledger", "show", "--ledger", s.usage.parent]),
        (
            "folder as a bundle",
            lambda s: ["bundle", "verify", s.usage.parent, "--trusted-key", s.pub],
        ),
        (
            "folder as a bundle to extract",
            lambda s: [
                "bundle",
                "extract",
                "--no-scan-required",
                s.usage.parent,
                s.root / "in",
                "--trusted-key",
                s.pub,
            ],
        ),
        ("file as a medium", lambda s: ["media", "write", s.bundle, s.usage]),
        ("file as a medium to scan", lambda s: ["media", "scan", s.usage]),
        (
            "file as a folder to extract into",
            lambda s: [
                "bundle",
                "extract",
                "--no-scan-required",
                s.bundle,
                s.usage / "in",
                "--trusted-key",
                s.pub,
            ],
        ),
        ("file as a folder above a file", lambda s: ["validate", s.usage / "x.xml"]),
        ("file as a fleet folder", lambda s: ["lab", "fleet", "--out", s.usage / "fleet"]),
        (
            "missing bundle",
            lambda s: ["bundle", "verify", s.root / "none.tar.gz", "--trusted-key", s.pub],
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_wrong_kind_of_path_is_exit_3(
    what: str, args: Callable[[Site], list[str | Path]], site: Site, cli: Cli
) -> None:
    assert_one_line(cli(*args(site)))


LONG = "n" * 300  # over NAME_MAX (255) on every Linux file system


@pytest.mark.parametrize(
    "args",
    [
        lambda s: ["validate", s.root / LONG],
        lambda s: ["inspect", s.root / LONG],
        lambda s: ["state", s.root / LONG],
        lambda s: ["media", "scan", s.root / LONG],
        lambda s: ["bundle", "verify", s.root / LONG, "--trusted-key", s.pub],
        lambda s: ["bundle", "create", "--out", s.root / f"{LONG}.tar.gz", s.usage, "--key", s.key],
        lambda s: [
            "bundle",
            "extract",
            "--no-scan-required",
            s.bundle,
            s.root / LONG,
            "--trusted-key",
            s.pub,
        ],
        lambda s: ["sign", s.usage, "--key", s.key, "--out", s.root / LONG],
        lambda s: ["ledger", "record", "--step", "note", "--ledger", s.root / LONG],
    ],
)
def test_a_name_too_long_is_exit_3(
    args: Callable[[Site], list[str | Path]], site: Site, cli: Cli
) -> None:
    line = assert_one_line(cli(*args(site)))
    assert "File name too long" in line, line


@pytest.mark.parametrize("destination", [".", "/", ".."])
def test_dest_dot_or_root_is_never_replaced(
    destination: str, site: Site, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = site.root / "work" / "here"
    work.mkdir(parents=True)
    (work / "keep.txt").write_text("mine")
    monkeypatch.chdir(work)
    for force in ([], ["--force"]):
        assert_one_line(
            cli(
                "bundle",
                "extract",
                "--no-scan-required",
                site.bundle,
                destination,
                "--trusted-key",
                site.pub,
                *force,
            )
        )
        assert_one_line(cli("lab", "fleet", "--out", destination, "--devices", "1"))
    assert sorted(os.listdir(work)) == ["keep.txt"] and Path("/").is_dir()
    assert sorted(os.listdir(work.parent)) == ["here"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
@pytest.mark.parametrize(
    "args",
    [
        lambda p, s: ["validate", p],
        lambda p, s: ["inspect", p],
        lambda p, s: ["state", p],
        lambda p, s: ["sign", p, "--key", s.key],
        lambda p, s: ["sign", s.usage, "--key", p],
        lambda p, s: ["bundle", "verify", p, "--trusted-key", s.pub],
    ],
)
def test_an_unreadable_named_path_is_exit_3(
    args: Callable[[Path, Site], list[str | Path]], site: Site, cli: Cli
) -> None:
    locked = site.root / "locked.xml"
    locked.write_bytes(VALID)
    locked.chmod(0)
    assert_one_line(cli(*args(locked, site)))


def test_json_errors_name_the_os_error(site: Site, cli: Cli) -> None:
    run = cli(
        "ledger", "record", "--step", "note", "--ledger", site.usage.parent, "--format", "json"
    )
    assert run.code == 3
    error = json.load(io.StringIO(run.out))["error"]
    assert error["exit_code"] == 3 and "not a regular file" in error["message"]


def test_a_bundle_named_with_hostile_bytes_signs_and_verifies(site: Site, cli: Cli) -> None:
    for raw_name, shown in NAMES.items():
        out = os.fsdecode(os.fsencode(site.root) + b"/" + raw_name + b".tar.gz")
        run = cli("bundle", "create", "--out", out, site.usage, "--key", site.key)
        assert run.code == 0, run.err
        assert_harmless(run)
        comment = Path(out + ".minisig").read_bytes().decode("utf-8").splitlines()[2]
        assert comment.split("\t")[1] == f"file:{shown}.tar.gz"  # no field injected
        verified = cli("bundle", "verify", out, "--trusted-key", site.pub)
        assert verified.code == 0, verified.err
        assert_harmless(verified)


@pytest.fixture(scope="module")
def deep_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Folders nested deeper than the recursion limit, a usage file at the bottom."""
    import sys

    top = tmp_path_factory.mktemp("deep") / "top"
    top.mkdir()
    (nested(top, sys.getrecursionlimit() + 100) / "usage.xml").write_bytes(VALID)
    yield top
    unnested(top)


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["inspect"],
        ["state"],
        ["health", "--today", "2026-11-02"],
        ["reconcile"],
        ["media", "scan"],
        ["bundle", "create", "--out", "{out}"],
    ],
)
def test_a_tree_deeper_than_the_recursion_limit_is_walked(
    args: list[str], deep_tree: Path, tmp_path: Path, cli: Cli
) -> None:
    run = cli(*[a.format(out=tmp_path / "b.tar.gz") for a in args], deep_tree)
    assert run.code in (0, 1, 3), run.err
    assert "internal error" not in run.err
