"""Transfer bundles end to end: round trip, reproducibility, stock tools, and every tampering
the issue lists, each refused with exit 4 and named."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from airgap.bundle import bag
from airgap.signing.minisign import SecretKey, Signature, blake2b_file
from tests.bundle import hostile
from tests.conftest import SAMPLES, Cli, need_tool

EPOCH = "1795800000"
PAYLOAD = sorted(SAMPLES.glob("*.xml"))


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, SecretKey]:
    """An unencrypted operator key at tmp/op.key (and op.pub); SOURCE_DATE_EPOCH fixed."""
    key = SecretKey.generate()
    (tmp_path / "op.key").write_text(key.text(None))
    (tmp_path / "op.key").chmod(0o600)  # a secret key others may read is refused
    (tmp_path / "op.pub").write_text(key.public.text())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return tmp_path / "op.key", key


@pytest.fixture
def bundle(tmp_path: Path, cli: Cli, keys: tuple[Path, SecretKey]) -> Path:
    out = tmp_path / "out" / "usage.tar.gz"
    run = cli("bundle", "create", "--out", out, *PAYLOAD, SAMPLES / "show", "--key", keys[0])
    assert run.code == 0, run.err
    return out


def verify(cli: Cli, path: Path, *extra: str | Path) -> tuple[int, str]:
    run = cli("bundle", "verify", path, "--trusted-key", path.parent.parent / "op.pub", *extra)
    return run.code, run.out + run.err


def resign(
    path: Path,
    key: SecretKey,
    members: list[tuple[str, bytes]] | None = None,
    ctx: str = bag.BUNDLE_CTX,
    size: int | None = None,
) -> None:
    """Rewrite ``path`` (optionally with new members) and sign it with ``key``, as a
    trusted but careless or compromised sender would."""
    if members is not None:
        path.write_bytes(hostile.tar_bytes(members))
    bundle_id = bundle_id_of(path)
    total = size if size is not None else sum(len(d) for _, d in members or [])
    comment = (
        f"timestamp:{EPOCH}\tfile:{path.name}\tctx:{ctx}\tbundle:{bundle_id}"
        f"\tsize:{total or 1 << 20}\tfiles:{len(members or []) or 100}"
    )
    signature = Signature.create(key, blake2b_file([path.read_bytes()]), comment)
    Path(f"{path}.minisig").write_text(signature.text())


def bundle_id_of(path: Path) -> str:
    text = Path(f"{path}.minisig").read_text() if Path(f"{path}.minisig").exists() else ""
    for field in text.replace("\n", "\t").split("\t"):
        if field.startswith("bundle:"):
            return field.removeprefix("bundle:")
    return "AG20261127-000000000000"


def members_of(path: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(path) as tar:
        return [
            (m.name, tar.extractfile(m).read())  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        ]


def test_round_trip_is_byte_identical(bundle: Path, cli: Cli, tmp_path: Path) -> None:
    assert verify(cli, bundle)[0] == 0
    dest = tmp_path / "incoming"
    run = cli(
        "bundle",
        "extract",
        "--no-scan-required",
        bundle,
        dest,
        "--trusted-key",
        tmp_path / "op.pub",
    )
    assert run.code == 0, run.out + run.err
    for source in PAYLOAD:
        assert (dest / "data" / source.name).read_bytes() == source.read_bytes()
    for source in (SAMPLES / "show").iterdir():
        assert (dest / "data" / "show" / source.name).read_bytes() == source.read_bytes()


@pytest.mark.parametrize("archive", ["tar.gz", "tar"])
def test_same_inputs_same_bytes(
    archive: str, tmp_path: Path, cli: Cli, keys: tuple[Path, SecretKey]
) -> None:
    first, second = tmp_path / "a" / f"b.{archive}", tmp_path / "b" / f"b.{archive}"
    for out in (first, second):
        assert (
            cli(
                "bundle", "create", "--out", out, *PAYLOAD, "--key", keys[0], "--archive", archive
            ).code
            == 0
        )
        time.sleep(1.1)  # a second later: only SOURCE_DATE_EPOCH may set times
    assert first.read_bytes() == second.read_bytes()
    assert Path(f"{first}.minisig").read_bytes() == Path(f"{second}.minisig").read_bytes()


@pytest.mark.tool
def test_stock_tools_check_the_bundle(bundle: Path, tmp_path: Path) -> None:
    minisign = need_tool("minisign")
    need_tool("sha256sum")
    pub = tmp_path / "op.pub"
    subprocess.run([minisign, "-Vm", str(bundle), "-p", str(pub)], check=True, capture_output=True)
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "xzf", str(bundle), "-C", str(unpacked)], check=True)
    (bag_dir,) = unpacked.iterdir()
    result = subprocess.run(
        ["sha256sum", "-c", "--strict", bag.TAG_MANIFEST, bag.MANIFEST],
        cwd=bag_dir,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    subprocess.run(
        [minisign, "-Vm", str(bag_dir / bag.TAG_MANIFEST), "-p", str(pub)],
        check=True,
        capture_output=True,
    )
    import bagit

    bagit.Bag(str(bag_dir)).validate()


def test_flipped_byte_is_refused(bundle: Path, cli: Cli) -> None:
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0x01
    bundle.write_bytes(bytes(data))
    code, output = verify(cli, bundle)
    assert code == 4 and "bad signature" in output and "the file changed" in output


def test_untrusted_another_and_revoked_keys(bundle: Path, cli: Cli, tmp_path: Path) -> None:
    stranger = SecretKey.generate()
    (tmp_path / "stranger.pub").write_text(stranger.public.text())
    run = cli("bundle", "verify", bundle, "--trusted-key", tmp_path / "stranger.pub")
    assert run.code == 4 and "untrusted key" in run.out
    resign(bundle, stranger, members_of(bundle))
    code, output = verify(cli, bundle)
    assert code == 4 and f"signed by key {stranger.public.id}" in output
    folder = tmp_path / "trusted"
    cli(
        "key",
        "trust",
        tmp_path / "op.pub",
        "--name",
        "O",
        "--role",
        "operator",
        "--trusted-keys",
        folder,
        "--yes",
    )
    op_id = SecretKey.load(tmp_path / "op.key", None).public.id
    cli("key", "revoke", op_id, "--trusted-keys", folder)
    resign(bundle, SecretKey.load(tmp_path / "op.key", None), members_of(bundle))
    run = cli("bundle", "verify", bundle, "--trusted-keys", folder)
    assert run.code == 4 and "revoked key" in run.out


def test_signature_for_another_purpose_is_refused(bundle: Path, cli: Cli, tmp_path: Path) -> None:
    Path(f"{bundle}.minisig").unlink()
    assert cli("sign", bundle, "--key", tmp_path / "op.key").code == 0
    code, output = verify(cli, bundle)
    assert code == 4 and "another purpose" in output and "airgap-file/v1" in output


@pytest.mark.parametrize("change", ["add", "remove", "rename", "manifest", "tagmanifest"])
def test_bag_changes_are_named_even_when_resigned(
    change: str, bundle: Path, cli: Cli, keys: tuple[Path, SecretKey]
) -> None:
    members = members_of(bundle)
    prefix = members[0][0].split("/")[0]
    payload = next(i for i, (n, _) in enumerate(members) if "/data/" in n)
    name = members[payload][0]
    if change == "add":
        members.append((f"{prefix}/data/extra.xml", b"<smartLicense/>"))
        expect = "data/extra.xml is in the bag but not in manifest-sha256.txt"
    elif change == "remove":
        del members[payload]
        expect = f"lists {name.removeprefix(prefix + '/')}, which is not in the bag"
    elif change == "rename":
        members[payload] = (name.replace(".xml", "-x.xml"), members[payload][1])
        expect = "not in manifest-sha256.txt"
    elif change == "manifest":
        index = next(
            i for i, (n, _) in enumerate(members) if n.endswith(bag.MANIFEST) and "tag" not in n
        )
        text = members[index][1].decode()
        first = text.splitlines()[0]
        edited = ("0" if first[0] != "0" else "1") + first[1:]
        members[index] = (members[index][0], text.replace(first, edited).encode())
        expect = "manifest mismatch"
    else:
        index = next(i for i, (n, _) in enumerate(members) if n.endswith(bag.TAG_MANIFEST))
        members[index] = (members[index][0], members[index][1] + b"\n")
        expect = "bad signature"
    resign(bundle, keys[1], members)
    code, output = verify(cli, bundle)
    assert code == 4, output
    assert expect in output, output


Build = Callable[[str], list[tarfile.TarInfo | tuple[str, bytes]]]
HOSTILE: dict[str, tuple[Build, str]] = {
    "dotdot": (lambda p: [(f"{p}/../evil.xml", hostile.GOOD)], "'..'"),
    "absolute": (lambda p: [("/etc/evil.xml", hostile.GOOD)], "absolute"),
    "symlink": (
        lambda p: [hostile.special(f"{p}/data/l.xml", tarfile.SYMTYPE, "/etc/passwd")],
        "symbolic link",
    ),
    "hardlink": (
        lambda p: [
            (f"{p}/data/a.xml", hostile.GOOD),
            hostile.special(f"{p}/data/b.xml", tarfile.LNKTYPE, f"{p}/data/a.xml"),
        ],
        "hard link",
    ),
    "device": (lambda p: [hostile.special(f"{p}/data/d.xml", tarfile.CHRTYPE)], "device"),
    "duplicate": (
        lambda p: [(f"{p}/data/a.xml", hostile.GOOD), (f"{p}/data/a.xml", hostile.GOOD)],
        "duplicate",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_archive_signed_by_a_trusted_key(
    case: str, bundle: Path, cli: Cli, keys: tuple[Path, SecretKey], tmp_path: Path
) -> None:
    build, why = HOSTILE[case]
    prefix = bundle_id_of(bundle)
    members: list[tarfile.TarInfo | tuple[str, bytes]] = [*members_of(bundle), *build(prefix)]
    bundle.write_bytes(hostile.tar_bytes(members))
    resign(bundle, keys[1], None, size=1 << 20)
    before = set(tmp_path.rglob("*"))
    dest = tmp_path / "dest"
    run = cli(
        "bundle",
        "extract",
        "--no-scan-required",
        bundle,
        dest,
        "--trusted-key",
        tmp_path / "op.pub",
    )
    assert run.code == 4 and why in run.out, run.out
    assert not dest.exists()
    assert set(tmp_path.rglob("*")) == before
    assert not (tmp_path.parent / "evil.xml").exists() and not Path("/etc/evil.xml").exists()


def test_bomb_beyond_the_signed_size(
    bundle: Path, cli: Cli, keys: tuple[Path, SecretKey], tmp_path: Path
) -> None:
    prefix = bundle_id_of(bundle)
    members = members_of(bundle)
    signed_size = sum(len(d) for _, d in members)
    members.append((f"{prefix}/data/zeros.xml", bytes(64 << 20)))
    bundle.write_bytes(hostile.tar_bytes(members))
    resign(bundle, keys[1], None, size=signed_size)
    code, output = verify(cli, bundle)
    assert code == 4 and "budget" in output


def split_bundle(cli: Cli, out: Path, key: Path, payload: list[Path]) -> list[Path]:
    """``bundle create --max-size 1``: one part per file; the parts' paths."""
    run = cli(
        "bundle",
        "create",
        "--out",
        out,
        *payload,
        "--key",
        key,
        "--max-size",
        "1",
        "--format",
        "json",
    )
    assert run.code == 0, run.err
    return [Path(r["archive"]) for r in json.loads(run.out)["results"]]


