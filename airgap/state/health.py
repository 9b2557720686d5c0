"""Site health (DESIGN.md "Health"): per device the obligations, the report backlog, the
``%SMART_LIC-`` events, how old its newest capture is, and configuration that cannot work
offline; for the site, the worst of them.

Each device gets checks, each with a level: ``critical`` (an obligation overdue or within
``crit_days``, a backlog at ``backlog_crit`` or more), ``warning`` (within ``warn_days``, a
backlog at ``backlog_warn``, a stale capture, an inventory device never captured, a transport
that needs a network the site does not have, a syslog error), ``unknown`` (no date the evidence
shows or can estimate) or ``ok``. No check is green unless the evidence shows it (DESIGN.md "No
false green"): a device whose captures show no date is ``unknown``, never ``ok``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from airgap.formats.common import Udi
from airgap.formats.imports import ImportFile
from airgap.inventory import InventoryDevice
from airgap.state import syslog
from airgap.state.deadlines import (
    DeviceDeadlines,
    Obligation,
    device_deadlines,
    imported_policies,
)
from airgap.state.devices import Device, group
from airgap.state.model import DeviceState, ReportState

BACKLOG_WHY = (
    "reports piling up unacknowledged drive the Smart Agent processes to high CPU "
    "(Cisco bugs CSCwa85199, CSCwc77088)"
)
OFFLINE_FIX = "license smart transport off"
_ONLINE_TRANSPORTS = ("cslu", "smart", "callhome")
_WAITING = (ReportState.OPEN, ReportState.CLOSED)  # not yet acknowledged


class Level(StrEnum):
    """How bad, in the order monitoring systems rank them (Monitoring Plugins: 0-3)."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


class CheckKind(StrEnum):
    """What a check looks at (the ``kind`` of its JSON)."""

    ACK_BY = "ack-by"
    REPORT_BY = "report-by"
    BACKLOG = "backlog"
    SYSLOG = "syslog"
    STALE = "stale"
    NEVER_CAPTURED = "never-captured"
    TRANSPORT = "transport"


_RANK = {Level.CRITICAL: 3, Level.WARNING: 2, Level.UNKNOWN: 1, Level.OK: 0}


def worst(levels: Iterable[Level]) -> Level:
    """The worst level: critical, warning, unknown, ok."""
    return max(levels, key=_RANK.__getitem__, default=Level.OK)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a check turns warning or critical (``airgap health`` flags)."""

    warn_days: int = 14
    crit_days: int = 3
    backlog_warn: int = 50
    backlog_crit: int = 200
    stale_days: int = 45


@dataclass(frozen=True, slots=True)
class Check:
    """One thing about a device, its level, and what it rests on."""

    kind: CheckKind
    level: Level
    message: str
    evidence: str = ""
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "level": str(self.level),
            "message": self.message,
            "evidence": self.evidence,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """One device's health: its checks and the numbers monitoring systems graph."""

    device: str
    identified_by: str
    udi: Udi | None
    hostname: str | None
    inventory: str | None
    paths: tuple[str, ...]
    level: Level
    deadlines: DeviceDeadlines | None = None
    backlog: int | None = None
    capture_age_days: int | None = None

    _today: date = field(default=date.min, repr=False, compare=False)
    # What the checks are worded from, kept instead of their words (a site of 100,000 devices
    # holds a kilobyte less a device): the merged state and the thresholds, or the inventory
    # device never captured.
    _state: DeviceState | None = field(default=None, repr=False, compare=False)
    _limits: Thresholds | None = field(default=None, repr=False, compare=False)
    _item: InventoryDevice | None = field(default=None, repr=False, compare=False)
    _where: str = field(default="", repr=False, compare=False)  # the capture that speaks first

    @property
    def checks(self) -> tuple[Check, ...]:
        """Every check of the device, worded now (the level was decided when it was built)."""
        if self._item is not None:
            return (_never_captured_check(self._item),)
        if self._state is None or self._limits is None or self.deadlines is None:
            return ()
        return _checks(self._state, self.deadlines, self._today, self._limits, self._where)

    def days_to(self, which: Obligation) -> int | None:
        """Days from today to the ACK-by (``ack_by``) or report-by (``report_by``) date."""
        due = getattr(self.deadlines, which) if self.deadlines else None
        return (due.date - self._today).days if due is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "identified_by": self.identified_by,
            "udi": self.udi.to_dict() if self.udi else None,
            "hostname": self.hostname,
            "inventory": self.inventory,
            "paths": list(self.paths),
            "level": str(self.level),
            "ack_by_days": self.days_to(Obligation.ACK_BY),
            "report_by_days": self.days_to(Obligation.REPORT_BY),
            "backlog": self.backlog,
            "capture_age_days": self.capture_age_days,
            "deadlines": self.deadlines.to_dict() if self.deadlines else None,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True, slots=True)
