"""The ledger file: JSON Lines, one canonical signed entry per line, hash-chained.

Each entry is shaped like an in-toto link: ``seq``, ``prev`` (SHA-256 of the previous line),
``time``, ``step``, ``operator`` (the signing key's id), ``host``, ``device``, ``materials``
and ``products`` (path -> sha256), ``result``, ``note`` and ``sig`` (Ed25519 over the entry's
canonical JSON without ``sig``). Appends take an exclusive lock, write one whole line in one
``write`` and fsync. A last line without its newline is a torn tail (a crash mid-append): it is
reported and blocks appends until :meth:`Ledger.repair` moves it aside and records that it did.

The ledger is a regular file: a symbolic link, FIFO or device at its path is refused. Lines are
read with a bound (:data:`MAX_LINE`), and a line that is not an entry (:func:`parse_entry`) is
a finding for the readers and stops appends.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import socket
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from airgap.errors import FindingsError, InputError, TrustError, why
from airgap.fsutil import atomic_file, open_regular
from airgap.signing.minisign import SecretKey


class Step(StrEnum):
    """The fixed steps an entry records (DESIGN.md "Audit ledger")."""

    USAGE_SAVE = "usage.save"
    USAGE_COLLECT = "usage.collect"
    VALIDATE = "validate"
    BUNDLE_CREATE = "bundle.create"
    BUNDLE_APPROVE = "bundle.approve"
    MEDIA_WRITE = "media.write"
    MEDIA_READ = "media.read"
    MEDIA_SCAN = "media.scan"
    BUNDLE_VERIFY = "bundle.verify"
    BUNDLE_EXTRACT = "bundle.extract"
    CSSM_UPLOAD = "cssm.upload"
    CSSM_DOWNLOAD = "cssm.download"
    IMPORT_BEFORE = "import.before"
    IMPORT_APPLY = "import.apply"
    IMPORT_AFTER = "import.after"
    DIFF = "diff"
    KEY_TRUST = "key.trust"
    KEY_REVOKE = "key.revoke"
    HOST_KEY_ACCEPT = "host.key.accept"
    LEDGER_REPAIR = "ledger.repair"
    NOTE = "note"

    @classmethod
    def of(cls, word: object) -> Step | str:
        """The member a recorded word names, else the word itself as text: a step another
        version of airgap recorded is shown as it stands, never a crash."""
        text = str(word)
        return cls(text) if text in STEPS else text


class Result(StrEnum):
    """How a recorded step ended: the words an entry's ``result`` holds. A ledger written by
    another version may hold another word; readers keep it as the text it is (:meth:`of`)."""

    OK = "ok"
    FAILED = "failed"  # the step ran and found problems (validation, a scan, an import)
    REFUSED = "refused"  # a trust check failed: bundle verify or extract
    INVALID = "invalid"  # bundle create kept invalid files (--allow-invalid)

    @classmethod
    def of(cls, word: object) -> Result | str:
        """The member a recorded word names, else the word itself as text: an old or foreign
        ledger's own word is shown as it stands, never a crash."""
        text = str(word)
        return cls(text) if text in RESULTS else text


STEPS = tuple(step.value for step in Step)
RESULTS = frozenset(result.value for result in Result)
GENESIS = "sha256:" + "0" * 64
TAIL_CHUNK = 1 << 16
MAX_LINE = 1 << 20  # an entry airgap writes is far shorter; a longer line is not an entry
# Each field of an entry and the JSON types it may have (a bool is not a seq).
FIELDS: dict[str, tuple[type, ...]] = {
    "seq": (int,),
    "prev": (str,),
    "time": (str,),
    "step": (str,),
    "operator": (str,),
    "host": (str,),
    "device": (str, type(None)),
    "materials": (dict,),
    "products": (dict,),
    "result": (str,),
    "note": (str,),
    "sig": (str,),
}


class TornTailError(FindingsError):
    """The last line was cut mid-write; appends wait for ``airgap ledger repair`` (exit 1)."""

    default_hint = "run 'airgap ledger repair' to move the torn line aside and record it"


class EntryError(ValueError):
    """A ledger line that is not an entry: why, in a few words."""