USAGE = [p for p in PAYLOAD if p.name.startswith("usage-")]


def test_split_group(tmp_path: Path, cli: Cli, keys: tuple[Path, SecretKey]) -> None:
    parts = split_bundle(cli, tmp_path / "out" / "cycle.tar.gz", keys[0], USAGE[:3])
    assert [p.name for p in parts] == [f"cycle.part{k}of3.tar.gz" for k in (1, 2, 3)]
    for part in parts:
        assert verify(cli, part)[0] == 0
    assert verify(cli, parts[0], parts[1], parts[2])[0] == 0
    group = bundle_id_of(parts[0]).removesuffix("-1of3")
    code, output = verify(cli, parts[0], parts[2])
    assert code == 4, output
    assert (
        f"group {group}: part 2 of 3 is missing: bundle {group}-2of3, file cycle.part2of3.tar.gz"
    ) in output
    code, output = verify(cli, parts[0], parts[1], parts[1], parts[2])
    assert code == 4 and "part 2 of 3 given 2 times" in output


def test_parts_of_different_split_bundles_are_refused(
    tmp_path: Path, cli: Cli, keys: tuple[Path, SecretKey]
) -> None:
    first = split_bundle(cli, tmp_path / "out" / "a.tar.gz", keys[0], USAGE[:2])
    second = split_bundle(cli, tmp_path / "out" / "b.tar.gz", keys[0], USAGE[2:4])
    groups = sorted(bundle_id_of(p[0]).removesuffix("-1of2") for p in (first, second))
    run = cli("bundle", "verify", first[0], second[1], "--trusted-key", tmp_path / "op.pub")
    assert run.code == 4, run.out
    mixed = (
        f"error: parts of different split bundles given together (groups {groups[0]}, {groups[1]})"
    )
    assert f"{first[0]}: {mixed}" in run.out and f"{second[1]}: {mixed}" in run.out
    assert "file a.part2of2.tar.gz" in run.out and "file b.part1of2.tar.gz" in run.out
    assert run.out.count("NOT verified") == 2 and run.err == ""
    run = cli("bundle", "verify", *first, "--trusted-key", tmp_path / "op.pub")
    assert run.code == 0, run.out


