"""``airgap lab fleet`` and ``airgap lab cssm``: synthetic devices and a simulated CSSM."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airgap.cli.options import moved_out, out_or_positional
from airgap.cli.output import Format, FormatOption, begin, emit_json, out
from airgap.errors import ExitCode, InputError

if TYPE_CHECKING:
    from airgap.flows.lab import ServeOptions
    from airgap.formats.usage import UsageFile
    from airgap.lab.serve import LabFleet

app = typer.Typer(
    no_args_is_help=True,
    help="Synthetic devices and a simulated CSSM, for training, tests and the demo. "
    "Nothing here talks to Cisco; everything it writes says it is simulated.",
)


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="The lab clock, ISO 8601 UTC (default: a fixed time, so output repeats).",
        show_default=False,
    ),
]


@app.command("fleet", epilog="Example: airgap lab fleet --devices 100 --out lab/")
def fleet_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to create.")],
    devices: Annotated[int, typer.Option("--devices", min=1, help="How many devices.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same bytes.")] = 1,
    now: NowOption = None,
    jobs: Annotated[
        int,
        typer.Option("--jobs", "-j", min=0, help="Worker processes; 0 uses every core, 1 none."),
    ] = 0,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Make a synthetic fleet: per device a usage file (five product families, payload layouts
    v1 and v2.0, several reports and measurements) in OUT/usage/, and the 'show license'
    capture it shows before its ACK is imported in OUT/before/. Serials start with LAB and
    hostnames end in .lab. OUT must not exist; it appears whole or not at all."""
    from airgap.lab import fleet

    begin("lab fleet", fmt)
    try:
        made = fleet.write(out_dir, devices, seed, _instant(now) or fleet.LAB_NOW, jobs=jobs)
    except FileExistsError:
        raise InputError("refusing to write the fleet", out_dir, "it exists") from None
    if fmt is Format.JSON:
        emit_json(
            True,
            [
                {
                    "udi": m.udi.to_dict(),
                    "hostname": m.hostname,
                    "usage": f"{out_dir}/usage/{m.usage_name}",
                    "before": f"{out_dir}/before/{m.hostname}.txt",
                }
                for m in made
            ],
        )
    else:
        out().print(
            f"{len(made)} devices in {out_dir}: usage files in usage/, captures "
            "before import in before/",
            markup=False,
        )