def parse_entry(line: bytes) -> dict[str, Any]:
    """A line's entry, or :class:`EntryError` when it is not one: not UTF-8, not JSON (too
    deep, a number too long), not an object, a field missing or of the wrong type."""
    if len(line) > MAX_LINE:
        raise EntryError(f"longer than {MAX_LINE:,} bytes")
    try:
        entry = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise EntryError(f"not UTF-8 (byte {exc.start})") from None
    except RecursionError:
        raise EntryError("JSON nested too deep") from None
    except ValueError as exc:
        raise EntryError("a number too long" if "digits" in str(exc) else "not JSON") from None
    if not isinstance(entry, dict):
        raise EntryError(f"not a JSON object but {_json_type(entry)}")
    for name, types in FIELDS.items():
        if name not in entry:
            raise EntryError(f"no {name!r} field")
        value = entry[name]
        if not isinstance(value, types) or isinstance(value, bool):
            raise EntryError(f"field {name!r} is {_json_type(value)}")
    if entry["seq"] < 1:
        raise EntryError("'seq' is not a positive number")
    for name in ("materials", "products"):
        if not all(isinstance(v, str) for v in entry[name].values()):
            raise EntryError(f"field {name!r} maps a path to something other than a digest")
    return entry


def _json_type(value: Any) -> str:
    """What a parsed JSON value is, in JSON's words."""
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    return names.get(type(value), "a number")


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


def _rfind_newline(fd: int, end: int, limit: int) -> int:
    """The offset of the last newline before ``end`` within ``limit`` bytes, else -1: read
    backwards in pieces, so finding it costs the bytes after it, once."""
    position, floor = end, max(0, end - limit)
    while position > floor:
        step = min(TAIL_CHUNK, position - floor)
        position -= step
        found = os.pread(fd, step, position).rfind(b"\n")
        if found >= 0:
            return position + found
    return -1


@dataclass(frozen=True)
class Tail:
    """The end of the ledger: the last whole line, its entry's seq, and the torn bytes after it."""

    count: int | None  # seq of the last whole entry; 0 for an empty ledger, None when not one
    last_line: bytes | None
    torn: int  # bytes after the last newline (a crash mid-append)
    end: int  # byte offset after the last whole line
    problem: str = ""  # why the last line is not an entry


