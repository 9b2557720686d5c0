"""When each device must next report and next get an ACK (DESIGN.md ``airgap deadlines``).

A device's own "Next ACK deadline" wins over anything computed (FORMATS.md 2); then a
``%SMART_LIC-6-REPORTING_REQUIRED ... in N days`` syslog event (log time + N days, seen on the
device). ``Next ACK deadline: <none>`` means no ACK is pending: there is no ACK-by date, and the
next obligation is the report-by date. Without either, the ACK-by date is estimated from the
policy in force: the policy the device shows, else the
newest policy imported for it, else the default table of FORMATS.md, and from the last ACK it
received (plus the smallest non-zero reporting frequency) or, with none, from the policy's
install time (plus the smallest non-zero first-report days). Every computed date says it is an
estimate and which rule made it. The report-by date is the device's "Next report push", else
the last push plus the push interval, else an estimate from the policy (the last report, ACK
or policy install plus the reporting frequency). The status comes from the earlier of the two
(``basis`` says which). Dates compare by calendar date; a local time whose offset is unknown is
used as printed and flagged ``local_time``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from airgap.formats.common import Udi
from airgap.formats.imports import ImportFile
from airgap.formats.imports import Policy as ImportedPolicy
from airgap.state import syslog
from airgap.state.devices import Device, group
from airgap.state.model import DeviceState, Moment
from airgap.state.model import Policy as DevicePolicy


class DueStatus(StrEnum):
    """How urgent a device's next obligation is, most urgent first."""

    OVERDUE = "overdue"
    DUE = "due"  # within the warning days
    OK = "ok"
    UNKNOWN = "unknown"  # no date the evidence shows or can estimate


class Obligation(StrEnum):
    """The date a status rests on (``basis``): the next ACK or the next report."""

    ACK_BY = "ack_by"
    REPORT_BY = "report_by"


class DateSource(StrEnum):
    """Where a date, or the policy it is computed from, came from."""

    DEVICE = "device"  # the device printed it
    SYSLOG = "syslog"  # a REPORTING_REQUIRED event announced it
    POLICY = "policy"  # the policy the device shows
    IMPORTED_POLICY = "imported policy"
    DEFAULT_TABLE = "default table"  # FORMATS.md's defaults: the last resort


STATUSES = tuple(DueStatus)  # most urgent first
FAILING = (DueStatus.OVERDUE, DueStatus.DUE)  # statuses that make ``airgap deadlines`` exit 1
WARN_DAYS = 14

# The default policy of FORMATS.md 2 (the seed product guide): only the last resort.
DEFAULT_FIRST_REPORT_DAYS = (90, 90, 365, 90)
DEFAULT_REPORTING_FREQUENCY_DAYS = (90, 90, 0, 90)
_IMPORTED_KIND = {
    "subscription": "unenforced_subscription",
    "perpetual": "unenforced_perpetual",
    "enforced": "enforced",
    "export": "export",
}


@dataclass(frozen=True, slots=True)
class DueDate:
    """One date a device must meet: when, where it came from, and by which rule."""

    date: date
    time: str  # ISO 8601 as known: the device's own, or computed in the same form
    source: DateSource
    estimate: bool
    rule: str
    local_time: bool
    raw: str | None = None  # the device's text, for a date the device printed

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "date": self.date.isoformat(),
            "time": self.time,
            "raw": self.raw,
            "source": str(self.source),
            "estimate": self.estimate,
            "rule": self.rule,
            "local_time": self.local_time,
        }


@dataclass(frozen=True, slots=True)
class PolicyInForce:
    """The reporting terms a date is computed from, and where they came from."""

    name: str | None
    source: DateSource  # a policy: the device's, an imported one, or the default table
    origin: str  # in words: "the device's policy", "policy in ACK_x.xml", ...
    first_report_days: int | None  # smallest non-zero over the license kinds
    reporting_frequency_days: int | None
    ack_required: bool | None
    installed_on: Moment | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "source": str(self.source),
            "origin": self.origin,
            "first_report_days": self.first_report_days,
            "reporting_frequency_days": self.reporting_frequency_days,
            "ack_required": self.ack_required,
            "installed_on": self.installed_on.iso() if self.installed_on else None,
        }


