"""``airgap media write`` and ``airgap media scan``: the USB step."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from airgap.bundle.malware import Scanner
from airgap.cli.keys import LedgerOption, TrustedKeyOption, TrustedKeysOption, hooks
from airgap.cli.options import NoProgressOption, QuietOption, VerboseOption, speak
from airgap.cli.output import Format, FormatOption, begin, emit_json, out, plural, this_run
from airgap.errors import ExitCode

if TYPE_CHECKING:
    from airgap.flows.media import Scanned

app = typer.Typer(
    help="Removable media: write with read-back, scan for anything unexpected.",
    no_args_is_help=True,
)


@app.command("write", epilog="Example: airgap media write usage-2026-11.tar.gz usb/")
def write(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE")],
    destination: Annotated[Path, typer.Argument(metavar="DEST_DIR")],
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the bundle and signature if the medium has them."),
    ] = False,
    ledger: LedgerOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    no_progress: NoProgressOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Copy a bundle and its signature to a medium, sync, read back and compare (exit 4 when
    the medium returns other bytes); show the medium's identity when the system exposes it.

    Both files take their names only once both read back right: a failed write leaves
    neither (exit 3 when the medium cannot be written, 4 on a read-back mismatch). When the
    policy requires approvals ([policy] approvals = N), a bundle without them is refused
    (exit 4) and its approvals are copied with it."""
    from airgap.cli.bundle import show_verified
    from airgap.flows import media as media_flows

    begin("media write", fmt)
    speak(quiet=quiet, verbose=verbose, no_progress=no_progress)
    options = media_flows.WriteOptions(bundle, destination, force, ledger)
    done = media_flows.write_media(options, hooks())
    if done.refused:
        show_verified(list(done.refused), fmt)
        raise typer.Exit(ExitCode.TRUST)
    medium = done.medium or {}
    if fmt is Format.JSON:
        emit_json(True, [w.to_dict() for w in done.written], medium=medium)
        return
    if this_run().quiet:  # -q: what failed, and nothing did
        return
    for w in done.written:
        out().print(
            f"{w.target}: written and read back, {w.size} bytes, sha256:{w.sha256}", markup=False
        )
    known = media_flows.known_identity(medium)
    out().print(f"medium: {known or 'no identity exposed by the system'}", markup=False)


@app.command(
    "scan",
    epilog="Example: airgap media scan usb/ --av clamscan --av-db ~/clamav "
    "--trusted-keys ~/trusted",
)
def scan(
    folder: Annotated[Path, typer.Argument(metavar="DIR")],
    trusted_key: TrustedKeyOption = None,
    trusted_keys: TrustedKeysOption = None,
    av: Annotated[
        Scanner | None,
        typer.Option(
            "--av",
            help="Also scan every file for malware with this scanner (clamscan) and record "
            "the engine, its databases and each file's verdict (ledger step media.scan).",
            show_default=False,
        ),
    ] = None,
    av_db: Annotated[
        Path | None,
        typer.Option(
            "--av-db",
            help="The scanner's signature databases (a folder or one file; default: "
            "the scanner's own).",
            show_default=False,
        ),
    ] = None,
    ledger: LedgerOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    no_progress: NoProgressOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """List anything on a medium that is not a bundle beside its signature (hidden files,
    links, extra files) and every split bundle with parts missing (exit 1 if any).

    Signatures are verified only when trusted keys are given (exit 4 when one does not
    verify); otherwise the scan says it did not verify them. With --av clamscan every file is
    also scanned for malware: a detection is exit 4, and the scan is recorded."""
    from airgap.flows import media as media_flows

    begin("media scan", fmt)
    speak(quiet=quiet, verbose=verbose, no_progress=no_progress)
    options = media_flows.ScanOptions(
        folder, tuple(trusted_key or ()), trusted_keys, av, av_db, ledger
    )
    scanned = media_flows.scan_media(options, hooks())
    if fmt is Format.JSON:
        result, malware = scanned.scan, scanned.malware
        emit_json(
            scanned.exit_code == ExitCode.OK,
            [{**result.to_dict(), "malware": malware.to_dict() if malware else None}],
        )
    else:
        _show_scanned(scanned)
    raise typer.Exit(scanned.exit_code)


def _show_scanned(scanned: Scanned) -> None:
    result, malware = scanned.scan, scanned.malware
    if malware is not None:
        for item in malware.detections + malware.errors:
            out().print(f"{item.path}: malware scan: {item.verdict}", markup=False, style="red")
        if not this_run().quiet:
            out().print(
                f"malware scan: {plural(len(malware.files), 'file')}, "
                f"{len(malware.detections)} detected, {len(malware.errors)} not scanned; "
                f"{malware.engine}, {'; '.join(malware.databases)}",
                markup=False,
            )
    for path, why in result.unexpected:
        out().print(f"{path}: unexpected: {why}", markup=False, style="red")
    for path, why in result.bad_signatures:
        out().print(f"{path}: error: {why}", markup=False, style="red")
    for incomplete in result.incomplete:
        out().print(f"{incomplete.present[0]}: {incomplete.text()}", markup=False, style="red")
    if this_run().quiet:  # -q: what failed alone
        return
    if this_run().verbose and malware is not None:  # -v: every file checked
        for item in malware.files:
            out().print(f"{item.path}: malware scan: {item.verdict}", markup=False)
    out().print(
        f"{plural(len(result.bundles), 'signed bundle')}, "
        f"{len(result.unexpected)} unexpected, "
        f"{plural(len(result.incomplete), 'incomplete split bundle')}",
        markup=False,
    )
    if result.signatures_verified:
        good = len(result.bundles) - len(result.bad_signatures)
        out().print(
            f"signatures: {good} of {len(result.bundles)} verified against the trusted keys",
            markup=False,
        )
    else:
        out().print(
            "signatures: NOT verified (this scan does not verify signatures; give "
            "--trusted-keys or --trusted-key, or run 'airgap bundle verify')",
            markup=False,
        )
