"""The ledger file: JSON Lines, one canonical signed entry per line, hash-chained.

Each entry is shaped like an in-toto link: ``seq``, ``prev`` (SHA-256 of the previous line),
``time``, ``step``, ``operator`` (the signing key's id), ``host``, ``device``, ``materials``
and ``products`` (path -> sha256), ``result``, ``note`` and ``sig`` (Ed25519 over the entry's
canonical JSON without ``sig``). Appends take an exclusive lock, write one whole line in one
``write`` and fsync. A last line without its newline is a torn tail (a crash mid-append): it is
reported and blocks appends until :meth:`Ledger.repair` moves it aside and records that it did.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airgap.errors import FindingsError, InputError
from airgap.fsutil import write_atomic
from airgap.signing.minisign import SecretKey

STEPS = (
    "usage.save", "usage.collect", "validate", "bundle.create", "media.write", "media.read",
    "bundle.verify", "bundle.extract", "cssm.upload", "cssm.download", "import.before",
    "import.apply", "import.after", "diff", "key.trust", "key.revoke", "host.key.accept",
    "ledger.repair", "note",
)
GENESIS = "sha256:" + "0" * 64
TAIL_CHUNK = 1 << 16


class TornTailError(FindingsError):
    """The last line was cut mid-write; appends wait for ``airgap ledger repair`` (exit 1)."""

    default_hint = "run 'airgap ledger repair' to move the torn line aside and record it"


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def line_hash(line: bytes) -> str:
    """How ``prev`` names a line: ``sha256:<hex>`` of its bytes without the newline."""
    return "sha256:" + hashlib.sha256(line).hexdigest()


def sign_entry(fields: Mapping[str, Any], key: SecretKey) -> bytes:
    """The entry's line (without newline): canonical JSON with ``sig`` over the rest."""
    unsigned = {k: v for k, v in fields.items() if k != "sig"}
    signature = base64.b64encode(key.sign_digest(canonical(unsigned))).decode()
    return canonical({**unsigned, "sig": signature})


def now() -> str:
    """ISO 8601 UTC with microseconds: entries made in the same second still order."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Tail:
    """The end of the ledger: the last whole line, its number, and any torn bytes after it."""

    count: int | None  # seq of the last whole entry (None when unknown: an empty ledger is 0)
    last_line: bytes | None
    torn: bytes
    end: int  # byte offset after the last whole line


@dataclass
class Ledger:
    """A ledger file."""

    path: Path
    host: str = field(default_factory=socket.gethostname)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    def tail(self, fd: int | None = None) -> Tail:
        """The last whole line and anything torn after it, read from the end."""
        if fd is None:
            try:
                with self.path.open("rb") as handle:
                    return self.tail(handle.fileno())
            except FileNotFoundError:
                return Tail(0, None, b"", 0)
        size = os.fstat(fd).st_size
        buffer, position = b"", size
        while position > 0 and buffer.count(b"\n") < 2:  # the torn part and one whole line
            step = min(TAIL_CHUNK, position)
            position -= step
            buffer = os.pread(fd, step, position) + buffer
        cut = buffer.rfind(b"\n") + 1
        torn, body = buffer[cut:], buffer[:cut][:-1]
        last = body[body.rfind(b"\n") + 1:] if cut else b""
        if not last:
            return Tail(0, None, torn, size - len(torn))
        count = None
        with contextlib.suppress(ValueError, KeyError, TypeError):
            count = int(json.loads(last)["seq"])
        return Tail(count, last, torn, size - len(torn))

    def append(self, step: str, key: SecretKey, *, device: str | None = None,
               materials: Mapping[str, str] | None = None,
               products: Mapping[str, str] | None = None, result: str = "ok",
               note: str = "", extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Record one step, signed by ``key``; refused while the tail is torn."""
        if step not in STEPS:
            raise InputError("unknown step", step, f"steps are: {', '.join(STEPS)}")
        with self._locked() as fd:
            tail = self.tail(fd)
            if tail.torn:
                raise TornTailError("torn tail", self.path, f"{len(tail.torn)} bytes after line "
                                    f"{tail.count or 0} have no newline; appends are refused")
            if tail.last_line is not None and tail.count is None:
                raise InputError("cannot append", self.path, "the last line is not a ledger "
                                 "entry", "run 'airgap ledger verify'")
            fields: dict[str, Any] = {
                "seq": (tail.count or 0) + 1,
                "prev": line_hash(tail.last_line) if tail.last_line else GENESIS,
                "time": now(), "step": step, "operator": key.public.id, "host": self.host,
                "device": device, "materials": dict(materials or {}),
                "products": dict(products or {}), "result": result, "note": note,
                **(extra or {}),
            }
            line = sign_entry(fields, key) + b"\n"
            written = os.write(fd, line)
            if written != len(line):  # a short write leaves a torn tail for repair to find
                raise OSError(f"short write to {self.path}")
            os.fsync(fd)
        return json.loads(line)  # type: ignore[no-any-return]

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, bytes without newline) of every whole line; the torn tail is not one."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        with handle:
            for number, line in enumerate(handle, start=1):
                if line.endswith(b"\n"):
                    yield number, line[:-1]

    def ledger_id(self) -> str:
        """A ledger's id: from its first line, so it never changes."""
        for _, line in self.lines():
            return hashlib.sha256(line).hexdigest()[:16]
        raise InputError("empty ledger", self.path, "no entry yet")

    def origin(self) -> str:
        """The checkpoint origin: ``airgap/<host>/<ledger id>``."""
        return f"airgap/{self.host}/{self.ledger_id()}"

    def repair(self, key: SecretKey) -> Path | None:
        """Move a torn tail to a side file and record that; None when there was nothing."""
        with self._locked() as fd:
            tail = self.tail(fd)
            if not tail.torn:
                return None
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            side = self.path.with_name(f"{self.path.name}.torn-{stamp}")
            write_atomic(side, tail.torn, replace=False)
            os.ftruncate(fd, tail.end)
            os.fsync(fd)
        digest = hashlib.sha256(tail.torn).hexdigest()
        self.append("ledger.repair", key, products={str(side): f"sha256:{digest}"},
                    note=f"moved a torn tail of {len(tail.torn)} bytes after entry "
                         f"{tail.count or 0} to {side.name}")
        return side


def write_entries(path: Path, key: SecretKey, entries: Iterable[Mapping[str, Any]]) -> None:
    """Write many signed, chained entries to a new file at once (no lock, no fsync per line):
    for building large ledgers in tests and benchmarks, never for recording steps."""
    prev = GENESIS
    with path.open("xb") as handle:
        for seq, fields in enumerate(entries, start=1):
            line = sign_entry({**fields, "seq": seq, "prev": prev}, key)
            handle.write(line + b"\n")
            prev = line_hash(line)
