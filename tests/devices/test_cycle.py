"""The device end over real SSH on loopback: the emulated fleet (``airgap lab serve``) runs in
a thread of the test process, and ``collect``, ``push`` and ``inventory check`` run through
the real CLI against it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airgap.formats.common import Udi
from airgap.lab import cssm, fleet, serve
from tests.conftest import Cli

DEVICES = 3


class Site:
    """A lab fleet served in a background thread, and where its files are."""

    def __init__(
        self, folder: Path, faults: str = "", gateways: tuple[str, ...] | list[str] = ()
    ) -> None:
        self.folder = folder
        self.lab = serve.load(folder, faults=serve.parse_faults(faults), gateways=gateways)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def main() -> None:
            await self.lab.start()
            ready.set()
            self.stop = asyncio.Event()
            await self.stop.wait()
            self.lab.close()

        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(main(),), daemon=True
        )
        self.thread.start()
        assert ready.wait(30), "the lab fleet did not start"

    @property
    def flags(self) -> list[str]:
        return [
            "--inventory",
            str(self.folder / "inventory.toml"),
            "--known-hosts",
            str(self.folder / "known_hosts"),
        ]

    def name(self, number: int) -> str:
        return sorted(d.name for d in self.lab.devices)[number]

    def flash(self, name: str) -> list[str]:
        return sorted(p.name for p in (self.folder / serve.LAB / "flash" / name).iterdir())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


@pytest.fixture
def made(tmp_path: Path) -> Path:
    folder = tmp_path / "fleet"
    fleet.write(folder, DEVICES, 1, jobs=1)
    return folder


@pytest.fixture
def site(made: Path) -> Iterator[Site]:
    served = Site(made)
    yield served
    served.close()


def collect(cli: Cli, site: Site, out: Path, *flags: str) -> tuple[int, list[dict[str, object]]]:
    run = cli("collect", *site.flags, "--out", out, "--format", "json", "--timeout", "5", *flags)
    assert "Traceback" not in run.err
    return run.code, json.loads(run.out)["results"]


def test_a_whole_cycle_takes_effect_on_every_device(site: Site, cli: Cli, tmp_path: Path) -> None:
    usage, acks = tmp_path / "usage", tmp_path / "acks"
    code, results = collect(cli, site, usage)
    assert code == 0 and [r["status"] for r in results] == ["done"] * DEVICES
    for result in results:
        folder = usage / str(result["device"])
        (capture,) = folder.glob("before-*.txt")
        assert capture.read_text().startswith("! airgap capture\n! device: ")
        assert f"! udi: {result['udi']}" in capture.read_text()
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no partial file
        assert site.flash(str(result["device"])) == []  # deleted from flash
    state = cli("state", "--format", "json", usage)
    assert {s["identified_by"] for s in json.loads(state.out)["results"]} == {"udi"}
    assert cli("lab", "cssm", usage, acks).code == 0
    pushed = cli(
        "push",
        *sorted(acks.glob("ACK_*.xml")),
        *site.flags,
        "--lab",
        "--captures",
        tmp_path / "captures",
        "--format",
        "json",
    )
    assert pushed.code == 0, pushed.out + pushed.err
    results = json.loads(pushed.out)["results"]
    assert [r["verdict"] for r in results] == ["took effect"] * DEVICES
    after = cli(
        "diff",
        "--format",
        "json",
        tmp_path / "captures" / "before",
        tmp_path / "captures" / "after",
    )
    assert after.code == 0, after.out
    assert {d["verdict"] for d in json.loads(after.out)["results"]} == {"took effect"}


def test_collect_again_skips_what_is_done(site: Site, cli: Cli, tmp_path: Path) -> None:
    collect(cli, site, tmp_path / "u")
    code, results = collect(cli, site, tmp_path / "u")
    assert code == 0 and {r["status"] for r in results} == {"skipped"}
    code, results = collect(cli, site, tmp_path / "u", "--again")
    assert code == 0 and {r["status"] for r in results} == {"done"}


@pytest.mark.parametrize(
    ("fault", "status", "code", "words"),
    [
        ("auth", "failed", 1, "login refused"),
        ("save-fails", "failed", 1, "did not save its usage"),
        ("flash-full", "failed", 1, "No space left on device"),
        ("scp-disabled", "failed", 1, "copy off the device failed"),
        ("cut", "failed", 1, "copy"),
        ("slow", "failed", 1, "did not answer in time"),
        ("hostkey", "refused", 4, "host key not trusted"),
    ],
)
def test_each_fault_stops_only_its_device(
    made: Path, cli: Cli, tmp_path: Path, fault: str, status: str, code: int, words: str
) -> None:
    names = sorted(p.stem for p in (made / "before").glob("*.txt"))
    served = Site(made, f"{names[1]}={fault}")
    try:
        out = tmp_path / "usage"
        flags = ("--timeout", "1") if fault == "slow" else ()
        run = cli("collect", *served.flags, "--out", out, "--format", "json", *flags)
        results = {r["device"]: r for r in json.loads(run.out)["results"]}
        assert run.code == code
        bad = results[names[1]]
        assert bad["status"] == status and words in bad["message"], bad
        assert [results[n]["status"] for n in (names[0], names[2])] == ["done", "done"]
        assert not (out / names[1]).exists() or not list((out / names[1]).iterdir())
    finally:
        served.close()


def test_a_foreign_ack_is_refused_before_any_copy(site: Site, cli: Cli, tmp_path: Path) -> None:
    stranger = Udi("C9300-24UX", "FCW0000STRANGE")
    ack = tmp_path / "ACK_x.xml"
    ack.write_bytes(
        cssm.ack_xml(stranger, [(1, stranger)], "c0ffee", datetime(2026, 11, 1, tzinfo=UTC))
    )
    run = cli("push", ack, *site.flags, "--lab", "--format", "json")
    assert run.code == 4
    (result,) = json.loads(run.out)["results"]
    assert result["status"] == "refused" and "foreign ACK" in result["message"]
    assert all(site.flash(d.name) == [] for d in site.lab.devices)


def test_a_stale_ack_is_refused_before_any_copy(site: Site, cli: Cli, tmp_path: Path) -> None:
    device = site.lab.devices[0]
    assert device.state.udi is not None
    ack = tmp_path / "ACK_old.xml"  # older than the lab devices' last ACK received
    ack.write_bytes(cssm.ack_xml(device.state.udi, [], "c0ffee", datetime(2026, 1, 1, tzinfo=UTC)))
    run = cli("push", ack, *site.flags, "--lab", "--format", "json")
    (result,) = json.loads(run.out)["results"]
    assert run.code == 4 and "stale ACK" in result["message"]
    assert site.flash(device.name) == []


def test_an_import_without_the_success_text_exits_1(made: Path, cli: Cli, tmp_path: Path) -> None:
    names = sorted(p.stem for p in (made / "before").glob("*.txt"))
    served = Site(made, f"{names[0]}=import-refused")
    try:
        usage, acks = tmp_path / "usage", tmp_path / "acks"
        collect(cli, served, usage)
        cli("lab", "cssm", usage, acks)
        run = cli(
            "push", *sorted(acks.glob("ACK_*.xml")), *served.flags, "--lab", "--format", "json"
        )
        results = {r["device"]: r for r in json.loads(run.out)["results"]}
        assert run.code == 1
        assert "no 'Import Data Successful'" in str(results[names[0]]["message"])
        assert [results[n]["verdict"] for n in names[1:]] == ["took effect"] * 2
    finally:
        served.close()


def test_dry_run_touches_nothing(site: Site, cli: Cli, tmp_path: Path) -> None:
    usage, acks = tmp_path / "usage", tmp_path / "acks"
    collect(cli, site, usage)
    cli("lab", "cssm", usage, acks)
    run = cli("push", *sorted(acks.glob("ACK_*.xml")), *site.flags, "--dry-run", "--lab")
    assert run.code == 0 and run.out.count("planned") == DEVICES
    assert all(site.flash(d.name) == [] for d in site.lab.devices)
    assert all(d.imported == [] for d in site.lab.devices)


def test_inventory_check_and_accept_new(
    site: Site, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = cli("inventory", "check", *site.flags)
    assert run.code == 0 and run.out.count("ok") == DEVICES
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    inventory = str(site.folder / "inventory.toml")
    refused = cli("inventory", "check", "--inventory", inventory, "--known-hosts", empty)
    assert refused.code == 4 and "host key not trusted" in refused.out
    ledger = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("AIRGAP_LEDGER", str(ledger))
    accepted = cli(
        "inventory", "check", "--inventory", inventory, "--known-hosts", empty, "--accept-new"
    )
    assert accepted.code == 0, accepted.out + accepted.err
    assert len(empty.read_text().splitlines()) == DEVICES
    steps = [json.loads(line)["step"] for line in ledger.read_text().splitlines()]
    assert steps == ["host.key.accept"] * DEVICES


def test_a_changed_host_key_is_never_accepted(made: Path, cli: Cli) -> None:
    names = sorted(p.stem for p in (made / "before").glob("*.txt"))
    served = Site(made, f"{names[0]}=hostkey")
    try:
        run = cli("inventory", "check", *served.flags, "--accept-new")
        assert run.code == 4 and "host key not trusted" in run.out
    finally:
        served.close()


def test_a_gateway_copies_through_a_one_shot_receiver(made: Path, cli: Cli, tmp_path: Path) -> None:
    """platform ixm: no SCP server on the device; it copies with its own scp command toward a
    one-shot endpoint on the jump host, and the whole cycle still takes effect."""
    names = sorted(p.stem for p in (made / "before").glob("*.txt"))
    served = Site(made, gateways=[names[0]])
    try:
        usage, acks = tmp_path / "usage", tmp_path / "acks"
        inventory = (made / "inventory.toml").read_text()
        assert 'platform = "ixm"' in inventory and 'filesystem = "flash:"' in inventory
        code, results = collect(cli, served, usage)
        assert code == 0, results
        (usage_file,) = (usage / names[0]).glob("usage-*.xml")
        assert usage_file.read_bytes().startswith(b"<smartLicense>")
        assert not [p for p in (usage / names[0]).iterdir() if p.name.startswith(".")]
        cli("lab", "cssm", usage, acks)
        run = cli(
            "push", *sorted(acks.glob("ACK_*.xml")), *served.flags, "--lab", "--format", "json"
        )
        assert run.code == 0, run.out
        pushed = {r["device"]: r for r in json.loads(run.out)["results"]}
        assert pushed[names[0]]["verdict"] == "took effect"
        assert served.lab.devices[0].imported  # imported from its own flash
    finally:
        served.close()


def test_ctrl_c_keeps_what_finished_and_names_the_devices_left(made: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    served = Site(made, "*=latency:150")
    try:
        out = tmp_path / "usage"
        command = [
            sys.executable,
            "-m",
            "airgap",
            "collect",
            *served.flags,
            "--out",
            str(out),
            "--jobs",
            "1",
        ]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not list(out.glob("*/before-*.txt")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # the first device deletes its remote file; the second has begun
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
        assert child.returncode == 130, stdout + stderr
        assert "Traceback" not in stderr
        rows = dict(line.split()[:2][::-1] for line in stdout.splitlines())
        assert "done" in rows.values() and "interrupted" in rows.values(), stdout
        assert "devices left:" in stderr
        assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no partial copy
    finally:
        served.close()


def test_an_unreachable_device_fails_alone(site: Site, cli: Cli, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(
        (site.folder / "inventory.toml").read_text()
        + f'\n[[device]]\nname = "gone"\nhost = "127.0.0.1"\nport = {closed}\n'
    )
    run = cli(
        "collect",
        "--inventory",
        inventory,
        "--known-hosts",
        site.folder / "known_hosts",
        "--out",
        tmp_path / "u",
        "--format",
        "json",
        "--timeout",
        "5",
    )
    results = {r["device"]: r for r in json.loads(run.out)["results"]}
    assert run.code == 1 and results["gone"]["status"] == "failed"
    assert "unreachable" in str(results["gone"]["message"])
    assert [r["status"] for name, r in results.items() if name != "gone"] == ["done"] * DEVICES


def test_known_hosts_from_the_user_config(
    site: Site, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "xdg" / "airgap" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'known_hosts = "{site.folder / "known_hosts"}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    run = cli("inventory", "check", "--inventory", site.folder / "inventory.toml")
    assert run.code == 0, run.out + run.err
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    missing = cli("inventory", "check", "--inventory", site.folder / "inventory.toml")
    assert missing.code == 3 and "no known_hosts file" in missing.err