def test_resplit_with_force_leaves_no_old_part(
    tmp_path: Path, cli: Cli, keys: tuple[Path, SecretKey]
) -> None:
    out = tmp_path / "out" / "cycle.tar.gz"
    split_bundle(cli, out, keys[0], USAGE[:3])
    (out.parent / "cycle.notes.txt").write_text("mine")
    run = cli("bundle", "create", "--out", out, *USAGE[:2], "--key", keys[0], "--max-size", "1")
    assert run.code == 3 and "refusing to overwrite" in run.err and "part1of3" in run.err
    assert len(list(out.parent.glob("cycle.part*of3.tar.gz*"))) == 6
    run = cli(
        "bundle", "create", "--out", out, *USAGE[:2], "--key", keys[0], "--max-size", "1", "--force"
    )
    assert run.code == 0, run.err
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == [
        "cycle.notes.txt",
        "cycle.part1of2.tar.gz",
        "cycle.part1of2.tar.gz.minisig",
        "cycle.part2of2.tar.gz",
        "cycle.part2of2.tar.gz.minisig",
    ]
    assert "note: removed " in run.err and "cycle.part3of3.tar.gz.minisig" in run.err
    run = cli("bundle", "create", "--out", out, *USAGE[:2], "--key", keys[0], "--force")
    assert run.code == 0, run.err
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == ["cycle.notes.txt", "cycle.tar.gz", "cycle.tar.gz.minisig"]
    assert verify(cli, out)[0] == 0


