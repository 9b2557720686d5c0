"""What changed on a device across an ACK import, and whether the import took effect.

The verdict rests on what the device itself shows (DESIGN.md "State"): ``took effect`` when
the last ACK received moved forward, reports moved to ACK, and no report the device had
closed is still without one; ``partly`` when some evidence moved and some did not; ``not
applied`` when nothing that an import changes did change (an after side that shows ``Last ACK
received: <none>``, or the same last ACK as before, is evidence that it did not); ``unknown``
only when the captures do not show the evidence.

The two sides are paired device by device (:func:`pair`); captures of two different devices
are never compared as one (:class:`DeviceMismatchError`), unless the operator says they are
(``--same-device``). A part of the state that one side does not show is "not shown", never a
change such as "every license removed".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath
from typing import Any

from airgap.errors import AirgapError, ExitCode
from airgap.formats.common import ReportKey
from airgap.formats.imports import ImportFile, rum_entries
from airgap.state.deadlines import import_time
from airgap.state.devices import Device, IdentifiedBy
from airgap.state.model import DeviceState, ReportState, Stamp


class Verdict(StrEnum):
    """Whether an ACK import took effect on a device, as its captures show it."""

    TOOK_EFFECT = "took effect"
    PARTLY = "partly"
    NOT_APPLIED = "not applied"
    UNKNOWN = "unknown"  # the captures do not show the evidence


FAILING = (Verdict.NOT_APPLIED, Verdict.PARTLY)  # verdicts that exit 1
_WAITING = (ReportState.OPEN, ReportState.CLOSED)


class DeviceMismatchError(AirgapError):
    """BEFORE and AFTER are captures of different devices: no verdict (exit 1)."""

    exit_code = ExitCode.FINDINGS


@dataclass(frozen=True)
class Change:
    """One field that differs: its name, and the value before and after."""

    field: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class DeviceDiff:
    """The changes on one device, the verdict and the evidence it rests on."""

    device: str
    changes: tuple[Change, ...]
    verdict: Verdict
    evidence: tuple[str, ...]
    not_shown: tuple[str, ...] = ()  # "licenses (after)": a part one side does not show
    identified_by: tuple[str, str] | None = None  # before, after
    paired: str | None = None  # how the two sides were taken for one device, when not by key

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "verdict": str(self.verdict),
            "evidence": list(self.evidence),
            "changes": [c.to_dict() for c in self.changes],
            "not_shown": list(self.not_shown),
            "identified_by": list(self.identified_by) if self.identified_by else None,
            "paired": self.paired,
        }


# The part of the state (DeviceState.shown) each compared field belongs to.
_PART_OF = {
    "policy": "policy",
    "account": "account",
    "transport": "transport",
    "last_ack_received": "usage_reporting",
    "next_ack_deadline": "usage_reporting",
    "trust_codes": "trust_codes",
    "licenses": "licenses",
}


def _part(name: str) -> str:
    return "reports" if name.startswith("report ") else _PART_OF[name]


def _fields(state: DeviceState) -> dict[str, Any]:
    """The values an import can change, flattened to comparable JSON values."""
    data = state.to_dict()
    usage = data["usage_reporting"] or {}
    flat: dict[str, Any] = {
        "policy": data["policy"]
        and {k: v for k, v in data["policy"].items() if not k.endswith("_raw")},
        "account": data["account"],
        "transport": data["transport"],
        "last_ack_received": usage.get("last_ack_received"),
        "next_ack_deadline": usage.get("next_ack_deadline"),
        "trust_codes": sorted(
            f"{t['role']} "
            + (f"PID:{t['udi']['pid']},SN:{t['udi']['sn']}" if t["udi"] else "this device")
            for t in data["trust_codes"]
        ),
        "licenses": {lic["name"]: lic["count"] for lic in data["licenses"]},
    }
    flat.update({f"report {r.id}": r.state for r in state.reports})
    return flat


def changes(before: DeviceState, after: DeviceState) -> list[Change]:
    """Every field that differs among the parts both sides show, reports one by one."""
    old, new = _fields(before), _fields(after)
    both = _shown(before) & _shown(after)
    return [
        Change(name, old.get(name), new.get(name))
        for name in dict.fromkeys([*old, *new])
        if _part(name) in both and old.get(name) != new.get(name)
    ]


def not_shown(before: DeviceState, after: DeviceState) -> list[str]:
    """The parts an import changes that one side shows and the other does not."""
    old, new = _shown(before), _shown(after)
    parts = dict.fromkeys(_PART_OF.values()) | {"reports": None}
    return [
        f"{part} ({'after' if part in old else 'before'})"
        for part in parts
        if (part in old) != (part in new)
    ]


def _shown(state: DeviceState) -> set[str]:
    shown = set(state.shown)
    shown.update(
        part
        for part, there in (
            ("policy", state.policy),
            ("usage_reporting", state.usage_reporting),
            ("reports", state.reports),
            ("licenses", state.licenses),
            ("trust_codes", state.trust_codes),
        )
        if there
    )
    return shown


def _ack_moved(old: Stamp | None, new: Stamp | None) -> tuple[bool | None, str | None]:
    """Did "Last ACK received" move forward, and the evidence in words (None: not shown)."""
    if new is None:
        return None, None
    if new.shown_none:
        return False, f"last ACK received still {new.raw} after the import"
    if old is None:
        return None, f"last ACK received is {new.raw} after; the before side does not show it"
    if new.raw == old.raw:
        return False, f"last ACK received still {new.raw}"
    if old.shown_none:
        return True, f"last ACK received moved from {old.raw} to {new.raw}"
    if new.iso is None or old.iso is None:
        return None, f"last ACK received {old.raw} -> {new.raw}: not times airgap can compare"
    moved = new.iso > old.iso
    return moved, f"last ACK received {'moved to' if moved else 'still'} {new.raw}"


def verdict(before: DeviceState, after: DeviceState) -> tuple[Verdict, tuple[str, ...]]:
    """The verdict for an import between two states of one device, and why."""
    evidence: list[str] = []
    old = before.usage_reporting.last_ack_received if before.usage_reporting else None
    new = after.usage_reporting.last_ack_received if after.usage_reporting else None
    ack_moved, said = _ack_moved(old, new)
    if said:
        evidence.append(said)
    after_states = {r.id: r.state for r in after.reports}
    sent = [r for r in before.reports if r.state in _WAITING and r.id in after_states]
    acked = [r.id for r in sent if after_states[r.id] == ReportState.ACK]
    waiting = [r.id for r in sent if r.state == ReportState.CLOSED]  # OPEN: still collecting
    still = [rid for rid in waiting if after_states[rid] != ReportState.ACK]
    if sent:
        evidence.append(f"{len(acked)} of {len(sent)} open or closed reports now ACK")
    if still:
        evidence.append(
            "closed reports still without ACK: "
            + ", ".join(map(str, still[:10]))
            + (" ..." if len(still) > 10 else "")
        )
    if ack_moved is None and not sent:
        return Verdict.UNKNOWN, (
            *evidence,
            "the captures do not show the last ACK received on both sides, nor report states",
        )
    moved = [flag for flag in (ack_moved, bool(acked) if sent else None) if flag is not None]
    if all(moved) and not still:
        return Verdict.TOOK_EFFECT, tuple(evidence)
    if not any(moved):
        return Verdict.NOT_APPLIED, tuple(evidence)
    return Verdict.PARTLY, tuple(evidence)


# The devices :func:`pair` paired, with how, and those on one side only.
Paired = tuple[list[tuple[Device, Device, str | None]], list[Device], list[Device]]


def pair(before: list[Device], after: list[Device], same_device: bool = False) -> Paired:
    """Devices of the two sides taken for one device: by key (UDI, inventory name), then by
    host name, then the only device left on each side when nothing about them conflicts.
    Returns the pairs (with how each was paired when not by key) and the devices left over.
    Raises DeviceMismatchError when the only devices of the two sides are different devices,
    unless ``same_device``."""
    new = {d.key: d for d in after}
    pairs: list[tuple[Device, Device, str | None]] = []
    left: list[Device] = []
    for device in before:
        if device.key in new:
            pairs.append((device, new.pop(device.key), None))
        else:
            left.append(device)
    for device in list(left):
        host = device.identity.hostname
        same = [
            d
            for d in new.values()
            if host and d.identity.hostname == host and not d.identity.conflicts(device.identity)
        ]
        if len(same) == 1:
            pairs.append((device, new.pop(same[0].key), f"same host name {host}"))
            left.remove(device)
    many = len(left) + len(new) > 2  # a lone pair is the case below
    for device in list(left):  # before/sw-a.txt and after/sw-a.txt, neither naming a device
        name = PurePath(device.identity.path).name
        same = [
            d
            for d in new.values()
            if device.identified_by is IdentifiedBy.FILE
            and d.identified_by is IdentifiedBy.FILE
            and PurePath(d.identity.path).name == name
        ]
        if len(same) == 1 and many:
            pairs.append(
                (device, new.pop(same[0].key), f"same file name {name}, neither names its device")
            )
            left.remove(device)
    if len(left) == 1 and len(new) == 1:
        only_old, only_new = left[0], next(iter(new.values()))
        if only_old.identity.conflicts(only_new.identity) and not same_device:
            raise DeviceMismatchError(
                "BEFORE and AFTER are different devices",
                None,
                f"{only_old.identity.describe()} against {only_new.identity.describe()}",
                "compare captures of one device; pass --same-device if you know they are one",
            )
        how = (
            "forced by --same-device"
            if only_old.identity.conflicts(only_new.identity)
            else "the only device on each side; the captures do not prove they are one"
        )
        pairs.append((only_old, only_new, how))
        left, new = [], {}
    return pairs, left, list(new.values())


def each_diff(pairs: Paired) -> Iterator[DeviceDiff]:
    """Per device paired by :func:`pair`, the changes and the verdict, one device at a time
    (a site's diffs need not all be held); a device on one side only is unknown."""
    both, only_before, only_after = pairs
    for old, new, how in both:
        state_verdict, evidence = verdict(old.state, new.state)
        if how:
            evidence = (*evidence, f"paired: {how}")
        yield DeviceDiff(
            old.key,
            tuple(changes(old.state, new.state)),
            state_verdict,
            evidence,
            tuple(not_shown(old.state, new.state)),
            (str(old.identified_by), str(new.identified_by)),
            how,
        )
    for side, devices in (("before", only_before), ("after", only_after)):
        for d in devices:
            yield DeviceDiff(d.key, (), Verdict.UNKNOWN, (f"only in the {side} captures",))


def overall(diffs: Iterable[DeviceDiff]) -> Verdict:
    """One verdict for several devices: the worst of theirs."""
    order = (Verdict.NOT_APPLIED, Verdict.PARTLY, Verdict.UNKNOWN, Verdict.TOOK_EFFECT)
    found = {d.verdict for d in diffs}
    return next((v for v in order if v in found), Verdict.UNKNOWN)


def diff_reports(before: Iterable[ReportKey], after: Iterable[ReportKey]) -> list[Change]:
    """Reports added or removed between two sets of usage files, by (UDI, report id)."""
    old, new = set(before), set(after)
    return [Change(f"report {udi} {rid}", None, "added") for udi, rid in sorted(new - old)] + [
        Change(f"report {udi} {rid}", "removed", None) for udi, rid in sorted(old - new)
    ]


def _ack_fields(ack: ImportFile) -> dict[str, Any]:
    policy = ack.policies[-1] if ack.policies else None
    issued = import_time(ack)
    return {
        "devices": sorted(str(u) for u in ack.devices),
        "acked_reports": sorted(f"{e.udi} {e.report_id}" for e in rum_entries(ack)),
        "policy": policy
        and {"name": policy.name, "version": policy.version, "terms": policy.terms},
        "accounts": sorted(f"{a.smart_account} / {a.virtual_account}" for a in ack.account_infos),
        "issued": issued.iso() if issued else None,
        "correlation_ids": ack.correlation_ids,
        "parts": ack.parts,
    }


def diff_acks(before: ImportFile, after: ImportFile) -> list[Change]:
    """What differs between two ACKs."""
    old, new = _ack_fields(before), _ack_fields(after)
    return [Change(name, old[name], new[name]) for name in old if old[name] != new[name]]
