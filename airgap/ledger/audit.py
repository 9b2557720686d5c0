"""The audit report (``airgap audit report``): every step the ledger recorded in a time window,
who did it (person, role, key), what it touched (paths and SHA-256), how it ended, and for each
row the inclusion proof an auditor checks offline against the signed checkpoint.

Rows that did not end well (a refused verify, an ACK not applied, a detection) come first as
exceptions. A control map names, by identifier only, which steps give evidence for each of the
controls removable-media rules ask for (NERC CIP-003-8 Attachment 1 Section 5, CIP-010-4 R4,
NIST SP 800-53 MP-5, AC-4(12), AC-4(26), AC-3(2), AU-9(5), AU-10, IEC 62443-3-3 SR 2.3 and
SR 3.2), with the rows that do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airgap.ledger import merkle
from airgap.ledger.checkpoint import proof_text
from airgap.ledger.store import EntryError, Ledger, parse_entry
from airgap.signing.trust import RosterEntry

REPORT_VERSION = 1
# control id -> (what it asks for, in our words; the steps that evidence it)
CONTROLS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "NERC CIP-003-8 Att. 1 s5",
        "removable media checked before use",
        ("media.scan", "bundle.verify"),
    ),
    ("NERC CIP-010-4 R4", "malicious code on transient media mitigated", ("media.scan",)),
    (
        "NIST SP 800-53 MP-5",
        "media transport documented, by whom",
        ("media.write", "media.read", "bundle.create", "bundle.extract"),
    ),
    (
        "NIST SP 800-53 AC-4(12)",
        "content checked as it crosses",
        ("validate", "bundle.create", "bundle.verify"),
    ),
    ("NIST SP 800-53 AC-4(26)", "what the filter did is recorded", ("validate", "bundle.verify")),
    ("NIST SP 800-53 AC-3(2)", "dual authorisation", ("bundle.approve",)),
    ("NIST SP 800-53 AU-9(5)", "dual authorisation over audit records", ("bundle.approve",)),
    ("NIST SP 800-53 AU-10", "non-repudiation: each step signed", ()),
    (
        "IEC 62443-3-3 SR 2.3",
        "portable media use controlled",
        ("media.write", "media.read", "media.scan"),
    ),
    ("IEC 62443-3-3 SR 3.2", "protection from malicious code", ("media.scan",)),
)


@dataclass(frozen=True)
class Row:
    """One recorded step, with who did it and its proof."""

    seq: int
    time: str
    step: str
    key_id: str
    person: str | None
    role: str | None
    host: str
    device: str | None
    materials: Mapping[str, str]
    products: Mapping[str, str]
    result: str
    note: str
    line: str  # the entry's exact line, for 'airgap ledger verify-proof'
    proof: str

    @property
    def exception(self) -> bool:
        return self.result != "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "step": self.step,
            "key_id": self.key_id,
            "person": self.person,
            "role": self.role,
            "host": self.host,
            "device": self.device,
            "materials": dict(self.materials),
            "products": dict(self.products),
            "result": self.result,
            "note": self.note,
            "exception": self.exception,
            "entry": self.line,
            "proof": self.proof,
        }


@dataclass(frozen=True)
class Control:
    """One control and the rows that give evidence for it."""

    control: str
    asks: str
    steps: tuple[str, ...]
    rows: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control,
            "asks": self.asks,
            "steps": list(self.steps),
            "rows": list(self.rows),
            "evidenced": bool(self.rows),
        }


@dataclass(frozen=True)
class AuditReport:
    """Everything the report shows, in the order it shows it."""

    origin: str
    ledger: str
    since: str
    until: str
    entries: int  # in the whole ledger, as the checkpoint covers it
    checkpoint: str  # the signed checkpoint note
    rows: tuple[Row, ...]
    controls: tuple[Control, ...]
    unreadable: tuple[int, ...] = ()  # lines in the window that are not entries
    devices: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def exceptions(self) -> list[Row]:
        return [r for r in self.rows if r.exception]

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_version": REPORT_VERSION,
            "origin": self.origin,
            "ledger": self.ledger,
            "since": self.since,
            "until": self.until,
            "entries": self.entries,
            "checkpoint": self.checkpoint,
            "exceptions": [r.seq for r in self.exceptions],
            "rows": [r.to_dict() for r in self.rows],
            "controls": [c.to_dict() for c in self.controls],
            "unreadable_lines": list(self.unreadable),
            "devices": list(self.devices),
        }


def build(
    store: Ledger,
    note: str,
    size: int,
    since: datetime,
    until: datetime,
    roster: Mapping[str, RosterEntry],
    devices: tuple[dict[str, Any], ...] = (),
    host_key_id: str | None = None,
) -> AuditReport:
    """The report over the first ``size`` entries (those the signed ``note`` covers), keeping
    the rows whose time falls in [since, until]."""
    leaves: list[bytes] = []
    kept: list[tuple[int, bytes, dict[str, Any]]] = []
    unreadable = []
    for seq, line in store.lines():
        if seq > size:
            break
        leaves.append(merkle.leaf_hash(line))
        try:
            entry = parse_entry(line)
        except EntryError:
            unreadable.append(seq)
            continue
        when = _time(entry.get("time"))
        if when is not None and since <= when <= until:
            kept.append((seq, line, entry))
    people = dict(roster)
    if host_key_id is not None and host_key_id not in people:  # what airgap signed itself
        people[host_key_id] = RosterEntry(host_key_id, "this host (host key)", "host", "")
    rows = tuple(
        _row(seq, line, entry, people, proof_text(leaves, seq, note)) for seq, line, entry in kept
    )
    ordered = tuple(sorted(rows, key=lambda r: (not r.exception, r.seq)))
    controls = tuple(
        Control(
            cid,
            asks,
            steps,
            tuple(r.seq for r in rows if r.step in steps) if steps else tuple(r.seq for r in rows),
        )
        for cid, asks, steps in CONTROLS
    )
    return AuditReport(
        store.origin(),
        str(store.path),
        since.isoformat(),
        until.isoformat(),
        size,
        note,
        ordered,
        controls,
        tuple(unreadable),
        devices,
    )


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else None


def _row(
    seq: int, line: bytes, entry: dict[str, Any], roster: Mapping[str, RosterEntry], proof: str
) -> Row:
    key = str(entry.get("operator") or "")
    who = roster.get(key)
    return Row(
        seq,
        str(entry.get("time")),
        str(entry.get("step")),
        key,
        who.name if who else None,
        who.role if who else None,
        str(entry.get("host")),
        entry.get("device") if isinstance(entry.get("device"), str) else None,
        _paths(entry.get("materials")),
        _paths(entry.get("products")),
        str(entry.get("result")),
        str(entry.get("note") or ""),
        line.decode("utf-8", errors="replace"),
        proof,
    )


def _paths(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
