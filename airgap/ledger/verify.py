"""Verify a ledger: every line's form, signature and chain link, the tree over all lines, and
the history a saved checkpoint vouches for. Every finding is reported, not only the first.

Signatures are checked on every core (about 150 us each here). With a checkpoint whose state
was saved locally (``ledger checkpoint``), only the lines after it are read: that checks what
was appended since, not whether older lines changed (a full verify does that).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from airgap.errors import ExitCode
from airgap.fsutil import write_atomic
from airgap.ledger import merkle
from airgap.ledger.note import Checkpoint
from airgap.ledger.store import GENESIS, STEPS, Ledger, canonical
from airgap.signing.minisign import PublicKey
from airgap.workers import ordered_map

BATCH = 2000


@dataclass(frozen=True)
class LedgerFinding:
    """A line that is wrong, and why."""

    line: int
    seq: int | None
    message: str
    code: ExitCode = ExitCode.TRUST

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"line": self.line, "seq": self.seq, "message": self.message,
                "exit_code": int(self.code)}

    def __str__(self) -> str:
        entry = f" (entry {self.seq})" if self.seq is not None else ""
        return f"line {self.line}{entry}: {self.message}"


@dataclass
class LedgerReport:
    """What verifying a ledger found."""

    entries: int = 0
    root: bytes = merkle.EMPTY_ROOT
    incremental_from: int | None = None
    compact: merkle.CompactRange = field(default_factory=merkle.CompactRange)
    last_hash: str = GENESIS
    findings: list[LedgerFinding] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        """4 for tampering, 1 for a torn tail alone, else 0."""
        codes = {f.code for f in self.findings}
        return max(codes, default=ExitCode.OK)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``ledger verify``."""
        return {"entries": self.entries, "root": base64.b64encode(self.root).decode(),
                "incremental_from": self.incremental_from,
                "findings": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True)
class State:
    """Where a verified ledger stood at a checkpoint: enough to verify only what follows."""

    size: int
    root: str
    offset: int
    last_hash: str
    compact: list[str]

    @classmethod
    def load(cls, path: Path) -> State | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, path: Path) -> None:
        write_atomic(path, canonical(self.__dict__) + b"\n")


def state_path(ledger: Ledger) -> Path:
    """The local state saved beside the ledger at its last checkpoint."""
    return ledger.path.with_name(f"{ledger.path.name}.state")


_keys: dict[str, Any] = {}


