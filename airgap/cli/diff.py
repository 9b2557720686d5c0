"""``airgap diff BEFORE AFTER``: what changed, and whether an ACK import took effect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from airgap.cli.keys import LedgerOption
from airgap.cli.options import NoProgressOption, speak
from airgap.cli.output import (
    Format,
    FormatOption,
    TzOption,
    begin,
    counted,
    emit_json_results,
    out,
    tell_problems,
)
from airgap.errors import ExitCode

if TYPE_CHECKING:
    from collections.abc import Iterable


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
    ledger: LedgerOption = None,
    no_progress: NoProgressOption = False,
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
    from airgap.cli.keys import announce
    from airgap.flows.diff import DiffOptions, diff_inputs

    begin("diff", fmt)
    speak(no_progress=no_progress)
    options = DiffOptions(before, after, exit_code, same_device, tuple(tz or ()), record, ledger)
    done = diff_inputs(options, announce, lambda files: counted(files, "reading", "files"))
    tell_problems(done.problems)
    if fmt is Format.JSON:
        emit_json_results(
            done.exit_code == ExitCode.OK, done.results, problems=done.problems, **done.extra
        )
    elif done.extra:
        _print(done.extra, done.results)
    raise typer.Exit(done.exit_code)


def _print(extra: dict[str, Any], results: Iterable[dict[str, Any]]) -> None:
    from airgap.flows.diff import DiffMode

    console = out()
    mode = extra["mode"]
    if mode is DiffMode.STATES:
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
    elif mode is DiffMode.ACK_AGAINST_DEVICES:
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
        differs = False
        for change in results:
            differs = True
            console.print(
                f"{change['field']}: {_short(change['before'])} -> {_short(change['after'])}",
                markup=False,
            )
        if not differs:
            console.print("no differences", markup=False)


def _short(value: Any) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
