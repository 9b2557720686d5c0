"""An emulated fleet over real SSH on loopback (``airgap lab serve``): every device of a fleet
made by ``airgap lab fleet`` answers like IOS-XE, serves SCP on its flash, keeps its state and
fails when told to.

Each device listens on its own port of one loopback address, with a host key of its own. Before
accepting connections the fleet writes ``DIR/inventory.toml`` and ``DIR/known_hosts`` (and a
client key the devices accept), so ``airgap collect`` and ``airgap push`` reach it like a real
site. The devices answer ``show license status|summary|udi|rum id all|tech support``, ``show
clock``, ``show privilege``, ``show running-config | include scp``, ``license smart save usage
... file bootflash:<name>`` (prints nothing, as IOS-XE does), ``verify /md5 bootflash:<name>``,
``delete /force bootflash:<name>``, ``dir bootflash:`` and ``license smart import
bootflash:<name>`` (``Import Data Successful``; an imported lab ACK moves ``Last ACK received``
and the report states). Faults (``--faults``) make a device slow, refuse logins, show another
host key, fail to save, run out of flash, refuse an import, have SCP disabled or cut a copy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncssh

from airgap import formats, xml
from airgap.errors import InputError
from airgap.formats.imports import ImportFile, rum_entries
from airgap.fsutil import write_atomic
from airgap.inventory import Platform
from airgap.lab import captures, fleet
from airgap.state.deadlines import import_time
from airgap.state.model import DeviceState, Report, UsageReporting
from airgap.state.parse import parse_capture

USER = "airgap"
LAB = ".lab"  # DIR/.lab: host keys, the client key, each device's flash
FAULTS = (
    "slow",
    "latency",
    "auth",
    "hostkey",
    "save-fails",
    "flash-full",
    "import-refused",
    "scp-disabled",
    "cut",
)
SLOW_SECONDS = 3.0
_FLASH = re.compile(r"^(?:bootflash|flash):/?(?P<name>[\w.\-]+)$")


@dataclass(frozen=True)
class Fault:
    """One way a device misbehaves; ``value`` is the milliseconds of ``latency``."""

    kind: str
    value: int = 0


def parse_faults(spec: str | None) -> dict[str, tuple[Fault, ...]]:
    """``NAME=kind[,kind...][;NAME=...]``, ``*`` for every device, ``latency:MS``."""
    found: dict[str, tuple[Fault, ...]] = {}
    for part in filter(None, (p.strip() for p in (spec or "").split(";"))):
        name, sep, kinds = part.partition("=")
        if not sep or not name.strip():
            raise InputError("invalid --faults value", part, "expected NAME=kind[,kind]")
        faults = []
        for kind in filter(None, (k.strip() for k in kinds.split(","))):
            word, _, number = kind.partition(":")
            if (
                word not in FAULTS
                or (word == "latency") != bool(number)
                or (number and not number.isdigit())
            ):
                raise InputError(
                    "invalid --faults value", kind, f"faults are: {', '.join(FAULTS)} (latency:MS)"
                )
            faults.append(Fault(word, int(number or 0)))
        found[name.strip()] = found.get(name.strip(), ()) + tuple(faults)
    return found


@dataclass
class Device:
    """One emulated device: what it shows, what its flash holds, how it misbehaves."""

    name: str
    state: DeviceState
    usage: bytes
    flash: Path
    faults: tuple[Fault, ...] = ()
    port: int = 0
    host_key: asyncssh.SSHKey | None = None
    imported: list[str] = field(default_factory=list)
    platform: Platform = Platform.IOSXE  # IXM: no SCP server; the gateway copies with its own scp

    def has(self, kind: str) -> bool:
        return any(f.kind == kind for f in self.faults)

    @property
    def latency(self) -> float:
        delay = sum(f.value for f in self.faults if f.kind == "latency") / 1000
        return delay + (SLOW_SECONDS if self.has("slow") else 0.0)

    def answer(self, line: str) -> str:
        """The output of one command line, as IOS-XE prints it."""
        words = line.split()
        if not words:
            return ""
        text = " ".join(words).lower()
        if text.startswith(("terminal length", "terminal width")):
            return ""
        if text.startswith("show license"):
            return self._show(text.removeprefix("show license").strip())
        if text == "show clock":
            return f"*{fleet.LAB_NOW:%H:%M:%S}.000 UTC {fleet.LAB_NOW:%a %b %d %Y}"
        if text == "show privilege":
            return "Current privilege level is 15"
        if text.startswith("show running-config") and "scp" in text:
            return "" if self.has("scp-disabled") else "ip scp server enable"
        if text.startswith("license smart save usage"):
            return self._save(words)
        if text.startswith("license smart import"):
            return self._import(words[-1] if words[-1] != "flash:" else "")
        if text.startswith("verify /md5"):
            return self._md5(words[-1])
        if text.startswith("delete"):
            return self._delete(words[-1])
        if text.startswith("dir"):
            return "\n".join(
                f"  {p.stat().st_size:>10}  {p.name}" for p in sorted(self.flash.iterdir())
            )
        return f"% Invalid input detected at '^' marker.\n{line}"

    def _show(self, what: str) -> str:
        commands = {
            "status": ("status",),
            "summary": ("summary",),
            "udi": ("udi",),
            "rum id all": ("rum id all",),
            "tech support": captures.COMMANDS,
            "all": captures.COMMANDS,
        }
        wanted = commands.get(what)
        if wanted is None:
            return f"% Invalid input detected at '^' marker.\nshow license {what}"
        text = captures.render(self.state, wanted)
        # the capture writer adds the prompt lines a saved session has; a device prints none
        lines = [line for line in text.splitlines() if not line.startswith(f"{self.name}#")]
        return "\n".join(lines).strip("\n")

    def _file(self, name: str) -> Path | None:
        match = _FLASH.match(name) or _FLASH.match(f"flash:{name}")
        return self.flash / match["name"] if match else None

    async def copy(self, words: list[str], password: str) -> str:
        """The gateway's own ``scp local flash:<name> <user> <host[:port]> <path>`` and ``scp
        remote <user> <host[:port]> <path> flash:<name>`` (Wireless Gateway for LoRaWAN)."""
        if len(words) != 6 or words[1] not in ("local", "remote"):
            return "% Invalid input detected at '^' marker."
        local, (user, where, remote) = (
            (words[2], words[3:6]) if words[1] == "local" else (words[5], words[2:5])
        )
        path = self._file(local)
        host, _, port = where.partition(":")
        if path is None:
            return f"%Error parsing filename ({local})"
        try:
            async with asyncssh.connect(
                host,
                int(port or 22),
                username=user,
                password=password,
                known_hosts=None,
                client_keys=None,
                agent_path=None,
            ) as conn:
                if words[1] == "local":
                    await asyncssh.scp(str(path), (conn, remote))
                else:
                    await asyncssh.scp((conn, remote), str(path))
        except (OSError, asyncssh.Error) as exc:
            return f"%Error copying {local} ({exc})"
        return f"{path.stat().st_size} bytes copied"

    def _save(self, words: list[str]) -> str:
        target = self._file(words[-1]) if len(words) >= 7 and words[-2] == "file" else None
        if target is None:
            return "% Invalid input detected at '^' marker."
        if self.has("save-fails"):
            return "% Error: Failed to save the usage report (internal error)"
        if self.has("flash-full"):
            return f"%Error opening {words[-1]} (No space left on device)"
        target.write_bytes(self.usage)
        return ""

    def _md5(self, name: str) -> str:
        match = re.match(r"^\(?(?P<name>[^()\s]+)\)?$", name)
        path = self._file(match["name"]) if match else None
        if path is None or not path.is_file():
            return f"%Error opening {name} (No such file or directory)"
        digest = hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 - the device's own
        return f"verify /md5 ({match['name'] if match else name}) = {digest}"

    def _delete(self, name: str) -> str:
        path = self._file(name)
        if path is None or not path.is_file():
            return f"%Error deleting {name} (No such file or directory)"
        path.unlink()
        return ""

    def _import(self, name: str) -> str:
        path = self._file(name)
        if path is None or not path.is_file():
            return f"%Error opening {name} (No such file or directory)"
        if self.has("import-refused"):
            return "% Import Data failed: signature verification failed"
        try:
            doc = formats.read_xml(xml.parse(path.read_bytes()))
        except xml.XmlSyntaxError:
            doc = None
        if doc is None or not isinstance(doc.model, ImportFile):
            return "% Import Data failed: not an import file"
        self.state = _after_import(self.state, doc.model)
        self.imported.append(name)
        return "Import Data Successful"


def _after_import(state: DeviceState, ack: ImportFile) -> DeviceState:
    """What an ACK import changes: ACKed reports, the last ACK received, the next deadline."""
    named = {a.udi for a in ack.authorizations if a.udi is not None}
    if named and state.udi not in named:
        return state  # the device keeps nothing of another device's ACK
    acked = {e.report_id for e in rum_entries(ack) if e.udi in (None, state.udi)}
    made = import_time(ack)
    when = made.when if made else fleet.LAB_NOW
    reports = tuple(
        dataclasses.replace(r, state="ACK") if r.id in acked else r for r in state.reports
    )
    old = state.usage_reporting or UsageReporting()
    usage = dataclasses.replace(
        old,
        last_ack_received=captures.stamp(when),
        next_ack_deadline=captures.stamp(when + timedelta(days=fleet.ACK_WINDOW_DAYS)),
    )
    return dataclasses.replace(state, reports=reports, usage_reporting=usage)


class _Flash(asyncssh.SFTPServer):
    """A device's flash for SCP: ``bootflash:<name>`` is a file in its folder, nothing else."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], device: Device) -> None:
        super().__init__(chan, chroot=os.fsencode(device.flash))
        self.device = device

    def map_path(self, path: bytes) -> bytes:
        name = path.split(b":", 1)[-1].lstrip(b"/") if b":" in path else path.lstrip(b"/")
        return super().map_path(b"/" + name.rsplit(b"/", 1)[-1])

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        data = super().read(file_obj, offset, size)
        if self.device.has("cut") and isinstance(data, bytes) and offset == 0:
            self.connection.abort()  # the copy is cut short after its first block
            return data[: max(1, len(data) // 2)]
        assert isinstance(data, bytes)
        return data


class _Server(asyncssh.SSHServer):
    """Logins a device accepts: the lab's client key (or password), unless told to refuse."""

    def __init__(self, device: Device, client_key: asyncssh.SSHKey, password: str) -> None:
        self.device, self.client_key, self.password = device, client_key, password

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return (
            not self.device.has("auth")
            and username == USER
            and key.public_data == self.client_key.public_data
        )

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return not self.device.has("auth") and username == USER and password == self.password


async def _session(device: Device, process: asyncssh.SSHServerProcess[str]) -> None:
    """An exec request runs one command; a shell reads commands until ``exit``."""
    prompt = f"{device.name}#"
    try:
        if process.command:
            await asyncio.sleep(device.latency)
            process.stdout.write(device.answer(process.command) + "\n")
            process.exit(0)
            return
        process.stdout.write(f"\n{prompt}")
        while True:
            line = await process.stdin.readline()
            if not line or line.strip() in ("exit", "logout", "quit"):
                break
            await asyncio.sleep(device.latency)
            words = line.split()
            if device.platform is Platform.IXM and words[:1] == ["scp"]:
                process.stdout.write(f"{line.strip()}\nPassword: ")
                secret = (await process.stdin.readline()).strip()
                output = await device.copy(words, secret)
            else:
                output = device.answer(line.strip())
            process.stdout.write(f"{line.strip()}\n" + (output + "\n" if output else "") + prompt)
        process.exit(0)
    except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, BrokenPipeError, ConnectionError):
        process.exit(0)


@dataclass
class LabFleet:
    """The emulated devices of one fleet folder, listening on ``listen``."""

    folder: Path
    devices: list[Device]
    listen: str
    client_key: asyncssh.SSHKey
    password: str
    servers: list[asyncssh.SSHAcceptor] = field(default_factory=list)

    async def start(self) -> None:
        """Listen for every device, then write ``inventory.toml`` and ``known_hosts``."""
        for device in self.devices:
            served = (
                asyncssh.generate_private_key("ssh-ed25519")
                if device.has("hostkey")
                else device.host_key
            )
            scp = not device.has("scp-disabled") and device.platform is not Platform.IXM
            server = await asyncssh.create_server(
                lambda d=device: _Server(d, self.client_key, self.password),
                self.listen,
                0,
                server_host_keys=[served],
                process_factory=lambda p, d=device: _session(d, p),
                sftp_factory=(lambda chan, d=device: _Flash(chan, d)) if scp else None,
                allow_scp=scp,
                encoding="utf-8",
                login_timeout=30,
                keepalive_interval=0,
            )
            device.port = server.sockets[0].getsockname()[1]
            self.servers.append(server)
        self._write_site()

    def _write_site(self) -> None:
        lab = self.folder / LAB
        rows, hosts = [], []
        for device in self.devices:
            assert device.host_key is not None
            host = f"[{self.listen}]:{device.port}"
            hosts.append(f"{host} {device.host_key.export_public_key().decode().strip()}")
            udi = f'udi = "{device.state.udi}"\n' if device.state.udi else ""
            flash = "flash:" if device.platform is Platform.IXM else "bootflash:"
            rows.append(
                f'[[device]]\nname = "{device.name}"\nhost = "{self.listen}"\n'
                f'port = {device.port}\nplatform = "{device.platform}"\n'
                f'filesystem = "{flash}"\nuser = "{USER}"\n'
                f'key_file = "{lab / "client_ed25519"}"\n{udi}'
            )
        write_atomic(self.folder / "known_hosts", ("\n".join(hosts) + "\n").encode())
        write_atomic(
            self.folder / "inventory.toml",
            ("# written by 'airgap lab serve'\n\n" + "\n".join(rows)).encode(),
        )

    def close(self) -> None:
        for server in self.servers:
            server.close()


def _key(path: Path) -> asyncssh.SSHKey:
    """The private key at ``path``, made (owner-only) when it does not exist yet."""
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, key.export_private_key(), mode=0o600)
    write_atomic(path.with_name(path.name + ".pub"), key.export_public_key())
    return key