@dataclass(frozen=True, slots=True)
class DeviceDeadlines:
    """A device's next ACK-by and report-by dates and how urgent they are."""

    device: str
    udi: Udi | None
    hostname: str | None
    paths: tuple[str, ...]
    status: DueStatus
    days_left: int | None  # to the date the status rests on (negative when overdue)
    basis: Obligation | None  # None when there is no date
    ack_by: DueDate | None
    report_by: DueDate | None
    policy: PolicyInForce
    notes: tuple[str, ...] = ()
    identified_by: str = "udi"  # how the device is known (DESIGN.md "Which device a capture is")

    @property
    def date(self) -> date | None:
        """The date the status rests on."""
        due = self.ack_by if self.basis is Obligation.ACK_BY else self.report_by
        return due.date if due else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: one result of ``airgap deadlines``."""
        return {
            "device": self.device,
            "identified_by": self.identified_by,
            "udi": self.udi.to_dict() if self.udi else None,
            "hostname": self.hostname,
            "paths": list(self.paths),
            "status": str(self.status),
            "days_left": self.days_left,
            "basis": self.basis and str(self.basis),
            "ack_by": self.ack_by.to_dict() if self.ack_by else None,
            "report_by": self.report_by.to_dict() if self.report_by else None,
            "policy": self.policy.to_dict(),
            "notes": list(self.notes),
        }


def _smallest(days: Iterable[int | None]) -> int | None:
    return min((d for d in days if d), default=None)


@functools.cache
def default_policy() -> PolicyInForce:
    """FORMATS.md's default table: the last resort when no policy is known."""
    return PolicyInForce(
        None,
        DateSource.DEFAULT_TABLE,
        "the default table of FORMATS.md",
        _smallest(DEFAULT_FIRST_REPORT_DAYS),
        _smallest(DEFAULT_REPORTING_FREQUENCY_DAYS),
        True,
        None,
    )


# Terms per policy object: the devices of a site share a few policy objects (evidence.load
# gives them one copy each), so each one's terms are worked out, and kept, once. The policy
# is held beside its terms, so its id cannot be reused while the entry is there.
_TERMS: dict[int, tuple[DevicePolicy, PolicyInForce]] = {}


def device_policy(state: DeviceState) -> PolicyInForce | None:
    """The policy the device shows, when it shows its terms."""
    policy = state.policy
    if policy is None or not policy.attributes:
        return None
    known = _TERMS.get(id(policy))
    if known is not None and known[0] is policy:
        return known[1]
    terms = policy.attributes.values()
    found = PolicyInForce(
        policy.name,
        DateSource.POLICY,
        "the device's policy",
        _smallest(t.first_report_days for t in terms),
        _smallest(t.reporting_frequency_days for t in terms),
        policy.ack_required,
        policy.installed_on.moment if policy.installed_on else None,
    )
    if len(_TERMS) >= 1024:
        _TERMS.clear()
    _TERMS[id(policy)] = (policy, found)
    return found


def imported_policy(policy: ImportedPolicy, path: str) -> PolicyInForce:
    """The terms of a policy found in an import file (its ``datestamp`` has no zone)."""
    terms = [days for block, days in policy.terms.items() if block in _IMPORTED_KIND]
    return PolicyInForce(
        policy.name,
        DateSource.IMPORTED_POLICY,
        f"the policy in {path}",
        _smallest(t.get("firstTimeReport") for t in terms),
        _smallest(t.get("onGoingReporting") for t in terms),
        policy.ack_required,
        Moment.parse(policy.datestamp),
    )


def import_time(doc: ImportFile) -> Moment | None:
    """When CSSM made an import file: its account info timestamp, else the SLAC's date stamp,
    else the policy's date stamp (those two carry no zone)."""
    stamp = next((a.timestamp_ms for a in doc.account_infos if a.timestamp_ms is not None), None)
    if stamp is not None:
        return Moment(datetime.fromtimestamp(stamp / 1000, UTC), False)
    for text in [a.date_stamp for a in doc.authorizations] + [p.datestamp for p in doc.policies]:
        if (found := Moment.parse(text)) is not None:
            return found
    return None


