"""A device's licensing state as its ``show license ...`` captures tell it (DESIGN.md "State").

One ``DeviceState`` per capture; ``to_dict()`` gives the JSON shape of ``airgap state``. Every
field is optional because every command prints only part of the state and lines come and go
between releases: None means "this capture does not say", never "no".

Times are ``Stamp``s: the text as the device printed it and, when it can be known, ISO 8601
(UTC with ``Z`` when the capture says UTC, local time with no offset otherwise, unless the
operator gave the label's offset). Both reach JSON: ``<field>`` and ``<field>_raw``. A stamp's
``moment`` is the same time to compute with (a ``datetime``, and whether it is local time).

"Shown as none" is kept apart from "not shown" (DESIGN.md "No false green"): a line the device
printed as ``<none>`` (``<empty>``, ``Never``) is a Stamp whose ``raw`` is that text and whose
``iso`` is None, so JSON has ``<field>: null`` with ``<field>_raw: "<none>"``; a line the capture
does not have leaves the Stamp None (``<field>_raw: null``). Text fields shown as none are listed
in ``DeviceState.none_raw`` and reach JSON the same way. ``shown`` names the parts of the state
the capture printed at all, so an empty list of licenses that was never shown is not "no
licenses".
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from airgap.formats.common import Udi

# The four license kinds a policy has attributes for, by their JSON key.
POLICY_KINDS = ("unenforced_perpetual", "unenforced_subscription", "enforced", "export")
# What the device prints for "no value": shown as none, not a value and not a missing line.
SENTINELS = frozenset({"", "<none>", "<empty>", "none", "n/a", "never"})
# Parts of a state a capture may show; ``DeviceState.shown`` holds those it did show.
PARTS = (
    "udi",
    "account",
    "data_privacy",
    "policy",
    "transport",
    "usage_reporting",
    "trust_codes",
    "licenses",
    "reports",
    "history",
    "authorizations",
    "report_summary",
)


class ReportState(StrEnum):
    """What the device says of a RUM report. ``Report.state`` keeps the device's own word, so
    a state not listed here still reaches the user; comparisons name these members."""

    OPEN = "OPEN"  # still collecting measurements
    CLOSED = "CLOSED"  # complete, waiting to be sent and acknowledged
    ACK = "ACK"  # acknowledged by an imported ACK
    DELETED = "DELETED"


_T = TypeVar("_T", bound=type)


def _pickled_as_arguments(cls: _T) -> _T:
    """Pickle the class as a call with its fields: a worker sends every state of a site to
    the parent, and the dataclass default (its fields set one by one in Python) took as long
    to unpickle as a capture takes to walk."""
    values = operator.attrgetter(*(item.name for item in fields(cls)))

    def reduce(self: Any) -> tuple[type, tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = reduce  # type: ignore[assignment]
    return cls


def is_sentinel(text: str) -> bool:
    """True for ``<none>``, ``<empty>`` and the other ways the device says "no value"."""
    return text.strip().lower() in SENTINELS


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class Stamp:
    """A time as the device printed it, and its ISO 8601 form when that can be known."""

    raw: str
    iso: str | None

    @property
    def shown_none(self) -> bool:
        """The device printed ``<none>`` (or another "no value"): nothing received, nothing
        pending. Not the same as a line the capture does not have."""
        return is_sentinel(self.raw)

    @property
    def moment(self) -> Moment | None:
        """The time to compute with (deadlines, staleness), or None when its ISO form is not
        known. Derived, not stored: a site's states hold many stamps."""
        return Moment.parse(self.iso)


@dataclass(frozen=True, slots=True)
class Moment:
    """A time read from a device or a file: aware when its offset is known, else naive."""

    when: datetime
    local_time: bool  # no offset known: used as printed

    @staticmethod
    def parse(text: str | None) -> Moment | None:
        """Read ISO 8601 (``Z``, an offset, or none); None when it is not ISO 8601."""
        return _moment(text) if text else None

    def iso(self) -> str:
        """ISO 8601 in the form the device's stamps use: ``Z`` for UTC, else as known."""
        if self.when.tzinfo is not None and self.when.utcoffset() == timedelta(0):
            return self.when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.when.isoformat()

    def plus(self, days: int) -> Moment:
        """The same wall-clock time ``days`` later."""
        return Moment(self.when + timedelta(days=days), self.local_time)

    def as_utc(self) -> datetime:
        """An aware time to order by; a local time is taken as if it were UTC."""
        return self.when.replace(tzinfo=UTC) if self.when.tzinfo is None else self.when