def test_renamed_bundle_is_refused_unless_accepted(bundle: Path, cli: Cli) -> None:
    renamed = bundle.with_name("usage-2026-12.tar.gz")
    bundle.rename(renamed)
    Path(f"{bundle}.minisig").rename(f"{renamed}.minisig")
    code, output = verify(cli, renamed)
    assert code == 4, output
    assert (
        "renamed or replayed bundle: signed as usage.tar.gz, named usage-2026-12.tar.gz" in output
    )
    code, output = verify(cli, renamed, "--accept-renamed")
    assert code == 0, output
    assert f"{renamed}: accepted under another name: signed as usage.tar.gz" in output
    run = cli(
        "bundle",
        "extract",
        "--no-scan-required",
        renamed,
        renamed.parent / "dest",
        "--trusted-key",
        renamed.parent.parent / "op.pub",
    )
    assert run.code == 4 and "renamed or replayed" in run.out
    assert not (renamed.parent / "dest").exists()


def test_replayed_bundle_is_refused(tmp_path: Path, cli: Cli, keys: tuple[Path, SecretKey]) -> None:
    older = tmp_path / "out" / "usage-2026-10.tar.gz"
    newer = tmp_path / "out" / "usage-2026-11.tar.gz"
    for out, source in ((older, USAGE[0]), (newer, USAGE[1])):
        assert cli("bundle", "create", "--out", out, source, "--key", keys[0]).code == 0
    for suffix in ("", ".minisig"):  # last month's bundle, passed off as this month's
        Path(f"{newer}{suffix}").write_bytes(Path(f"{older}{suffix}").read_bytes())
    run = cli("bundle", "verify", newer, "--trusted-key", tmp_path / "op.pub", "--format", "json")
    assert run.code == 4 and run.err == ""
    (result,) = json.loads(run.out)["results"]
    assert result["signed_as"] == "usage-2026-10.tar.gz" and not result["ok"]
    assert any(
        "renamed or replayed bundle: signed as usage-2026-10.tar.gz, named "
        "usage-2026-11.tar.gz" in p["message"]
        for p in result["problems"]
    )


