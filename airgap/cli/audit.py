"""``airgap audit report``: the ledger's transfers and steps in a time window, for an inspector."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from airgap.cli.keys import InsecureKeyOption, PassphraseStdinOption, TrustedKeysOption
from airgap.cli.ledger import LedgerOption
from airgap.cli.output import Format, begin, emit_json, err
from airgap.cli.reconcile import OptionError
from airgap.errors import ExitCode

app = typer.Typer(
    no_args_is_help=True, help="Evidence for an auditor: the audit report of the ledger."
)


class ReportFormat(StrEnum):
    """What the report is written as."""

    HTML = "html"
    JSON = "json"
    CSV = "csv"


def _day(value: str | None, name: str, end: bool = False) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise OptionError(f"invalid {name} value", value, "expected YYYY-MM-DD") from None
    moment = datetime.combine(day, time.min, UTC)
    return moment + timedelta(days=1) - timedelta(microseconds=1) if end else moment


@app.command(
    "report",
    epilog="Example: airgap audit report --since 2026-11-01 --out "
    "audit-2026-11.html --captures captures/ --sign ~/keys/operator.key",
)
def report(
    since: Annotated[str, typer.Option("--since", help="First day, YYYY-MM-DD (UTC).")],
    out_file: Annotated[Path, typer.Option("--out", help="The report file to write.")],
    until: Annotated[
        str | None,
        typer.Option("--until", help="Last day, YYYY-MM-DD (default: now).", show_default=False),
    ] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="html (one self-contained page), json or csv.")
    ] = ReportFormat.HTML,
    captures: Annotated[
        list[Path] | None,
        typer.Option(
            "--captures",
            help="Device captures for the devices and deadlines section (repeatable).",
            show_default=False,
        ),
    ] = None,
    sign: Annotated[
        Path | None,
        typer.Option(
            "--sign",
            help="Write OUT.minisig, a detached signature with this secret key.",
            show_default=False,
        ),
    ] = None,
    folder: TrustedKeysOption = None,
    passphrase_stdin: PassphraseStdinOption = False,
    insecure: InsecureKeyOption = False,
    ledger: LedgerOption = None,
) -> None:
    """One report of every transfer the ledger recorded between --since and --until, exceptions
    first: who (person, role, key id), when, medium, from and to host, files with SHA-256,
    validation, malware scan, approvals and receipt (the inbound bundle that answered it, with
    the other side's checkpoint); the devices' deadlines (with --captures); a timeline; every
    step (host, device, files, result, note) with its proof; which steps evidence each control
    (NERC CIP-003-8, CIP-010-4 R4, NIST SP 800-53 MP-5, AC-4(12), AC-4(26), AC-3(2), AU-9(5),
    AU-10, IEC 62443-3-3 SR 2.3, SR 3.2); a checkpoint signed by this host; and each row's
    inclusion proof for 'airgap ledger verify-proof'. The HTML makes no requests and runs no
    scripts."""
    from airgap.cli.keys import passphrase
    from airgap.cli.ledger import on_stderr
    from airgap.flows.audit import ReportOptions, write_report

    begin("audit report", Format.JSON if fmt is ReportFormat.JSON else Format.TEXT)
    start, end = _day(since, "--since"), _day(until, "--until", end=until is not None)
    options = ReportOptions(
        out_file, start, end, str(fmt), tuple(captures or ()), sign, folder, insecure, ledger
    )
    done = write_report(options, lambda p: passphrase(p, from_stdin=passphrase_stdin), on_stderr)
    built = done.report
    err().print(
        f"{out_file}: {len(built.transfers)} transfers, {len(built.rows)} steps, "
        f"{len(built.exceptions)} exceptions, checkpoint of {done.entries} entries",
        markup=False,
    )
    if fmt is ReportFormat.JSON:
        counts = {"transfers": len(built.transfers), "rows": len(built.rows)}
        found = {"report": str(out_file), **counts, "exceptions": len(built.exceptions)}
        emit_json(True, [found])
    raise typer.Exit(ExitCode.OK)
