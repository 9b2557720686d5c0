"""``airgap diff BEFORE AFTER``: what changed, and whether an ACK import took effect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from airgap.cli.output import Format, FormatOption, TzOption, begin, emit_json, err, out
from airgap.errors import ExitCode, InputError, worst

if TYPE_CHECKING:
    from airgap.state.evidence import Evidence


def diff(
    before: Annotated[str, typer.Argument(help="Captures, usage files or an ACK before.")],
    after: Annotated[str, typer.Argument(help="The same kind of files after.")],
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code", help="Exit 1 when anything differs, not only on a failing verdict."
        ),
    ] = False,
    same_device: Annotated[
        bool,
        typer.Option(
            "--same-device",
            help="Compare the two sides as one device even when the captures name "
            "different devices (the output says it was forced).",
        ),
    ] = False,
    tz: TzOption = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Record the comparison and its verdict in the audit ledger (step "
            "diff; needs a ledger).",
        ),
    ] = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Compare two sides and say what changed.

    Captures before and after an import: per device the policy, last ACK received, next ACK
    deadline, trust codes, report states and licenses that changed, and a verdict: took
    effect, partly, not applied (exit 1) or unknown. Two usage files or folders: reports
    added and removed by (UDI, report id). Two ACKs: what differs. An ACK against captures or
    usage files: whether it belongs to those devices and whether it is older than the last
    ACK they received (compare with captures taken before the import). Captures that name
    different devices are an error (exit 1), not a verdict, unless --same-device.
    """
    from airgap.state import diff as diffs
    from airgap.state.devices import group
    from airgap.state.evidence import load
    from airgap.state.times import parse_tz_options

    begin("diff", fmt)
    offsets = parse_tz_options(tz or [])
    old, new = load([before], offsets, for_diff=True), load([after], offsets, for_diff=True)
    codes: list[int] = [_problems(old), _problems(new)]
    extra: dict[str, Any]
    if old.states and new.states:
        found = diffs.diff_devices(group(old.states), group(new.states), same_device)
        verdict = diffs.overall(found)
        extra = {"mode": "states", "verdict": verdict}
        results = [d.to_dict() for d in found]
        codes.append(ExitCode.FINDINGS if verdict in diffs.FAILING else ExitCode.OK)
        differs = any(d.changes for d in found)
    elif old.usage and new.usage:
        changes = diffs.diff_reports(old.exported, new.exported)
        extra, results, differs = {"mode": "usage"}, [c.to_dict() for c in changes], bool(changes)
    elif _only_acks(old) and _only_acks(new):
        changes = diffs.diff_acks(old.acks[0][1], new.acks[0][1])
        extra, results, differs = {"mode": "acks"}, [c.to_dict() for c in changes], bool(changes)
    elif _only_acks(old) != _only_acks(new) and _has_devices(new if _only_acks(old) else old):
        acks, device_side = (old, new) if _only_acks(old) else (new, old)
        extra = {"mode": "ack-against-devices"}
        results = _acks_against(acks, device_side)
        differs = any(r["belongs"] is False or r["stale"] for r in results)
        codes.append(ExitCode.FINDINGS if differs else ExitCode.OK)
    else:
        raise InputError(
            "nothing to compare",
            f"{before} and {after}",
            f"{_holds(old)} against {_holds(new)}",
            "give captures on both sides, usage files on both sides, two ACKs, "
            "or an ACK and the device's captures or usage files",
        )
    if exit_code and differs:
        codes.append(ExitCode.FINDINGS)
    code = worst(*codes)
    if record:
        _record(old, new, extra, code)
    if fmt is Format.JSON:
        emit_json(code == ExitCode.OK, results, **extra)
    else:
        _print(extra, results)
    raise typer.Exit(code)


def _acks_against(acks: Evidence, devices: Evidence) -> list[dict[str, Any]]:
    """Per ACK: does it belong to the devices of the other side, and is it stale? The same
    matching and evidence as ``airgap reconcile``."""
    from airgap.state.evidence import Evidence
    from airgap.state.reconcile import FOREIGN, STALE, named, reconcile

    findings = reconcile(
        Evidence(states=devices.states, usage=devices.usage, acks=acks.acks)
    ).findings
    results = []
    for path, ack in acks.acks:
        names = named(ack)
        mine = [f for f in findings if f.path == path and f.kind in (FOREIGN, STALE)]
        foreign = {f.device for f in mine if f.kind == FOREIGN}
        # SEEN evidence decides: a SLAC <udi> naming a device not given makes the ACK foreign
        seen = [u for u, how in names if how.startswith("seen")] or [u for u, _ in names]
        results.append(
            {
                "ack": path,
                "belongs": all(str(u) not in foreign for u in seen) if seen else None,
                "stale": any(f.kind == STALE for f in mine),
                "evidence": [how for _, how in names] + [f.message for f in mine],
            }
        )
    return results


def _record(old: Evidence, new: Evidence, extra: dict[str, Any], code: int) -> None:
    from airgap.cli import ledger as ledger_cmd
    from airgap.errors import ConfigError

    if ledger_cmd.configured() is None:
        raise ConfigError(
            "no ledger configured",
            None,
            "--record needs AIRGAP_LEDGER or 'ledger' in your user config",
        )
    verdict = f", verdict {extra['verdict']}" if "verdict" in extra else ""
    ledger_cmd.record_step(
        "diff",
        materials={**old.sha256, **new.sha256},
        note=f"{extra['mode']}{verdict}",
        result="ok" if code == ExitCode.OK else "failed",
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


def _problems(side: Evidence) -> int:
    for problem in side.problems:
        err().print(f"error: {problem.reason}: {problem.path}", markup=False, style="bold red")
    return side.exit_code


def _print(extra: dict[str, Any], results: list[dict[str, Any]]) -> None:
    console = out()
    mode = extra["mode"]
    if mode == "states":
        for device in results:
            console.print(f"{device['device']}: {device['verdict']}", markup=False, style="bold")
            for line in device["evidence"]:
                console.print(f"  evidence: {line}", markup=False)
            for part in device["not_shown"]:
                console.print(f"  not shown: {part}", markup=False)
            for change in device["changes"]:
                console.print(
                    f"  {change['field']}: {_short(change['before'])} -> {_short(change['after'])}",
                    markup=False,
                )
        console.print(f"verdict: {extra['verdict']}", markup=False, style="bold")
    elif mode == "ack-against-devices":
        for check in results:
            belongs = {
                True: "belongs to these devices",
                False: "belongs to NO device given",
                None: "names no device",
            }[check["belongs"]]
            stale = " and is STALE" if check["stale"] else ""
            console.print(f"{check['ack']}: {belongs}{stale}", markup=False, style="bold")
            for line in check["evidence"]:
                console.print(f"  {line}", markup=False)
    else:
        for change in results:
            console.print(
                f"{change['field']}: {_short(change['before'])} -> {_short(change['after'])}",
                markup=False,
            )
        if not results:
            console.print("no differences", markup=False)


def _short(value: Any) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