def _sort_time(moment: Moment | None) -> datetime:
    if moment is None:
        return datetime.min
    return (
        moment.when.replace(tzinfo=None)
        if moment.local_time
        else moment.when.astimezone(UTC).replace(tzinfo=None)
    )


def imported_policies(
    imports: Iterable[tuple[str, ImportFile]],
) -> tuple[dict[Udi, PolicyInForce], PolicyInForce | None]:
    """The newest imported policy per device whose SLAC ``<udi>`` the import names (SEEN
    evidence only), and the newest one of the files that name no device."""
    newest: dict[Udi | None, tuple[tuple[datetime, str], PolicyInForce]] = {}
    for path, doc in imports:
        if not doc.policies:
            continue
        order = (_sort_time(import_time(doc)), path)
        policy = imported_policy(doc.policies[-1], path)
        named: list[Udi | None] = [a.udi for a in doc.authorizations if a.udi is not None]
        for udi in named or [None]:
            if udi not in newest or newest[udi][0] < order:
                newest[udi] = (order, policy)
    anyone = newest.pop(None, None)
    return (
        {udi: p for udi, (_, p) in newest.items() if udi is not None},
        anyone[1] if anyone else None,
    )


def _syslog_deadline(state: DeviceState) -> DueDate | None:
    """The newest ``REPORTING_REQUIRED ... in N days`` event: log time + N days."""
    found = [(entry, due) for entry in state.history if (due := syslog.required_by(entry))]
    if not found:
        return None
    entry, (when, days) = max(
        found, key=lambda item: item[0].time.iso if item[0].time and item[0].time.iso else ""
    )
    moment = Moment(when, when.tzinfo is None)
    raw = entry.time.raw if entry.time else ""
    return DueDate(
        when.date(),
        moment.iso(),
        DateSource.SYSLOG,
        False,
        f"%{entry.category} logged {raw}: required in {days} days",
        moment.local_time,
        f"{raw} {entry.message}",
    )


def ack_by(state: DeviceState, policy: PolicyInForce) -> tuple[DueDate | None, list[str]]:
    """The device's next ACK deadline, one a syslog event announced, or an estimate from the
    policy in force; and notes. None with a note when the device shows no ACK pending."""
    usage = state.usage_reporting
    deadline = usage.next_ack_deadline if usage else None
    notes: list[str] = []
    if deadline is not None and (shown := deadline.moment) is not None:
        return DueDate(
            shown.when.date(),
            shown.iso(),
            DateSource.DEVICE,
            False,
            "the device's own Next ACK deadline",
            shown.local_time,
            deadline.raw,
        ), notes
    if deadline is not None and deadline.shown_none:
        return None, [f"the device shows Next ACK deadline {deadline.raw}: no ACK is pending"]
    if deadline is not None:
        notes.append(f"cannot read the Next ACK deadline {deadline.raw!r}")
    if (logged := _syslog_deadline(state)) is not None:
        return logged, notes
    notes += [
        f"%{entry.category} logged {entry.time.raw if entry.time else 'with no time'} has no "
        "year to count its days from: capture 'show clock' with the log"
        for entry in state.history
        if syslog.required_in(entry) is not None
    ]
    if policy.ack_required is False:
        return None, [*notes, f"{policy.origin} requires no ACK"]
    received = usage.last_ack_received if usage else None
    if received is not None and (last := received.moment) is not None:
        days = policy.reporting_frequency_days
        if days is None:
            return None, [*notes, f"{policy.origin} sets no reporting frequency"]
        due = last.plus(days)
        rule = (
            f"last ACK received ({received.raw}) + {days} days, the smallest "
            f"non-zero reporting frequency of {policy.origin}"
        )
        return DueDate(due.when.date(), due.iso(), policy.source, True, rule, due.local_time), notes
    if policy.installed_on is None:
        return None, [*notes, f"no last ACK received and no install time for {policy.origin}"]
    days = policy.first_report_days
    if days is None:
        return None, [*notes, f"{policy.origin} sets no first report requirement"]
    due = policy.installed_on.plus(days)
    rule = (
        f"no ACK received yet: policy installed on {policy.installed_on.iso()} + {days} "
        f"days, the smallest non-zero first report requirement of {policy.origin}"
    )
    return DueDate(due.when.date(), due.iso(), policy.source, True, rule, due.local_time), notes


