"""``airgap inventory check``, ``airgap collect`` and ``airgap push``: the device end of the
cycle over SSH. Each parses its flags, calls one function of ``airgap.devices.cycle`` and
prints one row per device."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from airgap.cli.keys import LedgerOption
from airgap.cli.options import NoProgressOption, speak
from airgap.cli.output import (
    Format,
    FormatOption,
    begin,
    emit_json,
    err,
    note,
    out,
    plural,
    tally,
)
from airgap.errors import ConfigError, ExitCode, worst

if TYPE_CHECKING:
    from airgap.devices.cycle import DeviceResult, Recorder
    from airgap.inventory import InventoryDevice

InventoryOption = Annotated[
    Path,
    typer.Option("--inventory", help="The site's inventory (TOML, one [[device]] table each)."),
]
KnownHostsOption = Annotated[
    Path | None,
    typer.Option(
        "--known-hosts",
        help="The known_hosts file that pins each device's host key (default: "
        "AIRGAP_KNOWN_HOSTS, or 'known_hosts' in the user config).",
        show_default=False,
    ),
]
DeviceOption = Annotated[
    list[str] | None,
    typer.Option("--device", help="Only this inventory device (repeatable).", show_default=False),
]
GroupOption = Annotated[
    str | None,
    typer.Option("--group", help="Only the devices of this inventory group.", show_default=False),
]
JobsOption = Annotated[
    int, typer.Option("--jobs", "-j", min=1, help="Devices worked on at the same time.")
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout", min=1, help="Seconds to wait for a connection or a command's answer."
    ),
]
ReceiveOnOption = Annotated[
    str,
    typer.Option(
        "--receive-on",
        help="The address of this host as a Wireless Gateway for LoRaWAN (platform "
        "ixm) reaches it: a one-shot SCP endpoint listens there for each copy the gateway makes.",
    ),
]

inventory_app = typer.Typer(
    no_args_is_help=True, help="The site's device inventory: check every device over SSH."
)


def _known_hosts(value: Path | None) -> Path:
    """The flag, else AIRGAP_KNOWN_HOSTS, else ``known_hosts`` in the user or system config."""
    from airgap import config

    chosen = config.load({"known_hosts": str(value) if value else None})["known_hosts"]
    if not chosen:
        raise ConfigError(
            "no known_hosts file",
            None,
            "host keys are pinned",
            "give --known-hosts FILE, set AIRGAP_KNOWN_HOSTS, or 'known_hosts' in your user config",
        )
    return Path(chosen).expanduser()


def _devices(inventory: Path, names: list[str] | None, group: str | None) -> list[InventoryDevice]:
    from airgap import inventory as inventories

    devices = inventories.load(inventory)
    if names:
        unknown = sorted(set(names) - {d.name for d in devices})
        if unknown:
            raise ConfigError("no such inventory device", inventory, ", ".join(unknown))
        devices = [d for d in devices if d.name in names]
    if group:
        devices = [d for d in devices if group in d.groups]
    if not devices:
        raise ConfigError(
            "no device to work on", inventory, "the inventory, --device and --group leave none"
        )
    return devices


def _recorder(ledger: Path | None) -> Recorder:
    """The ledger recorder every workflow uses: each step signed by the host key, when a
    ledger is configured (else nothing is recorded)."""
    from airgap.flows import ledger as steps

    return steps.Recorder(steps.configured(ledger))


def _report(
    command: str, results: list[DeviceResult], fmt: Format, interrupted: bool = False
) -> None:
    from airgap.devices.cycle import Status

    code = ExitCode.INTERRUPTED if interrupted else worst(*(r.exit_code for r in results))
    if fmt is Format.JSON:
        emit_json(
            code == ExitCode.OK,
            [r.to_dict() for r in results],
            counts={str(s): sum(r.status is s for r in results) for s in Status},
        )
    else:
        console = out()
        width = max((len(r.device) for r in results), default=6)
        for r in results:
            console.print(f"{r.status:<11} {r.device:<{width}}  {r.message}", markup=False)
            if r.hint and r.status is not Status.DONE:
                console.print(f"{'':<11} {'':<{width}}  hint: {r.hint}", markup=False)
        done = sum(r.status is Status.DONE for r in results)
        err().print(f"{command}: {done} of {plural(len(results), 'device')} done", markup=False)
    raise typer.Exit(code)


def _run(
    command: str,
    fmt: Format,
    total: int,
    work: Callable[[Callable[[DeviceResult], None]], list[DeviceResult]],
) -> None:
    """``work`` on the devices, with a running count of those done on the terminal."""
    from airgap.devices.cycle import Interrupted

    try:
        with tally(total, command, "devices") as tick:
            results = work(lambda _: tick())
    except Interrupted as stopped:
        note("interrupted: " + stopped.why)
        _report(command, stopped.results, fmt, interrupted=True)
    _report(command, results, fmt)


@inventory_app.command(
    "check",
    epilog="Example: airgap inventory check --inventory site.toml --known-hosts site_known_hosts",
)
def check_command(
    inventory: InventoryOption,
    known_hosts: KnownHostsOption = None,
    accept_new: Annotated[
        bool,
        typer.Option(
            "--accept-new",
            help="Pin the host key of a device known_hosts has none for, and record "
            "it in the ledger (a changed key is never accepted).",
        ),
    ] = False,
    device: DeviceOption = None,
    group: GroupOption = None,
    jobs: JobsOption = 16,
    timeout: TimeoutOption = 30.0,
    ledger: LedgerOption = None,
    no_progress: NoProgressOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Per device: reachable, host key as known_hosts pins it (unknown or changed: exit 4),
    privilege 15, the SCP server on (hint: ip scp server enable), and the UDI it shows against
    the inventory's."""
    from airgap.devices import cycle

    begin("inventory check", fmt)
    speak(no_progress=no_progress)
    options = cycle.CheckOptions(_known_hosts(known_hosts), accept_new, jobs, timeout)
    devices = _devices(inventory, device, group)
    _run(
        "inventory check",
        fmt,
        len(devices),
        lambda done: cycle.check(devices, options, _recorder(ledger), done),
    )


