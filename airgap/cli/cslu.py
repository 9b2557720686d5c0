"""``airgap cslu pack/unpack``: CSLU-style upload archives and CSSM ACK archives."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airgap.cli.options import moved_out, out_or_positional
from airgap.cli.output import Format, FormatOption, begin, emit_json, err, note, out, plural
from airgap.errors import ExitCode, InputError
from airgap.findings import Location, shown

if TYPE_CHECKING:
    from airgap.formats.cslu import Unpacked

LAYOUT = (
    "\b\nThis layout follows Cisco's published sample code (CiscoDevNet/xe-sip-api-code); "
    "no real CSLU archive is public."
)

app = typer.Typer(
    help="CSLU-style upload archives and CSSM ACK archives.\n\n" + LAYOUT, no_args_is_help=True
)


@app.command(
    "pack",
    help=f"""Pack usage files into a CSLU-style upload archive for CSSM.

OUT gets UD_SA_<time>.tar.gz holding manifest.mf (Smart Account, virtual accounts) and one
UD_VA_<time>.tar.gz per virtual account, each holding the usage files byte for byte, renamed
dev_<n>_<time>.txt as Cisco's sample names them (--keep-names keeps their own names). When OUT
is a folder, the archive is written inside it under that name. The same files, accounts and
SOURCE_DATE_EPOCH give the same bytes.

Every file must be a whole usage (RUM) file: another kind or no known kind exits 3, XML that
does not parse exits 1 (run 'airgap validate' first for the full checks). OUT is never
overwritten without --force.

{LAYOUT}""",
    epilog="Example: airgap cslu pack usage/*.xml --out UD_SA_upload.tar.gz "
    "--virtual-account WAN-EDGE --smart-account 'Example Industrial Inc'",
)
def pack_cmd(
    usage: Annotated[list[Path], typer.Argument(metavar="USAGE...", help="Usage files.")],
    out_file: Annotated[
        Path | None,
        moved_out("The archive to write, or a folder to write it in", "first"),
    ] = None,
    virtual_account: Annotated[
        str | None,
        typer.Option(
            "--virtual-account", help="The virtual account of every file.", show_default=False
        ),
    ] = None,
    accounts: Annotated[
        Path | None,
        typer.Option(
            "--accounts",
            metavar="MAP.csv",
            help="CSV rows 'file,virtual_account' (header "
            "optional); every USAGE file must have a row.",
            show_default=False,
        ),
    ] = None,
    smart_account: Annotated[
        str, typer.Option("--smart-account", help="Smart Account name for the manifest.")
    ] = "",
    smart_account_id: Annotated[
        str, typer.Option("--smart-account-id", help="Smart Account id for the manifest.")
    ] = "",
    keep_names: Annotated[
        bool,
        typer.Option(
            "--keep-names", help="Keep each file's own name instead of dev_<n>_<time>.txt."
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Pack usage files into a CSLU-style upload archive (help text above)."""
    from airgap.flows.cslu import PackOptions, pack_upload
    from airgap.formats import cslu

    begin("cslu pack", fmt)
    out_path, usage = out_or_positional(out_file, usage, first=True, command="cslu pack")
    if virtual_account is not None and accounts is not None:
        raise typer.BadParameter(
            "give --virtual-account or --accounts, not both", param_hint="--accounts"
        )
    options = PackOptions(
        out_path,
        tuple(usage),
        virtual_account,
        accounts,
        smart_account,
        smart_account_id,
        keep_names,
        force,
    )
    target, packed = pack_upload(options, note)
    if fmt is Format.JSON:
        emit_json(True, [{"path": str(target), **packed.to_dict()}])
        return
    out().print(
        f"{target}: {cslu.UPLOAD}, {plural(len(packed.files), 'usage file')} in "
        f"{plural(len(packed.manifest.entries), 'virtual account')}"
        + (f" of {smart_account}" if smart_account else ""),
        markup=False,
    )
    for f in packed.files:
        out().print(
            f"  {f.member}  <- {f.source}  (VA {f.virtual_account or '-'}; {_udis(f.udis)})",
            markup=False,
        )


