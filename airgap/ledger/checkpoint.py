"""Checkpoints of a ledger and proofs against them, verifiable offline with a public key.

A checkpoint is a C2SP tlog-checkpoint signed note (origin ``airgap/<host>/<ledger id>``, key
name = origin) signed by the host key. An inclusion proof is written in the C2SP tlog-proof
style: ``c2sp.org/tlog-proof@v1``, ``index N``, the proof hashes (base64), a blank line and the
signed checkpoint. Anyone holding the entry's line, the proof and the host's public key can
check that the entry is in the ledger the checkpoint vouches for.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from airgap.errors import InputError, TrustError, why
from airgap.fsutil import read_small, write_atomic
from airgap.ledger import merkle
from airgap.ledger.note import DASH, Checkpoint, NoteError, NoteSigner, NoteVerifier, open_note
from airgap.ledger.store import Ledger
from airgap.ledger.verify import LedgerReport, save_state
from airgap.signing.minisign import PublicKey, SecretKey

PROOF_HEADER = "c2sp.org/tlog-proof@v1"


def checkpoints_dir(ledger: Ledger) -> Path:
    """Where a ledger's signed checkpoints are kept, one file per size."""
    return ledger.path.with_name(f"{ledger.path.name}.checkpoints")


def make(ledger: Ledger, key: SecretKey, report: LedgerReport) -> tuple[Checkpoint, str, Path]:
    """Sign a checkpoint of a verified ledger, keep it, and save the local state."""
    checkpoint = Checkpoint(ledger.origin(), report.entries, report.root)
    note = NoteSigner(checkpoint.origin, key).sign(checkpoint.text())
    save_state(ledger, report)
    path = checkpoints_dir(ledger) / f"{checkpoint.size:012d}.txt"
    write_atomic(path, note.encode())
    return checkpoint, note, path


def latest(ledger: Ledger) -> str | None:
    """The newest signed checkpoint kept for a ledger."""
    files = sorted(checkpoints_dir(ledger).glob("*.txt"))
    return read_note(files[-1]) if files else None


def read_note(path: Path) -> str:
    """A signed checkpoint's or a proof's text, read with a size cap: exit 3 when it cannot
    be read, 4 when it is not text (so not what it claims to be)."""
    try:
        data = read_small(path)
    except OSError as exc:
        raise InputError("cannot read", path, why(exc)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TrustError("not a checkpoint or proof", path, why(exc)) from None


def open_checkpoint(note: str, keys: list[PublicKey], where: str | Path) -> Checkpoint:
    """A signed checkpoint, verified against any of ``keys`` (trusted public keys)."""
    names = {
        line.split(" ")[1]
        for line in note.splitlines()
        if line.startswith(f"{DASH} ") and line.count(" ") >= 2
    }
    verifiers = [NoteVerifier(name, key.key) for name in names for key in keys]
    try:
        opened = open_note(note, verifiers)
        checkpoint = Checkpoint.parse(opened.text)
    except NoteError as exc:
        raise TrustError("checkpoint does not verify", where, str(exc)) from None
    if checkpoint.origin not in opened.signed_by:
        raise TrustError(
            "checkpoint does not verify",
            where,
            f"signed as {opened.signed_by}, not by its origin {checkpoint.origin}",
        )
    return checkpoint


def prove(ledger: Ledger, seq: int, note: str, key: PublicKey) -> str:
    """An inclusion proof of entry ``seq`` in the ledger a signed checkpoint vouches for."""
    checkpoint = open_checkpoint(note, [key], ledger.path)
    leaves = []
    for number, line in ledger.lines():
        if number > checkpoint.size:
            break
        leaves.append(merkle.leaf_hash(line))
    if len(leaves) < checkpoint.size or merkle.root(leaves) != checkpoint.root:
        raise TrustError(
            "ledger does not match its checkpoint", ledger.path, "run 'airgap ledger verify'"
        )
    if not 1 <= seq <= checkpoint.size:
        raise InputError(
            "no such entry",
            ledger.path,
            f"entry {seq} is not among the {checkpoint.size} the checkpoint covers",
        )
    return proof_text(leaves, seq, note)


def proof_text(leaves: list[bytes] | merkle.Tree, seq: int, note: str) -> str:
    """The inclusion proof of entry ``seq`` given every leaf the signed ``note`` covers (as a
    :class:`merkle.Tree` when proving many entries of one tree)."""
    tree = leaves if isinstance(leaves, merkle.Tree) else merkle.Tree(leaves)
    hashes = tree.inclusion_proof(seq - 1)
    lines = [PROOF_HEADER, f"index {seq - 1}", *(base64.b64encode(h).decode() for h in hashes)]
    return "\n".join(lines) + "\n\n" + note


def verify_proof(
    proof: str, entry: bytes, keys: list[PublicKey], where: str | Path
) -> tuple[Checkpoint, int]:
    """Check an inclusion proof for an entry's line; the checkpoint and the entry's seq."""
    head, sep, note = proof.partition("\n\n")
    lines = head.splitlines()
    if not sep or not lines or lines[0] != PROOF_HEADER:
        raise TrustError("malformed proof", where, f"not a {PROOF_HEADER} proof")
    lines = [line for line in lines[1:] if not line.startswith("extra ")]
    try:
        index = int(lines[0].removeprefix("index "))
        hashes = [base64.b64decode(h, validate=True) for h in lines[1:]]
    except (IndexError, ValueError, binascii.Error):
        raise TrustError("malformed proof", where, "bad index or hash line") from None
    checkpoint = open_checkpoint(note, keys, where)
    try:
        merkle.verify_inclusion(
            index, checkpoint.size, merkle.leaf_hash(entry.rstrip(b"\n")), hashes, checkpoint.root
        )
    except merkle.ProofError as exc:
        raise TrustError("proof does not verify", where, str(exc)) from None
    return checkpoint, index + 1
