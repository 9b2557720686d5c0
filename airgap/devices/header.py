"""The header airgap writes on every capture it collects (DESIGN.md "Which device a capture
is"): IOS-style ``!`` comment lines, which other parsers skip, naming the inventory device, the
host, its host-key fingerprint, the UDI it showed and when, so later commands never guess the
device. ``airgap.state.parse`` reads it back (``HEADER``)."""

from __future__ import annotations

from datetime import UTC, datetime

from airgap.formats.common import Udi
from airgap.inventory import InventoryDevice
from airgap.state.parse import HEADER


def capture_header(
    device: InventoryDevice, fingerprint: str, udi: Udi | None, taken: datetime, commands: list[str]
) -> str:
    """The header lines, ending in a newline."""
    lines = [
        HEADER,
        f"! device: {device.name}",
        f"! host: {device.host}:{device.port}",
        f"! host-key: {fingerprint}",
    ]
    if udi is not None:
        lines.append(f"! udi: {udi}")
    lines += [
        f"! taken: {taken.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
        f"! commands: {'; '.join(commands)}",
    ]
    return "\n".join(lines) + "\n"
