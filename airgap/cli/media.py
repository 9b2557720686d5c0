"""``airgap media write`` and ``airgap media scan``: the USB step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from airgap.cli import ledger as ledger_cmd
from airgap.cli.keys import TrustedKeyOption, TrustedKeysOption
from airgap.cli.keys import trusted_keys as load_trusted
from airgap.cli.output import Format, FormatOption, begin, emit_json, out, plural
from airgap.errors import ExitCode, worst

app = typer.Typer(help="Removable media: write with read-back, scan for anything unexpected.",
                  no_args_is_help=True)


@app.command("write", epilog="Example: airgap media write usage-2026-11.tar.gz /media/usb")
def write(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE")],
    destination: Annotated[Path, typer.Argument(metavar="DEST_DIR")],
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the bundle and signature if the medium has them.")] = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Copy a bundle and its signature to a medium, sync, read back and compare (exit 4 when
    the medium returns other bytes); show the medium's identity when the system exposes it.

    Both files take their names only once both read back right: a failed write leaves
    neither (exit 3 when the medium cannot be written, 4 on a read-back mismatch)."""
    from airgap.bundle import media

    begin("media write", fmt)
    written = media.write(bundle, destination, overwrite=force)
    medium = media.identity(destination)
    ledger_cmd.record_step(
        "media.write", materials={str(w.source): f"sha256:{w.sha256}" for w in written},
        products={str(w.target): f"sha256:{w.sha256}" for w in written},
        note="medium: " + (", ".join(f"{k} {v}" for k, v in medium.items() if v) or "unknown"))
    if fmt is Format.JSON:
        emit_json(True, [w.to_dict() for w in written], medium=medium)
        return
    for w in written:
        out().print(f"{w.target}: written and read back, {w.size} bytes, sha256:{w.sha256}",
                    markup=False)
    known = ", ".join(f"{k} {v}" for k, v in medium.items() if v)
    out().print(f"medium: {known or 'no identity exposed by the system'}", markup=False)


@app.command("scan", epilog="Example: airgap media scan /media/usb --trusted-keys "
             "/etc/airgap/trusted")
def scan(
    folder: Annotated[Path, typer.Argument(metavar="DIR")],
    trusted_key: TrustedKeyOption = None,
    trusted_keys: TrustedKeysOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """List anything on a medium that is not a bundle beside its signature (hidden files,
    links, extra files) and every split bundle with parts missing (exit 1 if any).

    Signatures are verified only when trusted keys are given (exit 4 when one does not
    verify); otherwise the scan says it did not verify them."""
    from airgap.bundle import media

    begin("media scan", fmt)
    given = trusted_key or trusted_keys
    result = media.scan(folder, load_trusted(trusted_key, trusted_keys) if given else None)
    code = worst(ExitCode.FINDINGS if result.unexpected or result.incomplete else ExitCode.OK,
                 ExitCode.TRUST if result.bad_signatures else ExitCode.OK)
    if fmt is Format.JSON:
        emit_json(code == ExitCode.OK, [result.to_dict()])
        raise typer.Exit(code)
    for path, why in result.unexpected:
        out().print(f"{path}: unexpected: {why}", markup=False, style="red")
    for path, why in result.bad_signatures:
        out().print(f"{path}: error: {why}", markup=False, style="red")
    for incomplete in result.incomplete:
        out().print(f"{incomplete.present[0]}: {incomplete.text()}", markup=False, style="red")
    out().print(f"{plural(len(result.bundles), 'signed bundle')}, "
                f"{len(result.unexpected)} unexpected, "
                f"{plural(len(result.incomplete), 'incomplete split bundle')}", markup=False)
    if result.signatures_verified:
        good = len(result.bundles) - len(result.bad_signatures)
        out().print(f"signatures: {good} of {len(result.bundles)} verified against the trusted "
                    "keys", markup=False)
    else:
        out().print("signatures: NOT verified (this scan does not verify signatures; give "
                    "--trusted-keys or --trusted-key, or run 'airgap bundle verify')",
                    markup=False)
    raise typer.Exit(code)
