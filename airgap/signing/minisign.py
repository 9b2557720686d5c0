"""minisign's key and signature formats (https://jedisct1.github.io/minisign/), in Python.

Everything interoperates with stock minisign: signatures made here pass ``minisign -V``, its
signatures pass here, and its secret keys (encrypted or not) load here. Ed25519 comes from
``cryptography``; BLAKE2b (prehashing, key checksums) from ``hashlib``; scrypt from
``cryptography`` with the parameters written in the key file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from airgap.errors import InputError, TrustError, why
from airgap.fsutil import read_small, write_atomic

SIG_PREHASHED = b"ED"  # signs BLAKE2b-512(message): what minisign makes by default
SIG_LEGACY = b"Ed"  # signs the message itself; verified, never made
KDF_SCRYPT = b"Sc"
KDF_NONE = b"\x00\x00"
CHECKSUM_BLAKE2B = b"B2"
# scrypt work for keys airgap writes: opens in ~50 ms (N=2^14, r=8, p=2), where minisign's own
# default takes seconds and 1 GiB. minisign reads the parameters from the key file.
OPSLIMIT = 1 << 20
MEMLIMIT = 1 << 24
# The most scrypt work a key may ask for: minisign's own default (N=2^20, r=8, p=1: 1 GiB,
# seconds) with room to spare. A key file asking for more would hold the host for minutes or
# exhaust its memory before the passphrase could even be checked.
MAX_SCRYPT_MEMORY = 1 << 30
MAX_SCRYPT_WORK = 1 << 25  # N * r * p
KEY_FILE_BYTES = 1 << 12  # a minisign key file is under 300 bytes
CHUNK = 1 << 20


class KeyFileError(InputError):
    """A key file that cannot be read: malformed, or the passphrase is wrong (exit 3)."""


class SignatureError(TrustError):
    """A signature that does not verify, or was made by a key not trusted here (exit 4)."""


def key_id_hex(key_id: bytes) -> str:
    """How minisign shows a key id: the 8 bytes as a little-endian number, upper-case hex."""
    return f"{int.from_bytes(key_id, 'little'):016X}"


def _b64(text: str, what: str, path: str | Path) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"malformed {what}", path, "not base64") from None


def read_key_file(
    path: Path, *, secret: bool = False, insecure_permissions: bool | None = False
) -> str:
    """A key file's text, read with a size cap. A secret key that its group or others may
    read or write is refused, as ssh refuses one, unless ``insecure_permissions`` (None: no
    way around it, as for the host key)."""
    what = "secret key" if secret else "public key"
    try:
        data = read_small(path, KEY_FILE_BYTES)
        mode = path.stat().st_mode & 0o777
    except OSError as exc:
        raise KeyFileError(f"cannot read {what}", path, why(exc)) from None
    if secret and mode & 0o077 and not insecure_permissions:
        anyway = (
            ""
            if insecure_permissions is None
            else ", or --insecure-key-permissions to use it anyway"
        )
        raise KeyFileError(
            "secret key readable by others",
            path,
            f"mode {mode:03o}; a secret key is for its owner only",
            f"chmod 600 {path}{anyway}",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KeyFileError(f"cannot read {what}", path, why(exc)) from None


def _lines(text: str, what: str, path: str | Path, count: int) -> list[str]:
    lines = text.splitlines()
    if len(lines) < count or not lines[0].startswith("untrusted comment:"):
        raise KeyFileError(f"malformed {what}", path, "not in minisign's format")
    return lines


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key and its 8-byte key id."""

    key_id: bytes
    key: bytes

    @property
    def id(self) -> str:
        """The key id as minisign prints it."""
        return key_id_hex(self.key_id)

    @classmethod
    def parse(cls, text: str, path: str | Path = "<public key>") -> PublicKey:
        """Read a ``.pub`` file's text (two lines), or a bare base64 line as ``minisign -P``."""
        lines = [line for line in text.splitlines() if line.strip()]
        if lines and lines[0].startswith("untrusted comment:"):
            lines = lines[1:]
        raw = _b64(lines[0] if lines else "", "public key", path)
        if len(raw) != 42 or raw[:2] != SIG_LEGACY:
            raise KeyFileError("malformed public key", path, "not an Ed25519 minisign public key")
        return cls(raw[2:10], raw[10:])

    @classmethod
    def load(cls, path: Path) -> PublicKey:
        """Read a ``.pub`` file."""
        return cls.parse(read_key_file(path), path)

    def text(self) -> str:
        """The ``.pub`` file's content."""
        raw = base64.b64encode(SIG_LEGACY + self.key_id + self.key).decode()
        return f"untrusted comment: minisign public key {self.id}\n{raw}\n"


