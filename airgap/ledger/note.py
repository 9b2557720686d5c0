"""Signed notes (C2SP signed-note, as golang.org/x/mod/sumdb/note writes them) and
checkpoints (C2SP tlog-checkpoint): how a ledger's size and root are signed and exchanged.

A note is text ending in a newline, a blank line, then one line per signature:
``— <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>``. The key hash is the
first four bytes of SHA-256(name || "\\n" || 0x01 || public key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field

from airgap.signing.minisign import SecretKey

ED25519 = b"\x01"
DASH = "\u2014"
_NAME = re.compile(r"[^\s+]+")


class NoteError(Exception):
    """A note that is malformed or whose signature does not verify."""


def key_hash(name: str, public: bytes) -> bytes:
    """The 4-byte key hash that tags a signature line."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


@dataclass(frozen=True)
class NoteVerifier:
    """A named Ed25519 public key, as a verifier key string ``name+hash+base64key``."""

    name: str
    public: bytes

    @property
    def hash(self) -> bytes:
        """The key hash."""
        return key_hash(self.name, self.public)

    def text(self) -> str:
        """The verifier key string."""
        key = base64.b64encode(ED25519 + self.public).decode()
        return f"{self.name}+{self.hash.hex()}+{key}"

    @classmethod
    def parse(cls, text: str) -> NoteVerifier:
        """Read a verifier key string."""
        name, _, rest = text.strip().partition("+")
        hash_hex, _, key = rest.partition("+")
        try:
            raw = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError("malformed verifier key") from None
        if not _NAME.fullmatch(name) or len(raw) != 33 or raw[:1] != ED25519:
            raise NoteError("malformed verifier key")
        verifier = cls(name, raw[1:])
        if verifier.hash.hex() != hash_hex.lower():
            raise NoteError("verifier key hash does not match")
        return verifier


@dataclass(frozen=True)
class NoteSigner:
    """A named Ed25519 secret key that signs notes."""

    name: str
    key: SecretKey

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier."""
        return NoteVerifier(self.name, self.key.secret[32:])

    @classmethod
    def parse(cls, text: str) -> NoteSigner:
        """Read a Go signer key string ``PRIVATE+KEY+name+hash+base64(0x01 || seed)``."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("malformed signer key")
        raw = base64.b64decode(parts[4])
        if len(raw) != 33 or raw[:1] != ED25519:
            raise NoteError("malformed signer key")
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        public = (
            Ed25519PrivateKey.from_private_bytes(raw[1:])
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        signer = cls(parts[2], SecretKey(bytes(8), raw[1:] + public))
        if signer.verifier.hash.hex() != parts[3].lower():
            raise NoteError("signer key hash does not match")
        return signer

    def sign(self, text: str) -> str:
        """``text`` (one or more lines, ending in a newline) as a signed note."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("a note's text ends in one newline and has no blank line")
        signature = self.key.sign_digest(text.encode())
        line = base64.b64encode(self.verifier.hash + signature).decode()
        return f"{text}\n{DASH} {self.name} {line}\n"


@dataclass(frozen=True)
class Note:
    """A signed note: its text and the names of the keys whose signatures verified."""

    text: str
    signed_by: list[str] = field(default_factory=list)


MAX_SIGNATURES = 100
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def open_note(message: str | bytes, verifiers: list[NoteVerifier]) -> Note:
    """Split a signed note and verify it, as golang.org/x/mod/sumdb/note's Open does: a
    malformed note is refused, signatures by unknown keys are skipped, a bad signature by a
    known key is refused, and at least one known key must have signed it."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("malformed note: not UTF-8") from None
    if _CONTROL.search(message):
        raise NoteError("malformed note: control characters")
    text, sep, signatures = message.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("malformed note: no signature block")
    text += "\n"
    lines = signatures.splitlines()
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    signed_by: list[str] = []
    for line in lines:
        name, _, value = line.removeprefix(f"{DASH} ").partition(" ")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if not line.startswith(f"{DASH} ") or not _NAME.fullmatch(name) or len(raw) < 5:
            raise NoteError(f"malformed note: bad signature line {line!r}")
        for verifier in verifiers:
            if verifier.name != name or not hmac.compare_digest(raw[:4], verifier.hash):
                continue
            try:
                Ed25519PublicKey.from_public_bytes(verifier.public).verify(raw[4:], text.encode())
            except InvalidSignature:
                raise NoteError(f"invalid signature for key {name}") from None
            if name not in signed_by:
                signed_by.append(name)
    if not signed_by:
        raise NoteError("no signature by a known key")
    return Note(text, signed_by)


@dataclass(frozen=True)
class Checkpoint:
    """A log's origin, size and root hash (C2SP tlog-checkpoint), plus extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The checkpoint body (the note text)."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint body."""
        lines = text.splitlines()
        try:
            origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
        except (IndexError, ValueError, binascii.Error):
            raise NoteError("malformed checkpoint") from None
        if not origin or size < 0 or len(root) != 32:
            raise NoteError("malformed checkpoint")
        return cls(origin, size, root, tuple(lines[3:]))
