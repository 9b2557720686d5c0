"""The ledger as auditors take it away: JSON Lines (exact copies of the lines), CSV, or in-toto
links (one JSON metablock per entry, signed when given a key)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airgap.signing.minisign import SecretKey


class Kind(StrEnum):
    """What ``ledger export --as`` writes."""

    JSONL = "jsonl"
    CSV = "csv"
    IN_TOTO = "in-toto"


KINDS = tuple(kind.value for kind in Kind)
EXPORT_COLUMNS = (
    "seq",
    "time",
    "step",
    "operator",
    "host",
    "device",
    "result",
    "note",
    "materials",
    "products",
    "prev",
    "sig",
)


def in_toto_link(entry: dict[str, Any], key: SecretKey | None) -> dict[str, Any]:
    """An entry as an in-toto link metablock (v0.9 layout), signed when given a key."""
    from airgap.ledger.store import canonical

    def artifacts(paths: dict[str, str]) -> dict[str, dict[str, str]]:
        return {
            path: {"sha256": str(digest).removeprefix("sha256:")} for path, digest in paths.items()
        }

    signed: dict[str, Any] = {
        "_type": "link",
        "name": entry.get("step"),
        "command": [],
        "materials": artifacts(entry.get("materials") or {}),
        "products": artifacts(entry.get("products") or {}),
        "byproducts": {"note": entry.get("note"), "result": entry.get("result")},
        "environment": {
            k: entry.get(k) for k in ("seq", "time", "host", "device", "operator", "prev", "sig")
        },
    }
    signatures = []
    if key is not None:
        signatures.append({"keyid": key.public.id, "sig": key.sign_digest(canonical(signed)).hex()})
    return {"signed": signed, "signatures": signatures}


def write(
    kind: str,
    entries: Iterable[tuple[bytes, dict[str, Any]]],
    handle: io.TextIOBase,
    key: SecretKey | None = None,
) -> None:
    """Write each (line, entry) to ``handle`` as ``kind`` (one of :data:`KINDS`)."""
    writer = csv.writer(handle)
    if kind == "csv":
        writer.writerow(EXPORT_COLUMNS)
    for line, entry in entries:
        if kind == "jsonl":
            handle.write(line.decode() + "\n")
        elif kind == "in-toto":
            handle.write(json.dumps(in_toto_link(entry, key), sort_keys=True) + "\n")
        else:
            writer.writerow(
                [
                    json.dumps(entry[c]) if isinstance(entry[c], dict) else entry[c]
                    for c in EXPORT_COLUMNS
                ]
            )
