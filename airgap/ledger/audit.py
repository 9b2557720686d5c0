"""The audit report (``airgap audit report``): every transfer across the gap in a time window and
every step the ledger recorded in it, who did it (person, role, key), what it touched (paths and
SHA-256), how it ended, and for each step the inclusion proof an auditor checks offline against
the signed checkpoint.

A transfer joins the steps of one bundle's crossing (create, approvals, media write, scan, read,
verify, extract) by its bundle id and by the SHA-256 of its archive, with the inbound bundle that
answered it (its receipt); a device's usage.collect and import.apply are transfers of their own.
The join reads what airgap's own recording calls write (:func:`_facts`); what a ledger did not
record is said to be "not recorded", never guessed. Steps and transfers that did not end well (a
refused verify, an ACK not applied, a detection) come first as exceptions.

A control map names, by identifier only, which steps give evidence for each of the controls
removable-media rules ask for (NERC CIP-003-8 Attachment 1 Section 5, CIP-010-4 R4, NIST SP
800-53 MP-5, AC-4(12), AC-4(26), AC-3(2), AU-9(5), AU-10, IEC 62443-3-3 SR 2.3 and SR 3.2),
with the rows that do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from airgap.ledger import merkle
from airgap.ledger.checkpoint import proof_text
from airgap.ledger.store import EntryError, Ledger, Result, Step, parse_entry
from airgap.signing.trust import RosterEntry

REPORT_VERSION = 2  # 2: transfers


class Unchecked(StrEnum):
    """The report's own words for a check no entry ended: not step results, never red when
    there was nothing to check."""

    NOT_RECORDED = "not recorded"
    NOT_APPLICABLE = "not applicable"


NOT_RECORDED = Unchecked.NOT_RECORDED
RECEIVE_STEPS = frozenset({Step.BUNDLE_VERIFY, Step.BUNDLE_EXTRACT})
CHECK_STEPS = frozenset({Step.BUNDLE_CREATE, *RECEIVE_STEPS})  # each checks the bundle's files
MEDIA_STEPS = frozenset({Step.MEDIA_WRITE, Step.MEDIA_SCAN, Step.MEDIA_READ})
BUNDLE_STEPS = frozenset({*CHECK_STEPS, Step.BUNDLE_APPROVE, *MEDIA_STEPS})
IMPORT_STEPS = frozenset({Step.IMPORT_BEFORE, Step.IMPORT_APPLY, Step.IMPORT_AFTER})
DEVICE_STEPS = frozenset({Step.USAGE_COLLECT, Step.IMPORT_APPLY})  # each its own transfer
# What airgap's recording calls write in a note (airgap/cli/bundle.py, media.py): the bundle id,
# its direction and the bundle it answers, the signer, the sender's checkpoint, the medium.
_BUNDLE = re.compile(
    r"bundle (?P<id>[^\s():;]+)"
    r"(?: \((?P<direction>[a-z]+)(?:, answers (?P<answers>[^\s():;]+))?\))?"
)
_APPROVED = re.compile(r"(?P<id>[^\s():;]+) approved as (?P<role>[^:]+)")
_SIGNER = re.compile(r"\bsigned by (?P<key>[0-9A-F]{16})\b")
_SENDER = re.compile(r"; sender checkpoint (?P<origin>\S+) at (?P<size>[0-9]+)")
_MEDIUM = re.compile(r"\bmedium: (?P<medium>[^;]+)")
# control id -> (what it asks for, in our words; the steps that evidence it)
CONTROLS: tuple[tuple[str, str, tuple[Step, ...]], ...] = (
    (
        "NERC CIP-003-8 Att. 1 s5",
        "removable media checked before use",
        (Step.MEDIA_SCAN, Step.BUNDLE_VERIFY),
    ),
    ("NERC CIP-010-4 R4", "malicious code on transient media mitigated", (Step.MEDIA_SCAN,)),
    (
        "NIST SP 800-53 MP-5",
        "media transport documented, by whom",
        (Step.MEDIA_WRITE, Step.MEDIA_READ, Step.BUNDLE_CREATE, Step.BUNDLE_EXTRACT),
    ),
    (
        "NIST SP 800-53 AC-4(12)",
        "content checked as it crosses",
        (Step.VALIDATE, Step.BUNDLE_CREATE, Step.BUNDLE_VERIFY),
    ),
    (
        "NIST SP 800-53 AC-4(26)",
        "what the filter did is recorded",
        (Step.VALIDATE, Step.BUNDLE_VERIFY),
    ),
    ("NIST SP 800-53 AC-3(2)", "dual authorisation", (Step.BUNDLE_APPROVE,)),
    ("NIST SP 800-53 AU-9(5)", "dual authorisation over audit records", (Step.BUNDLE_APPROVE,)),
    ("NIST SP 800-53 AU-10", "non-repudiation: each step signed", ()),
    (
        "IEC 62443-3-3 SR 2.3",
        "portable media use controlled",
        (Step.MEDIA_WRITE, Step.MEDIA_READ, Step.MEDIA_SCAN),
    ),
    ("IEC 62443-3-3 SR 3.2", "protection from malicious code", (Step.MEDIA_SCAN,)),
)


@dataclass(frozen=True)
class Row:
    """One recorded step, with who did it and its proof."""

    seq: int
    time: str
    step: Step | str  # an old or foreign ledger's own word stays the text it was
    key_id: str
    person: str | None
    role: str | None
    host: str
    device: str | None
    materials: Mapping[str, str]
    products: Mapping[str, str]
    result: Result | str  # an old or foreign ledger's own word stays the text it was
    note: str
    line: str  # the entry's exact line, for 'airgap ledger verify-proof'
    proof: str

    @property
    def exception(self) -> bool:
        return self.result is not Result.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "step": str(self.step),
            "key_id": self.key_id,
            "person": self.person,
            "role": self.role,
            "host": self.host,
            "device": self.device,
            "materials": dict(self.materials),
            "products": dict(self.products),
            "result": str(self.result),
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
    steps: tuple[Step, ...]
    rows: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control,
            "asks": self.asks,
            "steps": [str(step) for step in self.steps],
            "rows": list(self.rows),
            "evidenced": bool(self.rows),
        }


@dataclass(frozen=True)
class Who:
    """A key and whom the roster says holds it (None when the roster does not name it)."""

    key_id: str
    person: str | None
    role: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "person": self.person, "role": self.role}


@dataclass(frozen=True)
class Evidence:
    """How a check of a transfer ended (``not recorded`` when no entry says) and its entries."""

    result: Result | Unchecked | str
    entries: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"result": str(self.result), "entries": list(self.entries)}


@dataclass(frozen=True)
class Approval:
    """One recorded ``bundle.approve``: who approved, in which role."""

    seq: int
    who: Who

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, **self.who.to_dict()}


@dataclass(frozen=True)
class Receipt:
    """What answered a transfer: the inbound bundle naming it (with the other side's ledger
    checkpoint it carried, as recorded on verify), or a device's import.after verdict."""

    bundle_id: str | None
    checkpoint: str | None  # "<origin> at <size>"
    result: Result | Unchecked | str
    entries: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle_id": self.bundle_id,
            "checkpoint": self.checkpoint,
            "result": str(self.result),
            "entries": list(self.entries),
        }


