"""``airgap ledger`` through the CLI: record, show, export, prove offline, repair."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from airgap.signing.minisign import PublicKey, SecretKey
from tests.conftest import SAMPLES, Cli


@pytest.fixture
def ledger(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("AIRGAP_LEDGER", str(path))
    sample = SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml"
    assert (
        cli(
            "ledger",
            "record",
            "--step",
            "usage.save",
            "--device",
            "PID:C9300-24UX,SN:X",
            "--product",
            sample,
            "--note",
            "saved on the switch",
        ).code
        == 0
    )
    assert cli("ledger", "record", "--step", "cssm.upload", "--material", sample).code == 0
    return path


def test_no_ledger_is_exit_3(cli: Cli) -> None:
    run = cli("ledger", "show")
    assert run.code == 3 and "no ledger configured" in run.err


def test_unknown_step_is_refused(ledger: Path, cli: Cli) -> None:
    run = cli("ledger", "record", "--step", "coffee")
    assert run.code == 2 and "'coffee' is not one of 'usage.save'" in run.err


def test_show_and_filters(ledger: Path, cli: Cli) -> None:
    run = cli("ledger", "show")
    assert run.code == 0 and "usage.save" in run.out and "cssm.upload" in run.out
    shown = json.loads(cli("ledger", "show", "--step", "usage.save", "--format", "json").out)
    (entry,) = shown["results"]
    assert entry["device"] == "PID:C9300-24UX,SN:X"
    digest = next(iter(entry["products"].values()))
    assert digest.startswith("sha256:") and len(digest) == 71


def test_exports(ledger: Path, cli: Cli, tmp_path: Path) -> None:
    assert cli("ledger", "export", "--as", "jsonl").out.encode() == ledger.read_bytes()
    rows = list(csv.DictReader(io.StringIO(cli("ledger", "export", "--as", "csv").out)))
    assert [r["step"] for r in rows] == ["usage.save", "cssm.upload"]
    key = SecretKey.generate()
    (tmp_path / "auditor.key").write_text(key.text(None))
    (tmp_path / "auditor.key").chmod(0o600)
    links = [
        json.loads(line)
        for line in cli(
            "ledger", "export", "--as", "in-toto", "--key", tmp_path / "auditor.key"
        ).out.splitlines()
    ]
    assert links[0]["signed"]["_type"] == "link" and links[0]["signed"]["name"] == "usage.save"
    assert links[0]["signatures"][0]["keyid"] == key.public.id


def test_prove_and_verify_offline(ledger: Path, cli: Cli, tmp_path: Path) -> None:
    assert cli("ledger", "checkpoint").code == 0
    proof, entry, pub = tmp_path / "p.txt", tmp_path / "e.json", tmp_path / "host.pub"
    assert cli("ledger", "prove", "2", "--out", proof, "--entry-out", entry).code == 0
    pub.write_text(cli("key", "export").out)
    run = cli("ledger", "verify-proof", proof, entry, "--trusted-key", pub)
    assert run.code == 0 and "entry 2 is in airgap/" in run.out
    entry.write_bytes(entry.read_bytes().replace(b"cssm.upload", b"cssm.download"))
    run = cli("ledger", "verify-proof", proof, entry, "--trusted-key", pub)
    assert run.code == 4 and "proof does not verify" in run.err
    stranger = SecretKey.generate()
    (tmp_path / "s.pub").write_text(stranger.public.text())
    run = cli("ledger", "verify-proof", proof, entry, "--trusted-key", tmp_path / "s.pub")
    assert run.code == 4 and "checkpoint does not verify" in run.err


def test_repair_through_the_cli(ledger: Path, cli: Cli) -> None:
    with ledger.open("ab") as handle:
        handle.write(b'{"seq":3,"prev":')
    assert cli("ledger", "verify").code == 1
    run = cli("ledger", "repair")
    assert run.code == 0 and "moved the torn tail" in run.out
    assert cli("ledger", "verify").code == 0
    assert cli("ledger", "repair").out.strip() == "nothing to repair"


def owner_only_key(path: Path) -> SecretKey:
    """An unencrypted operator key at ``path`` (mode 600) and its .pub beside it."""
    key = SecretKey.generate()
    path.write_text(key.text(None))
    path.chmod(0o600)
    path.with_suffix(".pub").write_text(key.public.text())
    return key


def test_a_missing_ledger_path_is_exit_3(cli: Cli, tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "ledger.jsonl"
    for command in ("verify", "show", "export", "checkpoint"):
        run = cli("ledger", command, "--ledger", typo)
        assert run.code == 3, (command, run)
        assert f"no such ledger: {typo}" in run.err and "verified" not in run.out
    run = cli("ledger", "verify", "--ledger", typo, "--format", "json")
    assert run.code == 3 and json.loads(run.out)["error"]["exit_code"] == 3
    assert not typo.parent.exists()


def test_record_without_a_key_says_the_host_key_signed(ledger: Path, cli: Cli) -> None:
    host = PublicKey.parse(cli("key", "export").out).id
    run = cli("ledger", "record", "--step", "note", "--note", "by the host")
    assert run.code == 0
    assert f"this host's key {host} signed the entry" in run.err
    assert f"by key {host}" in run.out


def test_record_with_a_key_says_nothing_of_the_host_key(
    ledger: Path, cli: Cli, tmp_path: Path
) -> None:
    owner_only_key(tmp_path / "op.key")
    run = cli("ledger", "record", "--step", "note", "--key", tmp_path / "op.key")
    assert run.code == 0 and "host's key" not in run.err


def test_keys_without_a_trusted_copy_are_exit_3_naming_them(
    ledger: Path, cli: Cli, tmp_path: Path
) -> None:
    olga, ivan = (owner_only_key(tmp_path / f"{name}.key") for name in ("olga", "ivan"))
    for name in ("olga", "ivan", "olga"):
        assert (
            cli("ledger", "record", "--step", "note", "--key", tmp_path / f"{name}.key").code == 0
        )
    run = cli("ledger", "verify")
    assert run.code == 3, run
    assert "cannot check the signatures" in run.err and "no trusted keys" in run.err
    assert f"key {olga.public.id} (2 entries, lines 3-5)" in run.err
    assert f"key {ivan.public.id} (line 4)" in run.err
    assert "not trusted" not in run.out + run.err and "NOT verified" not in run.out
    run = cli("ledger", "verify", "--format", "json")
    assert run.code == 3 and olga.public.id in json.loads(run.out)["error"]["message"]
    (tmp_path / "empty").mkdir()
    run = cli("ledger", "verify", "--trusted-keys", tmp_path / "empty")  # a folder of no keys
    assert run.code == 3 and "cannot check the signatures" in run.err


def test_a_key_outside_the_given_trusted_keys_is_exit_4(
    ledger: Path, cli: Cli, tmp_path: Path
) -> None:
    owner_only_key(tmp_path / "olga.key")
    owner_only_key(tmp_path / "stranger.key")
    assert cli("ledger", "record", "--step", "note", "--key", tmp_path / "olga.key").code == 0
    run = cli("ledger", "verify", "--trusted-key", tmp_path / "stranger.pub")
    assert run.code == 4 and "line 3 (entry 3): signed by key" in run.out
    assert "which is not trusted" in run.out
    run = cli("ledger", "verify", "--trusted-key", tmp_path / "olga.pub")
    assert run.code == 0 and "verified: 3 entries" in run.out
    folder = tmp_path / "trusted"
    assert (
        cli(
            "key",
            "trust",
            tmp_path / "stranger.pub",
            "--name",
            "S",
            "--role",
            "r",
            "--trusted-keys",
            folder,
            "--yes",
        ).code
        == 0
    )
    assert cli("ledger", "verify", "--trusted-keys", folder).code == 4


def test_checkpoint_names_what_it_could_not_check(ledger: Path, cli: Cli, tmp_path: Path) -> None:
    olga = owner_only_key(tmp_path / "olga.key")
    assert cli("ledger", "record", "--step", "note", "--key", tmp_path / "olga.key").code == 0
    run = cli("ledger", "checkpoint")
    assert run.code == 0 and run.out.startswith("airgap/")
    assert f"could not check 1 entry signed by key {olga.public.id} (line 3)" in run.err


def send(cli: Cli, tmp_path: Path, name: str) -> tuple[Path, str]:
    out = tmp_path / "usb" / f"{name}.tar.gz"
    run = cli(
        "bundle",
        "create",
        "--out",
        out,
        SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml",
        "--key",
        tmp_path / "op.key",
        "--allow-resend",
    )
    return out, f"{run.code}\n{run.err}"


def test_the_senders_second_bundle_needs_no_trusted_keys_folder(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender checks its own ledger with the host key and the key it signs with now; a
    colleague's entry it cannot check is named, and only a real break stops the bundle."""
    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("AIRGAP_LEDGER", str(ledger))
    owner_only_key(tmp_path / "op.key")
    colleague = owner_only_key(tmp_path / "colleague.key")
    first, result = send(cli, tmp_path, "b1")
    assert first.exists()
    assert result.startswith("0\n"), result
    assert cli("ledger", "record", "--step", "note", "--key", tmp_path / "colleague.key").code == 0
    second, result = send(cli, tmp_path, "b2")
    assert result.startswith("0\n"), result
    assert f"could not check 1 entry signed by key {colleague.public.id}" in result
    assert second.exists() and "own ledger does not verify" not in result
    folder = tmp_path / "trusted"  # trusted keys configured, the colleague's not among them
    owner_only_key(tmp_path / "auditor.key")
    assert (
        cli(
            "key",
            "trust",
            tmp_path / "auditor.pub",
            "--name",
            "A",
            "--role",
            "auditor",
            "--trusted-keys",
            folder,
            "--yes",
        ).code
        == 0
    )
    monkeypatch.setenv("AIRGAP_TRUSTED_KEYS", str(folder))
    assert (
        cli("ledger", "record", "--step", "note", "--key", tmp_path / "colleague.key").code == 0
    )  # only what follows the last checkpoint is read again
    _, result = send(cli, tmp_path, "b2b")
    assert result.startswith("0\n") and colleague.public.id in result, result
    lines = ledger.read_bytes().splitlines(keepends=True)
    ledger.write_bytes(b"".join(lines[:1] + lines[2:]))  # an entry deleted
    third, result = send(cli, tmp_path, "b3")
    assert result.startswith("4\n") and "own ledger does not verify" in result, result
    assert not third.exists()
