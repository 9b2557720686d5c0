"""One SSH session to one device (DESIGN.md "Devices"): asyncssh with the host key pinned in a
known_hosts file, a small prompt reader over the device's shell, and SCP on and off its flash.

No screen-scraping stack sits on top: IOS-XE answers each command line with its output and the
prompt again, which a prompt reader of a few lines follows (netmiko and friends would add
dependencies and still need this project's own parsing of every output). An unknown or changed
host key is a trust failure and is never retried; a password comes only from a file that only
its owner can read, never from the inventory or the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from airgap.errors import AirgapError, ExitCode, TrustError
from airgap.inventory import InventoryDevice

PROMPT = re.compile(r"(?:^|\n)[\w.\-()/:@]+[#>][ \t]*$")
PASSWORD = re.compile(r"[Pp]assword:[ \t]*$")
MAX_OUTPUT = 64 << 20  # a tech support capture of a big stack is a few MB
PASSWORD_BYTES = 4096


class DeviceError(AirgapError):
    """The device could not be reached or did not do what was asked (exit 1 for that device)."""

    exit_code = ExitCode.FINDINGS


class HostKeyError(TrustError):
    """The device's host key is not the one known_hosts pins, or none is pinned (exit 4)."""


class RefusedError(TrustError):
    """A trust check refused the step before anything was copied: not the device the
    inventory names, an ACK for another device, a stale ACK (exit 4)."""


@dataclass
class Session:
    """A logged-in shell on one device."""

    device: InventoryDevice
    conn: asyncssh.SSHClientConnection
    process: asyncssh.SSHClientProcess[str]
    prompt: str
    fingerprint: str
    timeout: float

    async def run(self, command: str, password: str | None = None) -> str:
        """The output of one command line, without its echo and the prompt after it; a
        ``Password:`` the device asks on the way is answered with ``password`` (never shown)."""
        self.process.stdin.write(command + "\n")
        try:
            if password is not None:
                await asyncio.wait_for(
                    self.process.stdout.readuntil(PASSWORD, max_separator_len=40), self.timeout
                )
                self.process.stdin.write(password + "\n")
            wait = self.timeout * 4 if password is not None else self.timeout  # a copy runs
            text = await asyncio.wait_for(
                self.process.stdout.readuntil(PROMPT, max_separator_len=200), wait
            )
        except TimeoutError:
            raise DeviceError(
                "the device did not answer in time",
                self.device.name,
                f"{command!r}: no prompt after {self.timeout:g} s",
            ) from None
        except (asyncssh.Error, asyncio.IncompleteReadError, OSError) as exc:
            raise DeviceError(
                "the session ended", self.device.name, f"{command!r}: {_why(exc)}"
            ) from None
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if lines and lines[0].strip() == command.strip():
            lines = lines[1:]  # the device's echo of the command
        return "\n".join(lines[:-1]).strip("\n")  # the last line is the prompt

    async def fetch(self, remote: str, local: Path) -> None:
        """Copy ``remote`` (``bootflash:<name>``) off the device into ``local``."""
        try:
            await asyncio.wait_for(asyncssh.scp((self.conn, remote), str(local)), self.timeout * 4)
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise DeviceError(
                "the copy off the device failed",
                self.device.name,
                f"{remote}: {_why(exc)}",
                "is the SCP server on? (ip scp server enable)",
            ) from None

    async def put(self, local: Path, remote: str) -> None:
        """Copy ``local`` onto the device as ``remote``."""
        try:
            await asyncio.wait_for(asyncssh.scp(str(local), (self.conn, remote)), self.timeout * 4)
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise DeviceError(
                "the copy onto the device failed",
                self.device.name,
                f"{remote}: {_why(exc)}",
                "is the SCP server on? (ip scp server enable)",
            ) from None

    async def close(self) -> None:
        with contextlib.suppress(asyncssh.Error, OSError):
            self.process.stdin.write("exit\n")
        self.conn.close()
        await self.conn.wait_closed()