def _udis(udis: Any) -> str:
    return ", ".join(f"UDI {u.pid} {u.sn}" for u in udis) or "no UDI"


@app.command(
    "unpack",
    help=f"""Unpack a CSLU upload archive or a CSSM ACK archive into DEST.

Each nested archive becomes a folder named without .tar.gz (UD_VA_x.tar.gz/dev_1.txt is
written to DEST/UD_VA_x/dev_1.txt); manifest.mf goes to DEST. Shows each file's member name,
kind and UDIs (UDIs read from RUM ACK data are marked inferred: those keys are not public).

Everything is read and checked in memory first: an unsafe member (.., absolute name, link,
device, compression bomb) exits 4 and nothing is written. A path that is missing or not such
an archive exits 3, a broken archive 1; a file inside that is not well-formed XML is written
and reported, and exits 1. Existing files in DEST are never overwritten without --force; each
file appears whole or not at all.

{LAYOUT}""",
    epilog="Example: airgap cslu unpack ACK_UD_SA_upload.tar.gz cssm-acks/",
)
def unpack_cmd(
    archive_path: Annotated[
        Path,
        typer.Argument(
            metavar="ARCHIVE", help="UD_SA_*.tar.gz from CSLU, or the ACK archive from CSSM."
        ),
    ],
    destination: Annotated[
        Path, typer.Argument(metavar="DEST", help="Folder to write into (created if missing).")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that exist in DEST.")
    ] = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Unpack an upload or ACK archive under DEST (help text above)."""
    from airgap.formats import cslu

    begin("cslu unpack", fmt)
    if not archive_path.is_file():
        why = "not a file" if archive_path.exists() else "no such file"
        raise InputError("cannot read", archive_path, why)
    unpacked = cslu.unpack(archive_path, str(archive_path))
    written = cslu.write_unpacked(unpacked.files, destination, force=force)
    broken = [f for f in unpacked.files if f.content.error]
    code = ExitCode.FINDINGS if broken else ExitCode.OK
    if fmt is Format.JSON:
        results = [
            {**f.to_dict(), "written_to": str(w)}
            for f, w in zip(unpacked.files, written, strict=True)
        ]
        summary = unpacked.to_dict()
        del summary["files"]
        emit_json(code == ExitCode.OK, results, **summary, dest=str(destination))
    else:
        _print(unpacked, written, destination)
    raise typer.Exit(code)


def _print(unpacked: Unpacked, written: list[Path], destination: Path) -> None:
    manifest = unpacked.manifest
    account = (
        f", Smart Account {manifest.smart_account}" if manifest and manifest.smart_account else ""
    )
    out().print(
        f"{unpacked.name}: {unpacked.kind}{account}, {len(unpacked.files)} files "
        f"written to {destination}",
        markup=False,
    )
    for f, target in zip(unpacked.files, written, strict=True):
        c = f.content
        detail = [c.kind or ("manifest" if f.parts == ("manifest.mf",) else "no known kind")]
        if c.udis or c.kind in ("usage", "import"):
            detail.append(_udis(c.udis))
        if c.inferred_udis:
            detail.append(_udis(c.inferred_udis).replace("UDI ", "UDI (inferred) "))
        if f.virtual_account is not None:
            detail.append(f"VA {f.virtual_account or '-'}")
        if f.answers:
            detail.append(f"answers {f.answers}")
        out().print(f"  {f.path}: {'; '.join(detail)} -> {target}", markup=False)
        if c.error:
            err().print(
                f"error: {c.error}: {shown(Location(unpacked.name, f.parts))}",
                markup=False,
                style="bold red",
            )
    for text in unpacked.notes:
        note(text)
