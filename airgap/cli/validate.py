"""``airgap validate`` and ``airgap rules``."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from airgap.cli.options import (
    NoProgressOption,
    PrivacyOption,
    QuietOption,
    VerboseOption,
    speak,
)
from airgap.cli.output import (
    Format,
    FormatOption,
    begin,
    counted,
    emit_json,
    note,
    out,
    plural,
    tell_problems,
)
from airgap.errors import ConfigError, ExitCode, InputError, worst

if TYPE_CHECKING:
    from airgap.validate.engine import FileReport


class ReportFormat(StrEnum):
    """What ``validate`` can write: the common formats and three for CI."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"


def validate(
    paths: Annotated[list[str], typer.Argument(help="Files and folders to validate.")],
    report_format: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            help="text, json, sarif (2.1.0), junit (XML) or github (annotations; "
            "the default when GITHUB_ACTIONS=true).",
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
    lab: Annotated[
        bool,
        typer.Option(
            "--lab", help="Accept simulated ACKs from 'airgap lab cssm' (rule simulated-ack off)."
        ),
    ] = False,
    ledger: Annotated[  # as airgap.cli.keys.LedgerOption, which validate does not load
        Path | None,
        typer.Option(
            "--ledger", help="The ledger file (default: the 'ledger' setting).", show_default=False
        ),
    ] = None,
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
    from airgap import config, inputs
    from airgap.validate.engine import Checked, Validator
    from airgap.validate.parallel import check_entries

    if report_format is None:
        report_format = (
            ReportFormat.GITHUB if os.environ.get("GITHUB_ACTIONS") == "true" else ReportFormat.TEXT
        )
    fmt = Format.JSON if report_format is ReportFormat.JSON else Format.TEXT
    streaming = report_format is ReportFormat.TEXT
    begin("validate", fmt)
    speak(quiet=quiet, verbose=verbose, no_progress=no_progress)
    settings = config.load({"privacy": privacy})
    levels = {**settings["rules"], **({"simulated-ack": "off"} if lab else {})}
    validator = Validator(privacy=settings["privacy"], levels=levels)
    reports: list[FileReport] = []
    skipped: list[dict[str, str]] = []
    captures: list[dict[str, str]] = []
    problems: list[inputs.Problem] = []
    problem_codes: list[int] = []
    entries = inputs.walk(paths, [*settings["exclude"], *(exclude or [])], strict=not skip_unknown)
    for result in counted(check_entries(entries, validator.levels, jobs), "validating", "files"):
        if isinstance(result, Checked):
            report = validator.finish(result)
            reports.append(report)
            if streaming:
                _print_report(report, quiet=quiet, verbose=verbose and not quiet)
        elif isinstance(result, inputs.Problem):
            problems.append(result)
            problem_codes.append(result.code)
            if streaming:
                out().print(f"{result.path}: error: {result.reason}", markup=False, style="red")
            else:
                tell_problems([result])
            if result.hint and streaming:
                note(f"hint: {result.hint}")
        elif isinstance(result, inputs.Skipped):
            skipped.append({"path": result.path, "reason": result.reason})
            note(f"skipped {result.path}: {result.reason}")
        else:  # a capture: nothing to validate; counted, not noted
            captures.append({"path": result.path, "kind": str(result.sniff.kind)})

    if not (reports or problems or captures):
        _refuse_nothing_checked(paths, len(skipped))
    errors = sum(r.errors for r in reports)
    warnings = sum(r.warnings for r in reports)
    code = worst(ExitCode.FINDINGS if errors else ExitCode.OK, *problem_codes)
    if record:
        from airgap.cli import ledger as ledger_cmd

        if ledger_cmd.configured(ledger) is None:
            raise ConfigError(
                "no ledger configured",
                None,
                "--record needs --ledger FILE, AIRGAP_LEDGER or 'ledger' in your user config",
            )
        ledger_cmd.record_step(
            "validate",
            ledger=ledger,
            materials={r.path: f"sha256:{r.sha256}" for r in reports if r.sha256},
            note=f"{plural(len(reports), 'file')}: {plural(errors, 'error')}, "
            f"{plural(warnings, 'warning')}",
            result="ok" if code == ExitCode.OK else "failed",
        )
    if report_format in (ReportFormat.SARIF, ReportFormat.JUNIT, ReportFormat.GITHUB):
        from airgap.cli import reporters

        render = {
            ReportFormat.SARIF: reporters.sarif,
            ReportFormat.JUNIT: reporters.junit,
            ReportFormat.GITHUB: reporters.github,
        }[report_format]
        reporters.write(render(reports, problems))
    elif fmt is Format.JSON:
        emit_json(
            code == ExitCode.OK,
            [r.to_dict() for r in reports],
            summary={
                "files": len(reports),
                "errors": errors,
                "warnings": warnings,
                "captures": len(captures),
                "skipped": len(skipped),
                "problems": len(problems),
            },
            captures=captures,
            skipped=skipped,
            problems=problems,
        )
    elif not quiet:  # -q: the failures alone
        invalid = sum(not r.ok for r in reports)
        aside = [
            plural(len(found), *what)
            for found, what in (
                (captures, ("capture",)),
                (skipped, ("file skipped", "files skipped")),
                (problems, ("problem",)),
            )
            if found
        ]
        out().print(
            f"{plural(len(reports), 'file')} validated: {invalid} invalid, "
            f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
            + (f" ({', '.join(aside)})" if aside else ""),
            markup=False,
        )
    raise typer.Exit(code)


def _print_report(report: FileReport, *, quiet: bool, verbose: bool) -> None:
    """One file's findings as they come (only its errors under ``-q``; under ``-v`` a last
    line for every file, so each file checked is named)."""
    for finding in report.findings:
        if quiet and finding.level != "error":
            continue
        style = "red" if finding.level == "error" else "yellow"
        out().print(str(finding), markup=False, style=style)
    if report.omitted:
        out().print(report.omitted, markup=False)
    if verbose:
        verdict = "ok" if report.ok else "invalid"
        out().print(f"{report.path}: {verdict}", markup=False, style=None if report.ok else "red")


def _refuse_nothing_checked(paths: list[str], skipped: int) -> None:
    """A folder named to be checked that holds nothing to check is exit 3, not a green
    "0 files validated": the input names nothing. (Named files that were all skipped or
    excluded, as a pre-commit hook may give, stay exit 0.)"""
    from pathlib import Path

    from airgap.names import escaped

    folder = next((path for path in paths if Path(path).is_dir()), None)
    if folder is not None:
        raise InputError(
            "nothing to check",
            escaped(folder),
            "no licensing file or capture in it"
            + (f" ({skipped} skipped: see the notes)" if skipped else ""),
            "name the folder that holds the usage files, ACKs or captures",
        )


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
