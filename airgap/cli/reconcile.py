"""``airgap reconcile`` and ``airgap deadlines``: what came back, and what is due when."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airgap.cli.options import NoProgressOption, QuietOption, VerboseOption, speak
from airgap.cli.output import (
    Format,
    FormatOption,
    ReportFormat,
    ReportFormatOption,
    TzOption,
    begin,
    counted,
    emit_json_results,
    note,
    out,
    plural,
    tell_problems,
)
from airgap.errors import AirgapError, ExitCode, worst

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from airgap.cli.reporters import Report
    from airgap.findings import Finding
    from airgap.state.deadlines import DeviceDeadlines, DueDate
    from airgap.state.evidence import Evidence
    from airgap.state.model import DeviceState
    from airgap.state.reconcile import Reconciliation

PathsArgument = Annotated[
    list[str],
    typer.Argument(
        help="Usage files, ACKs, 'show license' captures, archives, bundles and folders."
    ),
]


TodayOption = Annotated[
    str | None,
    typer.Option(
        "--today", help="The date to count from, YYYY-MM-DD (default: today).", show_default=False
    ),
]


class OptionError(AirgapError):
    """A flag value that cannot be read (exit 2)."""

    exit_code = ExitCode.USAGE


def load_inputs(
    paths: list[str],
    tz: dict[str, Any] | None = None,
    reduce: Callable[[DeviceState], DeviceState] | None = None,
) -> Evidence:
    """Everything under ``paths`` as summaries (``reduce``d in the workers); problems and
    skipped files are told on stderr."""
    from airgap import config
    from airgap.state import evidence

    found = evidence.load(
        paths,
        tz,
        config.load()["exclude"],
        summary=True,
        reduce=reduce,
        counting=lambda files: counted(files, "reading", "files"),
    )
    for skipped in found.skipped:
        note(f"skipped {skipped.path}: {skipped.reason}")
    tell_problems(found.problems)
    return found


@contextmanager
def collector_resting() -> Iterator[None]:
    """Verdicts made from what was read, with the cyclic collector at rest. What was read
    stays to the end and holds no cycles, nor do the verdicts, built a few objects a device:
    the collector would only scan them again and again as they grow (at 100,000 devices, a
    third of the time ``health`` takes after reading, and reconciling grew faster than the
    site). Both are frozen for the output that reads them, and the collector runs again."""
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def inputs_json(found: Evidence) -> dict[str, Any]:
    return {
        "problems": found.problems,
        "skipped": [{"path": s.path, "reason": s.reason} for s in found.skipped],
    }


def reconcile(
    paths: PathsArgument,
    tz: TzOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    no_progress: NoProgressOption = False,
    report_format: ReportFormatOption = ReportFormat.TEXT,
) -> None:
    """Per device: reports exported, acknowledged and outstanding; foreign and stale ACKs;
    reports exported twice; devices that never reported.

    A report is (UDI, report id). It counts as acknowledged when a capture shows it in
    state ACK or an ACK is named ACK_<usage file name> (seen), or when an ACK's RUM ACK
    data lists it (inferred: those keys are not public). An ACK is stale when it was issued
    before the device's 'Last ACK received'; check ACKs against captures taken before their
    import, since a device may stamp that line with the time of the import. Exit 1 when
    anything is outstanding, foreign, stale or exported twice; 0 when all is reconciled.
    """
    from airgap.state.evidence import reconciled
    from airgap.state.reconcile import finding_dict
    from airgap.state.reconcile import reconcile as match
    from airgap.state.times import parse_tz_options

    fmt = report_format.common
    begin("reconcile", fmt)
    speak(quiet=quiet, verbose=verbose, no_progress=no_progress)
    # states with only what reconcile reads (1.2 KB a device, not 1.8), made in the workers
    found = load_inputs(paths, parse_tz_options(tz or []), reconciled)
    if not (found.states or found.usage or found.acks):
        note("nothing to reconcile: no 'show license' capture, usage file or ACK found")
    with collector_resting():
        result = match(found)
    code = worst(found.exit_code, ExitCode.OK if result.ok else ExitCode.FINDINGS)
    if report_format.ci:
        from airgap.cli import reporters

        reporters.write(report_format, _report(result, found))
    elif fmt is Format.JSON:
        emit_json_results(  # each device's JSON made as it is written
            code == ExitCode.OK,
            (d.to_dict() for d in result.devices),
            counts=result.counts(),
            findings=[finding_dict(f) for f in result.findings],
            **inputs_json(found),
        )
    else:
        _print_reconciliation(result, found, quiet=quiet, verbose=verbose and not quiet)
    raise typer.Exit(code)


KINDS = {  # what each kind of reconciliation finding means, for CI reports
    "outstanding": "exported reports no ACK answers yet",
    "foreign-ack": "an ACK for a device none of the inputs show",
    "stale-ack": "an ACK issued before the device's 'Last ACK received'",
    "exported-twice": "a report found in two usage files",
    "never-reported": "a device with a capture and no usage file",
}


def _report(result: Reconciliation, found: Evidence) -> Report:
    """The reconciliation for a CI reporter: each device with its findings (a device only a
    finding names, such as a foreign ACK's, too); the kinds at the levels reconcile gives."""
    from airgap.cli.reporters import Checked, Report, Rule
    from airgap.state.reconcile import Kind, level_of

    by_device: dict[str, list[Finding]] = {d.device: [] for d in result.devices}
    for finding in result.findings:
        by_device.setdefault(finding.where.device or "-", []).append(finding)
    rules = [Rule(kind, level_of(kind), KINDS[kind]) for kind in Kind]
    checked = [Checked(device, items) for device, items in by_device.items()]
    return Report("airgap reconcile", rules, checked, found.problems)


def _print_reconciliation(
    result: Reconciliation, found: Evidence, *, quiet: bool, verbose: bool
) -> None:
    """The table of devices, the findings and the counts (``-q``: the findings alone; ``-v``:
    first every file read)."""
    console = out()
    if verbose:
        read = {p for p, _ in found.usage} | {p for p, _ in found.acks}
        read |= {s.path for s in found.states if s.path}
        for path in sorted(read):
            digest = found.sha256.get(path)
            console.print(f"{path}: read" + (f", sha256:{digest}" if digest else ""), markup=False)
    width = max((len(d.device) for d in result.devices), default=6)
    if not quiet:
        header = f"{'DEVICE':<{width}}  EXPORTED  ACKED  OUTSTANDING  HOSTNAME"
        console.print(header, markup=False)
    for d in () if quiet else result.devices:
        acked = sum(r.acknowledged for r in d.reports)
        inferred = sum(r.inferred for r in d.reports)
        shown = f"{acked}" + (f" ({inferred}~)" if inferred else "")
        console.print(
            f"{d.device:<{width}}  {len(d.reports):>8}  {shown:>5}  "
            f"{len(d.outstanding):>11}  {d.hostname or '-'}",
            markup=False,
        )
    if result.findings:
        console.print("findings:", markup=False)
    for f in result.findings:
        _print_finding(f)
    if quiet:
        return
    c = result.counts()
    console.print(
        f"{plural(c['devices'], 'device')}, {c['exported']} reports exported, "
        f"{c['acknowledged']} acknowledged ({c['inferred']} inferred only, marked ~), "
        f"{c['outstanding']} outstanding, {plural(c['foreign-ack'], 'foreign ACK')}, "
        f"{plural(c['stale-ack'], 'stale ACK')}, {c['exported-twice']} exported twice, "
        f"{c['never-reported']} never reported",
        markup=False,
    )


def _print_finding(finding: Finding) -> None:
    """One reconciliation finding and its evidence, a line each."""
    from airgap.state.reconcile import Kind

    ids = ", ".join(map(str, finding.report_ids))
    path = finding.where.path
    where = f" in {path}" if path and finding.code != Kind.OUTSTANDING else ""
    out().print(
        f"  {finding.code}: {finding.where.device or '-'}{f' reports {ids}' if ids else ''}"
        f"{where}: {finding.message}",
        markup=False,
    )
    for evidence in finding.evidence:
        out().print(f"    {evidence}", markup=False)


def parse_today(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OptionError("invalid --today value", value, "expected YYYY-MM-DD") from None


def deadlines(
    paths: PathsArgument,
    today: TodayOption = None,
    warn_days: Annotated[
        int, typer.Option("--warn-days", min=0, help="A date this many days away or less is 'due'.")
    ] = 14,
    tz: TzOption = None,
    no_progress: NoProgressOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """When each device must next report and get an ACK, most urgent first.

    The ACK-by date is the device's own 'Next ACK deadline' when a capture shows it; else
    an estimate from the policy in force (the device's, the newest imported one, or the
    default table) and the last ACK received, labelled with the rule it used. Status:
    overdue (before today), due (within --warn-days), ok, unknown (no date). Exit 1 when
    any device is overdue or due.
    """
    from airgap.state import deadlines as core
    from airgap.state.times import parse_tz_options

    begin("deadlines", fmt)
    speak(no_progress=no_progress)
    day = parse_today(today)
    zones = parse_tz_options(tz or [])
    found = load_inputs(paths, zones)
    if not found.states:
        note(
            "no device found: deadlines come from 'show license' captures (status, summary, "
            "usage, tech-support)"
        )
    with collector_resting():
        result = core.deadlines(found.states, day, warn_days, found.acks)
    counts = core.counts(result)
    failing = any(item.status in core.FAILING for item in result)
    code = worst(found.exit_code, ExitCode.FINDINGS if failing else ExitCode.OK)
    if fmt is Format.JSON:
        emit_json_results(
            code == ExitCode.OK,
            (item.to_dict() for item in result),
            today=day.isoformat(),
            warn_days=warn_days,
            counts=counts,
            **inputs_json(found),
        )
    else:
        _print_deadlines(result, counts, warn_days)
    raise typer.Exit(code)


def _due(due: DueDate | None) -> str:
    if due is None:
        return "-"
    marks = [m for m, on in (("est", due.estimate), ("local", due.local_time)) if on]
    return due.date.isoformat() + (f" {','.join(marks)}" if marks else "")


def _print_deadlines(result: list[DeviceDeadlines], counts: dict[str, int], warn_days: int) -> None:
    console = out()
    width = max((len(d.device) for d in result), default=6)
    console.print(
        f"{'STATUS':<8} {'DAYS':>5}  {'ACK BY':<20}  {'REPORT BY':<20}  "
        f"{'DEVICE':<{width}}  HOSTNAME",
        markup=False,
    )
    for d in result:
        days = "-" if d.days_left is None else str(d.days_left)
        console.print(
            f"{d.status:<8} {days:>5}  {_due(d.ack_by):<20}  {_due(d.report_by):<20}  "
            f"{d.device:<{width}}  {d.hostname or '-'}",
            markup=False,
        )
    dates = [due for d in result for due in (d.ack_by, d.report_by) if due is not None]
    if any(due.estimate for due in dates):
        console.print(
            "est: an estimate, not the device's own date (--format json gives the rule)",
            markup=False,
        )
    if any(due.local_time for due in dates):
        console.print(
            "local: a local time with no known offset, used as printed (see --tz)", markup=False
        )
    console.print(
        f"{counts['overdue']} overdue, {counts['due']} due within "
        f"{plural(warn_days, 'day')}, {counts['ok']} ok, {counts['unknown']} unknown",
        markup=False,
    )