class SiteHealth:
    """Every device, most urgent first, and the site's level."""

    devices: tuple[DeviceHealth, ...]
    today: date
    thresholds: Thresholds

    @property
    def level(self) -> Level:
        return worst(d.level for d in self.devices) if self.devices else Level.UNKNOWN

    def counts(self) -> dict[str, int]:
        totals = {str(level): 0 for level in Level}
        for device in self.devices:
            totals[str(device.level)] += 1
        return totals


def health(
    states: Iterable[DeviceState],
    today: date,
    thresholds: Thresholds = Thresholds(),
    imports: Sequence[tuple[str, ImportFile]] = (),
    inventory: Sequence[InventoryDevice] = (),
) -> SiteHealth:
    """The health of every device the captures show, and of inventory devices never captured."""
    per_device, general = imported_policies(imports)
    devices = group(states)
    names = _Inventory(inventory)
    found = [
        _device(d, today, thresholds, per_device.get(d.udi, general) if d.udi else general, names)
        for d in devices
    ]
    found += [_never_captured(item, today) for item in names.missing(devices)]
    found.sort(key=lambda d: (-_RANK[d.level], _first_days(d), d.device))
    return SiteHealth(tuple(found), today, thresholds)


def _first_days(item: DeviceHealth) -> int:
    days = [d for d in map(item.days_to, Obligation) if d is not None]
    return min(days, default=1 << 30)


def _device(
    device: Device,
    today: date,
    limits: Thresholds,
    imported: Any,
    inventory: _Inventory,
) -> DeviceHealth:
    state = device.state
    due = device_deadlines(device, today, limits.warn_days, imported)
    where = device.newest or device.paths[0]
    checks = _checks(state, due, today, limits, where)
    return DeviceHealth(
        device.key,
        str(device.identified_by),
        device.udi,
        state.hostname,
        inventory.name_of(device),
        device.paths,
        worst(c.level for c in checks),
        due,
        _backlog_count(state)[0],
        _age(state, today),
        _today=today,
        _state=state,
        _limits=limits,
        _where=where,
    )


def _checks(
    state: DeviceState, due: DeviceDeadlines, today: date, limits: Thresholds, where: str
) -> tuple[Check, ...]:
    """A captured device's checks, in words: its obligations, backlog, events, transport and
    the age of its newest capture (``where``)."""
    checks = [
        *_obligations(due, today, limits),
        *_backlog(state, limits),
        *_events(state),
        *_transport(state),
    ]
    age = _age(state, today)
    if age is not None and age > limits.stale_days:
        checks.append(
            Check(
                CheckKind.STALE,
                Level.WARNING,
                f"newest capture is {age} days old",
                f"the device's clock in {where}: {state.clock.raw if state.clock else '?'}",
                f"capture the device again (over --stale-days {limits.stale_days})",
            )
        )
    elif age is None:
        checks.append(
            Check(
                CheckKind.STALE,
                Level.OK,
                "the captures show no clock: their age is not known",
                "no Current time, show clock or event time",
            )
        )
    return tuple(checks)


def _obligations(due: DeviceDeadlines, today: date, limits: Thresholds) -> list[Check]:
    checks = []
    for kind, label, date_due in (
        (CheckKind.ACK_BY, "ACK by", due.ack_by),
        (CheckKind.REPORT_BY, "report by", due.report_by),
    ):
        if date_due is None:
            continue
        days = (date_due.date - today).days
        level = (
            Level.CRITICAL
            if days <= limits.crit_days
            else Level.WARNING
            if days <= limits.warn_days
            else Level.OK
        )
        when = (
            f"overdue by {-days} days" if days < 0 else "today" if days == 0 else f"in {days} days"
        )
        source = date_due.source + (" estimate" if date_due.estimate else "")
        checks.append(
            Check(
                kind,
                level,
                f"{label} {date_due.date.isoformat()}: {when}",
                f"{source}: {date_due.rule}",
            )
        )
    if not checks:
        notes = "; ".join(due.notes) or "no date in the captures"
        checks.append(
            Check(
                CheckKind.ACK_BY,
                Level.UNKNOWN,
                "no ACK-by or report-by date",
                notes,
                "capture 'show license status' (or tech support)",
            )
        )
    return checks