@dataclass(frozen=True, repr=False)
class SecretKey:
    """An Ed25519 secret key (seed and public key, as libsodium keeps it) and its key id.

    ``repr`` shows the key id only: a secret key is never printed or logged.
    """

    key_id: bytes
    secret: bytes  # 64 bytes: seed + public key

    def __repr__(self) -> str:
        return f"SecretKey(id={self.public.id})"

    @property
    def public(self) -> PublicKey:
        """The matching public key."""
        return PublicKey(self.key_id, self.secret[32:])

    @classmethod
    def generate(cls) -> SecretKey:
        """A new random key."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        seed = os.urandom(32)
        public = (
            Ed25519PrivateKey.from_private_bytes(seed)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return cls(os.urandom(8), seed + public)

    def _checksum(self) -> bytes:
        return hashlib.blake2b(SIG_LEGACY + self.key_id + self.secret, digest_size=32).digest()

    def text(self, passphrase: bytes | None) -> str:
        """The ``.key`` file's content: encrypted with scrypt when a passphrase is given."""
        salt = os.urandom(32)
        keynum = self.key_id + self.secret + self._checksum()
        if passphrase is None:
            kdf, comment = KDF_NONE, "minisign secret key"
        else:
            kdf, comment = KDF_SCRYPT, "minisign encrypted secret key"
            stream = _scrypt(passphrase, salt, OPSLIMIT, MEMLIMIT)
            keynum = bytes(a ^ b for a, b in zip(keynum, stream, strict=True))
        raw = (
            SIG_LEGACY
            + kdf
            + CHECKSUM_BLAKE2B
            + salt
            + struct.pack("<QQ", OPSLIMIT, MEMLIMIT)
            + keynum
        )
        return f"untrusted comment: {comment}\n{base64.b64encode(raw).decode()}\n"

    @staticmethod
    def encrypted(text: str, path: str | Path = "<secret key>") -> bool:
        """Whether a ``.key`` file's content needs a passphrase; a malformed key, or one
        asking for more scrypt work than :data:`MAX_SCRYPT_WORK`, is refused before any
        passphrase is asked for."""
        return _secret_raw(text, path)[2:4] == KDF_SCRYPT

    @classmethod
    def parse(
        cls, text: str, passphrase: bytes | None, path: str | Path = "<secret key>"
    ) -> SecretKey:
        """Read a ``.key`` file's text, decrypting it with ``passphrase`` when it is encrypted."""
        raw = _secret_raw(text, path)
        kdf, salt = raw[2:4], raw[6:38]
        opslimit, memlimit = struct.unpack("<QQ", raw[38:54])
        keynum = raw[54:]
        if kdf == KDF_SCRYPT:
            if passphrase is None:
                raise KeyFileError(
                    "secret key is encrypted",
                    path,
                    "no passphrase given",
                    "type it at the prompt or set AIRGAP_PASSPHRASE_FILE",
                )
            stream = _scrypt(passphrase, salt, opslimit, memlimit)
            keynum = bytes(a ^ b for a, b in zip(keynum, stream, strict=True))
        elif kdf != KDF_NONE:
            raise KeyFileError("malformed secret key", path, "unknown key derivation")
        key = cls(keynum[:8], keynum[8:72])
        checksum = keynum[72:]
        if kdf == KDF_NONE and checksum == bytes(32):
            return key  # minisign 0.11 writes unencrypted keys (-W) with a zero checksum
        if not hmac.compare_digest(key._checksum(), checksum):
            why = "wrong passphrase" if kdf == KDF_SCRYPT else "checksum mismatch"
            raise KeyFileError("cannot open secret key", path, why)
        return key

    @classmethod
    def load(
        cls, path: Path, passphrase: bytes | None, *, insecure_permissions: bool | None = False
    ) -> SecretKey:
        """Read a ``.key`` file (refused when others may read it, see :func:`read_key_file`)."""
        text = read_key_file(path, secret=True, insecure_permissions=insecure_permissions)
        return cls.parse(text, passphrase, path)

    def sign_digest(self, data: bytes) -> bytes:
        """Ed25519 signature of ``data``."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(self.secret[:32]).sign(data)


def rewrite_secret(path: Path, key: SecretKey, passphrase: bytes | None) -> None:
    """Write ``key`` over its own file under a new passphrase (None: unencrypted): the new file
    takes the name only once written whole, readable by its owner only; a link is refused."""
    try:
        write_atomic(path, key.text(passphrase).encode(), 0o600)
    except OSError as exc:
        raise KeyFileError("cannot write secret key", path, why(exc)) from None


def _secret_raw(text: str, path: str | Path) -> bytes:
    """A ``.key`` file's decoded bytes, checked for form and for the scrypt work it asks."""
    raw = _b64(_lines(text, "secret key", path, 2)[1], "secret key", path)
    if len(raw) != 158 or raw[:2] != SIG_LEGACY or raw[4:6] != CHECKSUM_BLAKE2B:
        raise KeyFileError("malformed secret key", path, "not an Ed25519 minisign secret key")
    if raw[2:4] == KDF_SCRYPT:
        n_log2, r, p = _scrypt_params(*struct.unpack("<QQ", raw[38:54]))
        memory, work = 128 * r << n_log2, (r * p) << n_log2
        if memory > MAX_SCRYPT_MEMORY or work > MAX_SCRYPT_WORK or p < 1:
            raise KeyFileError(
                "refusing secret key",
                path,
                f"its scrypt parameters ask for {memory >> 20:,} MiB and "
                f"{work:,} rounds; at most {MAX_SCRYPT_MEMORY >> 20:,} MiB and "
                f"{MAX_SCRYPT_WORK:,} are allowed",
            )
    return raw