def load(
    folder: Path,
    listen: str = "127.0.0.1",
    faults: dict[str, tuple[Fault, ...]] | None = None,
    gateways: Iterable[str] = (),
) -> LabFleet:
    """The devices of a fleet folder (``before/<host>.txt``, ``usage/usage_<SN>.xml``);
    those named in ``gateways`` behave as Wireless Gateways for LoRaWAN (platform ixm)."""
    gateways = set(gateways)
    faults = faults or {}
    lab = folder / LAB
    captured = sorted((folder / "before").glob("*.txt")) if (folder / "before").is_dir() else []
    if not captured:
        raise InputError(
            "not a lab fleet",
            folder,
            "no before/*.txt captures",
            "make one with 'airgap lab fleet --out DIR'",
        )
    unknown = (set(faults) | gateways) - {p.stem for p in captured} - {"*"}
    if unknown:
        raise InputError("invalid --faults value", sorted(unknown)[0], "no such lab device")
    devices = []
    for path in captured:
        states = parse_capture(path.read_text(), str(path))
        merged = _merged(states) if states else None
        if merged is None or merged.udi is None:
            raise InputError("not a lab capture", path, "it names no device")
        usage = folder / "usage" / f"usage_{merged.udi.sn}.xml"
        flash = lab / "flash" / path.stem
        flash.mkdir(parents=True, exist_ok=True)
        device = Device(
            path.stem,
            merged,
            usage.read_bytes() if usage.is_file() else b"",
            flash,
            faults.get(path.stem, ()) + faults.get("*", ()),
            platform=Platform.IXM if path.stem in gateways else Platform.IOSXE,
        )
        device.host_key = _key(lab / "hostkeys" / path.stem)
        devices.append(device)
    client = _key(lab / "client_ed25519")
    secret = lab / "password"
    if not secret.exists():
        write_atomic(secret, hashlib.sha256(os.urandom(32)).hexdigest().encode(), mode=0o600)
    return LabFleet(folder, devices, listen, client, secret.read_text().strip())


def _merged(states: Iterable[DeviceState]) -> DeviceState:
    from airgap.state.devices import merge

    state = merge(states)
    return dataclasses.replace(
        state,
        kind="show-license-status",
        unparsed_lines=(),
        reports=tuple(Report(r.id, r.state, r.flag or "N", r.feature) for r in state.reports),
    )


async def serve(lab: LabFleet, ready: asyncio.Event | None = None) -> None:
    """Serve until cancelled."""
    await lab.start()
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        lab.close()
