"""minisign formats: round trips, tampering, and interoperation with stock minisign."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airgap.signing import minisign
from airgap.signing.minisign import PublicKey, SecretKey, Signature, SignatureError
from tests.conftest import need_tool

KEY = SecretKey.generate()
COMMENT = "timestamp:1700000000\tfile:x\tctx:airgap-file/v1"


def signed(message: bytes, key: SecretKey = KEY, comment: str = COMMENT) -> Signature:
    return Signature.create(key, minisign.blake2b_file([message]), comment)


@settings(max_examples=50)
@given(st.binary(max_size=4096), st.integers(min_value=0))
def test_flipped_bit_fails(message: bytes, position: int) -> None:
    signature = Signature.parse(signed(message).text())
    signature.verify(KEY.public, [message], "m")
    if message:
        index = position % (len(message) * 8)
        tampered = bytearray(message)
        tampered[index // 8] ^= 1 << (index % 8)
        with pytest.raises(SignatureError, match="the file changed"):
            signature.verify(KEY.public, [bytes(tampered)], "m")


def test_trusted_comment_is_signed() -> None:
    text = signed(b"data").text().replace("ctx:airgap-file/v1", "ctx:airgap-bundle/v1")
    with pytest.raises(SignatureError, match="trusted comment changed"):
        Signature.parse(text).verify(KEY.public, [b"data"], "m")


def test_another_key_is_named() -> None:
    other = SecretKey.generate()
    with pytest.raises(SignatureError, match=f"signed by key {KEY.public.id}"):
        signed(b"data").verify(other.public, [b"data"], "m")


@pytest.mark.parametrize("passphrase", [None, b"correct horse"])
def test_secret_key_round_trip(passphrase: bytes | None) -> None:
    text = KEY.text(passphrase)
    assert SecretKey.encrypted(text) is (passphrase is not None)
    assert SecretKey.parse(text, passphrase).secret == KEY.secret
    if passphrase:
        with pytest.raises(minisign.KeyFileError, match="wrong passphrase"):
            SecretKey.parse(text, b"wrong")


def test_secret_key_never_in_repr() -> None:
    assert KEY.secret.hex() not in repr(KEY) and KEY.public.id in repr(KEY)


def test_public_key_round_trip() -> None:
    assert PublicKey.parse(KEY.public.text()) == KEY.public
    assert PublicKey.parse(KEY.public.text().splitlines()[1]) == KEY.public


@pytest.mark.parametrize(
    ("ops", "mem", "expected"),
    [
        (33554432, 1073741824, (20, 8, 1)),  # minisign's default (SENSITIVE)
        (minisign.OPSLIMIT, minisign.MEMLIMIT, (14, 8, 2)),  # what airgap writes
        (524288, 16777216, (14, 8, 1)),  # libsodium's INTERACTIVE
    ],
)
def test_scrypt_parameters_follow_libsodium(
    ops: int, mem: int, expected: tuple[int, int, int]
) -> None:
    assert minisign._scrypt_params(ops, mem) == expected


@pytest.mark.tool
def test_our_signature_passes_stock_minisign(tmp_path: Path) -> None:
    tool = need_tool("minisign")
    (tmp_path / "k.pub").write_text(KEY.public.text())
    message = tmp_path / "m.bin"
    message.write_bytes(b"usage report bytes\n" * 1000)
    (tmp_path / "m.bin.minisig").write_text(signed(message.read_bytes()).text())
    result = subprocess.run(
        [tool, "-Vm", str(message), "-p", str(tmp_path / "k.pub")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "ctx:airgap-file/v1" in result.stdout
    message.write_bytes(b"usage report bytes\n" * 999)
    assert (
        subprocess.run(
            [tool, "-Vm", str(message), "-p", str(tmp_path / "k.pub")], capture_output=True
        ).returncode
        != 0
    )


@pytest.mark.tool
def test_stock_minisign_keys_and_signatures_work_here(tmp_path: Path) -> None:
    tool = need_tool("minisign")
    message = tmp_path / "m.txt"
    message.write_bytes(b"hello\n")
    # an encrypted key made by minisign (its default scrypt work: seconds, 1 GiB)
    subprocess.run(
        [tool, "-G", "-p", str(tmp_path / "e.pub"), "-s", str(tmp_path / "e.key")],
        input="pw\npw\n",
        text=True,
        check=True,
        capture_output=True,
    )
    # an unencrypted one
    subprocess.run(
        [tool, "-G", "-W", "-p", str(tmp_path / "u.pub"), "-s", str(tmp_path / "u.key")],
        check=True,
        capture_output=True,
    )
    encrypted = SecretKey.load(tmp_path / "e.key", b"pw")
    assert encrypted.public == PublicKey.load(tmp_path / "e.pub")
    plain = SecretKey.load(tmp_path / "u.key", None)
    assert plain.public == PublicKey.load(tmp_path / "u.pub")
    for name in ("e", "u"):
        subprocess.run(
            [
                tool,
                "-Sm",
                str(message),
                "-s",
                str(tmp_path / f"{name}.key"),
                "-x",
                str(tmp_path / f"{name}.minisig"),
            ],
            input="pw\n",
            text=True,
            check=True,
            capture_output=True,
        )
        signature = Signature.parse((tmp_path / f"{name}.minisig").read_text())
        signature.verify(PublicKey.load(tmp_path / f"{name}.pub"), [message.read_bytes()], "m")
    # a key airgap wrote, encrypted, signs in stock minisign
    (tmp_path / "a.key").write_text(KEY.text(b"secret"))
    (tmp_path / "a.pub").write_text(KEY.public.text())
    subprocess.run(
        [
            tool,
            "-Sm",
            str(message),
            "-s",
            str(tmp_path / "a.key"),
            "-x",
            str(tmp_path / "a.minisig"),
        ],
        input="secret\n",
        text=True,
        check=True,
        capture_output=True,
    )
    Signature.parse((tmp_path / "a.minisig").read_text()).verify(
        KEY.public, [message.read_bytes()], "m"
    )


@pytest.mark.tool
def test_legacy_signature_from_minisign_verifies(tmp_path: Path) -> None:
    tool = need_tool("minisign")
    message = tmp_path / "m.txt"
    message.write_bytes(b"legacy\n")
    subprocess.run(
        [tool, "-G", "-W", "-p", str(tmp_path / "u.pub"), "-s", str(tmp_path / "u.key")],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [tool, "-S", "-l", "-m", str(message), "-s", str(tmp_path / "u.key")],
        check=True,
        capture_output=True,
    )
    signature = Signature.parse((tmp_path / "m.txt.minisig").read_text())
    assert signature.algorithm == minisign.SIG_LEGACY
    signature.verify(PublicKey.load(tmp_path / "u.pub"), [message.read_bytes()], "m")