def _scrypt(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    """libsodium's crypto_pwhash_scryptsalsa208sha256 with its own choice of N, r and p."""
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    n_log2, r, p = _scrypt_params(opslimit, memlimit)
    return Scrypt(salt=salt, length=104, n=1 << n_log2, r=r, p=p).derive(passphrase)


def _scrypt_params(opslimit: int, memlimit: int) -> tuple[int, int, int]:
    """libsodium's pickparams(): scrypt N (as log2), r and p from ops and memory limits."""
    opslimit = max(opslimit, 32768)
    r = 8
    if opslimit < memlimit // 32:
        p = 1
        max_n = opslimit // (r * 4)
    else:
        max_n = memlimit // (r * 128)
    n_log2 = 1
    while n_log2 < 63 and (1 << n_log2) <= max_n // 2:
        n_log2 += 1
    if opslimit >= memlimit // 32:
        max_rp = min((opslimit // 4) // (1 << n_log2), 0x3FFFFFFF)
        p = max_rp // r
    return n_log2, r, p


def blake2b_file(chunks: Iterable[bytes]) -> bytes:
    """BLAKE2b-512 of a stream: what a prehashed (``ED``) signature signs."""
    digest = hashlib.blake2b()
    for chunk in chunks:
        digest.update(chunk)
    return digest.digest()


def read_chunks(path: Path) -> Iterable[bytes]:
    """A file's bytes in 1 MiB pieces."""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


@dataclass(frozen=True)
class Signature:
    """A detached signature: ``.minisig`` file."""

    algorithm: bytes
    key_id: bytes
    signature: bytes
    trusted_comment: str
    global_signature: bytes
    untrusted_comment: str = "signature from airgap"

    @classmethod
    def create(
        cls,
        key: SecretKey,
        prehash: bytes,
        trusted_comment: str,
        untrusted_comment: str = "signature from airgap secret key",
    ) -> Signature:
        """Sign a message's BLAKE2b-512 digest, and the trusted comment with it."""
        if "\n" in trusted_comment or "\r" in trusted_comment:
            raise ValueError("a trusted comment is one line")
        signature = key.sign_digest(prehash)
        global_signature = key.sign_digest(signature + trusted_comment.encode())
        return cls(
            SIG_PREHASHED,
            key.key_id,
            signature,
            trusted_comment,
            global_signature,
            untrusted_comment,
        )

    def text(self) -> str:
        """The ``.minisig`` file's content."""
        first = base64.b64encode(self.algorithm + self.key_id + self.signature).decode()
        second = base64.b64encode(self.global_signature).decode()
        return (
            f"untrusted comment: {self.untrusted_comment}\n{first}\n"
            f"trusted comment: {self.trusted_comment}\n{second}\n"
        )

    @classmethod
    def parse(cls, text: str, path: str | Path = "<signature>") -> Signature:
        """Read a ``.minisig`` file's text."""
        lines = text.splitlines()
        if (
            len(lines) < 4
            or not lines[0].startswith("untrusted comment:")
            or not lines[2].startswith("trusted comment: ")
        ):
            raise SignatureError("malformed signature", path, "not in minisign's format")
        try:
            raw = base64.b64decode(lines[1].strip(), validate=True)
            global_signature = base64.b64decode(lines[3].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("malformed signature", path, "not base64") from None
        if (
            len(raw) != 74
            or raw[:2] not in (SIG_PREHASHED, SIG_LEGACY)
            or len(global_signature) != 64
        ):
            raise SignatureError("malformed signature", path, "not an Ed25519 minisign signature")
        return cls(
            raw[:2],
            raw[2:10],
            raw[10:],
            lines[2].removeprefix("trusted comment: "),
            global_signature,
            lines[0].removeprefix("untrusted comment:").strip(),
        )

    @property
    def key_hex(self) -> str:
        """The signing key's id as minisign prints it."""
        return key_id_hex(self.key_id)

    def verify(self, key: PublicKey, message: Iterable[bytes], path: str | Path) -> None:
        """Check the signature over ``message`` and the trusted comment; raise if either fails."""
        signed = blake2b_file(message) if self.algorithm == SIG_PREHASHED else b"".join(message)
        self.verify_signed(key, signed, path)

    def verify_signed(self, key: PublicKey, signed: bytes, path: str | Path) -> None:
        """:meth:`verify` given what was signed: the BLAKE2b-512 digest for ``ED``."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        if not hmac.compare_digest(self.key_id, key.key_id):
            raise SignatureError(
                "signature by another key", path, f"signed by key {self.key_hex}, not {key.id}"
            )
        public = Ed25519PublicKey.from_public_bytes(key.key)
        try:
            public.verify(self.signature, signed)
        except InvalidSignature:
            raise SignatureError(
                "bad signature", path, "the file changed after it was signed"
            ) from None
        try:
            public.verify(self.global_signature, self.signature + self.trusted_comment.encode())
        except InvalidSignature:
            raise SignatureError(
                "bad signature", path, "the trusted comment changed after it was signed"
            ) from None

    def fields(self) -> dict[str, str]:
        """The trusted comment's tab-separated ``name:value`` fields."""
        result = {}
        for part in self.trusted_comment.split("\t"):
            name, sep, value = part.partition(":")
            if sep:
                result[name] = value
        return result