@app.command("cssm", epilog="Example: airgap lab cssm lab/usage/ --out cssm-answer/")
def cssm_command(
    paths: Annotated[
        list[str],
        typer.Argument(help="Usage files, folders, CSLU upload archives or bundles."),
    ],
    out_dir: Annotated[
        str | None,
        moved_out("The new folder for the answer", "last"),
    ] = None,
    now: NowOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Answer like CSSM would, offline: for each usage file, ACK_<name> with a SLAC-style
    <udi>, the lab policy, a RUM ACK listing its reports, account info and a correlation id,
    signed by the lab key and marked simulated (validate refuses it unless --lab); and in
    OUT/after/ the capture each device shows once it imported its ACK. The answer to the
    same input is the same bytes (the lab clock follows the input unless --now is given)."""
    from airgap.lab import cssm

    begin("lab cssm", fmt)
    target, sources = out_or_positional(out_dir, paths, first=False, command="lab cssm")
    uploads, usage = _cssm_inputs(sources)
    if not usage and not uploads:
        raise InputError("nothing to answer", ", ".join(sources), "no usage file found")
    when = _instant(now) or cssm.processed_at(
        [doc for _, _, doc in usage] + [doc for _, files in uploads for _, _, _, doc in files]
    )
    loose = [cssm.answer(name, data, doc, when) for name, data, doc in usage]
    answers, archives = list(loose), []
    for upload_name, files in uploads:
        answered = [(va, cssm.answer(name, data, doc, when)) for va, name, data, doc in files]
        answers += [a for _, a in answered]
        archives.append(cssm.answer_archive(upload_name, answered, when))
    try:
        cssm.write(Path(target), loose, answers, archives)
    except FileExistsError:
        raise InputError("refusing to write the answer", target, "it exists") from None
    results: list[dict[str, Any]] = [
        {
            "ack": a.ack_name,
            "devices": [u.to_dict() for u in a.devices],
            "reports": len(a.report_ids),
            "after": [f"{target}/after/{host}.txt" for host, _ in a.after_captures],
        }
        for a in answers
    ]
    if fmt is Format.JSON:
        emit_json(True, results, processed_at=when.isoformat())
    else:
        held = f" in {', '.join(name for name, _ in archives)}" if archives else ""
        out().print(
            f"{len(answers)} ACKs (simulated){held} in {target}, after-import captures "
            f"in {target}/after/",
            markup=False,
        )
    raise typer.Exit(ExitCode.OK)


def _cssm_inputs(
    sources: list[str],
) -> tuple[
    list[tuple[str, list[tuple[str, str, bytes, UsageFile]]]], list[tuple[str, bytes, UsageFile]]
]:
    """CSLU upload archives (answered with an ACK archive) and loose usage files (answered
    with one ACK file each), from the paths given."""
    from airgap import formats, inputs, xml
    from airgap.findings import Finding
    from airgap.formats import cslu
    from airgap.formats.usage import UsageFile

    def usage_of(data: bytes) -> UsageFile | None:
        try:
            doc = formats.read_xml(xml.parse(data))
        except xml.XmlSyntaxError:
            return None
        model = doc.model if doc is not None else None
        return model if isinstance(model, UsageFile) and model.reports else None

    uploads = []
    loose = []
    rest = []
    for source in sources:
        path = Path(source)
        if path.is_file() and cslu.detect(path) == cslu.UPLOAD:
            unpacked = cslu.unpack(path, path.name)
            files = [
                (f.parts[0], f.parts[-1], f.data, doc)
                for f in unpacked.files
                if len(f.parts) > 1 and (doc := usage_of(f.data)) is not None
            ]
            uploads.append((path.name, files))
        else:
            rest.append(source)
    for entry in inputs.walk(rest):
        if isinstance(entry, Finding):
            raise InputError("cannot read", entry.path, entry.message)
        if isinstance(entry, inputs.Item) and entry.sniff.family == "xml":
            try:
                data = entry.read()
            except OSError as exc:
                raise InputError("cannot read", entry.path, exc.strerror or str(exc)) from None
            if (doc := usage_of(data)) is not None:
                loose.append((entry.name, data, doc))
    return uploads, loose


@app.command("serve", epilog="Example: airgap lab serve lab/ --faults 'c9300-x.lab=auth'")
def serve_command(
    folder: Annotated[Path, typer.Argument(help="A fleet made by 'airgap lab fleet --out'.")],
    listen: Annotated[
        str,
        typer.Option(
            "--listen", help="The loopback address every device listens on (each its own port)."
        ),
    ] = "127.0.0.1",
    faults: Annotated[
        str | None,
        typer.Option(
            "--faults",
            help="NAME=kind[,kind][;NAME=...] ('*' for every device): slow, "
            "latency:MS, auth, hostkey, save-fails, flash-full, import-refused, scp-disabled, cut.",
            show_default=False,
        ),
    ] = None,
    gateways: Annotated[
        list[str] | None,
        typer.Option(
            "--ixm",
            help="This device behaves as a Wireless Gateway for LoRaWAN (platform ixm: "
            "no SCP server, it copies with its own scp command); repeatable.",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Serve every device of a lab fleet over real SSH on loopback until stopped (Ctrl-C or
    SIGTERM). Each answers like IOS-XE (show license ..., license smart save usage, verify
    /md5, license smart import), serves SCP on its bootflash:, keeps its state, and fails as
    --faults says. Writes FOLDER/inventory.toml and FOLDER/known_hosts before it accepts
    connections, for 'airgap collect' and 'airgap push'."""
    from airgap.flows.lab import ServeOptions, serve

    begin("lab serve", fmt)
    options = ServeOptions(folder, listen, faults, tuple(gateways or ()))
    serve(options, lambda lab: _listening(lab, options, fmt))


def _listening(lab: LabFleet, options: ServeOptions, fmt: Format) -> None:
    """Once every device listens: in JSON, what a script connects to; on stderr, the ports."""
    from airgap.cli.output import note

    folder = options.folder
    ports = sorted(d.port for d in lab.devices)
    if fmt is Format.JSON:
        served = [{"device": d.name, "port": d.port} for d in lab.devices]
        paths = {"inventory": str(folder / "inventory.toml")}
        emit_json(True, served, **paths, known_hosts=str(folder / "known_hosts"))
    note(
        f"serving {len(lab.devices)} lab devices on {options.listen} ports "
        f"{ports[0]}-{ports[-1]}; "
        f"inventory: {folder / 'inventory.toml'}, known_hosts: {folder / 'known_hosts'}; "
        "stop with Ctrl-C"
    )