def _load_keys(keys: Mapping[str, bytes]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    _keys.clear()
    _keys.update({k: Ed25519PublicKey.from_public_bytes(v) for k, v in keys.items()})


Checked = tuple[int, bytes, str, int | None, str | None, str | None]


def _check_batch(batch: list[tuple[int, bytes]]) -> list[Checked]:
    """Per line: (number, leaf hash, line hash, seq, prev, problem)."""
    from cryptography.exceptions import InvalidSignature

    results: list[Checked] = []
    for number, line in batch:
        leaf = merkle.leaf_hash(line)
        digest = "sha256:" + hashlib.sha256(line).hexdigest()
        try:
            entry = json.loads(line)
            seq, prev = entry["seq"], entry["prev"]
            if not isinstance(seq, int) or not isinstance(prev, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            results.append((number, leaf, digest, None, None, "not a ledger entry"))
            continue
        problem = None
        if canonical(entry) != line:
            problem = "not in canonical form: the line was edited"
        elif entry.get("step") not in STEPS:
            problem = f"unknown step {entry.get('step')!r}"
        else:
            key = _keys.get(str(entry.get("operator")))
            if key is None:
                problem = f"signed by key {entry.get('operator')}, which is not trusted"
            else:
                try:
                    signature = base64.b64decode(str(entry.get("sig", "")), validate=True)
                    unsigned = {k: v for k, v in entry.items() if k != "sig"}
                    key.verify(signature, canonical(unsigned))
                except (InvalidSignature, binascii.Error, ValueError):
                    problem = "bad signature: the entry was changed after it was signed"
        results.append((number, leaf, digest, seq, prev, problem))
    return results


def _batches(lines: Iterable[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    iterator = iter(lines)
    while batch := list(itertools.islice(iterator, BATCH)):
        yield batch


def verify(ledger: Ledger, keys: Mapping[str, PublicKey], *, since: Checkpoint | None = None,
           jobs: int = 0) -> LedgerReport:
    """Check the whole ledger (or what follows ``since`` when its state was saved here)."""
    report = LedgerReport()
    compact = merkle.CompactRange()
    expected_prev, last_seq, start = GENESIS, 0, 0
    state = State.load(state_path(ledger)) if since else None
    if since and state and state.size == since.size and _state_holds(ledger, state) and \
            state.root == base64.b64encode(since.root).decode():
        compact = merkle.CompactRange(state.size, [bytes.fromhex(h) for h in state.compact])
        expected_prev, last_seq, start = state.last_hash, state.size, state.offset
        report.incremental_from = state.size
    lines = _lines_from(ledger, start, last_seq)
    checked = ordered_map(_check_batch, _batches(lines), jobs=jobs, window=8, serial_below=4,
                          initializer=_load_keys,
                          initargs=({k: v.key for k, v in keys.items()},))
    for batch in cast(Iterator[list[Checked]], checked):
        for number, leaf, digest, seq, prev, problem in batch:
            compact.append(leaf)
            if problem:
                report.findings.append(LedgerFinding(number, seq, problem))
            if seq is not None and seq != last_seq + 1:
                report.findings.append(LedgerFinding(
                    number, seq, f"out of order: after entry {last_seq} comes entry {seq} "
                    "(a line was deleted, inserted or moved)"))
            if prev is not None and prev != expected_prev:
                report.findings.append(LedgerFinding(
                    number, seq, "does not follow the line before it: the chain is broken "
                    "(a line was deleted, inserted, moved or edited)"))
            expected_prev, last_seq = digest, seq if seq is not None else last_seq + 1
            if since and compact.size == since.size and compact.root() != since.root:
                report.findings.append(LedgerFinding(
                    number, seq, f"the first {since.size} entries differ from the checkpoint "
                    "(the ledger was replaced or its history rewritten)"))
    report.entries, report.root = compact.size, compact.root()
    report.compact, report.last_hash = compact, expected_prev
    if since and compact.size < since.size:
        report.findings.append(LedgerFinding(
            compact.size, None, f"rolled back: {compact.size} entries, but the checkpoint "
            f"vouches for {since.size} (an older copy replaced the ledger?)"))
    tail = ledger.tail()
    if tail.torn:
        report.findings.append(LedgerFinding(
            compact.size + 1, None, f"torn tail: {len(tail.torn)} bytes without a newline "
            "(a crash mid-append); appends are refused until 'airgap ledger repair'",
            ExitCode.FINDINGS))
    return report


def _state_holds(ledger: Ledger, state: State) -> bool:
    """Whether the file still has the checkpointed line ending where the state says."""
    try:
        with ledger.path.open("rb") as handle:
            start = max(0, state.offset - (1 << 20))
            handle.seek(start)
            before = handle.read(state.offset - start)
    except OSError:
        return False
    if len(before) != state.offset - start or not before.endswith(b"\n"):
        return False
    line = before[:-1].rsplit(b"\n", 1)[-1]
    return "sha256:" + hashlib.sha256(line).hexdigest() == state.last_hash


def _lines_from(ledger: Ledger, offset: int, before: int) -> Iterator[tuple[int, bytes]]:
    """Whole lines from a byte offset, numbered from ``before + 1``."""
    try:
        handle = ledger.path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        handle.seek(offset)
        for number, line in enumerate(handle, start=before + 1):
            if line.endswith(b"\n"):
                yield number, line[:-1]


def save_state(ledger: Ledger, report: LedgerReport) -> State:
    """Remember where a verified ledger stands, for incremental verifies from here."""
    tail = ledger.tail()
    if tail.count != report.entries or tail.torn:
        raise ValueError("the ledger changed while it was checkpointed")
    state = State(report.entries, base64.b64encode(report.root).decode(), tail.end,
                  report.last_hash, [h.hex() for h in report.compact.hashes])
    state.save(state_path(ledger))
    return state
