"""The one-shot receiver: one login, one file, one direction."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest

from airgap.devices import receiver


def scp_to(
    shot: receiver.OneShot,
    local: Path,
    remote: str,
    *,
    user: str | None = None,
    password: str | None = None,
) -> None:
    async def send() -> None:
        async with asyncssh.connect(
            shot.host,
            shot.port,
            username=user or shot.user,
            password=password or shot.password,
            known_hosts=None,
            client_keys=None,
            agent_path=None,
        ) as conn:
            await asyncssh.scp(str(local), (conn, remote))

    asyncio.get_event_loop().run_until_complete(send())


def test_only_the_expected_file_from_the_one_login(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    spool = tmp_path / "spool"
    shot = loop.run_until_complete(receiver.receive("127.0.0.1", "report.xml", spool))
    try:
        source = tmp_path / "report.xml"
        source.write_bytes(b"<smartLicense/>")
        other = tmp_path / "other.xml"
        other.write_bytes(b"x")
        with pytest.raises((asyncssh.Error, OSError)):
            scp_to(shot, source, "/report.xml", password="wrong")
        with pytest.raises((asyncssh.Error, OSError)):
            scp_to(shot, other, "/other.xml")
        with pytest.raises((asyncssh.Error, OSError)):
            scp_to(shot, source, "/../escape.xml")
        assert sorted(p.name for p in spool.iterdir()) == []
        scp_to(shot, source, "/report.xml")
        assert (spool / "report.xml").read_bytes() == b"<smartLicense/>"
        assert shot.done.is_set()
        assert not (tmp_path / "escape.xml").exists()
    finally:
        shot.close()
        loop.close()