def collect(
    inventory: InventoryOption,
    out_dir: Annotated[Path, typer.Option("--out", help="Where OUT/<device>/ goes.")],
    known_hosts: KnownHostsOption = None,
    device: DeviceOption = None,
    group: GroupOption = None,
    reports: Annotated[
        str,
        typer.Option(
            "--reports", help="Which reports the device saves: all, unreported or days:N."
        ),
    ] = "unreported",
    tech_support: Annotated[
        bool, typer.Option("--tech-support", help="Also capture 'show license tech support'.")
    ] = False,
    keep_remote: Annotated[
        bool,
        typer.Option("--keep-remote", help="Leave the saved usage file on the device's flash."),
    ] = False,
    again: Annotated[
        bool, typer.Option("--again", help="Collect devices that already have a usage file in OUT.")
    ] = False,
    jobs: JobsOption = 8,
    timeout: TimeoutOption = 30.0,
    receive_on: ReceiveOnOption = "127.0.0.1",
    ledger: LedgerOption = None,
    no_progress: NoProgressOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Per device, over SSH: capture 'show license status/summary/rum id all/udi' (and tech
    support), 'license smart save usage', copy it off by SCP, check it against the device's
    own MD5 (IOS-XE), validate it, delete it from flash, and write OUT/<device>/usage-...xml
    and before-...txt (with airgap's capture header naming the device). Ledger steps
    usage.save and usage.collect. One device's failure never stops the others; exit 1 when any
    failed, 4 when a trust check refused one."""
    from airgap import config
    from airgap.devices import cycle

    begin("collect", fmt)
    speak(no_progress=no_progress)
    options = cycle.CollectOptions(
        out_dir,
        _known_hosts(known_hosts),
        cycle.reports_argument(reports),
        tech_support,
        keep_remote,
        jobs,
        timeout,
        again,
        config.load()["rules"],
        receive_on,
    )
    devices = _devices(inventory, device, group)
    _run(
        "collect",
        fmt,
        len(devices),
        lambda done: cycle.collect(devices, options, _recorder(ledger), done),
    )


def push(
    acks: Annotated[list[Path], typer.Argument(help="ACK files from CSSM.")],
    inventory: InventoryOption,
    known_hosts: KnownHostsOption = None,
    collected: Annotated[
        list[Path] | None,
        typer.Option(
            "--collected",
            help="The OUT of 'airgap collect': ACK_<name> is matched to the device "
            "that saved <name> (repeatable).",
            show_default=False,
        ),
    ] = None,
    captures: Annotated[
        Path | None,
        typer.Option(
            "--captures",
            help="Keep the captures before and after each import in "
            "CAPTURES/before/<device>/ and CAPTURES/after/<device>/ (for airgap diff).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the plan (which ACK goes to which device) and touch nothing."
        ),
    ] = False,
    lab: Annotated[
        bool, typer.Option("--lab", help="Accept simulated ACKs from 'airgap lab cssm'.")
    ] = False,
    jobs: JobsOption = 8,
    timeout: TimeoutOption = 30.0,
    receive_on: ReceiveOnOption = "127.0.0.1",
    ledger: LedgerOption = None,
    no_progress: NoProgressOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Per ACK: match it to its device (SLAC udi, ACK_<name>, the RUM ACK data: inferred),
    validate it, capture the device, refuse a foreign, stale or wrong-device ACK before
    anything is copied (exit 4), copy it on by SCP, 'license smart import', require 'Import
    Data Successful', capture after and give the diff verdict. Ledger steps import.before,
    import.apply and import.after. Exit 1 when any device's verdict is not 'took effect'."""
    from airgap import config
    from airgap.devices import cycle

    begin("push", fmt)
    speak(no_progress=no_progress)
    levels = {**config.load()["rules"], **({"simulated-ack": "off"} if lab else {})}
    options = cycle.PushOptions(
        _known_hosts(known_hosts),
        tuple(collected or ()),
        dry_run,
        jobs,
        timeout,
        levels,
        captures,
        receive_on,
    )
    devices = _devices(inventory, None, None)
    _run(
        "push",
        fmt,
        len(acks),
        lambda done: cycle.push(acks, devices, options, _recorder(ledger), done),
    )
