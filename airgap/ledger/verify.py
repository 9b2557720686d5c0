"""Verify a ledger: every line's form, signature and chain link, the tree over all lines, and
the history a saved checkpoint vouches for. Every finding is reported, not only the first.

Signatures are checked on every core (about 150 us each here). With a checkpoint whose state
was saved locally (``ledger checkpoint``), only the lines after it are read: that checks what
was appended since, not whether older lines changed (a full verify does that).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from airgap.errors import ExitCode, InputError
from airgap.findings import Finding, Level, Location
from airgap.fsutil import read_small, write_atomic
from airgap.ledger import merkle
from airgap.ledger.note import Checkpoint
from airgap.ledger.store import GENESIS, STEPS, EntryError, Ledger, canonical, parse_entry
from airgap.signing.minisign import PublicKey
from airgap.workers import ordered_map

BATCH = 2000


# What a ledger finding is about (its code): a line's form, step or signature, its signer,
# its place in the chain, the history a checkpoint vouches for, the last line.
ENTRY, UNTRUSTED, ORDER, CHAIN = "entry", "untrusted-key", "out-of-order", "broken-chain"
REWRITTEN, ROLLED_BACK, TORN = "rewritten", "rolled-back", "torn-tail"


def wrong(
    code: str,
    ledger: Ledger,
    line: int,
    seq: int | None,
    message: str,
    exit_code: ExitCode = ExitCode.TRUST,
) -> Finding:
    """A line of ``ledger`` that is wrong, and why: an error when it is a trust failure
    (exit 4), else a warning (a torn tail, exit 1)."""
    level = Level.ERROR if exit_code == ExitCode.TRUST else Level.WARNING
    where = Location(str(ledger.path), line=line, seq=seq)
    return Finding(code, level, message, where, exit_code=exit_code)


def told(finding: Finding) -> str:
    """A ledger finding in words: ``line 3 (entry 3): why``."""
    seq = finding.where.seq
    entry = f" (entry {seq})" if seq is not None else ""
    return f"line {finding.line}{entry}: {finding.message}"


def finding_dict(finding: Finding) -> dict[str, Any]:
    """A ledger finding's JSON form."""
    return {
        "line": finding.line,
        "seq": finding.where.seq,
        "message": finding.message,
        "exit_code": int(finding.exit_code or ExitCode.TRUST),
    }


@dataclass
class Unchecked:
    """Entries signed by a key of which no trusted copy is held: their signatures could not
    be checked (neither good nor bad)."""

    key: str
    entries: int
    first_line: int
    last_line: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "key": self.key,
            "entries": self.entries,
            "first_line": self.first_line,
            "last_line": self.last_line,
        }

    def __str__(self) -> str:
        lines = (
            f"line {self.first_line}"
            if self.entries == 1
            else f"{self.entries} entries, lines {self.first_line}-{self.last_line}"
        )
        return f"key {self.key} ({lines})"