def _backlog_count(state: DeviceState) -> tuple[int | None, str]:
    summary = state.report_summary
    if "available_to_report" in summary or "waiting_for_ack" in summary:
        count = summary.get("available_to_report", 0) + summary.get("waiting_for_ack", 0)
        return count, (
            "Usage Report Summary: available to report "
            f"{summary.get('available_to_report', 0)}, waiting for ACK "
            f"{summary.get('waiting_for_ack', 0)}"
        )
    if state.reports:
        waiting = sum(r.state in _WAITING for r in state.reports)
        return waiting, f"rum id all: {waiting} reports OPEN or CLOSED (not ACK)"
    return None, ""


def _backlog(state: DeviceState, limits: Thresholds) -> list[Check]:
    count, evidence = _backlog_count(state)
    if count is None:
        return []
    level = (
        Level.CRITICAL
        if count >= limits.backlog_crit
        else Level.WARNING
        if count >= limits.backlog_warn
        else Level.OK
    )
    return [
        Check(
            CheckKind.BACKLOG,
            level,
            f"{count} reports not yet acknowledged",
            evidence,
            BACKLOG_WHY if level is not Level.OK else "",
        )
    ]


def _events(state: DeviceState) -> list[Check]:
    checks = []
    for entry in state.history:
        code = syslog.code_of(entry.category)
        if code is None or entry.category is None:
            continue
        severity = entry.category.split("-")[1]
        level = Level.WARNING if severity.isdigit() and int(severity) <= 3 else Level.OK
        when = entry.time.raw if entry.time else "no time"
        checks.append(
            Check(
                CheckKind.SYSLOG,
                level,
                f"%{entry.category} at {when}: {entry.meaning or 'no meaning known for this code'}",
                entry.message,
            )
        )
    return checks


def _transport(state: DeviceState) -> list[Check]:
    kind = (state.transport_type or "").lower()
    if not any(kind.startswith(t) for t in _ONLINE_TRANSPORTS):
        return []
    target = f" to {state.transport_url}" if state.transport_url else ""
    return [
        Check(
            CheckKind.TRANSPORT,
            Level.WARNING,
            f"transport {state.transport_type}{target} cannot work on an offline site",
            f"Transport: Type: {state.transport_type}",
            f"on the device: {OFFLINE_FIX}",
        )
    ]


def _age(state: DeviceState, today: date) -> int | None:
    clock = state.clock.moment if state.clock else None
    return None if clock is None else (today - clock.when.date()).days


class _Inventory:
    """The inventory looked up by UDI and by name: the first device of the inventory whose
    UDI is the device's, whose name is the device's inventory name or host name, or whose
    host is the device's host name (a syslog server names a device by its address)."""

    def __init__(self, items: Sequence[InventoryDevice]) -> None:
        self.items = items
        self.by_udi: dict[Udi, int] = {}
        self.by_name: dict[str, int] = {}
        for index, item in enumerate(items):
            if item.udi is not None:
                self.by_udi.setdefault(item.udi, index)
            self.by_name.setdefault(item.name, index)
        for index, item in enumerate(items):
            self.by_name.setdefault(item.host, index)  # a name says more than an address

    def name_of(self, device: Device) -> str | None:
        """The inventory name of a captured device, or None."""
        names = (device.identity.inventory, device.state.hostname)
        found = [self.by_udi.get(device.udi) if device.udi is not None else None]
        found += [self.by_name.get(name) for name in names if name is not None]
        first = min((index for index in found if index is not None), default=None)
        return None if first is None else self.items[first].name

    def missing(self, devices: Sequence[Device]) -> list[InventoryDevice]:
        """Inventory devices no captured device is."""
        udis = {d.udi for d in devices if d.udi is not None}
        names = {
            n for d in devices for n in (d.identity.inventory, d.state.hostname) if n is not None
        }
        return [
            item
            for item in self.items
            if not (item.udi is not None and item.udi in udis)
            and item.name not in names
            and item.host not in names
        ]


def _never_captured(item: InventoryDevice, today: date) -> DeviceHealth:
    return DeviceHealth(
        f"inventory:{item.name}",
        "inventory",
        item.udi,
        None,
        item.name,
        (),
        Level.WARNING,
        _today=today,
        _item=item,
    )


def _never_captured_check(item: InventoryDevice) -> Check:
    return Check(
        CheckKind.NEVER_CAPTURED,
        Level.WARNING,
        "in the inventory, but no capture of it",
        f"inventory device {item.name} ({item.host})",
        "capture it: airgap collect, or save 'show license status' with its prompt",
    )