@dataclass(frozen=True)
class Transfer:
    """One crossing: a bundle's steps on this side, or one device's collect or import."""

    name: str  # the bundle id, else the step and its entry: "import.apply #27"
    kind: str  # "bundle", "usage.collect", "import.apply", or the lone step ("media.scan")
    bundle_id: str | None
    direction: str | None
    answers: str | None  # the outbound bundle an inbound one answers
    who: Who
    first: str
    last: str
    medium: str | None
    from_host: str | None
    to_host: str | None
    archive: Mapping[str, str]
    files: Mapping[str, str]
    validation: Evidence
    scan: Evidence
    approvals: tuple[Approval, ...]
    sender_checkpoint: str | None
    receipt: Receipt | None
    receipt_status: str
    entries: tuple[int, ...]
    exception: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "transfer": self.name,
            "kind": self.kind,
            "bundle_id": self.bundle_id,
            "direction": self.direction,
            "answers": self.answers,
            "who": self.who.to_dict(),
            "first": self.first,
            "last": self.last,
            "medium": self.medium,
            "from_host": self.from_host,
            "to_host": self.to_host,
            "archive": dict(self.archive),
            "files": dict(self.files),
            "validation": self.validation.to_dict(),
            "scan": self.scan.to_dict(),
            "approvals": [a.to_dict() for a in self.approvals],
            "sender_checkpoint": self.sender_checkpoint,
            "receipt": self.receipt.to_dict() if self.receipt else None,
            "receipt_status": self.receipt_status,
            "entries": list(self.entries),
            "exception": self.exception,
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
    transfers: tuple[Transfer, ...] = ()  # exceptions first, then in time order

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
            "transfers": [t.to_dict() for t in self.transfers],
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
    tree = merkle.Tree(leaves)  # each subtree hashed once for all the proofs
    rows = tuple(
        _row(seq, line, entry, people, proof_text(tree, seq, note)) for seq, line, entry in kept
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
        transfers(rows, store.origin(), people),
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
        Step.of(entry.get("step")),
        key,
        who.name if who else None,
        who.role if who else None,
        str(entry.get("host")),
        entry.get("device") if isinstance(entry.get("device"), str) else None,
        _paths(entry.get("materials")),
        _paths(entry.get("products")),
        Result.of(entry.get("result")),
        str(entry.get("note") or ""),
        line.decode("utf-8", errors="replace"),
        proof,
    )


