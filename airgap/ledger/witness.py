"""Cross-gap witnessing: each bundle carries its sender's ledger checkpoint, and the receiver
checks it against the last checkpoint it saw from that sender.

Senders are told apart by their host key: one host key, one ledger history. The sender writes
``airgap-checkpoint.txt``: its signed checkpoint, its host public key, and
consistency proofs from every checkpoint it exported before (the last ``KEEP``). The bag's inner
signature covers the file, so the trusted bundle signer vouches for the host key in it. The
receiver refuses a smaller tree than it saw (a rollback) and a tree the earlier one is not a
prefix of (a fork: two histories shown to the gap).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airgap.errors import TrustError
from airgap.fsutil import read_small, write_atomic
from airgap.ledger import merkle
from airgap.ledger.checkpoint import open_checkpoint
from airgap.ledger.note import Checkpoint
from airgap.ledger.store import Ledger, canonical
from airgap.signing.minisign import PublicKey

VERSION = "airgap-checkpoint/v1"
KEEP = 16


def exported_path(ledger: Ledger) -> Path:
    """The sender's list of checkpoints it put in bundles."""
    return ledger.path.with_name(f"{ledger.path.name}.exported")


def export(ledger: Ledger, note: str, checkpoint: Checkpoint, host: PublicKey) -> bytes:
    """``airgap-checkpoint.txt`` for a bundle: the checkpoint and proofs from earlier ones."""
    path = exported_path(ledger)
    earlier = [
        item
        for item in _load_list(path)
        if isinstance(item.get("size"), int) and isinstance(item.get("root"), str)
    ]
    leaves = [
        merkle.leaf_hash(line) for number, line in ledger.lines() if number <= checkpoint.size
    ]
    proofs = []
    for item in earlier[-KEEP:]:
        if item["size"] <= checkpoint.size:
            proof = merkle.consistency_proof(leaves, item["size"])
            proofs.append(
                {
                    "size": item["size"],
                    "root": item["root"],
                    "proof": [base64.b64encode(h).decode() for h in proof],
                }
            )
    mine = {"size": checkpoint.size, "root": base64.b64encode(checkpoint.root).decode()}
    if mine not in earlier:
        write_atomic(path, json.dumps([*earlier, mine][-KEEP:]).encode())
    content = {
        "version": VERSION,
        "checkpoint": note,
        "host_key": host.text(),
        "consistency": proofs,
    }
    return canonical(content) + b"\n"


def _load_json(path: Path) -> Any:
    """A small JSON file kept beside the ledger, or None when missing or unreadable: these
    files only speed things up or remember what was seen; the ledger itself is the record."""
    try:
        return json.loads(read_small(path))
    except (OSError, ValueError, RecursionError):
        return None


def _root(text: str) -> bytes:
    """A root hash as kept in the seen file; empty (matching no tree) when it is not one."""
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return b""


def _load_list(path: Path) -> list[dict[str, Any]]:
    """The objects in a JSON list file (none when it is not one)."""
    data = _load_json(path)
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


@dataclass(frozen=True)
class Witnessed:
    """What a receiver made of a bundle's checkpoint."""

    origin: str
    size: int
    previous: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"origin": self.origin, "size": self.size, "previous_size": self.previous}


def witness(content: bytes, store: Path, where: str) -> Witnessed:
    """Check a bundle's checkpoint against the last one seen from its sender, then keep it."""
    try:
        data = json.loads(content)
        host = PublicKey.parse(data["host_key"])
        note = data["checkpoint"]
        proofs = [p for p in data.get("consistency", []) if isinstance(p, dict)]
        if not isinstance(note, str):
            raise TypeError("the checkpoint is not text")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise TrustError("malformed sender checkpoint", where, str(exc)) from None
    checkpoint = open_checkpoint(note, [host], where)
    seen_path = store / f"{host.id}.json"  # one sender host, one ledger history
    seen = _load_json(seen_path)
    if not (
        isinstance(seen, dict)
        and isinstance(seen.get("origin"), str)
        and isinstance(seen.get("size"), int)
        and isinstance(seen.get("root"), str)
    ):
        seen = None
    if seen is not None:
        if seen["origin"] != checkpoint.origin:
            raise TrustError(
                "sender ledger replaced",
                where,
                f"host key {host.id} showed {seen['origin']} before, now {checkpoint.origin}",
            )
        size, root = seen["size"], _root(seen["root"])
        if checkpoint.size < size:
            raise TrustError(
                "sender ledger rolled back",
                where,
                f"{checkpoint.origin} now has {checkpoint.size} entries; {size} were seen before",
            )
        proof = next((p for p in proofs if p.get("size") == size), None)
        if checkpoint.size > size and proof is None:
            raise TrustError(
                "sender ledger not proven consistent",
                where,
                f"no proof from the {size} entries seen before",
            )
        try:
            merkle.verify_consistency(
                size,
                checkpoint.size,
                root,
                checkpoint.root,
                [base64.b64decode(h) for h in (proof or {}).get("proof", [])],
            )
        except (merkle.ProofError, ValueError, TypeError) as exc:
            raise TrustError(
                "sender ledger forked",
                where,
                f"{checkpoint.origin}: its history differs from the one seen before ({exc})",
            ) from None
    write_atomic(
        seen_path,
        canonical(
            {
                "origin": checkpoint.origin,
                "size": checkpoint.size,
                "root": base64.b64encode(checkpoint.root).decode(),
                "note": note,
            }
        ),
    )
    return Witnessed(
        checkpoint.origin, checkpoint.size, None if seen is None else int(seen["size"])
    )
