"""Which device each capture is, captures grouped into devices, and what each device says
(DESIGN.md "Which device a capture is").

A capture's identity is decided in this order, and shown as ``identified_by``:

1. ``udi``: a UDI the capture prints (tech support, ``show license all/udi/summary``, ``rum id
   detail``), or a ``show license udi`` in the same file;
2. ``inventory``: the header airgap writes on every capture it collects (the inventory device,
   its host, host-key fingerprint and UDI);
3. ``hostname``: the prompt's host name (``sw-a#show license status``), together with the
   folder the capture is in;
4. ``file``: nothing names the device, so the file is a device of its own, unidentified.

Captures are one device only when their identities agree and nothing conflicts: two UDIs, two
inventory names or two host names are two devices, and a capture that names nothing is never
merged into another (``show license status`` prints no UDI: grouping such captures by folder
turned many devices into one, and the newest capture spoke for all). A host-name capture joins
a UDI device when a capture of that device in the same folder shows the same host name, and
only one device there does.

Within a device the newest capture says first what each field is: newest by the clock the
capture itself prints (``Current time:``, ``show clock``, airgap's header, its newest event),
then by file time, then by the last ACK received it shows; ``decided_by`` says which.
Reports, licenses and trust codes are joined.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any

from airgap.formats.common import Udi
from airgap.state import model
from airgap.state.model import DeviceState, Report, ReportState


class IdentifiedBy(StrEnum):
    """How a capture's device is known, strongest first."""

    UDI = "udi"
    INVENTORY = "inventory"
    HOSTNAME = "hostname"
    FILE = "file"


_STRENGTH = {by: rank for rank, by in enumerate(IdentifiedBy)}


