"""Builders for hostile ledger inputs, made fresh in a temp folder by each test: lines that are
not entries, special files where a regular file belongs, keys asking for absurd scrypt work."""

from __future__ import annotations

import base64
import json
import os
import struct
from pathlib import Path

from airgap.ledger.store import canonical
from airgap.signing.minisign import SecretKey

DEPTH = 100_000


def _entry(**changes: object) -> dict[str, object]:
    """An entry's fields (unsigned: every tampered line fails before its signature matters)."""
    fields: dict[str, object] = {
        "seq": 3,
        "prev": "sha256:" + "0" * 64,
        "time": "2026-12-01T00:00:00.000000Z",
        "step": "note",
        "operator": "0" * 16,
        "host": "jump-1",
        "device": None,
        "materials": {},
        "products": {},
        "result": "ok",
        "note": "",
        "sig": "AA==",
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not _MISSING}


_MISSING = object()

# Each kind of line that is not a ledger entry, as the bytes of one line (without newline).
TAMPERED: dict[str, bytes] = {
    "deep nesting": b"[" * DEPTH + b"]" * DEPTH,
    "deep object": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "a list": b"[1,2,3]",
    "a string": b'"seq"',
    "a number": b"42",
    "null": b"null",
    "missing sig": canonical(_entry(sig=_MISSING)),
    "missing seq": canonical(_entry(seq=_MISSING)),
    "seq as text": canonical(_entry(seq="3")),
    "seq as true": canonical(_entry(seq=True)),
    "materials as a list": canonical(_entry(materials=["a", "b"])),
    "materials of numbers": canonical(_entry(materials={"a": 1})),
    "device as a number": canonical(_entry(device=5)),
    "step as an object": canonical(_entry(step={"x": 1})),
    "invalid UTF-8": canonical(_entry(note="x"))[:-2] + b'\xff\xfe"}',
    "a 5,000-digit number": canonical(_entry())[:-1] + b',"z":' + b"9" * 5000 + b"}",
    "binary": bytes(range(256)).replace(b"\n", b""),
    "blank": b"",
}


def append_line(ledger: Path, line: bytes) -> None:
    """Add one raw line at the end of a ledger."""
    with ledger.open("ab") as handle:
        handle.write(line + b"\n")


def fifo(path: Path) -> Path:
    """A named pipe at ``path``: reading it would wait forever for a writer."""
    os.mkfifo(path)
    return path


def oversize(path: Path, size: int = (1 << 20) + 1) -> Path:
    """A file of ``size`` bytes, over the cap for any small input."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def greedy_key(path: Path, passphrase: bytes, opslimit: int, memlimit: int) -> Path:
    """An encrypted secret key whose header asks scrypt for ``opslimit`` and ``memlimit``."""
    lines = SecretKey.generate().text(passphrase).splitlines()
    raw = bytearray(base64.b64decode(lines[1]))
    raw[38:54] = struct.pack("<QQ", opslimit, memlimit)
    path.write_text(f"{lines[0]}\n{base64.b64encode(bytes(raw)).decode()}\n")
    path.chmod(0o600)
    return path


def roster_undoing_a_revocation(folder: Path) -> None:
    """Append to a trusted-keys roster an entry trusting again each key it revoked."""
    roster = folder / "roster.json"
    data = json.loads(roster.read_text())
    again = [
        {**entry, "revoked": None, "reason": None} for entry in data["keys"] if entry["revoked"]
    ]
    data["keys"].extend(again)
    roster.write_text(json.dumps(data))
