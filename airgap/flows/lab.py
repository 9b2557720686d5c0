"""``lab serve`` as a workflow: a lab fleet served over SSH on loopback until a signal stops
it. The command parses flags, calls :func:`serve`, and says where the devices listen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airgap.errors import InputError

if TYPE_CHECKING:
    from airgap.lab.serve import LabFleet


@dataclass(frozen=True)
class ServeOptions:
    """What ``lab serve`` was asked for."""

    folder: Path  # a fleet made by ``lab fleet --out``
    listen: str = "127.0.0.1"
    faults: str | None = None  # NAME=kind[,kind][;NAME=...]
    gateways: tuple[str, ...] = ()  # devices that behave as IXM gateways


def serve(options: ServeOptions, listening: Callable[[LabFleet], None]) -> None:
    """Serve every device of the fleet until SIGTERM or SIGINT; ``listening`` is told once
    every device listens (and ``inventory.toml`` and ``known_hosts`` are written)."""
    import asyncio
    import signal

    from airgap.lab import serve as lab_serve

    _refuse_beyond_loopback(options.listen)
    lab = lab_serve.load(
        options.folder, options.listen, lab_serve.parse_faults(options.faults), options.gateways
    )
    _enough_files(len(lab.devices))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await lab.start()
        listening(lab)
        await stop.wait()
        lab.close()

    asyncio.run(main())


def _refuse_beyond_loopback(listen: str) -> None:
    """The lab answers like real devices with lab credentials: never off this host."""
    import ipaddress

    try:
        loopback = ipaddress.ip_address(listen).is_loopback
    except ValueError:
        raise InputError("invalid --listen address", listen, "expected an IP address") from None
    if not loopback:
        raise InputError(
            "refusing to listen",
            listen,
            "the lab serves loopback only",
            "use 127.0.0.1 or another 127.x.y.z address",
        )


def _enough_files(devices: int) -> None:
    """Raise the open-file limit to what this many listening devices need, within the hard
    limit: a socket and its sessions each take a descriptor."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * devices + 64))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