@dataclass(frozen=True, slots=True)
class Identity:
    """What a capture says about which device it is."""

    by: IdentifiedBy
    udi: Udi | None
    inventory: str | None  # the inventory device named in airgap's capture header
    hostname: str | None
    folder: str
    path: str

    @property
    def key(self) -> str:
        """The device key: the UDI when known, else the strongest name with its scope."""
        if self.udi is not None:
            return str(self.udi)
        if self.by is IdentifiedBy.INVENTORY:
            return f"inventory:{self.inventory}"
        if self.by is IdentifiedBy.HOSTNAME:
            return f"host:{self.hostname}" + (f" in {self.folder}" if self.folder != "." else "")
        return f"file:{self.path}"

    def describe(self) -> str:
        """The identity in words, for messages naming a device."""
        if self.by is IdentifiedBy.FILE:
            return f"the unidentified device of {self.path}"
        names = [
            str(self.udi) if self.udi else None,
            f"inventory device {self.inventory}" if self.inventory else None,
            f"host {self.hostname}" if self.hostname else None,
        ]
        return " / ".join(n for n in names if n) + f" (identified by {self.by})"

    def conflicts(self, other: Identity) -> bool:
        """True when the two name different devices: two UDIs, inventory names or hosts."""
        return any(
            a is not None and b is not None and a != b
            for a, b in (
                (self.udi, other.udi),
                (self.inventory, other.inventory),
                (self.hostname, other.hostname),
            )
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``identified_by`` and what named the device."""
        return {
            "identified_by": str(self.by),
            "udi": self.udi.to_dict() if self.udi else None,
            "inventory": self.inventory,
            "hostname": self.hostname,
        }


def identify(state: DeviceState) -> Identity:
    """The identity of one capture state."""
    path = state.path or ""
    folder = _folder(state.source[0] if state.source else path)
    inventory = state.collected.get("device") or None
    if state.udi is not None and state.udi_source in ("capture", "file"):
        by = IdentifiedBy.UDI
    elif inventory is not None or state.udi is not None:
        by = IdentifiedBy.INVENTORY
    elif state.hostname:
        by = IdentifiedBy.HOSTNAME
    else:
        by = IdentifiedBy.FILE
    return Identity(by, state.udi, inventory, state.hostname, folder, path)


def _folder(path: str) -> str:
    """The folder of the file on disk at ``path`` (a capture, or the archive holding it: the
    first of the state's parts). One string per folder, not one per capture: a site's
    devices share a few folders, so it is looked up by the text before the file's name."""
    name = path.rsplit("/", 1)[-1]
    if name in ("", ".", "..") or "\\" in name or ":" in name:  # not plainly a file name
        return _parent(path)
    return _parent(path[: len(path) - len(name)] + "x")  # the same parent as ``path``'s


@functools.lru_cache(maxsize=256)
def _parent(path: str) -> str:
    return sys.intern(str(PurePath(path).parent))


@dataclass(frozen=True, slots=True)
class Device:
    """One device and the merged state of every capture that belongs to it."""

    key: str  # "PID:...,SN:...", "inventory:<name>", "host:<name> in <folder>", "file:<path>"
    state: DeviceState
    paths: tuple[str, ...]
    identity: Identity
    newest: str | None = None  # the capture that speaks first
    decided_by: str | None = None  # what made it the newest

    @property
    def udi(self) -> Udi | None:
        return self.state.udi

    @property
    def identified_by(self) -> IdentifiedBy:
        return self.identity.by

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.key,
            **self.identity.to_dict(),
            "paths": list(self.paths),
            "newest": self.newest,
            "newest_decided_by": self.decided_by,
            "state": self.state.to_dict(),
        }


def merge(states: Iterable[DeviceState]) -> DeviceState:
    """One state from several captures of the same device, the first speaking first: reports
    by id, sets and tuples joined in order (repeats dropped), dicts with the first state's keys
    winning, else the first value set. Where only one state has a value, its own object is
    kept: a fleet's devices share it."""
    states = list(states)
    if not states:
        raise ValueError("nothing to merge")
    if len(states) == 1:
        return _merge_one(states[0])
    return _joined(states, None, ())


def _joined(states: list[DeviceState], path: str | None, source: tuple[str, ...]) -> DeviceState:
    """``merge`` of several states, read at ``path`` and ``source``."""
    columns = zip(*map(model.values_of, states), strict=True)
    merged = [join(values) for join, values in zip(_JOINS, columns, strict=True)]
    merged[_KIND], merged[_PATH], merged[_SOURCE] = "device", path, source
    return DeviceState(*merged)


def _first_set(values: tuple[Any, ...]) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _joined_tuples(values: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    first = values[0]
    held = [value for value in values if value]
    if not held:
        return first
    if len(held) == 1 and len(held[0]) < 2:
        return held[0]
    joined = tuple(dict.fromkeys(v for value in values for v in value))
    return first if joined == first else joined


def _joined_dicts(values: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    held = [value for value in values if value]
    if not held:
        return values[0]
    if len(held) == 1:
        return held[0]
    return {k: v for value in reversed(values) for k, v in value.items()}


def _joined_sets(values: tuple[frozenset[str], ...]) -> frozenset[str]:
    return frozenset().union(*values)


def _joined_reports(values: tuple[tuple[Report, ...], ...]) -> tuple[Report, ...]:
    first, joined = values[0], _reports(list(values))
    return first if joined == first else joined


def _join_of(item: dataclasses.Field[Any]) -> Callable[[tuple[Any, ...]], Any]:
    """How ``merge`` joins one field's values, by the field's kind (its default's type)."""
    if item.name == "reports":
        return _joined_reports
    if item.default_factory is dict:
        return _joined_dicts
    if isinstance(item.default, tuple):
        return _joined_tuples
    if isinstance(item.default, frozenset):
        return _joined_sets
    return _first_set


_FIELDS = model.STATE_FIELDS
_JOINS = tuple(map(_join_of, dataclasses.fields(DeviceState)))  # in the order of _FIELDS
# the lists of a state (reports, licenses, ...): what merging one state may change
_TUPLES = tuple(item.name for item in dataclasses.fields(DeviceState) if item.default == ())
_KIND, _PATH, _SOURCE = map(_FIELDS.index, ("kind", "path", "source"))


def _merge_one(state: DeviceState) -> DeviceState:
    """What ``merge`` makes of one state, without building every field anew (most devices of
    a site are one capture file): its repeats dropped, its reports in order by id."""
    changes: dict[str, Any] = {"kind": "device", "path": None}
    for name in _TUPLES:
        value = getattr(state, name)
        if len(value) < 2:
            continue
        joined = _reports([value]) if name == "reports" else tuple(dict.fromkeys(value))
        if joined != value:
            changes[name] = joined
    return model.changed(state, **changes)


def _reports(values: list[tuple[Report, ...]]) -> tuple[Report, ...]:
    """Reports by id; a detail line fills what the ``rum id all`` line left out."""
    by_id: dict[int, Report] = {}
    for reports in values:
        for report in reports:
            old = by_id.get(report.id)
            by_id[report.id] = (
                report
                if old is None
                else Report(
                    report.id,
                    old.state or report.state,
                    old.flag or report.flag,
                    old.feature or report.feature,
                )
            )
    return tuple(sorted(by_id.values(), key=lambda r: r.id))


def compact(states: list[DeviceState]) -> list[DeviceState]:
    """The states of one file as one merged state when that changes nothing that ``group``
    and the verdicts read: every state has the same identity, and the merged state keeps the
    file's newest clock, its clock sources, its latest last ACK and every report shown as
    ACK. Otherwise the states as they are. A device captured with four commands in one file
    then travels and stays in memory as one state, not four."""
    if len(states) < 2:
        return states
    # states alike in what identify reads are one identity, and so is their merged state
    identity = None if len(set(map(_named_by, states))) == 1 else identify(states[0])
    if identity is not None and any(identify(s) != identity for s in states[1:]):
        return states
    one = _joined(states, states[0].path, states[0].source)
    acked = {r.id for r in one.reports if r.state == ReportState.ACK}
    keeps = (
        (identity is None or identify(one) == identity)
        and _clock(states) == _clock([one])
        and _sources(states) == _sources([one])
        and max(map(_ack_time, states)) == _ack_time(one)
        and all(r.id in acked for s in states for r in s.reports if r.state == ReportState.ACK)
    )
    return [one] if keeps else states


def _named_by(state: DeviceState) -> tuple[object, ...]:
    """What ``identify`` reads of a state: states alike in it are one identity (the states
    of one file mostly are, and this is a fifth of the time ``identify`` takes)."""
    return (
        state.udi,
        state.udi_source,
        state.collected.get("device"),
        state.hostname,
        state.source[:1],
        state.path,
    )


def _clock(states: list[DeviceState]) -> str | None:
    """The newest clock the states show, as ``_newest_first`` orders files by."""
    return max((s.clock.iso for s in states if s.clock and s.clock.iso), default=None)


def _sources(states: list[DeviceState]) -> set[str]:
    return {s.clock_source for s in states if s.clock_source}


def _file_time(path: str) -> float | None:
    try:
        return Path(path).stat().st_mtime  # an archive member has no time of its own: None
    except (OSError, ValueError):
        return None


def _newest_first(states: list[DeviceState]) -> tuple[list[DeviceState], str | None]:
    """States of one device, the newest capture file first, and what decided it."""
    if len(states) == 1:  # most devices of a site: one capture file, one state
        return states, None
    per_file: dict[str, list[DeviceState]] = {}
    for state in states:
        per_file.setdefault(state.path or "", []).append(state)
    if len(per_file) == 1:
        return states, None
    clocks = {p: _clock(found) for p, found in per_file.items()}
    times = {p: _file_time(p) for p in per_file}
    acks = {p: max((_ack_time(s) for s in found), default="") for p, found in per_file.items()}
    if all(clocks.values()):
        order, decided = sorted(per_file, key=lambda p: clocks[p] or "", reverse=True), "clock"
        decided = f"the capture's own clock ({', '.join(sorted(_sources(states)))})"
    elif all(t is not None for t in times.values()):
        order = sorted(per_file, key=lambda p: times[p] or 0.0, reverse=True)
        decided = "file time (not every capture shows the device's clock)"
    else:
        order = sorted(per_file, key=lambda p: acks[p], reverse=True)
        decided = "the latest last ACK received (no clock or file time for every capture)"
    return [s for p in order for s in per_file[p]], decided


def _ack_time(state: DeviceState) -> str:
    usage = state.usage_reporting
    stamp = usage.last_ack_received if usage else None
    return stamp.iso or "" if stamp else ""


def group(states: Iterable[DeviceState]) -> list[Device]:
    """Devices in the order first met, grouped as the module docstring says."""
    by_key: dict[str, list[tuple[DeviceState, Identity]]] = {}
    identity: dict[str, Identity] = {}
    for state in states:
        this = identify(state)
        key = this.key
        by_key.setdefault(key, []).append((state, this))
        best = identity.get(key)
        if best is None or _STRENGTH[this.by] < _STRENGTH[best.by]:
            identity[key] = this
    _join_names(by_key, identity)
    devices = []
    for key, pairs in by_key.items():
        found = [state for state, _ in pairs]
        ordered, decided = _newest_first(found)
        paths = tuple(dict.fromkeys(s.path or "" for s in found))
        devices.append(Device(key, merge(ordered), paths, identity[key], ordered[0].path, decided))
    return devices


def _join_names(
    by_key: dict[str, list[tuple[DeviceState, Identity]]], identity: dict[str, Identity]
) -> None:
    """A host-name or inventory-name device joins the one UDI device that shows the same name
    (in the same folder, for a host name), when exactly one does.

    The names each UDI device shows are indexed once (and grow as devices join it), so a
    site of 100,000 devices is not 100,000 squared comparisons."""
    udi_keys = [k for k, i in identity.items() if i.udi is not None]
    shown: dict[tuple[str, ...], dict[str, None]] = {}  # a name -> the UDI devices showing it
    for key in udi_keys:
        _index_names(shown, key, by_key[key])
    for key in [
        k
        for k, i in identity.items()
        if i.udi is None and i.by in (IdentifiedBy.HOSTNAME, IdentifiedBy.INVENTORY)
    ]:
        matches = list(shown.get(_name(identity[key]), ()))
        if len(matches) == 1:
            joining = by_key.pop(key)
            by_key[matches[0]] += joining
            _index_names(shown, matches[0], joining)
            del identity[key]


def _name(wanted: Identity) -> tuple[str, ...]:
    """The name a host-name or inventory-name device is looked up by."""
    if wanted.by is IdentifiedBy.INVENTORY:
        return ("inventory", wanted.inventory or "")
    return ("host", wanted.hostname or "", wanted.folder)


def _index_names(
    shown: dict[tuple[str, ...], dict[str, None]],
    key: str,
    states: list[tuple[DeviceState, Identity]],
) -> None:
    """Record the inventory names and (host name, folder) pairs ``states`` show as ``key``'s."""
    for _, other in states:
        if other.inventory is not None:
            shown.setdefault(("inventory", other.inventory), {})[key] = None
        if other.hostname is not None:
            shown.setdefault(("host", other.hostname, other.folder), {})[key] = None