def test_a_bundle_that_is_not_a_regular_file_is_refused(bundle: Path, cli: Cli) -> None:
    pipe = bundle.with_name("pipe.tar.gz")
    os.mkfifo(pipe)  # opening it for reading would block until a writer came
    Path(f"{pipe}.minisig").write_bytes(Path(f"{bundle}.minisig").read_bytes())
    run = cli("bundle", "verify", pipe, "--trusted-key", bundle.parent.parent / "op.pub")
    assert run.code == 3, run.out + run.err
    assert f"error: cannot read bundle: {pipe} - not a regular file" in run.err


def test_invalid_input_is_refused_unless_allowed(
    tmp_path: Path, cli: Cli, keys: tuple[Path, SecretKey]
) -> None:
    bad = SAMPLES / "invalid" / "sudi-mismatch.xml"
    run = cli("bundle", "create", "--out", tmp_path / "x.tar.gz", bad, "--key", keys[0])
    assert run.code == 1 and "sudi-mismatch" in run.err and not (tmp_path / "x.tar.gz").exists()
    run = cli(
        "bundle", "create", "--out", tmp_path / "x.tar.gz", bad, "--key", keys[0], "--allow-invalid"
    )
    assert run.code == 0
    run = cli("bundle", "verify", tmp_path / "x.tar.gz", "--trusted-key", tmp_path / "op.pub")
    assert run.code == 1 and "sudi-mismatch" in run.out


def test_extract_never_over_an_existing_destination(bundle: Path, cli: Cli, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep")
    run = cli(
        "bundle",
        "extract",
        "--no-scan-required",
        bundle,
        dest,
        "--trusted-key",
        tmp_path / "op.pub",
    )
    assert run.code == 3 and (dest / "mine.txt").read_text() == "keep"
    assert "refusing to extract" in run.err and "use --force" in run.err


def test_extract_force_moves_the_old_destination_aside(
    bundle: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airgap.ledger.store import Ledger

    dest = tmp_path / "dest"
    (dest / "sub").mkdir(parents=True)
    (dest / "sub" / "mine.txt").write_text("keep")
    monkeypatch.setenv("AIRGAP_LEDGER", str(tmp_path / "ledger.jsonl"))
    run = cli(
        "bundle",
        "extract",
        "--no-scan-required",
        bundle,
        dest,
        "--trusted-key",
        tmp_path / "op.pub",
        "--force",
    )
    assert run.code == 0, run.out + run.err
    (aside,) = [p for p in tmp_path.iterdir() if p.name.startswith("dest.before-")]
    assert f"{dest}: the folder that was there is now {aside}\n" in run.out
    (entry,) = [json.loads(line) for _, line in Ledger(tmp_path / "ledger.jsonl").lines()]
    assert entry["step"] == "bundle.extract"
    assert entry["note"].endswith(f"; the folder that was there moved to {aside}")
    monkeypatch.delenv("AIRGAP_LEDGER")
    assert (aside / "sub" / "mine.txt").read_text() == "keep"
    assert (dest / bag.BAGIT).exists() and not (dest / "sub").exists()
    run = cli(
        "bundle",
        "extract",
        "--no-scan-required",
        bundle,
        dest,
        "--trusted-key",
        tmp_path / "op.pub",
        "--force",
        "--format",
        "json",
    )
    assert run.code == 0, run.err
    moved = Path(json.loads(run.out)["results"][0]["moved_aside"])
    assert moved != aside and (moved / bag.BAGIT).exists() and (aside / "sub").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("dest")) == sorted(
        ["dest", aside.name, moved.name]
    )


def test_extract_force_refuses_a_file_at_the_destination(
    bundle: Path, cli: Cli, tmp_path: Path
) -> None:
    dest = tmp_path / "dest"
    dest.write_text("keep")
    run = cli(
        "bundle",
        "extract",
        "--no-scan-required",
        bundle,
        dest,
        "--trusted-key",
        tmp_path / "op.pub",
        "--force",
    )
    assert run.code == 3 and "it exists and is not a folder" in run.err, run.err
    assert dest.read_text() == "keep"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".dest", "dest."))]