def _paths(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


@dataclass(frozen=True)
class _Facts:
    """What one bundle or media entry says of the bundle it concerns, from its note and files."""

    bundle_id: str | None
    direction: str | None
    answers: str | None
    signer: str | None
    sender: str | None  # the sender checkpoint recorded on verify: "<origin> at <size>"
    medium: str | None
    role: str | None  # an approval's role
    archive: Mapping[str, str]  # the bundle's archive (a bag at rest: its tag manifest) -> SHA-256


def _facts(row: Row) -> _Facts:
    """Read ``row`` as airgap's recording calls write it; anything else reads as not recorded."""
    note, step = row.note, row.step
    named = _BUNDLE.match(note) if step in CHECK_STEPS else None
    approved = _APPROVED.match(note) if step == Step.BUNDLE_APPROVE else None
    ident = (named or approved or {"id": None})["id"]
    signer, sender = _SIGNER.search(note), _SENDER.search(note)
    medium = _MEDIUM.search(note) if step in MEDIA_STEPS else None
    files = row.products if step == Step.BUNDLE_CREATE else row.materials
    return _Facts(
        ident if ident != "None" else None,
        named["direction"] if named else None,
        named["answers"] if named else None,
        signer["key"] if signer else None,
        f"{sender['origin']} at {sender['size']}" if sender else None,
        medium["medium"].strip() if medium else None,
        approved["role"].strip() if approved else None,
        {}
        if step == Step.MEDIA_SCAN
        else {p: d for p, d in files.items() if not p.endswith(".minisig")},
    )


def transfers(
    rows: Sequence[Row], origin: str, people: Mapping[str, RosterEntry]
) -> tuple[Transfer, ...]:
    """The transfers the ``rows`` record, exceptions first, then by their first entry. Bundle
    and media steps join by bundle id, else by the SHA-256 of the archive they name (a refused
    verify of bytes no signature vouched for is a transfer of its own); ``origin`` names this
    ledger's side."""
    ordered = sorted(rows, key=lambda r: r.seq)
    facts = {r.seq: _facts(r) for r in ordered if r.step in BUNDLE_STEPS}
    known: dict[str, str] = {}  # archive SHA-256 -> the transfer it belongs to
    for r in ordered:
        f = facts.get(r.seq)
        if f is not None and r.step not in MEDIA_STEPS:
            for digest in f.archive.values():
                known.setdefault(digest, f.bundle_id or digest)
    groups: dict[str, list[Row]] = {}
    for r in ordered:
        if r.step in BUNDLE_STEPS:
            for key in _keys(r, facts[r.seq], known):
                groups.setdefault(key, []).append(r)
    bundles = _receipts([_bundle(group, facts, origin, people) for group in groups.values()])
    by_device: dict[str | None, list[Row]] = {}
    for r in ordered:
        if r.step in IMPORT_STEPS:
            by_device.setdefault(r.device, []).append(r)
    devices = [
        _device(r, by_device.get(r.device, []), origin) for r in ordered if r.step in DEVICE_STEPS
    ]
    return tuple(sorted((*bundles, *devices), key=lambda t: (not t.exception, t.entries[0])))


def _keys(row: Row, facts: _Facts, known: Mapping[str, str]) -> list[str]:
    """The transfers a bundle or media step belongs to (a scan of a medium: every bundle on it)."""
    if facts.bundle_id:
        return [facts.bundle_id]
    digests = (*row.materials.values(), *row.products.values())
    return sorted({known[d] for d in digests if d in known}) or [f"#{row.seq}"]


def _evidence(rows: Sequence[Row]) -> Evidence:
    """``ok`` when every entry ended ok, else the first other result; none: not recorded."""
    if not rows:
        return Evidence(Unchecked.NOT_RECORDED)
    result = next((r.result for r in rows if r.exception), Result.OK)
    return Evidence(result, tuple(r.seq for r in rows))


def _who(key_id: str, people: Mapping[str, RosterEntry]) -> Who:
    found = people.get(key_id)
    return Who(key_id, found.name if found else None, found.role if found else None)


def _bundle(
    group: Sequence[Row],
    facts: Mapping[int, _Facts],
    origin: str,
    people: Mapping[str, RosterEntry],
) -> Transfer:
    """One bundle's steps as a transfer (its receipt comes from :func:`_receipts`)."""
    said = [facts[r.seq] for r in group]
    created = [r for r in group if r.step == Step.BUNDLE_CREATE]
    checked = [r for r in group if r.step in CHECK_STEPS]
    extracted = [r for r in group if r.step == Step.BUNDLE_EXTRACT]
    received = any(r.step in RECEIVE_STEPS for r in group) and not created
    signer = next((f.signer for f in said if f.signer), None)
    who = (
        Who(created[0].key_id, created[0].person, created[0].role)
        if created
        else _who(signer or group[0].key_id, people)
    )
    sender = next((f.sender for f in said if f.sender), None)
    bundle = next((f.bundle_id for f in said if f.bundle_id), None)
    media = dict.fromkeys(f.medium for f in said if f.medium)
    return Transfer(
        bundle or f"{group[0].step} #{group[0].seq}",
        "bundle" if bundle or checked else str(group[0].step),
        bundle,
        next((f.direction for f in said if f.direction), None),
        next((f.answers for f in said if f.answers), None),
        who,
        min(r.time for r in group),
        max(r.time for r in group),
        "; ".join(m for m in media if m) or None,
        origin if created else sender.rsplit(" at ", 1)[0] if sender else None,
        origin if received or extracted else None,
        next((dict(f.archive) for f in said if f.archive), {}),
        dict(created[0].materials)
        if created
        else dict(extracted[-1].products)
        if extracted
        else {},
        _evidence(checked),
        _evidence([r for r in group if r.step == Step.MEDIA_SCAN]),
        tuple(
            Approval(r.seq, replace(Who(r.key_id, r.person, r.role), role=f.role or r.role))
            for r, f in zip(group, said, strict=True)
            if r.step == Step.BUNDLE_APPROVE
        ),
        sender,
        None,
        NOT_RECORDED,
        tuple(r.seq for r in group),
        any(r.exception for r in group),
    )


def _receipts(bundles: Sequence[Transfer]) -> list[Transfer]:
    """Each outbound bundle with the inbound bundle that names it as the one it answers, and
    the other side's checkpoint that bundle carried (which also names the host it went to)."""
    answered: dict[str, Transfer] = {}
    for t in bundles:
        if t.answers:
            answered.setdefault(t.answers, t)
    unlinked = any(t.kind == "bundle" and t.direction is None for t in bundles)
    done = []
    for t in bundles:
        answer = answered.get(t.bundle_id or "")
        if t.direction == "inbound":
            done.append(replace(t, receipt_status="inbound: the answer itself"))
        elif answer is not None:
            receipt = Receipt(
                answer.bundle_id,
                answer.sender_checkpoint,
                answer.validation.result,
                answer.validation.entries,
            )
            other = (
                answer.sender_checkpoint.rsplit(" at ", 1)[0] if answer.sender_checkpoint else None
            )
            done.append(
                replace(t, receipt=receipt, receipt_status="answered", to_host=t.to_host or other)
            )
        elif t.direction == "outbound" and not unlinked:
            done.append(replace(t, receipt_status="no answer recorded in this window"))
        else:
            done.append(t)  # a bundle whose direction, or an answer's, the ledger did not record
    return done


def _device(row: Row, imports: Sequence[Row], origin: str) -> Transfer:
    """A device's usage.collect (device -> this host) or import.apply (this host -> device),
    with the import's check before (import.before of the same ACK) and its verdict after
    (import.after, its receipt)."""
    device = row.device or NOT_RECORDED
    before = after = None
    if row.step == Step.IMPORT_APPLY:
        digests = set(row.materials.values())
        earlier = [r for r in imports if r.seq < row.seq and r.step == Step.IMPORT_BEFORE]
        before = next((r for r in reversed(earlier) if digests & set(r.materials.values())), None)
        for r in imports:
            if r.seq > row.seq and r.step in (Step.IMPORT_APPLY, Step.IMPORT_AFTER):
                after = r if r.step == Step.IMPORT_AFTER else None
                break
    linked = [r for r in (before, row, after) if r is not None]
    collect = row.step == Step.USAGE_COLLECT
    return Transfer(
        f"{row.step} #{row.seq}",
        str(row.step),
        None,
        "outbound" if collect else "inbound",
        None,
        Who(row.key_id, row.person, row.role),
        min(r.time for r in linked),
        max(r.time for r in linked),
        None,
        device if collect else origin,
        origin if collect else device,
        {},
        dict(
            row.products if collect else {**(before.materials if before else {}), **row.materials}
        ),
        _evidence([row] if collect else [before] if before else []),
        Evidence(Unchecked.NOT_APPLICABLE),
        (),
        None,
        Receipt(None, None, after.result, (after.seq,)) if after else None,
        str(Unchecked.NOT_APPLICABLE)
        if collect
        else "answered"
        if after
        else "no import.after recorded",
        tuple(r.seq for r in linked),
        any(r.exception for r in linked),
    )