def _why(exc: BaseException) -> str:
    text = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


def password(device: InventoryDevice) -> str | None:
    """The password from ``password_file``, which only its owner may read (like ssh keys)."""
    if not device.password_file:
        return None
    path = Path(device.password_file).expanduser()
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise DeviceError("cannot read the password file", path, "not a regular file")
        if info.st_mode & 0o077:
            raise DeviceError(
                "refusing the password file",
                path,
                f"readable by others (mode {stat.S_IMODE(info.st_mode):o})",
                f"chmod 600 {path}",
            )
        with path.open("rb") as handle:
            data = handle.read(PASSWORD_BYTES + 1)
    except OSError as exc:
        raise DeviceError("cannot read the password file", path, _why(exc)) from None
    if len(data) > PASSWORD_BYTES:
        raise DeviceError("cannot read the password file", path, "too long for a password")
    return data.decode("utf-8", errors="strict").rstrip("\r\n")


async def open_session(
    device: InventoryDevice, known_hosts: Path, timeout: float = 30.0
) -> Session:
    """Log in to ``device``, checking its host key against ``known_hosts``, and wait for the
    prompt. Raises HostKeyError (exit 4) or DeviceError (unreachable, refused login)."""
    if not known_hosts.is_file():
        raise HostKeyError(
            "no known_hosts file",
            known_hosts,
            "host keys are pinned: give --known-hosts or AIRGAP_KNOWN_HOSTS",
        )
    options: dict[str, object] = {
        "known_hosts": str(known_hosts),
        "connect_timeout": timeout,
        "login_timeout": timeout,
        "x509_trusted_certs": None,
    }
    if device.user:
        options["username"] = device.user  # else the local user's name, as ssh does
    secret = password(device)
    if device.key_file:
        options["client_keys"] = [str(Path(device.key_file).expanduser())]
        options["agent_path"] = None
    elif secret is not None:
        options.update(password=secret, client_keys=None, agent_path=None)
    else:
        options["client_keys"] = None  # the ssh-agent only
        options["agent_path"] = os.environ.get("SSH_AUTH_SOCK")
    try:
        conn = await asyncio.wait_for(
            asyncssh.connect(device.host, device.port, **options), timeout * 2
        )
    except asyncssh.HostKeyNotVerifiable as exc:
        raise HostKeyError(
            "host key not trusted",
            f"{device.name} ({device.host}:{device.port})",
            f"{_why(exc)}: unknown or changed",
            "compare the key with the "
            "device ('show crypto key mypubkey rsa'); 'airgap inventory check "
            "--accept-new' records a new one",
        ) from None
    except asyncssh.PermissionDenied:
        raise DeviceError(
            "login refused",
            device.name,
            f"user {device.user or '(default)'}",
            "check the user, key_file or password_file",
        ) from None
    except TimeoutError:
        raise DeviceError(
            "unreachable", device.name, f"{device.host}:{device.port}: no answer in {timeout:g} s"
        ) from None
    except (OSError, asyncssh.Error) as exc:
        raise DeviceError(
            "unreachable", device.name, f"{device.host}:{device.port}: {_why(exc)}"
        ) from None
    key = conn.get_server_host_key()
    fingerprint = key.get_fingerprint() if key is not None else "unknown"
    try:
        process = await conn.create_process(term_type=None, encoding="utf-8", errors="replace")
        banner = await asyncio.wait_for(
            process.stdout.readuntil(PROMPT, max_separator_len=200), timeout
        )
    except (asyncssh.Error, OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        conn.close()
        raise DeviceError("no prompt from the device", device.name, _why(exc)) from None
    prompt = banner.replace("\r", "").rsplit("\n", 1)[-1].strip()
    session = Session(device, conn, process, prompt, fingerprint, timeout)
    await session.run("terminal length 0")
    return session
