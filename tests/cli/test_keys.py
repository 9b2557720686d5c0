"""``airgap key``, ``sign`` and ``verify`` through the real CLI."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from airgap.signing.minisign import PublicKey, SecretKey
from tests.conftest import Cli
from tests.ledger.hostile import roster_undoing_a_revocation


@pytest.fixture
def passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "passphrase.txt"
    path.write_text("correct horse battery\n")
    monkeypatch.setenv("AIRGAP_PASSPHRASE_FILE", str(path))
    return "correct horse battery"


@pytest.fixture
def keyed(tmp_path: Path, cli: Cli, passphrase: str) -> Path:
    """An operator key pair at tmp/op.{key,pub} and a signed file tmp/report.xml."""
    assert cli("key", "generate", "--out", tmp_path / "op").code == 0
    (tmp_path / "report.xml").write_bytes(b"<smartLicense/>")
    assert cli("sign", tmp_path / "report.xml", "--key", tmp_path / "op.key").code == 0
    return tmp_path


def test_generate_writes_encrypted_owner_only_key(keyed: Path, passphrase: str) -> None:
    key_file = keyed / "op.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert SecretKey.encrypted(key_file.read_text())
    key = SecretKey.load(key_file, passphrase.encode())
    assert key.public == PublicKey.load(keyed / "op.pub")


def test_generate_never_overwrites_or_prints_the_secret(
    keyed: Path, cli: Cli, passphrase: str
) -> None:
    before = (keyed / "op.key").read_bytes()
    run = cli("key", "generate", "--out", keyed / "op")
    assert run.code == 3 and "refusing to overwrite" in run.err
    assert (keyed / "op.key").read_bytes() == before
    secret = SecretKey.load(keyed / "op.key", passphrase.encode()).secret
    run = cli("key", "generate", "--out", keyed / "other", "--no-passphrase", "--format", "json")
    plain = SecretKey.load(keyed / "other.key", None)
    for text in (run.out, run.err):
        assert secret.hex() not in text and plain.secret.hex() not in text
        assert (keyed / "other.key").read_text().splitlines()[1] not in text


def test_sign_then_verify(keyed: Path, cli: Cli) -> None:
    run = cli("verify", keyed / "report.xml", "--trusted-key", keyed / "op.pub", "--format", "json")
    assert run.code == 0, run.err
    result = json.loads(run.out)["results"][0]
    assert "ctx:airgap-file/v1" in result["trusted_comment"]
    assert "timestamp:" in result["trusted_comment"]


def test_sign_uses_source_date_epoch(
    keyed: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    cli("sign", keyed / "report.xml", "--key", keyed / "op.key", "--out", keyed / "a.sig")
    cli("sign", keyed / "report.xml", "--key", keyed / "op.key", "--out", keyed / "b.sig")
    assert (keyed / "a.sig").read_bytes() == (keyed / "b.sig").read_bytes()
    assert "timestamp:1700000000\t" in (keyed / "a.sig").read_text()


def test_each_trust_failure_is_exit_4(keyed: Path, cli: Cli) -> None:
    report, pub = keyed / "report.xml", keyed / "op.pub"
    cli("key", "generate", "--out", keyed / "stranger", "--no-passphrase")
    assert cli("verify", report, "--trusted-key", keyed / "stranger.pub").code == 4
    tampered = keyed / "tampered.xml"
    tampered.write_bytes(b"<smartLicense />")
    run = cli("verify", tampered, "--sig", f"{report}.minisig", "--trusted-key", pub)
    assert run.code == 4 and "the file changed" in run.err
    comment = Path(f"{report}.minisig")
    comment.write_text(comment.read_text().replace("airgap-file/v1", "airgap-bundle/v1"))
    run = cli("verify", report, "--trusted-key", pub)
    assert run.code == 4 and "another purpose" in run.err
    comment.unlink()
    run = cli("verify", report, "--trusted-key", pub)
    assert run.code == 4 and "missing signature" in run.err and "Errno" not in run.err
    comment.write_bytes(b"\xff\xfe")
    run = cli("verify", report, "--trusted-key", pub)
    assert run.code == 4 and "not a signature" in run.err and "not UTF-8" in run.err


def test_trust_list_and_revoke(keyed: Path, cli: Cli) -> None:
    folder = keyed / "trusted"
    key_id = PublicKey.load(keyed / "op.pub").id
    run = cli(
        "key",
        "trust",
        keyed / "op.pub",
        "--name",
        "Olga P",
        "--role",
        "operator",
        "--trusted-keys",
        folder,
        "--yes",
    )
    assert run.code == 0 and key_id in run.err
    run = cli("verify", keyed / "report.xml", "--trusted-keys", folder)
    assert run.code == 0 and "Olga P, operator" in run.out
    listed = json.loads(cli("key", "list", "--trusted-keys", folder, "--format", "json").out)
    assert listed["results"][0]["name"] == "Olga P" and listed["host_key"]
    assert cli("key", "revoke", key_id, "--reason", "left", "--trusted-keys", folder).code == 0
    run = cli("verify", keyed / "report.xml", "--trusted-keys", folder)
    assert run.code == 4 and "revoked key" in run.err and "left" in run.err


def test_trusted_keys_from_the_user_config(keyed: Path, cli: Cli, hermetic: Path) -> None:
    folder = keyed / "trusted"
    cli(
        "key",
        "trust",
        keyed / "op.pub",
        "--name",
        "O",
        "--role",
        "r",
        "--trusted-keys",
        folder,
        "--yes",
    )
    config = hermetic / ".config" / "airgap" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'trusted_keys = "{folder}"\n')
    assert cli("verify", keyed / "report.xml").code == 0


def test_no_trusted_keys_is_exit_3(keyed: Path, cli: Cli) -> None:
    run = cli("verify", keyed / "report.xml")
    assert run.code == 3 and "no trusted keys" in run.err


def test_host_key_is_made_once_owner_only(cli: Cli, hermetic: Path) -> None:
    first = cli("key", "export").out
    second = cli("key", "export").out
    assert first == second and first.startswith("untrusted comment: minisign public key")
    host = hermetic / ".local" / "share" / "airgap" / "host.key"
    assert stat.S_IMODE(host.stat().st_mode) == 0o600


def test_export_gives_the_secret_keys_own_public_key(keyed: Path, cli: Cli) -> None:
    run = cli("key", "export", "--key", keyed / "op.key")
    assert run.code == 0 and run.out == (keyed / "op.pub").read_text()


def test_export_refuses_a_pub_of_another_key(keyed: Path, cli: Cli) -> None:
    other = SecretKey.generate().public
    (keyed / "op.pub").write_text(other.text())
    run = cli("key", "export", "--key", keyed / "op.key", "--out", keyed / "out.pub")
    assert run.code == 4 and "public key does not belong to the secret key" in run.err
    assert other.id in run.err and run.out == "" and not (keyed / "out.pub").exists()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_secret_key_others_may_read_is_refused(mode: int, keyed: Path, cli: Cli) -> None:
    key = keyed / "op.key"
    key.chmod(mode)
    report = keyed / "report.xml"
    for args in (
        ("sign", report, "--key", key, "--out", keyed / "s.minisig"),
        ("key", "export", "--key", key),
        ("ledger", "record", "--step", "note", "--key", key, "--ledger", keyed / "ledger.jsonl"),
    ):
        run = cli(*args)
        assert run.code == 3 and "secret key readable by others" in run.err, args
        assert f"mode {mode:03o}" in run.err and "--insecure-key-permissions" in run.err
        assert cli(*args, "--insecure-key-permissions").code == 0, args
    assert (keyed / "ledger.jsonl").read_bytes().count(b"\n") == 1  # only the allowed one


def test_a_roster_undoing_a_revocation_is_refused(keyed: Path, cli: Cli) -> None:
    folder = keyed / "trusted"
    key_id = PublicKey.load(keyed / "op.pub").id
    cli(
        "key",
        "trust",
        keyed / "op.pub",
        "--name",
        "Olga",
        "--role",
        "operator",
        "--trusted-keys",
        folder,
        "--yes",
    )
    assert cli("key", "revoke", key_id, "--trusted-keys", folder).code == 0
    roster_undoing_a_revocation(folder)
    for args in (("verify", keyed / "report.xml"), ("key", "list")):
        run = cli(*args, "--trusted-keys", folder)
        assert run.code == 4 and "roster undoes a revocation" in run.err, args
        assert key_id in run.err


def test_a_revoked_key_cannot_be_trusted_again(keyed: Path, cli: Cli) -> None:
    folder = keyed / "trusted"
    key_id = PublicKey.load(keyed / "op.pub").id
    cli(
        "key",
        "trust",
        keyed / "op.pub",
        "--name",
        "Olga",
        "--role",
        "operator",
        "--trusted-keys",
        folder,
        "--yes",
    )
    cli("key", "revoke", key_id, "--reason", "lost laptop", "--trusted-keys", folder)
    run = cli(
        "key",
        "trust",
        keyed / "op.pub",
        "--name",
        "Olga",
        "--role",
        "operator",
        "--trusted-keys",
        folder,
        "--yes",
    )
    assert run.code == 4 and "revoked key" in run.err
    run = cli("verify", keyed / "report.xml", "--trusted-keys", folder)
    assert run.code == 4 and "revoked key" in run.err


def test_a_host_key_others_may_read_is_refused(cli: Cli, hermetic: Path) -> None:
    assert cli("key", "export").code == 0
    host = hermetic / ".local" / "share" / "airgap" / "host.key"
    host.chmod(0o644)
    run = cli("ledger", "record", "--step", "note", "--ledger", hermetic / "ledger.jsonl")
    assert run.code == 3 and "secret key readable by others" in run.err
    assert f"chmod 600 {host}" in run.err and "--insecure" not in run.err
    assert not (hermetic / "ledger.jsonl").exists()
