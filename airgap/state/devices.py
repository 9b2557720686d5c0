"""Group captures into devices and merge what each says (DESIGN.md "State").

A device's state is spread over several commands: ``status`` has the policy and the ACK
times, ``rum id all`` the reports, ``udi`` the identity. Captures are grouped by the UDI they
carry, else by the folder they are in. Within a device the newest session wins: the capture
file whose states show the latest last ACK received (then the latest report push) says first
what each field is, since captures from before and after an import often meet; reports,
licenses and trust codes are joined.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from airgap.formats.common import Udi
from airgap.state.model import DeviceState, Report


@dataclass(frozen=True)
class Device:
    """One device and the merged state of every capture that belongs to it."""

    key: str  # "PID:...,SN:..." or "folder:<path>" when no capture names the device
    state: DeviceState
    paths: tuple[str, ...]

    @property
    def udi(self) -> Udi | None:
        return self.state.udi

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.key, "paths": list(self.paths), "state": self.state.to_dict()}


def merge(states: Iterable[DeviceState]) -> DeviceState:
    """One state from several captures of the same device."""
    states = list(states)
    if not states:
        raise ValueError("nothing to merge")
    merged: dict[str, Any] = {}
    for item in dataclasses.fields(DeviceState):
        values = [getattr(s, item.name) for s in states]
        if item.name == "reports":
            merged[item.name] = _reports(values)
        elif isinstance(values[0], tuple):
            merged[item.name] = tuple(dict.fromkeys(v for value in values for v in value))
        elif isinstance(values[0], dict):
            merged[item.name] = {k: v for value in reversed(values) for k, v in value.items()}
        else:
            merged[item.name] = next((v for v in values if v is not None), None)
    merged["kind"] = "device"
    merged["path"] = None
    return DeviceState(**merged)


def _reports(values: list[tuple[Report, ...]]) -> tuple[Report, ...]:
    """Reports by id; a detail line fills what the ``rum id all`` line left out."""
    by_id: dict[int, Report] = {}
    for reports in values:
        for report in reports:
            old = by_id.get(report.id)
            by_id[report.id] = report if old is None else Report(
                report.id, old.state or report.state, old.flag or report.flag,
                old.feature or report.feature)
    return tuple(sorted(by_id.values(), key=lambda r: r.id))


def _newness(state: DeviceState) -> tuple[str, str]:
    """ISO times compare as text; a file's session is as new as its newest state."""
    usage = state.usage_reporting
    if usage is None:
        return "", ""
    return ((usage.last_ack_received.iso or "") if usage.last_ack_received else "",
            (usage.last_report_push.iso or "") if usage.last_report_push else "")


def _newest_first(states: list[DeviceState]) -> list[DeviceState]:
    session: dict[str | None, tuple[str, str]] = {}
    for state in states:
        session[state.path] = max(session.get(state.path, ("", "")), _newness(state))
    return sorted(states, key=lambda s: session[s.path], reverse=True)  # stable for equals


def group(states: Iterable[DeviceState]) -> list[Device]:
    """Devices in the order first met: by UDI when a capture has one, else by folder. A capture
    without a UDI joins the device of its folder when that folder holds exactly one device."""
    by_key: dict[str, list[DeviceState]] = {}
    folder_of: dict[str, set[str]] = {}
    pending: list[DeviceState] = []
    for state in states:
        folder = str(PurePath(state.path or "").parent)
        if state.udi is None:
            pending.append(state)
            continue
        key = str(state.udi)
        by_key.setdefault(key, []).append(state)
        folder_of.setdefault(folder, set()).add(key)
    for state in pending:
        folder = str(PurePath(state.path or "").parent)
        keys = folder_of.get(folder, set())
        key = next(iter(keys)) if len(keys) == 1 else f"folder:{folder}"
        by_key.setdefault(key, []).append(state)
    return [Device(key, merge(_newest_first(found)),
                   tuple(dict.fromkeys(s.path or "" for s in found)))
            for key, found in by_key.items()]