def report_by(state: DeviceState, policy: PolicyInForce | None = None) -> DueDate | None:
    """The device's next report push when it shows one, else an estimate from the policy: the
    latest report (saved to a file or pushed) or ACK plus the reporting frequency. The push
    interval is how often a connected device tries to push, not an obligation."""
    usage = state.usage_reporting
    if usage is None:
        return None
    pushed = usage.next_report_push
    if pushed is not None and (shown := pushed.moment) is not None:
        return DueDate(
            shown.when.date(),
            shown.iso(),
            DateSource.DEVICE,
            False,
            "the device's own Next report push",
            shown.local_time,
            pushed.raw,
        )
    days = policy.reporting_frequency_days if policy else None
    bases = [
        (moment, label, stamp)
        for label, stamp in (
            ("last report file write", usage.last_report_file_write),
            ("last report push", usage.last_report_push),
            ("last ACK received", usage.last_ack_received),
        )
        if stamp is not None and (moment := stamp.moment) is not None
    ]
    if policy is None or not days or not bases:
        return None
    base, label, stamp = max(bases, key=lambda item: _sort_time(item[0]))
    due = base.plus(days)
    rule = (
        f"{label} ({stamp.raw}) + {days} days, the smallest non-zero reporting frequency "
        f"of {policy.origin}"
    )
    return DueDate(due.when.date(), due.iso(), policy.source, True, rule, due.local_time)


def status(due: date | None, today: date, warn_days: int = WARN_DAYS) -> DueStatus:
    """``overdue`` before today, ``due`` within ``warn_days``, ``ok`` later, ``unknown``."""
    if due is None:
        return DueStatus.UNKNOWN
    if due < today:
        return DueStatus.OVERDUE
    return DueStatus.DUE if (due - today).days <= warn_days else DueStatus.OK


def device_deadlines(
    device: Device, today: date, warn_days: int = WARN_DAYS, imported: PolicyInForce | None = None
) -> DeviceDeadlines:
    """One device's dates and status; ``imported`` is the newest policy imported for it."""
    state = device.state
    policy = device_policy(state) or imported or default_policy()
    ack, notes = ack_by(state, policy)
    report = report_by(state, policy)
    # the earlier obligation decides; on the same day the ACK, the harder one
    dated = [
        (due.date, name, due)
        for name, due in ((Obligation.ACK_BY, ack), (Obligation.REPORT_BY, report))
        if due is not None
    ]
    basis, due = min(dated, key=lambda item: item[:2])[1:] if dated else (None, None)
    return DeviceDeadlines(
        device.key,
        device.udi,
        state.hostname,
        device.paths,
        status(due.date if due else None, today, warn_days),
        (due.date - today).days if due else None,
        basis,
        ack,
        report,
        policy,
        tuple(notes),
        str(device.identified_by),
    )


def _urgency(item: DeviceDeadlines) -> tuple[int, date, str]:
    return (STATUSES.index(item.status), item.date or date.max, item.device)


def deadlines(
    states: Iterable[DeviceState],
    today: date,
    warn_days: int = WARN_DAYS,
    imports: Sequence[tuple[str, ImportFile]] = (),
) -> list[DeviceDeadlines]:
    """Every device's dates, most urgent first: overdue, then by date, unknown last."""
    per_device, general = imported_policies(imports)
    found = [
        device_deadlines(d, today, warn_days, per_device.get(d.udi, general) if d.udi else general)
        for d in group(states)
    ]
    return sorted(found, key=_urgency)


def counts(found: Iterable[DeviceDeadlines]) -> dict[str, int]:
    """How many devices have each status."""
    totals = {str(s): 0 for s in STATUSES}
    for item in found:
        totals[item.status] += 1
    return totals
