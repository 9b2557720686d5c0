"""What changed on a device across an ACK import, and whether the import took effect.

The verdict rests on what the device itself shows (DESIGN.md "State"): ``took effect`` when
the last ACK received moved forward, reports moved to ACK, and no report the device had
closed is still without one; ``partly`` when some evidence moved and some did not; ``not
applied`` when nothing that an import changes did change; ``unknown`` when the captures lack
the evidence (neither the ACK times nor the report states are in them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from airgap.formats.imports import ImportFile, rum_entries
from airgap.state.deadlines import import_time
from airgap.state.devices import Device
from airgap.state.evidence import ReportKey
from airgap.state.model import DeviceState

TOOK_EFFECT, PARTLY, NOT_APPLIED, UNKNOWN = "took effect", "partly", "not applied", "unknown"
FAILING = (NOT_APPLIED, PARTLY)  # verdicts that exit 1
_WAITING = ("OPEN", "CLOSED")


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
    verdict: str
    evidence: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "verdict": self.verdict, "evidence": list(self.evidence),
                "changes": [c.to_dict() for c in self.changes]}


def _fields(state: DeviceState) -> dict[str, Any]:
    """The values an import can change, flattened to comparable JSON values."""
    data = state.to_dict()
    usage = data["usage_reporting"] or {}
    flat: dict[str, Any] = {
        "policy": data["policy"] and {k: v for k, v in data["policy"].items()
                                      if not k.endswith("_raw")},
        "account": data["account"],
        "transport": data["transport"],
        "last_ack_received": usage.get("last_ack_received"),
        "next_ack_deadline": usage.get("next_ack_deadline"),
        "trust_codes": sorted(f"{t['role']} PID:{t['udi']['pid']},SN:{t['udi']['sn']}"
                              for t in data["trust_codes"]),
        "licenses": {lic["name"]: lic["count"] for lic in data["licenses"]},
    }
    flat.update({f"report {r.id}": r.state for r in state.reports})
    return flat


def changes(before: DeviceState, after: DeviceState) -> list[Change]:
    """Every field that differs, reports one by one."""
    old, new = _fields(before), _fields(after)
    return [Change(name, old.get(name), new.get(name))
            for name in dict.fromkeys([*old, *new]) if old.get(name) != new.get(name)]


def verdict(before: DeviceState, after: DeviceState) -> tuple[str, tuple[str, ...]]:
    """The verdict for an import between two states of one device, and why."""
    evidence: list[str] = []
    ack_moved: bool | None = None
    old = before.usage_reporting.last_ack_received if before.usage_reporting else None
    new = after.usage_reporting.last_ack_received if after.usage_reporting else None
    if new is not None and new.iso is not None:
        ack_moved = old is None or old.iso is None or new.iso > old.iso
        evidence.append(f"last ACK received {'moved to' if ack_moved else 'still'} {new.raw}")
    after_states = {r.id: r.state for r in after.reports}
    sent = [r for r in before.reports if r.state in _WAITING and r.id in after_states]
    acked = [r.id for r in sent if after_states[r.id] == "ACK"]
    waiting = [r.id for r in sent if r.state == "CLOSED"]  # OPEN ones may still be collecting
    still = [rid for rid in waiting if after_states[rid] != "ACK"]
    if sent:
        evidence.append(f"{len(acked)} of {len(sent)} open or closed reports now ACK")
    if still:
        evidence.append("closed reports still without ACK: " + ", ".join(map(str, still[:10]))
                        + (" ..." if len(still) > 10 else ""))
    if ack_moved is None and not sent:
        return UNKNOWN, (*evidence, "the captures show neither the last ACK received nor "
                                    "report states on both sides")
    moved = [flag for flag in (ack_moved, bool(acked) if sent else None) if flag is not None]
    if all(moved) and not still:
        return TOOK_EFFECT, tuple(evidence)
    if not any(moved):
        return NOT_APPLIED, tuple(evidence)
    return PARTLY, tuple(evidence)


def diff_devices(before: Iterable[Device], after: Iterable[Device]) -> list[DeviceDiff]:
    """Per device (paired by UDI, else folder; a lone device on each side is paired with the
    other), the changes and the verdict. A device on one side only is reported as unknown."""
    old = {d.key: d for d in before}
    new = {d.key: d for d in after}
    if len(old) == len(new) == 1 and set(old) != set(new):
        new = {next(iter(old)): next(iter(new.values()))}
    result = []
    for key in dict.fromkeys([*old, *new]):
        if key not in old or key not in new:
            side = "before" if key in old else "after"
            result.append(DeviceDiff(key, (), UNKNOWN, (f"only in the {side} captures",)))
            continue
        state_verdict, evidence = verdict(old[key].state, new[key].state)
        result.append(DeviceDiff(key, tuple(changes(old[key].state, new[key].state)),
                                 state_verdict, evidence))
    return result


def overall(diffs: Iterable[DeviceDiff]) -> str:
    """One verdict for several devices: the worst of theirs."""
    order = (NOT_APPLIED, PARTLY, UNKNOWN, TOOK_EFFECT)
    found = {d.verdict for d in diffs}
    return next((v for v in order if v in found), UNKNOWN)


def diff_reports(before: Iterable[ReportKey], after: Iterable[ReportKey]) -> list[Change]:
    """Reports added or removed between two sets of usage files, by (UDI, report id)."""
    old, new = set(before), set(after)
    return ([Change(f"report {udi} {rid}", None, "added") for udi, rid in sorted(new - old)]
            + [Change(f"report {udi} {rid}", "removed", None) for udi, rid in sorted(old - new)])


def _ack_fields(ack: ImportFile) -> dict[str, Any]:
    policy = ack.policies[-1] if ack.policies else None
    issued = import_time(ack)
    return {
        "devices": sorted(str(u) for u in ack.devices),
        "acked_reports": sorted(f"{e.udi} {e.report_id}" for e in rum_entries(ack)),
        "policy": policy and {"name": policy.name, "version": policy.version,
                              "terms": policy.terms},
        "accounts": sorted(f"{a.smart_account} / {a.virtual_account}"
                           for a in ack.account_infos),
        "issued": issued.iso() if issued else None,
        "correlation_ids": ack.correlation_ids,
        "parts": ack.parts,
    }


def diff_acks(before: ImportFile, after: ImportFile) -> list[Change]:
    """What differs between two ACKs."""
    old, new = _ack_fields(before), _ack_fields(after)
    return [Change(name, old[name], new[name]) for name in old if old[name] != new[name]]