@dataclass
class LedgerReport:
    """What verifying a ledger found."""

    entries: int = 0
    root: bytes = merkle.EMPTY_ROOT
    incremental_from: int | None = None
    compact: merkle.CompactRange = field(default_factory=merkle.CompactRange)
    last_hash: str = GENESIS
    findings: list[Finding] = field(default_factory=list)
    unchecked: dict[str, Unchecked] = field(default_factory=dict)

    @property
    def exit_code(self) -> ExitCode:
        """4 for tampering, 3 when signatures could not be checked, 1 for a torn tail alone,
        else 0."""
        codes = {f.exit_code or ExitCode.TRUST for f in self.findings}
        if self.unchecked:
            codes.add(ExitCode.CANNOT_RUN)
        return max(codes, default=ExitCode.OK)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``ledger verify``."""
        return {
            "entries": self.entries,
            "root": base64.b64encode(self.root).decode(),
            "incremental_from": self.incremental_from,
            "findings": [finding_dict(f) for f in self.findings],
            "unchecked": [u.to_dict() for u in self.unchecked.values()],
        }

    def not_checked(self, key: str, line: int) -> None:
        """Count an entry whose signer has no trusted copy here."""
        if key in self.unchecked:
            self.unchecked[key].entries += 1
            self.unchecked[key].last_line = line
        else:
            self.unchecked[key] = Unchecked(key, 1, line, line)


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
        """The saved state, or None when there is none or it is not one (a full verify)."""
        try:
            data = json.loads(read_small(path))
            state = cls(**data)
        except (OSError, ValueError, TypeError, RecursionError):
            return None
        types = (int, str, int, str, list)
        values = (state.size, state.root, state.offset, state.last_hash, state.compact)
        if not all(
            isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, types, strict=True)
        ) or not all(isinstance(h, str) for h in state.compact):
            return None
        try:
            state.compact_range()
        except ValueError:
            return None
        return state

    def compact_range(self) -> merkle.CompactRange:
        """The tree as it stood (ValueError when the saved hashes do not make one)."""
        return merkle.CompactRange(self.size, [bytes.fromhex(h) for h in self.compact])

    def save(self, path: Path) -> None:
        write_atomic(path, canonical(self.__dict__) + b"\n")


def state_path(ledger: Ledger) -> Path:
    """The local state saved beside the ledger at its last checkpoint."""
    return ledger.path.with_name(f"{ledger.path.name}.state")


def _public_keys(keys: Mapping[str, bytes]) -> dict[str, Any]:
    """Key id -> Ed25519 public key, built in the process that checks a batch (a key object
    cannot travel to a worker; its 32 bytes can, with each batch of 2,000 lines)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return {k: Ed25519PublicKey.from_public_bytes(v) for k, v in keys.items()}


# What one line of a ledger gave when checked alone (in a worker): number, leaf hash, line hash,
# seq, prev, problem, and the signing key when no trusted copy of it is held. Unpacked whole.
LineCheck = tuple[int, bytes, str, int | None, str | None, str | None, str | None]


def _check_batch(keys: Mapping[str, bytes], batch: list[tuple[int, bytes]]) -> list[LineCheck]:
    """Check each line's form and its signature under the trusted ``keys`` (id -> bytes)."""
    trusted = _public_keys(keys)
    results: list[LineCheck] = []
    for number, line in batch:
        leaf = merkle.leaf_hash(line)
        digest = "sha256:" + hashlib.sha256(line).hexdigest()
        try:
            entry = parse_entry(line)
        except EntryError as exc:
            results.append((number, leaf, digest, None, None, f"not a ledger entry: {exc}", None))
            continue
        problem, unknown = None, None
        if canonical(entry) != line:
            problem = "not in canonical form: the line was edited"
        elif entry["step"] not in STEPS:
            problem = f"unknown step {entry['step']!r}"
        elif entry["operator"] not in trusted:
            unknown = entry["operator"]
        else:
            problem = _bad_signature(trusted[entry["operator"]], entry)
        results.append((number, leaf, digest, entry["seq"], entry["prev"], problem, unknown))
    return results


def _bad_signature(key: Any, entry: dict[str, Any]) -> str | None:
    """Why an entry's signature does not verify under its operator's ``key``, or None."""
    from cryptography.exceptions import InvalidSignature

    try:
        signature = base64.b64decode(entry["sig"], validate=True)
        unsigned = {k: v for k, v in entry.items() if k != "sig"}
        key.verify(signature, canonical(unsigned))
    except (InvalidSignature, binascii.Error, ValueError):
        return "bad signature: the entry was changed after it was signed"
    return None


