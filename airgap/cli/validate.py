"""``airgap validate`` and ``airgap rules``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airgap.cli.options import (
    LabOption,
    LedgerOption,
    NoProgressOption,
    PrivacyOption,
    QuietOption,
    VerboseOption,
    speak,
)
from airgap.cli.output import (
    REPORT_FORMATS,
    Format,
    FormatOption,
    ReportFormat,
    begin,
    counted,
    emit_json,
    note,
    out,
    plural,
    tell_problems,
)
from airgap.errors import ExitCode
from airgap.findings import Level

if TYPE_CHECKING:
    from airgap.cli.reporters import Report
    from airgap.flows.validate import Seen, Validated
    from airgap.validate.engine import FileReport


def validate(
    paths: Annotated[list[str], typer.Argument(help="Files and folders to validate.")],
    report_format: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            help=f"{REPORT_FORMATS}; github is the default when GITHUB_ACTIONS=true.",
            show_default=False,
        ),
    ] = None,
    privacy: PrivacyOption = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="Glob pattern of paths to skip while walking folders (repeatable).",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option("--jobs", "-j", min=0, help="Worker processes; 0 uses every core, 1 none."),
    ] = 0,
    record: Annotated[
        bool,
        typer.Option(
            "--record", help="Record the validation in the audit ledger (when one is set)."
        ),
    ] = False,
    skip_unknown: Annotated[
        bool,
        typer.Option(
            "--skip-unknown",
            help="Treat named files as files met in a folder (for hooks that "
            "pass every text file): plain text and images are skipped with a note; a file meant "
            "to be a licensing file (.xml, usage/ACK names, XML content) is still checked.",
        ),
    ] = False,
    lab: LabOption = False,
    ledger: LedgerOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    no_progress: NoProgressOption = False,
) -> None:
    """Validate usage, import and SLAC request files: hardened parse, XSD, JSON Schema and rules.

    Each finding prints as 'path:line: level: message [RULE]'. Folders and archives are
    walked: a file meant to be a licensing file (.xml, usage/ACK names, content that starts
    like XML, even in UTF-16) is checked, so an empty or broken one is a finding; plain text
    and images are skipped with a note, and 'show license' captures are counted (nothing to
    validate in them).
    Exit 0 when no finding is an error.
    """
    from airgap.flows.validate import ValidateOptions, validate_inputs

    if report_format is None:
        report_format = (
            ReportFormat.GITHUB if os.environ.get("GITHUB_ACTIONS") == "true" else ReportFormat.TEXT
        )
    fmt = report_format.common
    begin("validate", fmt)
    speak(quiet=quiet, verbose=verbose, no_progress=no_progress)
    options = ValidateOptions(
        tuple(paths), tuple(exclude or ()), privacy, lab, jobs, skip_unknown, record, ledger
    )
    found = validate_inputs(options, _seen(report_format is ReportFormat.TEXT, quiet, verbose))
    if report_format.ci:
        from airgap.cli import reporters

        reporters.write(report_format, _report(found))
    elif fmt is Format.JSON:
        _emit(found)
    elif not quiet:  # -q: the failures alone
        _summary(found)
    raise typer.Exit(found.exit_code)


def _report(found: Validated) -> Report:
    """The run for a CI reporter: each file with its findings, every rule."""
    from airgap.cli.reporters import Checked, Report
    from airgap.validate.rules import RULES

    checked = [Checked(r.path, r.findings) for r in found.reports]
    return Report("airgap validate", tuple(RULES.values()), checked, found.problems)


def _seen(streaming: bool, quiet: bool, verbose: bool) -> Seen:
    """How the run is shown as it goes: in text, each file's findings on stdout as they
    come; in any format, skipped files as notes and problems on stderr."""
    from airgap.flows.validate import Seen

    def announce(entry: dict[str, Any]) -> None:  # cli.keys only when a step is recorded
        from airgap.cli.keys import announce as named

        named(entry)

    def report(found: FileReport) -> None:
        if streaming:
            _print_report(found, quiet=quiet, verbose=verbose and not quiet)

    return Seen(
        report=report,
        problem=lambda found: tell_problems([found]),
        skipped=lambda s: note(f"skipped {s.path}: {s.reason}"),
        announce=announce,
        counting=lambda results: counted(results, "validating", "files"),
    )


def _emit(found: Validated) -> None:
    emit_json(
        found.exit_code == ExitCode.OK,
        [r.to_dict() for r in found.reports],
        summary={
            "files": len(found.reports),
            "errors": found.errors,
            "warnings": found.warnings,
            "captures": len(found.captures),
            "skipped": len(found.skipped),
            "problems": len(found.problems),
        },
        captures=[{"path": c.path, "kind": str(c.sniff.kind)} for c in found.captures],
        skipped=[{"path": s.path, "reason": s.reason} for s in found.skipped],
        problems=found.problems,
    )


def _summary(found: Validated) -> None:
    invalid = sum(not r.ok for r in found.reports)
    aside = [
        plural(len(items), *what)
        for items, what in (
            (found.captures, ("capture",)),
            (found.skipped, ("file skipped", "files skipped")),
            (found.problems, ("problem",)),
        )
        if items
    ]
    out().print(
        f"{plural(len(found.reports), 'file')} validated: {invalid} invalid, "
        f"{plural(found.errors, 'error')}, {plural(found.warnings, 'warning')}"
        + (f" ({', '.join(aside)})" if aside else ""),
        markup=False,
    )


def _print_report(report: FileReport, *, quiet: bool, verbose: bool) -> None:
    """One file's findings as they come (only its errors under ``-q``; under ``-v`` a last
    line for every file, so each file checked is named)."""
    for finding in report.findings:
        if quiet and finding.level is not Level.ERROR:
            continue
        style = "red" if finding.level is Level.ERROR else "yellow"
        out().print(str(finding), markup=False, style=style)
    if report.omitted:
        out().print(report.omitted, markup=False)
    if verbose:
        from airgap.ledger.store import Result  # loaded already: validation records with it

        verdict = Result.OK if report.ok else Result.INVALID
        out().print(f"{report.path}: {verdict}", markup=False, style=None if report.ok else "red")


def rules(fmt: FormatOption = Format.TEXT) -> None:
    """List every validation rule: its stable id, default level and meaning."""
    from airgap.validate.rules import RULES

    begin("rules", fmt)
    if fmt is Format.JSON:
        emit_json(True, [r.to_dict() for r in RULES.values()])
        return
    width = max(len(r) for r in RULES)
    for r in RULES.values():
        out().print(f"{r.id:<{width}}  {r.level.value:<7}  {r.summary}", markup=False)
        out().print(f"{'':<{width}}           {r.help}", markup=False, style="dim")
