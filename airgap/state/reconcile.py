"""Which exported reports came back acknowledged, and which ACKs do not fit (DESIGN.md
``airgap reconcile``).

Reports are identified by (UDI, report id), never by the id alone (FORMATS.md 1). A report is
acknowledged on SEEN evidence when a device capture shows it in state ACK or when an ACK file
is named ``ACK_<the usage file's name>``; on INFERRED evidence when an ACK's RUM ACK data lists
it, because those keys are not public (FORMATS.md 2). Each match carries its evidence in
words, seen first. Findings: reports still outstanding, ACKs naming no device in the inputs
(foreign), ACKs older than the device's "Last ACK received" (stale), reports found in two
usage files (exported twice), and devices with a capture but no usage file (never reported,
a warning only). Output is sorted, so the same inputs give the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, cast

from airgap import findings
from airgap.findings import Basis, Finding, Level, Location
from airgap.formats.common import ReportKey, Udi
from airgap.formats.imports import ImportFile, rum_entries
from airgap.state.deadlines import import_time
from airgap.state.devices import Device, group
from airgap.state.evidence import Evidence, ReportRef
from airgap.state.model import DeviceState, Moment, ReportState, Stamp, TrustCode


class Kind(StrEnum):
    """What does not reconcile (the ``kind`` of a finding), in the order findings are listed."""

    OUTSTANDING = "outstanding"
    FOREIGN = "foreign-ack"
    STALE = "stale-ack"
    EXPORTED_TWICE = "exported-twice"
    NEVER_REPORTED = "never-reported"


FAILING = (Kind.OUTSTANDING, Kind.FOREIGN, Kind.STALE, Kind.EXPORTED_TWICE)  # exit 1


def level_of(kind: Kind) -> Level:
    """An error for the kinds that make ``reconcile`` exit 1, else a warning."""
    return Level.ERROR if kind in FAILING else Level.WARNING


class Shows(Enum):
    """What a piece of evidence that a report was acknowledged shows, its basis and its
    words; the words take the report id, then the file it is in (and for an ACK's name,
    the usage file it answers)."""

    CAPTURE = (Basis.SEEN, "device shows report {report} as ACK in {where}")
    ACK_NAME = (Basis.SEEN, "ACK file name {where} answers {answers}")
    RUM_ACK = (Basis.INFERRED, "RUM ACK data in {where} lists report {report}")

    @property
    def basis(self) -> Basis:
        """Seen or inferred."""
        return self.value[0]


# Evidence that a report was acknowledged, kept as (what it shows, the file it is in, the
# usage file an ACK's name answers or "") and put in words only for output: a site's 400,000
# reports would otherwise hold a sentence each. It does not name the report, so one file's
# reports share one piece of evidence, and a device's reports one tuple of them.
Said = tuple[Shows, str, str]


def words(said: Said, report_id: int) -> findings.Evidence:
    """One piece of evidence for report ``report_id`` in words, as ``reconcile`` prints it."""
    shows, where, answers = said
    text: str = shows.value[1]  # each kind's words take only some of the three
    return findings.Evidence(
        shows.basis, text.format(report=report_id, where=where, answers=answers)
    )


@dataclass(frozen=True, slots=True)
class ReportStatus:
    """One exported report: the usage files carrying it and the evidence it was ACKed."""

    report_id: int
    exported_in: tuple[str, ...]
    said: tuple[Said, ...]  # the evidence it was ACKed; ``evidence`` puts it in words

    @property
    def evidence(self) -> tuple[findings.Evidence, ...]:
        """The evidence in words, seen first, each sentence once."""
        said = dict.fromkeys(words(said, self.report_id) for said in self.said)
        return tuple(sorted(said, key=lambda e: (e.basis is not Basis.SEEN, str(e))))

    @property
    def acknowledged(self) -> bool:
        """True when any evidence says so."""
        return bool(self.said)

    @property
    def inferred(self) -> bool:
        """True when acknowledged on inferred evidence only."""
        return self.acknowledged and all(shows.basis is Basis.INFERRED for shows, _, _ in self.said)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "report_id": self.report_id,
            "exported_in": list(self.exported_in),
            "acknowledged": self.acknowledged,
            "inferred": self.inferred,
            "evidence": list(map(str, self.evidence)),
        }


@dataclass(frozen=True, slots=True)
class DeviceReconciliation:
    """One device: what it exported, what came back, what is still outstanding."""

    device: str  # "PID:...,SN:..." or "folder:<path>" for a capture naming no device
    udi: Udi | None
    hostname: str | None
    captures: tuple[str, ...]
    last_ack_received: str | None
    reports: tuple[ReportStatus, ...]
    identified_by: str = "udi"  # how the device is known; "udi" for usage-file devices

    @property
    def outstanding(self) -> list[int]:
        """Report ids exported and not acknowledged."""
        return [r.report_id for r in self.reports if not r.acknowledged]

    @property
    def never_reported(self) -> bool:
        """A capture exists and no usage file carries a report of this device."""
        return bool(self.captures) and not self.reports

    def to_dict(self) -> dict[str, Any]:
        """JSON form: one result of ``airgap reconcile``."""
        return {
            "device": self.device,
            "identified_by": self.identified_by,
            "udi": self.udi.to_dict() if self.udi else None,
            "hostname": self.hostname,
            "captures": list(self.captures),
            "last_ack_received": self.last_ack_received,
            "exported": len(self.reports),
            "acknowledged": sum(r.acknowledged for r in self.reports),
            "outstanding": self.outstanding,
            "never_reported": self.never_reported,
            "reports": [r.to_dict() for r in self.reports],
        }


def mismatch(
    kind: Kind,
    message: str,
    device: str,
    path: str | None = None,
    report_ids: tuple[int, ...] = (),
    evidence: tuple[findings.Evidence, ...] = (),
) -> Finding:
    """Something that does not reconcile, where, and the evidence for it: an error for the
    kinds that make ``reconcile`` exit 1, else a warning."""
    where = Location(path, device=device)
    return Finding(kind, level_of(kind), message, where, evidence=evidence, report_ids=report_ids)


def finding_dict(finding: Finding) -> dict[str, Any]:
    """A reconciliation finding's JSON form."""
    return {
        "kind": finding.code,
        "level": finding.level.value,
        "device": finding.where.device,
        "path": finding.where.path,
        "report_ids": list(finding.report_ids),
        "message": finding.message,
        "evidence": list(map(str, finding.evidence)),
    }


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Every device and every finding, sorted."""

    devices: tuple[DeviceReconciliation, ...]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """True when nothing exits 1: all reconciled."""
        return not any(f.level is Level.ERROR for f in self.findings)

    def counts(self) -> dict[str, int]:
        """Totals for a summary line."""
        reports = [r for d in self.devices for r in d.reports]
        totals = {
            "devices": len(self.devices),
            "exported": len(reports),
            "acknowledged": sum(r.acknowledged for r in reports),
            "inferred": sum(r.inferred for r in reports),
        }
        # plain str keys: the JSON encoder takes no enum as a key
        totals.update({kind.value: sum(f.code == kind for f in self.findings) for kind in Kind})
        totals[Kind.OUTSTANDING.value] = totals["exported"] - totals["acknowledged"]
        return totals


class _Index:
    """(UDI, report id) -> usage files, and the evidence each report was acknowledged.

    Compact at site scale: a report's key is the (UDI, report id) tuple its usage file's refs
    already hold, a file's reports are those refs, and the reports of one file share one tuple
    of it (the one the results then hold). Reports given the same evidence in the same order
    (a device's, mostly) share one tuple of it too."""

    def __init__(self, found: Evidence) -> None:
        self.exported: dict[ReportKey, tuple[str, ...]] = {}  # the usage files carrying the report
        self.by_file: dict[str, tuple[ReportRef, ...]] = {}
        self.by_name: dict[str, tuple[str, ...]] = {}  # own name -> the usage files so named
        self.names = found.names  # shown path -> own file name
        self.udis: set[Udi] = set()
        # the last evidence joined: (what a report had, what it was given, the two joined)
        self._last: tuple[tuple[Said, ...], Said, tuple[Said, ...]] = ((), _NO_SAID, ())
        for path, refs in found.usage:
            alone = (path,)
            name = self.names[path]
            same = self.by_name.get(name)
            self.by_name[name] = alone if same is None else (*same, path)
            self.by_file[path] = refs
            for ref in refs:
                udi, rid = ref
                if udi is not None:
                    self.udis.add(udi)
                if udi is None or rid is None:
                    continue
                key = cast(ReportKey, ref)
                paths = self.exported.setdefault(key, alone)
                if path not in paths:
                    self.exported[key] = (*paths, path)
        # Every exported report, keyed by the refs' own tuples: a key looked up later is a new
        # tuple of the same report, and setting it keeps the key the dict has.
        self.evidence: dict[ReportKey, tuple[Said, ...]] = dict.fromkeys(self.exported, ())

    def settle(self) -> dict[Udi, list[ReportStatus]]:
        """Each device's exported reports with their evidence, once every piece of it is
        recorded. The index is let go of as it goes: at site scale, a few hundred bytes a
        device that the results do not need."""
        self.by_file.clear()
        self.by_name.clear()
        self.udis.clear()
        per_udi: dict[Udi, list[ReportStatus]] = {}
        for report, paths in self.exported.items():
            per_udi.setdefault(report[0], []).append(
                ReportStatus(report[1], paths, self.evidence[report])
            )
        self.exported.clear()
        self.evidence.clear()
        return per_udi

    def reports(self, path: str) -> Iterator[ReportKey]:
        """The exported reports one usage file carries."""
        for ref in self.by_file.get(path, ()):
            if ref[0] is not None and ref[1] is not None:
                yield cast(ReportKey, ref)

    def acknowledge(self, key: ReportKey, evidence: Said) -> None:
        """Record evidence for an exported report; others are not tracked. The reports of one
        file come one after another with the same evidence so far: they share one tuple."""
        found = self.evidence.get(key)
        if found is None or evidence in found:
            return
        before, given, joined = self._last
        if found is not before or evidence is not given:
            joined = (*found, evidence)
            self._last = (found, evidence, joined)
        self.evidence[key] = joined


_NO_SAID: Said = (Shows.CAPTURE, "", "")  # what ``_Index._last`` starts with: no evidence


def _states_by_path(states: Iterable[DeviceState]) -> dict[str, list[DeviceState]]:
    found: dict[str, list[DeviceState]] = {}
    for state in states:
        found.setdefault(state.path or "", []).append(state)
    return found


def _device_acks(index: _Index, devices: list[_Captured], found: Evidence) -> None:
    """SEEN: a capture shows the report in state ACK."""
    by_path = _states_by_path(found.states)
    for device in devices:
        if device.udi is None:
            continue
        for path in device.paths:
            said: Said = (Shows.CAPTURE, path, "")  # one piece of evidence for the file's reports
            for state in by_path.get(path, []):
                if state.udi not in (None, device.udi):
                    continue
                for report in state.reports:
                    if report.state == ReportState.ACK:
                        index.acknowledge((device.udi, report.id), said)


def _file_acks(index: _Index, path: str, doc: ImportFile) -> set[Udi]:
    """Evidence from one ACK file; returns the devices it was matched to on seen evidence."""
    name = index.names[path]
    seen: set[Udi] = set()
    if name.startswith("ACK_"):
        for usage in index.by_name.get(name.removeprefix("ACK_"), []):
            said = (Shows.ACK_NAME, name, usage)  # one piece of evidence for the file's reports
            for key in index.reports(usage):
                seen.add(key[0])
                index.acknowledge(key, said)
    slac = [a.udi for a in doc.authorizations if a.udi is not None]
    listed: Said = (Shows.RUM_ACK, name, "")
    for entry in rum_entries(doc):
        udi = entry.udi or (slac[0] if len(slac) == 1 else None)
        if udi is not None and entry.acknowledges:
            index.acknowledge((udi, entry.report_id), listed)
    return seen


def named(doc: ImportFile) -> list[tuple[Udi, findings.Evidence]]:
    """The devices an ACK names, each with how: SLAC ``<udi>`` (seen), RUM ACK (inferred)."""
    found = {
        a.udi: findings.Evidence(Basis.SEEN, f"SLAC udi {a.udi_text}")
        for a in doc.authorizations
        if a.udi is not None
    }
    for entry in rum_entries(doc):
        if entry.udi is not None and entry.udi not in found:
            found[entry.udi] = findings.Evidence(Basis.INFERRED, f"RUM ACK data names {entry.udi}")
    return sorted(found.items(), key=lambda item: item[0])


def _earlier(ack: Moment, last: Moment) -> bool:
    """True when ``ack`` is before ``last``; a local time is compared as if it were UTC."""

    return ack.as_utc() < last.as_utc()


def _ack_findings(
    devices: dict[Udi, _Captured],
    known: set[Udi],
    path: str,
    doc: ImportFile,
    seen: set[Udi],
    name: str,
) -> Iterator[Finding]:
    """Foreign and stale findings for one ACK file (at ``path``, its own name ``name``);
    ``known`` are the devices the captures and usage files name, ``seen`` those matched to
    this ACK by its file name."""
    names = named(doc)
    for udi, how in names:
        if udi not in known:
            yield mismatch(
                Kind.FOREIGN,
                f"ACK names {udi}, a device not in the inputs",
                str(udi),
                path,
                evidence=(how,),
            )
    made = import_time(doc)
    if made is None:
        return
    how_of = dict(names)
    how_of.update(
        {
            udi: findings.Evidence(Basis.SEEN, f"ACK file name {name}")
            for udi in seen
            if udi not in how_of or how_of[udi].basis is Basis.INFERRED
        }
    )
    for udi, how in sorted(how_of.items()):
        device = devices.get(udi)
        stamp = device.last_ack if device else None
        last = stamp.moment if stamp else None
        if last is None or stamp is None or not _earlier(made, last):
            continue
        local = " (local time, compared as if UTC)" if last.local_time or made.local_time else ""
        yield mismatch(
            Kind.STALE,
            f"ACK made {made.iso()} is older than the device's last ACK "
            f"received ({stamp.raw}){local}",
            str(udi),
            path,
            evidence=(
                how,
                findings.Evidence(Basis.SEEN, f"device shows Last ACK received {stamp.raw}"),
            ),
        )


@dataclass(frozen=True, slots=True)
class _Captured:
    """What reconcile reads of a device the captures show: a ``devices.Device`` without its
    merged state (several hundred bytes a device, let go before the index is built)."""

    key: str
    udi: Udi | None
    hostname: str | None
    paths: tuple[str, ...]
    last_ack: Stamp | None  # the device's "Last ACK received"
    trust_codes: tuple[TrustCode, ...]
    identified_by: str

    @classmethod
    def of(cls, device: Device) -> _Captured:
        state = device.state
        usage = state.usage_reporting
        return cls(
            device.key,
            device.udi,
            state.hostname,
            device.paths,
            usage.last_ack_received if usage else None,
            state.trust_codes,
            device.identified_by.value,
        )


def reconcile(found: Evidence) -> Reconciliation:
    """Match exported reports with ACKs and device captures, and list what does not fit."""
    grouped = list(map(_Captured.of, group(found.states)))
    index = _Index(found)
    _device_acks(index, grouped, found)
    findings = _acks(index, grouped, found.acks)
    results = _devices(index, grouped)
    findings += _report_findings(results)
    order = {kind: n for n, kind in enumerate(Kind)}
    findings.sort(
        key=lambda f: (order[Kind(f.code)], f.where.device or "", f.where.path or "", f.report_ids)
    )
    return Reconciliation(tuple(results), tuple(findings))


def _acks(
    index: _Index, grouped: list[_Captured], acks: list[tuple[str, ImportFile]]
) -> list[Finding]:
    """The evidence of every ACK, and its foreign and stale findings."""
    devices = {d.udi: d for d in grouped if d.udi is not None}
    known = set(devices) | index.udis
    for device in grouped:  # a stack's members each have a UDI of their own
        known.update(t.udi for t in device.trust_codes if t.udi is not None)
    findings: list[Finding] = []
    for path, doc in sorted(acks, key=lambda item: item[0]):
        seen = _file_acks(index, path, doc)
        findings += _ack_findings(devices, known, path, doc, seen, index.names[path])
    return findings


def _devices(index: _Index, grouped: list[_Captured]) -> list[DeviceReconciliation]:
    """The result of each device; the index is let go of once its reports are made."""
    per_udi = index.settle()
    results = []
    by_key = {d.key: d for d in grouped}
    key_of = {d.udi: d.key for d in grouped if d.udi is not None}  # a UDI device: str(udi)
    udi_of: dict[str, Udi | None] = {key_of.get(u) or str(u): u for u in per_udi}
    udi_of.update({d.key: d.udi for d in grouped})
    for key in sorted(udi_of):
        device = by_key.get(key)
        udi = udi_of[key]
        last = device.last_ack if device else None
        reports = sorted(per_udi.get(udi, []) if udi else [], key=lambda r: r.report_id)
        results.append(
            DeviceReconciliation(
                key,
                udi,
                device.hostname if device else None,
                device.paths if device else (),
                last.iso or last.raw if last else None,
                tuple(reports),
                device.identified_by if device else "udi",
            )
        )
    return results


def _report_findings(results: list[DeviceReconciliation]) -> Iterator[Finding]:
    for device in results:
        if device.outstanding:
            ids = tuple(device.outstanding)
            files = sorted({p for r in device.reports if not r.acknowledged for p in r.exported_in})
            yield mismatch(
                Kind.OUTSTANDING,
                f"{len(ids)} exported report(s) without an ACK",
                device.device,
                report_ids=ids,
                evidence=tuple(findings.Evidence(Basis.SEEN, f"exported in {p}") for p in files),
            )
        for report in device.reports:
            if len(report.exported_in) > 1:
                yield mismatch(
                    Kind.EXPORTED_TWICE,
                    f"report {report.report_id} is in {len(report.exported_in)} usage files",
                    device.device,
                    report.exported_in[0],
                    (report.report_id,),
                    tuple(
                        findings.Evidence(
                            Basis.SEEN, f"report {report.report_id} of {device.device} in {p}"
                        )
                        for p in report.exported_in
                    ),
                )
        if device.never_reported:
            why = (
                findings.Evidence(Basis.SEEN, "capture of this device, no usage file names it")
                if device.udi
                else findings.Evidence(
                    Basis.INFERRED, "the capture names no UDI, so no usage file can match it"
                )
            )
            yield mismatch(
                Kind.NEVER_REPORTED,
                "a capture exists but no usage file",
                device.device,
                device.captures[0],
                evidence=(why,),
            )