@dataclass
class Ledger:
    """A ledger file."""

    path: Path
    host: str = field(default_factory=socket.gethostname)

    def _refuse_special(self) -> None:
        """A ledger that exists must be a regular file, not a link, FIFO or device."""
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            return
        except OSError as exc:
            raise InputError("cannot read ledger", self.path, why(exc)) from None
        if not stat.S_ISREG(mode):
            kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
            raise InputError(
                "refusing the ledger",
                self.path,
                f"{kind}: a ledger is a regular file",
                "name the ledger file itself",
            )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        self._refuse_special()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError("refusing the ledger", self.path, "not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    @contextlib.contextmanager
    def reading(self) -> Iterator[BinaryIO]:
        """The ledger opened for reading: exit 3 when missing, a link, a FIFO or a device."""
        self._refuse_special()
        try:
            handle = open_regular(self.path, follow=False)
        except FileNotFoundError:
            raise InputError(
                "no such ledger",
                self.path,
                "nothing was recorded in it yet",
                "check the path, or record a step first",
            ) from None
        except OSError as exc:
            raise InputError("cannot read ledger", self.path, why(exc)) from None
        with handle:
            yield handle

    def exists(self) -> bool:
        """Whether anything was recorded yet (a link or a device is refused, exit 3)."""
        self._refuse_special()
        return self.path.exists()

    def tail(self, fd: int | None = None) -> Tail:
        """The last whole line and the length of anything torn after it, read from the end:
        the cost is that of the bytes after the last line but one."""
        if fd is None:
            if not self.exists():
                return Tail(0, None, 0, 0)
            with self.reading() as handle:
                return self.tail(handle.fileno())
        size = os.fstat(fd).st_size
        last = _rfind_newline(fd, size, size)
        if last < 0:
            return Tail(0, None, size, 0)
        before = _rfind_newline(fd, last, MAX_LINE + 1)
        if before < 0 and last > MAX_LINE:
            return Tail(None, None, size - last - 1, last + 1, f"longer than {MAX_LINE:,} bytes")
        line = os.pread(fd, last - before - 1, before + 1)
        try:
            count: int | None = parse_entry(line)["seq"]
            problem = ""
        except EntryError as exc:
            count, problem = None, str(exc)
        return Tail(count, line, size - last - 1, last + 1, problem)

    def append(
        self,
        step: str,
        key: SecretKey,
        *,
        device: str | None = None,
        materials: Mapping[str, str] | None = None,
        products: Mapping[str, str] | None = None,
        result: Result = Result.OK,
        note: str = "",
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record one step, signed by ``key``; refused while the tail is torn or the last line
        is not a ledger entry."""
        if step not in STEPS:
            raise InputError("unknown step", step, f"steps are: {', '.join(STEPS)}")
        with self._locked() as fd:
            tail = self.tail(fd)
            if tail.torn:
                raise TornTailError(
                    "torn tail",
                    self.path,
                    f"{tail.torn} bytes after line "
                    f"{tail.count or 0} have no newline; appends are refused",
                )
            if tail.count is None:
                raise TrustError(
                    "refusing to append",
                    self.path,
                    f"the last line is not a ledger entry ({tail.problem})",
                    "run 'airgap ledger verify'",
                )
            fields: dict[str, Any] = {
                "seq": tail.count + 1,
                "prev": line_hash(tail.last_line) if tail.last_line else GENESIS,
                "time": now(),
                "step": step,
                "operator": key.public.id,
                "host": self.host,
                "device": device,
                "materials": dict(materials or {}),
                "products": dict(products or {}),
                "result": str(result),
                "note": note,
                **(extra or {}),
            }
            line = sign_entry(fields, key) + b"\n"
            if len(line) > MAX_LINE:
                raise InputError(
                    "entry too long",
                    self.path,
                    f"{len(line):,} bytes; an entry is at most {MAX_LINE:,}",
                    "record fewer or shorter paths",
                )
            written = os.write(fd, line)
            if written != len(line):  # a short write leaves a torn tail for repair to find
                raise OSError(f"short write to {self.path}")
            os.fsync(fd)
        return json.loads(line)  # type: ignore[no-any-return]

    def lines(self, offset: int = 0, first: int = 1) -> Iterator[tuple[int, bytes]]:
        """(line number, bytes without newline) of every whole line from byte ``offset``,
        numbered from ``first``; the torn tail is not one. A line longer than any entry is
        given cut to ``MAX_LINE + 1`` bytes (:func:`parse_entry` refuses it), read no further."""
        with self.reading() as handle:
            handle.seek(offset)
            number = first
            while line := handle.readline(MAX_LINE + 1):
                if not line.endswith(b"\n"):
                    if len(line) <= MAX_LINE or not _skip_line(handle):
                        return  # the torn tail
                    line += b"\n"
                yield number, line[:-1]
                number += 1

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
            digest = hashlib.sha256()
            with atomic_file(side, replace=False) as handle:
                for position in range(tail.end, tail.end + tail.torn, TAIL_CHUNK):
                    chunk = os.pread(fd, min(TAIL_CHUNK, tail.end + tail.torn - position), position)
                    digest.update(chunk)
                    handle.write(chunk)
            os.ftruncate(fd, tail.end)
            os.fsync(fd)
        self.append(
            Step.LEDGER_REPAIR,
            key,
            products={str(side): f"sha256:{digest.hexdigest()}"},
            note=f"moved a torn tail of {tail.torn} bytes after entry "
            f"{tail.count or 0} to {side.name}",
        )
        return side


def _skip_line(handle: BinaryIO) -> bool:
    """Read past the rest of an overlong line; False when the file ends first (torn)."""
    while part := handle.readline(TAIL_CHUNK):
        if part.endswith(b"\n"):
            return True
    return False


def write_entries(path: Path, key: SecretKey, entries: Iterable[Mapping[str, Any]]) -> None:
    """Write many signed, chained entries to a new file at once (no lock, no fsync per line):
    for building large ledgers in tests and benchmarks, never for recording steps."""
    prev = GENESIS
    with path.open("xb") as handle:
        for seq, fields in enumerate(entries, start=1):
            line = sign_entry({**fields, "seq": seq, "prev": prev}, key)
            handle.write(line + b"\n")
            prev = line_hash(line)
