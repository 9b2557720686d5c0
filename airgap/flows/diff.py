"""``diff`` as a workflow: read both sides, choose what to compare (captures, usage files,
ACKs, or an ACK against devices), the verdict and the exit code, and record it when asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airgap.errors import ConfigError, ExitCode, InputError, worst
from airgap.findings import Finding
from airgap.flows import ledger as steps
from airgap.ledger.store import Result, Step

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from airgap.state.diff import DeviceDiff, Paired, Verdict
    from airgap.state.evidence import Evidence


class DiffMode(StrEnum):
    """What ``diff`` compared (the ``mode`` of its JSON)."""

    STATES = "states"  # captures: per device, what changed and the verdict
    USAGE = "usage"  # usage files: the reports added and removed
    ACKS = "acks"  # two ACKs: what differs
    ACK_AGAINST_DEVICES = "ack-against-devices"  # does the ACK belong, is it stale


@dataclass(frozen=True)
class DiffOptions:
    """What ``diff`` was asked for."""

    before: str
    after: str
    exit_code: bool = False  # exit 1 when anything differs, not only on a failing verdict
    same_device: bool = False
    tz: tuple[str, ...] = ()
    record: bool = False
    ledger: Path | None = None


@dataclass
class Diffed:
    """What was compared (``mode``, and for captures the ``verdict``), the results, the
    inputs that could not be read, and the exit code."""

    extra: dict[str, Any] = field(default_factory=dict)
    # For captures, each device's result is made as it is read (``Rediffed``): a site's
    # results are never all held.
    results: Iterable[dict[str, Any]] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.OK


def diff_inputs(
    options: DiffOptions,
    announce: Callable[[dict[str, Any]], None] = steps.quiet,
    counting: Callable[[Iterable[Any]], Iterable[Any]] = iter,
) -> Diffed:
    """Compare the two sides (``counting`` sees each file read). Nothing comparable is exit 3
    (the inputs that could not be read, when there are some, are the reason)."""
    from airgap.state import diff as diffs
    from airgap.state.devices import group
    from airgap.state.evidence import load
    from airgap.state.times import parse_tz_options

    offsets = parse_tz_options(list(options.tz))
    old = load([options.before], offsets, for_diff=True, counting=counting)
    new = load([options.after], offsets, for_diff=True, counting=counting)
    problems = [*old.problems, *new.problems]
    codes: list[int] = [old.exit_code, new.exit_code]
    extra: dict[str, Any]
    results: Iterable[dict[str, Any]]
    if old.states and new.states:
        results = Rediffed(diffs.pair(group(old.states), group(new.states), options.same_device))
        verdict, differs = _states_diffed(results.pairs)
        extra = {"mode": DiffMode.STATES, "verdict": verdict}
        codes.append(ExitCode.FINDINGS if verdict in diffs.FAILING else ExitCode.OK)
    elif old.usage and new.usage:
        changes = diffs.diff_reports(old.exported, new.exported)
        extra, differs = {"mode": DiffMode.USAGE}, bool(changes)
        results = [c.to_dict() for c in changes]
    elif _only_acks(old) and _only_acks(new):
        changes = diffs.diff_acks(old.acks[0][1], new.acks[0][1])
        extra, differs = {"mode": DiffMode.ACKS}, bool(changes)
        results = [c.to_dict() for c in changes]
    elif _only_acks(old) != _only_acks(new) and _has_devices(new if _only_acks(old) else old):
        acks, device_side = (old, new) if _only_acks(old) else (new, old)
        extra = {"mode": DiffMode.ACK_AGAINST_DEVICES}
        results = _acks_against(acks, device_side)
        differs = any(r["belongs"] is False or r["stale"] for r in results)
        codes.append(ExitCode.FINDINGS if differs else ExitCode.OK)
    elif problems:  # what could not be read is the error, not the rest
        return Diffed(problems=problems, exit_code=worst(*codes))
    else:
        raise InputError(
            "nothing to compare",
            f"{options.before} and {options.after}",
            f"{_holds(old)} against {_holds(new)}",
            "give captures on both sides, usage files on both sides, two ACKs, "
            "or an ACK and the device's captures or usage files",
        )
    if options.exit_code and differs:
        codes.append(ExitCode.FINDINGS)
    done = Diffed(extra, results, problems, worst(*codes))
    if options.record:
        _record(old, new, done, options.ledger, announce)
    return done


class Rediffed:
    """Each device's diff as JSON, made again each time the results are read (once, to
    print them): only the paired devices are held, not their diffs."""

    def __init__(self, pairs: Paired) -> None:
        self.pairs = pairs

    def __iter__(self) -> Iterator[dict[str, Any]]:
        from airgap.state import diff as diffs

        return (device.to_dict() for device in diffs.each_diff(self.pairs))


def _states_diffed(pairs: Paired) -> tuple[Verdict, bool]:
    """The overall verdict, and whether anything differs, from each device's diff (each let
    go once read)."""
    from airgap.state import diff as diffs

    first: dict[str, DeviceDiff] = {}  # one device of each verdict decides the overall one
    differs = False
    for device in diffs.each_diff(pairs):
        first.setdefault(device.verdict, device)
        differs = differs or bool(device.changes)
    return diffs.overall(first.values()), differs


def _acks_against(acks: Evidence, devices: Evidence) -> list[dict[str, Any]]:
    """Per ACK: does it belong to the devices of the other side, and is it stale? The same
    matching and evidence as ``airgap reconcile``."""
    from airgap.findings import Basis
    from airgap.state.evidence import Evidence
    from airgap.state.reconcile import Kind, named, reconcile

    findings = reconcile(
        Evidence(
            states=devices.states,
            usage=devices.usage,
            acks=acks.acks,
            names={**devices.names, **acks.names},
        )
    ).findings
    results = []
    for path, ack in acks.acks:
        names = named(ack)
        mine = [f for f in findings if f.path == path and f.code in (Kind.FOREIGN, Kind.STALE)]
        foreign = {f.where.device for f in mine if f.code == Kind.FOREIGN}
        # SEEN evidence decides: a SLAC <udi> naming a device not given makes the ACK foreign
        seen = [u for u, how in names if how.basis is Basis.SEEN] or [u for u, _ in names]
        results.append(
            {
                "ack": path,
                "belongs": all(str(u) not in foreign for u in seen) if seen else None,
                "stale": any(f.code == Kind.STALE for f in mine),
                "evidence": [str(how) for _, how in names] + [f.message for f in mine],
            }
        )
    return results


def _record(
    old: Evidence,
    new: Evidence,
    done: Diffed,
    ledger: Path | None,
    announce: Callable[[dict[str, Any]], None],
) -> None:
    store = steps.configured(ledger)
    if store is None:
        raise ConfigError(
            "no ledger configured",
            None,
            "--record needs --ledger FILE, AIRGAP_LEDGER or 'ledger' in your user config",
        )
    verdict = f", verdict {done.extra['verdict']}" if "verdict" in done.extra else ""
    steps.Recorder(store, announce)(
        Step.DIFF,
        materials={**old.sha256, **new.sha256},
        note=f"{done.extra['mode']}{verdict}",
        result=Result.OK if done.exit_code == ExitCode.OK else Result.FAILED,
    )


def _only_acks(side: Evidence) -> bool:
    return bool(side.acks) and not side.states and not side.usage


def _has_devices(side: Evidence) -> bool:
    return bool(side.states or side.usage)


def _holds(side: Evidence) -> str:
    parts = [
        f"{side.parsed or len(side.states)} capture states" if side.states else "",
        f"{len(side.usage)} usage files" if side.usage else "",
        f"{len(side.acks)} ACKs" if side.acks else "",
    ]
    return ", ".join(p for p in parts if p) or "nothing airgap can compare"