def _batches(lines: Iterable[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    iterator = iter(lines)
    while batch := list(itertools.islice(iterator, BATCH)):
        yield batch


def verify(
    ledger: Ledger,
    keys: Mapping[str, PublicKey],
    *,
    since: Checkpoint | None = None,
    jobs: int = 0,
    trust_given: bool = True,
) -> LedgerReport:
    """Check the whole ledger (or what follows ``since`` when its state was saved here).

    With ``trust_given`` (trusted keys were given or configured), an entry signed by a key
    not in ``keys`` is a trust failure (exit 4); without, it could not be checked (exit 3):
    no trusted copy of that key is held, so nothing was refused.
    """
    report = LedgerReport()
    compact = merkle.CompactRange()
    expected_prev, last_seq, start = GENESIS, 0, 0
    state = State.load(state_path(ledger)) if since else None
    if (
        since
        and state
        and state.size == since.size
        and _state_holds(ledger, state)
        and state.root == base64.b64encode(since.root).decode()
    ):
        compact = state.compact_range()
        expected_prev, last_seq, start = state.last_hash, state.size, state.offset
        report.incremental_from = state.size
    lines = ledger.lines(start, last_seq + 1)
    checked = ordered_map(
        functools.partial(_check_batch, {k: v.key for k, v in keys.items()}),
        _batches(lines),
        jobs=jobs,
        window=8,
        serial_below=4,
    )
    for batch in cast(Iterator[list[LineCheck]], checked):
        for number, leaf, digest, seq, prev, problem, unknown in batch:
            compact.append(leaf)
            code = ENTRY
            if unknown is not None and trust_given:
                code, problem = UNTRUSTED, f"signed by key {unknown}, which is not trusted"
            elif unknown is not None:
                report.not_checked(unknown, number)
            if problem:
                report.findings.append(wrong(code, ledger, number, seq, problem))
            if seq is not None and seq != last_seq + 1:
                report.findings.append(
                    wrong(
                        ORDER,
                        ledger,
                        number,
                        seq,
                        f"out of order: after entry {last_seq} comes entry {seq} "
                        "(a line was deleted, inserted or moved)",
                    )
                )
            if prev is not None and prev != expected_prev:
                report.findings.append(
                    wrong(
                        CHAIN,
                        ledger,
                        number,
                        seq,
                        "does not follow the line before it: the chain is broken "
                        "(a line was deleted, inserted, moved or edited)",
                    )
                )
            expected_prev, last_seq = digest, seq if seq is not None else last_seq + 1
            if since and compact.size == since.size and compact.root() != since.root:
                report.findings.append(
                    wrong(
                        REWRITTEN,
                        ledger,
                        number,
                        seq,
                        f"the first {since.size} entries differ from the checkpoint "
                        "(the ledger was replaced or its history rewritten)",
                    )
                )
    report.entries, report.root = compact.size, compact.root()
    report.compact, report.last_hash = compact, expected_prev
    if since and compact.size < since.size:
        report.findings.append(
            wrong(
                ROLLED_BACK,
                ledger,
                compact.size,
                None,
                f"rolled back: {compact.size} entries, but the checkpoint "
                f"vouches for {since.size} (an older copy replaced the ledger?)",
            )
        )
    tail = ledger.tail()
    if tail.torn:
        report.findings.append(
            wrong(
                TORN,
                ledger,
                compact.size + 1,
                None,
                f"torn tail: {tail.torn} bytes without a newline "
                "(a crash mid-append); appends are refused until 'airgap ledger repair'",
                ExitCode.FINDINGS,
            )
        )
    return report


def _state_holds(ledger: Ledger, state: State) -> bool:
    """Whether the file still has the checkpointed line ending where the state says."""
    if state.offset < 1:
        return False
    with ledger.reading() as handle:
        start = max(0, state.offset - (1 << 20))
        handle.seek(start)
        before = handle.read(state.offset - start)
    if len(before) != state.offset - start or not before.endswith(b"\n"):
        return False
    line = before[:-1].rsplit(b"\n", 1)[-1]
    return "sha256:" + hashlib.sha256(line).hexdigest() == state.last_hash


def save_state(ledger: Ledger, report: LedgerReport) -> State:
    """Remember where a verified ledger stands, for incremental verifies from here."""
    tail = ledger.tail()
    if tail.count != report.entries or tail.torn:
        raise InputError(
            "cannot checkpoint the ledger",
            ledger.path,
            "it changed while it was checked",
            "run the command again once nothing else appends to the ledger",
        )
    state = State(
        report.entries,
        base64.b64encode(report.root).decode(),
        tail.end,
        report.last_hash,
        [h.hex() for h in report.compact.hashes],
    )
    state.save(state_path(ledger))
    return state
