"""``airgap media write`` and ``airgap media scan``: the USB step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from airgap.cli import ledger as ledger_cmd
from airgap.cli.output import Format, FormatOption, begin, emit_json, out, plural
from airgap.errors import ExitCode

app = typer.Typer(help="Removable media: write with read-back, scan for anything unexpected.",
                  no_args_is_help=True)


@app.command("write", epilog="Example: airgap media write usage-2026-11.tar.gz /media/usb")
def write(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE")],
    destination: Annotated[Path, typer.Argument(metavar="DEST_DIR")],
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Copy a bundle and its signature to a medium, sync, read back and compare (exit 4 when
    the medium returns other bytes); show the medium's identity when the system exposes it."""
    from airgap.bundle import media

    begin("media write", fmt)
    written = media.write(bundle, destination)
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


@app.command("scan", epilog="Example: airgap media scan /media/usb")
def scan(
    folder: Annotated[Path, typer.Argument(metavar="DIR")],
    fmt: FormatOption = Format.TEXT,
) -> None:
    """List anything on a medium that is not a bundle beside its signature: hidden files,
    links, extra files (exit 1 if there is any)."""
    from airgap.bundle import media

    begin("media scan", fmt)
    result = media.scan(folder)
    code = ExitCode.FINDINGS if result.unexpected else ExitCode.OK
    if fmt is Format.JSON:
        emit_json(code == ExitCode.OK, [result.to_dict()])
    else:
        for path, why in result.unexpected:
            out().print(f"{path}: unexpected: {why}", markup=False, style="red")
        out().print(f"{plural(len(result.bundles), 'signed bundle')}, "
                    f"{len(result.unexpected)} unexpected", markup=False)
    raise typer.Exit(code)