@functools.lru_cache(maxsize=4096)
def _moment(text: str) -> Moment | None:
    """``Moment.parse``, once for a stamp that a device's verdicts read again and again (a
    Moment is never changed, so one object serves them all)."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return Moment(when, when.tzinfo is None)


def stamps(name: str, stamp: Stamp | None) -> dict[str, str | None]:
    """``{name: iso, name_raw: raw}`` for a JSON object."""
    return {name: stamp.iso if stamp else None, f"{name}_raw": stamp.raw if stamp else None}


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class PolicyAttributes:
    """Reporting days for one license kind, and who set them (``CISCO default``, ...)."""

    first_report_days: int | None = None
    reporting_frequency_days: int | None = None
    report_on_change_days: int | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_report_days": self.first_report_days,
            "reporting_frequency_days": self.reporting_frequency_days,
            "report_on_change_days": self.report_on_change_days,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Policy:
    """The policy in force: its name, when it was installed, whether ACKs are required."""

    name: str | None = None
    installed_on: Stamp | None = None
    ack_required: bool | None = None
    attributes: dict[str, PolicyAttributes] = field(default_factory=dict)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _policy, (self.name, self.installed_on, self.ack_required, self.attributes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **stamps("installed_on", self.installed_on),
            "ack_required": self.ack_required,
            "attributes": {
                k: self.attributes[k].to_dict() for k in POLICY_KINDS if k in self.attributes
            },
        }


def _policy(
    name: str | None,
    installed_on: Stamp | None,
    ack_required: bool | None,
    attributes: dict[str, PolicyAttributes],
) -> Policy:
    """A policy as unpickled: one copy of each this process met. A site's devices run a few
    policies, and each state comes from a worker with a policy of its own (a few hundred
    bytes a device)."""
    return _one_policy(name, installed_on, ack_required, tuple(attributes.items()))


@functools.lru_cache(maxsize=1024)  # a site runs a few
def _one_policy(
    name: str | None,
    installed_on: Stamp | None,
    ack_required: bool | None,
    attributes: tuple[tuple[str, PolicyAttributes], ...],
) -> Policy:
    return Policy(name, installed_on, ack_required, dict(attributes))


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class UsageReporting:
    """The ``Usage Reporting:`` section: when the device last heard back and must next."""

    last_ack_received: Stamp | None = None
    next_ack_deadline: Stamp | None = None
    last_report_push: Stamp | None = None
    next_report_push: Stamp | None = None
    reporting_push_interval_days: int | None = None
    last_report_file_write: Stamp | None = None  # proof that "save usage" ran
    next_ack_push_check: Stamp | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **stamps("last_ack_received", self.last_ack_received),
            **stamps("next_ack_deadline", self.next_ack_deadline),
            **stamps("last_report_push", self.last_report_push),
            **stamps("next_report_push", self.next_report_push),
            "reporting_push_interval_days": self.reporting_push_interval_days,
            **stamps("last_report_file_write", self.last_report_file_write),
            **stamps("next_ack_push_check", self.next_ack_push_check),
        }


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class TrustCode:
    """One installed trust code; stacks list one per member (role Active, Standby, Member).
    ``udi`` is None for a plain ``Trust Code Installed: <time>`` in a capture naming no device."""

    udi: Udi | None
    role: str | None = None
    installed_on: Stamp | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "udi": self.udi.to_dict() if self.udi else None,
            "role": self.role,
            **stamps("installed_on", self.installed_on),
        }


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class Authorization:
    """One member's SLAC state in ``License Authorizations`` or ``show license authorization``."""

    udi: Udi | None
    role: str | None = None
    status: str | None = None  # "INSTALLED", "NOT INSTALLED", ...
    confirmation_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "udi": self.udi.to_dict() if self.udi else None,
            "role": self.role,
            "status": self.status,
            "confirmation_code": self.confirmation_code,
        }


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class License:
    """One license in use, from ``summary``, ``usage`` or ``all``."""

    name: str
    entitlement_tag: str | None = None
    count: int | None = None
    status: str | None = None
    enforcement: str | None = None
    export_status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entitlement_tag": self.entitlement_tag,
            "count": self.count,
            "status": self.status,
            "enforcement": self.enforcement,
            "export_status": self.export_status,
        }


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class Report:
    """One RUM report as ``rum id all`` or ``rum id <id> detail`` lists it."""

    id: int
    state: str | None = None  # the device's word: a ReportState when it is one of those
    flag: str | None = None
    feature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "flag": self.flag, "feature": self.feature}


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of ``history message``, ``eventlog`` or a ``%SMART_LIC-`` syslog event: when,
    which category (or syslog code), what, and for syslog codes what it means."""

    category: str | None
    message: str
    time: Stamp | None = None
    meaning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **stamps("time", self.time),
            "category": self.category,
            "message": self.message,
            "meaning": self.meaning,
        }


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class DeviceState:
    """What one capture says about one device."""

    kind: str
    path: str | None = None
    udi: Udi | None = None
    # Where ``udi`` came from: "capture" (this command printed it), "file" (another command
    # of the same file, such as "show license udi"), "header" (airgap's capture header).
    udi_source: str | None = None
    hostname: str | None = None
    smart_account: str | None = None
    virtual_account: str | None = None
    data_privacy: dict[str, Any] = field(default_factory=dict)
    policy: Policy | None = None
    transport_type: str | None = None
    transport_url: str | None = None
    usage_reporting: UsageReporting | None = None
    trust_codes: tuple[TrustCode, ...] = ()
    licenses: tuple[License, ...] = ()
    reports: tuple[Report, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    authorizations: tuple[Authorization, ...] = ()
    # The "Usage Report Summary" counters: total, purged, acknowledged, waiting_for_ack,
    # available_to_report, collecting_data, maximum_display, in_storage, mia.
    report_summary: dict[str, int] = field(default_factory=dict)
    # "show common-packet-forwarder status": {"reported": bool, "acknowledged": bool}.
    forwarder: dict[str, bool] = field(default_factory=dict)
    clock: Stamp | None = None  # the device's own time when the capture was taken
    clock_source: str | None = None  # which line gave ``clock``
    collected: dict[str, str] = field(default_factory=dict)  # airgap's capture header
    none_raw: dict[str, str] = field(default_factory=dict)  # "transport.url" -> "<empty>"
    shown: frozenset[str] = frozenset()  # the PARTS this capture printed
    unparsed_lines: tuple[str, ...] = ()
    # Where the capture was read, as parts (``airgap.archive.Where``: its file, then each
    # archive's member name), when a walk found it: its folder decides device identity.
    source: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "path": self.path,
            "udi": self.udi.to_dict() if self.udi else None,
            "udi_source": self.udi_source,
            "hostname": self.hostname,
            **stamps("clock", self.clock),
            "clock_source": self.clock_source,
            "collected": dict(self.collected) or None,
            "account": {
                "smart_account": self.smart_account,
                "virtual_account": self.virtual_account,
            },
            "data_privacy": dict(self.data_privacy),
            "policy": self.policy.to_dict() if self.policy else None,
            "transport": {"type": self.transport_type, "url": self.transport_url},
            "usage_reporting": self.usage_reporting.to_dict() if self.usage_reporting else None,
            "trust_codes": [t.to_dict() for t in self.trust_codes],
            "licenses": [lic.to_dict() for lic in self.licenses],
            "reports": [r.to_dict() for r in self.reports],
            "history": [h.to_dict() for h in self.history],
            "authorizations": [a.to_dict() for a in self.authorizations],
            "report_summary": dict(self.report_summary) or None,
            "forwarder": dict(self.forwarder) or None,
            "shown": sorted(self.shown),
            "unparsed_lines": list(self.unparsed_lines),
        }
        for where, raw in self.none_raw.items():  # "account.smart_account" -> "<none>"
            part, _, name = where.rpartition(".")
            target = data.get(part) if part else data
            if isinstance(target, dict):
                target[f"{name}_raw"] = raw
        return data


STATE_FIELDS = tuple(item.name for item in fields(DeviceState))  # in order
values_of = operator.attrgetter(*STATE_FIELDS)  # a state's field values, in that order
_STATE_INDEX = {name: index for index, name in enumerate(STATE_FIELDS)}


def changed(state: DeviceState, **values: Any) -> DeviceState:
    """``dataclasses.replace`` of a state, in half the time: a site of 100,000 devices makes
    states by the million (merged, summarised, shared)."""
    fresh = list(values_of(state))
    for name, value in values.items():
        fresh[_STATE_INDEX[name]] = value
    return DeviceState(*fresh)