def whole(command: str, target: Path, tmp_path: Path, cli: Cli) -> bool:
    """A bundle that verifies, or an extracted bag whose every file matches its manifests."""
    if command == "create":
        return cli("bundle", "verify", target, "--trusted-key", tmp_path / "op.pub").code == 0
    for manifest in (bag.MANIFEST, bag.TAG_MANIFEST):
        digests, bad = bag.parse_manifest((target / manifest).read_text())
        if bad or any(
            bag.sha256((target / name).read_bytes()) != digest for name, digest in digests.items()
        ):
            return False
    return True


KILL = """
import os, sys, threading, time
from pathlib import Path
sys.argv = sys.argv[1:]
def kill():
    time.sleep(float(os.environ["KILL_AFTER"]))
    os.kill(os.getpid(), 9)
threading.Thread(target=kill, daemon=True).start()
from airgap.cli.main import main
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize("command", ["create", "extract"])
def test_kill_9_leaves_nothing_at_the_target(
    command: str, tmp_path: Path, cli: Cli, keys: tuple[Path, SecretKey]
) -> None:
    big = tmp_path / "big"
    big.mkdir()
    for number in range(40):  # ~40 MB of usage files: slow enough to be killed midway
        (big / f"u{number}.xml").write_bytes(
            PAYLOAD[0]
            .read_bytes()
            .replace(
                b"</smartLicense>",
                b"<!--" + os.urandom(1 << 19).hex().encode() + b"--></smartLicense>",
            )
        )
    source = tmp_path / "src.tar.gz"
    if command == "extract":
        assert cli("bundle", "create", "--out", source, big, "--key", keys[0]).code == 0
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    killed = 0
    for delay in (0.2 + 0.15 * step for step in range(10)):
        target = tmp_path / f"target-{delay}"
        if command == "create":
            argv = [
                "airgap",
                "bundle",
                "create",
                "--out",
                str(target),
                str(big),
                "--key",
                str(keys[0]),
            ]
        else:
            argv = [
                "airgap",
                "bundle",
                "extract",
                "--no-scan-required",
                str(source),
                str(target),
                "--trusted-key",
                str(tmp_path / "op.pub"),
            ]
        process = subprocess.run(
            [sys.executable, "-c", KILL, *argv],
            env={**env, "KILL_AFTER": str(delay)},
            capture_output=True,
        )
        if process.returncode == -signal.SIGKILL:
            killed += 1
            # killed before the rename: nothing there; after it: the whole, verified result
            assert not target.exists() or whole(command, target, tmp_path, cli), (command, delay)
        else:  # finished before the kill: then the result is whole
            assert process.returncode == 0, process.stderr
            assert command == "create" or (target / bag.BAGIT).exists()
    assert killed >= 3, "the work finished before most kills: make it bigger"


@pytest.mark.parametrize("failing", [".tar.gz", ".minisig"])
def test_a_failed_rename_leaves_no_lone_signature_and_the_earlier_bundle(
    bundle: Path,
    cli: Cli,
    keys: tuple[Path, SecretKey],
    monkeypatch: pytest.MonkeyPatch,
    failing: str,
) -> None:
    """``create --force`` over an earlier bundle, the archive's or the signature's rename
    failing: the earlier archive and signature stay as they were, nothing beside them."""
    from airgap import fsutil

    signature = Path(f"{bundle}.minisig")
    before = {p.name: p.read_bytes() for p in (bundle, signature)}
    renamed = fsutil._rename

    def fails(temporary: Path, target: Path, *, replace: bool) -> None:
        if target.name.endswith(failing):
            raise OSError(errno.EIO, "Input/output error", str(target))
        renamed(temporary, target, replace=replace)

    monkeypatch.setattr(fsutil, "_rename", fails)
    run = cli("bundle", "create", "--out", bundle, *USAGE[:2], "--key", keys[0], "--force")
    assert run.code == 3, run.out + run.err
    assert "Input/output error" in run.err and "Traceback" not in run.err
    assert {p.name: p.read_bytes() for p in bundle.parent.iterdir()} == before
    assert verify(cli, bundle)[0] == 0
