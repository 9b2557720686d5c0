"""A one-shot SSH/SCP endpoint on the jump host, for devices that copy files themselves.

Cisco's Wireless Gateway for LoRaWAN (platform ``ixm``) has no SCP server: its guide has the
gateway run ``scp local flash:report <user> <host> <path>`` toward a host, and ``scp remote
<user> <host> <path> flash:<name>`` to fetch a file. For the length of one copy airgap listens on
one address, accepts one login (a user and password made for this copy alone), and allows
exactly one file: written into a private spool folder (``receive``), or read from it
(``offer``). Anything else the client asks for is refused; the endpoint closes after the copy.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

TIMEOUT = 120.0


@dataclass
class OneShot:
    """Where and how the device logs in for its copy, and the file that may be copied."""

    host: str
    port: int
    user: str
    password: str
    name: str
    spool: Path
    done: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncssh.SSHAcceptor | None = None

    @property
    def address(self) -> str:
        """The host the device names: ``host``, or ``host:port`` off port 22."""
        return self.host if self.port == 22 else f"{self.host}:{self.port}"

    @property
    def path(self) -> str:
        """The remote path the device names in its ``scp`` command."""
        return f"/{self.name}"

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


class _Spool(asyncssh.SFTPServer):
    """One file in a private folder: only its name, only the one direction."""

    def __init__(
        self, chan: asyncssh.SSHServerChannel[bytes], shot: OneShot, writing: bool
    ) -> None:
        super().__init__(chan, chroot=os.fsencode(shot.spool))
        self.shot, self.writing = shot, writing

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        wants_write = bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT))
        if path.rsplit(b"/", 1)[-1] != os.fsencode(self.shot.name) or wants_write != self.writing:
            raise asyncssh.SFTPPermissionDenied("only the one expected file")
        return super().open(path, pflags, attrs)

    def close(self, file_obj: object) -> None:
        super().close(file_obj)
        self.shot.done.set()


class _Login(asyncssh.SSHServer):
    """Only the one-time user with its one-time password."""

    def __init__(self, shot: OneShot) -> None:
        self.shot = shot

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return secrets.compare_digest(username, self.shot.user) and secrets.compare_digest(
            password, self.shot.password
        )


async def _listen(bind: str, name: str, spool: Path, writing: bool) -> OneShot:
    spool.mkdir(parents=True, exist_ok=True, mode=0o700)
    shot = OneShot(
        bind, 0, f"airgap-{secrets.token_hex(4)}", secrets.token_urlsafe(24), name, spool
    )
    shot.server = await asyncssh.create_server(
        lambda: _Login(shot),
        bind,
        0,
        server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
        sftp_factory=lambda chan: _Spool(chan, shot, writing),
        allow_scp=True,
        login_timeout=TIMEOUT,
    )
    shot.port = shot.server.sockets[0].getsockname()[1]
    return shot


async def receive(bind: str, name: str, spool: Path) -> OneShot:
    """An endpoint that accepts ``name`` into ``spool``, once."""
    return await _listen(bind, name, spool, writing=True)


async def offer(bind: str, path: Path) -> OneShot:
    """An endpoint from which the device may read ``path``, once."""
    return await _listen(bind, path.name, path.parent, writing=False)
