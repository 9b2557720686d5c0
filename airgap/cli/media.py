"""``airgap media write`` and ``airgap media scan``: the USB step."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from airgap.cli import ledger as ledger_cmd
from airgap.cli.keys import TrustedKeyOption, TrustedKeysOption
from airgap.cli.keys import trusted_keys as load_trusted
from airgap.cli.output import Format, FormatOption, begin, emit_json, out, plural
from airgap.errors import ExitCode, worst

if TYPE_CHECKING:
    from airgap.bundle.malware import AvScan

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
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Copy a bundle and its signature to a medium, sync, read back and compare (exit 4 when
    the medium returns other bytes); show the medium's identity when the system exposes it.

    Both files take their names only once both read back right: a failed write leaves
    neither (exit 3 when the medium cannot be written, 4 on a read-back mismatch). When the
    policy requires approvals ([policy] approvals = N), a bundle without them is refused
    (exit 4) and its approvals are copied with it."""
    from airgap import config
    from airgap.bundle import media

    begin("media write", fmt)
    required = config.load()["policy"]["approvals"]
    if required:
        from airgap.cli.bundle import _report, _verify_all

        checked = _verify_all([bundle], None, None, None, False, required)
        if checked[0].exit_code != ExitCode.OK:
            _report(checked, fmt)
            raise typer.Exit(ExitCode.TRUST)
    written = media.write(bundle, destination, overwrite=force)
    if required:
        import shutil

        for approval in sorted(bundle.parent.glob(f"{bundle.name}.approved-*.minisig")):
            shutil.copyfile(approval, destination / approval.name)
    medium = media.identity(destination)
    ledger_cmd.record_step(
        "media.write",
        materials={str(w.source): f"sha256:{w.sha256}" for w in written},
        products={str(w.target): f"sha256:{w.sha256}" for w in written},
        note="medium: " + (", ".join(f"{k} {v}" for k, v in medium.items() if v) or "unknown"),
    )
    if fmt is Format.JSON:
        emit_json(True, [w.to_dict() for w in written], medium=medium)
        return
    for w in written:
        out().print(
            f"{w.target}: written and read back, {w.size} bytes, sha256:{w.sha256}", markup=False
        )
    known = ", ".join(f"{k} {v}" for k, v in medium.items() if v)
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
        str | None,
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
    fmt: FormatOption = Format.TEXT,
) -> None:
    """List anything on a medium that is not a bundle beside its signature (hidden files,
    links, extra files) and every split bundle with parts missing (exit 1 if any).

    Signatures are verified only when trusted keys are given (exit 4 when one does not
    verify); otherwise the scan says it did not verify them. With --av clamscan every file is
    also scanned for malware: a detection is exit 4, and the scan is recorded."""
    from airgap.bundle import media

    begin("media scan", fmt)
    given = trusted_key or trusted_keys
    result = media.scan(folder, load_trusted(trusted_key, trusted_keys) if given else None)
    code = worst(
        ExitCode.FINDINGS if result.unexpected or result.incomplete else ExitCode.OK,
        ExitCode.TRUST if result.bad_signatures else ExitCode.OK,
    )
    malware = _malware(folder, av, av_db) if av else None
    if malware is not None:
        code = worst(
            code,
            ExitCode.TRUST if malware.detections else ExitCode.OK,
            ExitCode.FINDINGS if malware.errors else ExitCode.OK,
        )
    if fmt is Format.JSON:
        emit_json(
            code == ExitCode.OK,
            [{**result.to_dict(), "malware": malware.to_dict() if malware else None}],
        )
        raise typer.Exit(code)
    if malware is not None:
        for item in malware.detections + malware.errors:
            out().print(f"{item.path}: malware scan: {item.verdict}", markup=False, style="red")
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
    raise typer.Exit(code)


def _malware(folder: Path, av: str, database: Path | None) -> AvScan:
    """Run the scanner and record the scan in the ledger (when one is configured)."""
    from airgap.bundle import malware
    from airgap.errors import InputError

    if av != "clamscan":
        raise InputError("unknown malware scanner", av, "the scanner airgap runs is clamscan")
    found = malware.scan(folder, database)
    identity = media_identity(folder)
    ledger_cmd.record_step(
        "media.scan",
        materials={f.path: f.sha256 for f in found.files},
        note=(
            f"{found.engine}; databases: {'; '.join(found.databases)}; medium: {identity}; "
            f"{len(found.files)} files, {len(found.detections)} detected"
            + "".join(f"; {f.path}: {f.verdict}" for f in found.detections + found.errors)
        ),
        result="failed" if found.detections or found.errors else "ok",
    )
    return found


def media_identity(folder: Path) -> str:
    from airgap.bundle import media

    known = {k: v for k, v in media.identity(folder).items() if v}
    return ", ".join(f"{k} {v}" for k, v in known.items()) or "not exposed"
