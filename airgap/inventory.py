"""The device inventory (DESIGN.md "Devices"): a TOML file, one ``[[device]]`` table each.

    [[device]]
    name = "sw-a"                      # required, unique
    host = "192.0.2.10"                # required
    port = 22
    platform = "iosxe"                 # iosxe | nxos | ixm
    filesystem = "bootflash:"
    user = "airgap"
    key_file = "~/.ssh/airgap_ed25519" # or password_file (owner-only), or neither: ssh-agent
    udi = "PID:C9300-24UX,SN:FCW2437L0TZ"  # the UDI the device must show
    groups = ["plant-7"]

A password never stands in the inventory itself: only the path of a file that holds it.
``health`` uses the inventory to name devices that were never captured; the devices commands
use it to reach them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from airgap.errors import ConfigError
from airgap.formats.common import Udi


class Platform(StrEnum):
    """The device platforms airgap reaches: what each copies with, and how it answers, differ."""

    IOSXE = "iosxe"
    NXOS = "nxos"
    IXM = "ixm"  # Wireless Gateway for LoRaWAN: no SCP server, it copies with its own scp


PLATFORMS = tuple(platform.value for platform in Platform)
MAX_BYTES = 4 << 20  # an inventory of 100,000 devices is about 15 MB; this is a sanity cap
_UDI = re.compile(r"^\s*PID:\s*(?P<pid>[^,\s]+)\s*,\s*SN:\s*(?P<sn>[^,\s]+)\s*$")
_KNOWN = {
    "name",
    "host",
    "port",
    "platform",
    "filesystem",
    "user",
    "key_file",
    "password_file",
    "udi",
    "groups",
}


@dataclass(frozen=True)
class InventoryDevice:
    """One device the site has, and how to reach it."""

    name: str
    host: str
    port: int = 22
    platform: Platform = Platform.IOSXE
    filesystem: str = "bootflash:"
    user: str | None = None
    key_file: str | None = None
    password_file: str | None = None
    udi: Udi | None = None
    groups: tuple[str, ...] = ()


def load(path: str | Path) -> list[InventoryDevice]:
    """The devices of an inventory file; ConfigError (exit 3) naming the file and the problem."""
    source = Path(path)
    try:
        if not source.is_file():
            raise ConfigError("cannot read the inventory", source, "not a regular file")
        with source.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError("cannot read the inventory", source, exc.strerror or str(exc)) from None
    if len(data) > MAX_BYTES:
        raise ConfigError("cannot read the inventory", source, f"over {MAX_BYTES} bytes")
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("invalid inventory", source, " ".join(str(exc).split())) from None
    tables = doc.get("device", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError("invalid inventory", source, "expected [[device]] tables")
    devices = [_device(source, number, table) for number, table in enumerate(tables, start=1)]
    _unique(source, (d.name for d in devices))
    return devices


def _device(source: Path, number: int, table: dict[str, Any]) -> InventoryDevice:
    def fail(why: str) -> ConfigError:
        return ConfigError("invalid inventory", source, f"device {number}: {why}")

    unknown = sorted(set(table) - _KNOWN)
    if unknown:
        raise fail(
            f"unknown key {unknown[0]!r}"
            + (
                " (a password never goes in the inventory: use password_file)"
                if "password" in unknown
                else ""
            )
        )
    name, host = table.get("name"), table.get("host")
    if not isinstance(name, str) or not name.strip():
        raise fail("'name' must be a non-empty string")
    if not isinstance(host, str) or not host.strip():
        raise fail(f"{name}: 'host' must be a non-empty string")
    port = table.get("port", 22)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise fail(f"{name}: 'port' must be a number from 1 to 65535")
    platform = table.get("platform", Platform.IOSXE)
    if not isinstance(platform, str) or platform not in PLATFORMS:
        raise fail(f"{name}: 'platform' must be one of {', '.join(PLATFORMS)}")
    texts = {key: table.get(key) for key in ("filesystem", "user", "key_file", "password_file")}
    for key, text in texts.items():
        if text is not None and not isinstance(text, str):
            raise fail(f"{name}: {key!r} must be a string")
    for key, text in (("name", name), ("host", host), *texts.items()):
        if isinstance(text, str) and any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise fail(f"{key!r} holds a control character")  # it goes into capture headers
    if texts["key_file"] and texts["password_file"]:
        raise fail(f"{name}: give one of key_file and password_file, not both")
    udi = None
    if "udi" in table:
        match = _UDI.match(table["udi"]) if isinstance(table["udi"], str) else None
        udi = Udi(match["pid"], match["sn"]) if match else None
        if udi is None:
            raise fail(f"{name}: 'udi' must read PID:<pid>,SN:<serial>")
    groups = table.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise fail(f"{name}: 'groups' must be a list of strings")
    return InventoryDevice(
        name,
        host,
        port,
        Platform(platform),
        texts["filesystem"] or "bootflash:",
        texts["user"],
        texts["key_file"],
        texts["password_file"],
        udi,
        tuple(groups),
    )


def _unique(source: Path, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError("invalid inventory", source, f"device {name!r} is listed twice")
        seen.add(name)
