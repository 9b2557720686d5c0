"""An inventory's platform is read once, into :class:`Platform`: each word the inventory may
hold names its member, none means IOS-XE, and any other word stays the clear error (exit 3)
naming the file, the device and the words it may be."""

from __future__ import annotations

from pathlib import Path

import pytest

from airgap.inventory import Platform, load
from tests.conftest import Cli


def inventory(tmp_path: Path, platform: str | None) -> Path:
    """An inventory of one device, with ``platform = <platform>`` as TOML when given."""
    line = f"platform = {platform}\n" if platform is not None else ""
    path = tmp_path / "site.toml"
    path.write_text(f'[[device]]\nname = "sw-a"\nhost = "192.0.2.10"\n{line}')
    return path


@pytest.mark.parametrize(
    ("word", "member"),
    [('"iosxe"', Platform.IOSXE), ('"nxos"', Platform.NXOS), ('"ixm"', Platform.IXM)],
)
def test_each_platform_word_reads_as_its_member(
    tmp_path: Path, word: str, member: Platform
) -> None:
    (device,) = load(inventory(tmp_path, word))
    assert device.platform is member
    assert f'"{device.platform}"' == word  # the same word, as headers and messages show it


def test_no_platform_is_iosxe(tmp_path: Path) -> None:
    (device,) = load(inventory(tmp_path, None))
    assert device.platform is Platform.IOSXE


@pytest.mark.parametrize("word", ['"junos"', '"IOSXE"', "7", '["ixm"]'])
def test_another_platform_is_the_clear_error(tmp_path: Path, cli: Cli, word: str) -> None:
    path = inventory(tmp_path, word)
    (tmp_path / "known_hosts").write_text("")
    run = cli("inventory", "check", "--inventory", path, "--known-hosts", tmp_path / "known_hosts")
    assert run.code == 3, run.out + run.err
    assert run.out == ""
    assert run.err.splitlines()[0] == (
        f"error: invalid inventory: {path} - device 1: sw-a: "
        "'platform' must be one of iosxe, nxos, ixm"
    )
