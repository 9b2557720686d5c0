"""A device's licensing state as its ``show license ...`` captures tell it (DESIGN.md "State").

One ``DeviceState`` per capture; ``to_dict()`` gives the JSON shape of ``airgap state``. Every
field is optional because every command prints only part of the state and lines come and go
between releases: None means "this capture does not say", never "no".

Times are ``Stamp``s: the text as the device printed it and, when it can be known, ISO 8601
(UTC with ``Z`` when the capture says UTC, local time with no offset otherwise, unless the
operator gave the label's offset). Both reach JSON: ``<field>`` and ``<field>_raw``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airgap.formats.common import Udi

# The four license kinds a policy has attributes for, by their JSON key.
POLICY_KINDS = ("unenforced_perpetual", "unenforced_subscription", "enforced", "export")
REPORT_STATES = ("OPEN", "CLOSED", "ACK", "DELETED")


@dataclass(frozen=True)
class Stamp:
    """A time as the device printed it, and its ISO 8601 form when that can be known."""

    raw: str
    iso: str | None


def stamps(name: str, stamp: Stamp | None) -> dict[str, str | None]:
    """``{name: iso, name_raw: raw}`` for a JSON object."""
    return {name: stamp.iso if stamp else None, f"{name}_raw": stamp.raw if stamp else None}


@dataclass(frozen=True)
class PolicyAttributes:
    """Reporting days for one license kind, and who set them (``CISCO default``, ...)."""

    first_report_days: int | None = None
    reporting_frequency_days: int | None = None
    report_on_change_days: int | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"first_report_days": self.first_report_days,
                "reporting_frequency_days": self.reporting_frequency_days,
                "report_on_change_days": self.report_on_change_days, "source": self.source}


@dataclass(frozen=True)
class Policy:
    """The policy in force: its name, when it was installed, whether ACKs are required."""

    name: str | None = None
    installed_on: Stamp | None = None
    ack_required: bool | None = None
    attributes: dict[str, PolicyAttributes] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **stamps("installed_on", self.installed_on),
                "ack_required": self.ack_required,
                "attributes": {k: self.attributes[k].to_dict()
                               for k in POLICY_KINDS if k in self.attributes}}


@dataclass(frozen=True)
class UsageReporting:
    """The ``Usage Reporting:`` section: when the device last heard back and must next."""

    last_ack_received: Stamp | None = None
    next_ack_deadline: Stamp | None = None
    last_report_push: Stamp | None = None
    next_report_push: Stamp | None = None
    reporting_push_interval_days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**stamps("last_ack_received", self.last_ack_received),
                **stamps("next_ack_deadline", self.next_ack_deadline),
                **stamps("last_report_push", self.last_report_push),
                **stamps("next_report_push", self.next_report_push),
                "reporting_push_interval_days": self.reporting_push_interval_days}


@dataclass(frozen=True)
class TrustCode:
    """One installed trust code; stacks list one per member (role Active, Standby, Member)."""

    udi: Udi
    role: str | None = None
    installed_on: Stamp | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"udi": self.udi.to_dict(), "role": self.role,
                **stamps("installed_on", self.installed_on)}


@dataclass(frozen=True)
class License:
    """One license in use, from ``summary``, ``usage`` or ``all``."""

    name: str
    entitlement_tag: str | None = None
    count: int | None = None
    status: str | None = None
    enforcement: str | None = None
    export_status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "entitlement_tag": self.entitlement_tag, "count": self.count,
                "status": self.status, "enforcement": self.enforcement,
                "export_status": self.export_status}


@dataclass(frozen=True)
class Report:
    """One RUM report as ``rum id all`` or ``rum id <id> detail`` lists it."""

    id: int
    state: str | None = None
    flag: str | None = None
    feature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "flag": self.flag, "feature": self.feature}


@dataclass(frozen=True)
class HistoryEntry:
    """One line of ``history message`` or ``eventlog``: when, which category, what."""

    category: str | None
    message: str
    time: Stamp | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**stamps("time", self.time), "category": self.category, "message": self.message}


@dataclass(frozen=True)
class DeviceState:
    """What one capture says about one device."""

    kind: str
    path: str | None = None
    udi: Udi | None = None
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
    unparsed_lines: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "path": self.path,
            "udi": self.udi.to_dict() if self.udi else None, "hostname": self.hostname,
            "account": {"smart_account": self.smart_account,
                        "virtual_account": self.virtual_account},
            "data_privacy": dict(self.data_privacy),
            "policy": self.policy.to_dict() if self.policy else None,
            "transport": {"type": self.transport_type, "url": self.transport_url},
            "usage_reporting": self.usage_reporting.to_dict() if self.usage_reporting else None,
            "trust_codes": [t.to_dict() for t in self.trust_codes],
            "licenses": [lic.to_dict() for lic in self.licenses],
            "reports": [r.to_dict() for r in self.reports],
            "history": [h.to_dict() for h in self.history],
            "unparsed_lines": list(self.unparsed_lines),
        }
