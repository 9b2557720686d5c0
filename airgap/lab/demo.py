"""The demo's round trip (``airgap demo``): the whole offline cycle in a scratch folder.

Every step is a real ``airgap`` command run as the operator would type it, on one of two
hosts (the jump host inside the air gap, the internet PC outside), each with its own keys,
trusted-keys folder and audit ledger; the devices and CSSM are the lab's. The demo passes only
when every command exits as it should; ``--tamper media`` flips a byte on the "USB" to show
the verify step refusing it (exit 4).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from airgap.errors import InputError
from airgap.ledger.store import Step as LedgerStep

JUMP, INTERNET, LAB = "jump host", "internet PC", "lab"
HOMES = {JUMP: "jump", INTERNET: "internet"}  # each host's folder in the scratch folder
OPERATORS = {JUMP: "Jump host operator", INTERNET: "Internet PC operator"}


class Tamper(StrEnum):
    """Where the demo can tamper with what crosses (it must then stop with exit 4)."""

    MEDIA = "media"


SHOWN_LINES = 8  # of each command's output
LAB_CONFIG = """# A training host: simulated ACKs from 'airgap lab cssm' are accepted here.
[rules]
simulated-ack = "off"
"""


@dataclass
class Step:
    """One command of the round trip and how it went."""

    title: str
    side: str
    argv: list[str]
    expect: int = 0
    code: int | None = None
    seconds: float = 0.0
    output: str = ""  # stdout and stderr, for the narration
    stdout: str = ""
    number: int = 0  # its place in the round trip, from 1

    @property
    def ok(self) -> bool:
        return self.code == self.expect

    @property
    def command(self) -> str:
        shown = ["airgap", *self.argv[1:]] if self.argv[0] == "airgap" else self.argv
        return " ".join(f"'{a}'" if " " in a else a for a in shown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "side": self.side,
            "command": self.command,
            "exit_code": self.code,
            "expected": self.expect,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Demo:
    """The scratch folder, each host's environment, and the steps run so far."""

    root: Path
    narrate: Callable[[Step], None]  # each step as it ends, for the one watching
    say: Callable[[str], None]  # a remark between steps
    steps: list[Step] = field(default_factory=list)

    def env(self, side: str) -> dict[str, str]:
        """A host of its own: HOME, config, keys, trusted keys and ledger under root/<host>."""
        home = self.root / HOMES.get(side, HOMES[INTERNET])  # the lab works beside CSSM
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRGAP_")}
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local/share"),
            AIRGAP_SYSTEM_CONFIG=str(home / "no-system-config.toml"),
            AIRGAP_LEDGER=str(home / "ledger.jsonl"),
            AIRGAP_TRUSTED_KEYS=str(home / "trusted"),
            NO_COLOR="1",
        )
        return env

    def run(self, title: str, side: str, *argv: str, expect: int = 0) -> Step:
        """Run one command in the scratch folder and narrate it; stop the demo when it does
        not exit as expected."""
        step = Step(title, side, list(argv), expect, number=len(self.steps) + 1)
        command = [sys.executable, "-m", "airgap", *argv[1:]] if argv[0] == "airgap" else argv
        started = time.monotonic()
        done = subprocess.run(
            command, cwd=self.root, env=self.env(side), capture_output=True, text=True, check=False
        )
        step.seconds = time.monotonic() - started
        step.code, step.stdout = done.returncode, done.stdout
        step.output = (done.stdout + done.stderr).strip()
        self.steps.append(step)
        self.narrate(step)
        if not step.ok:
            raise Stop(step)
        return step


class Stop(Exception):
    """A step did not exit as it should: the demo ends there."""

    def __init__(self, step: Step) -> None:
        super().__init__(step.title)
        self.step = step


def round_trip(run: Demo, devices: int, tamper: str | None) -> None:
    for home in HOMES.values():
        config = run.root / home / ".config" / "airgap" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(LAB_CONFIG)
    run.say(
        "Two hosts, each with its own keys, trusted keys and ledger; both are training "
        "hosts that accept the lab's simulated ACKs. Each command runs with its host's "
        "settings in the environment, as an operator would set them once:"
    )
    for side, home in HOMES.items():
        run.say(
            f"  {side}: export HOME={home} AIRGAP_LEDGER={home}/ledger.jsonl "
            f"AIRGAP_TRUSTED_KEYS={home}/trusted  ({home}/.config/airgap/config.toml: "
            "simulated-ack off)"
        )
    run.run(
        "make the lab devices (lab fleet)",
        LAB,
        "airgap",
        "lab",
        "fleet",
        "--devices",
        str(devices),
        "--out",
        "devices",
    )
    with _served(run):
        _cycle(run, tamper)


SITE = ("--inventory", "devices/inventory.toml", "--known-hosts", "devices/known_hosts")


@contextlib.contextmanager
def _served(run: Demo) -> Iterator[None]:
    """The lab devices over real SSH on loopback (``airgap lab serve``) while the block runs."""
    command = [sys.executable, "-m", "airgap", "lab", "serve", "devices"]
    run.say(
        "$ airgap lab serve devices &   (the lab devices answer over SSH on 127.0.0.1; "
        "it writes devices/inventory.toml and devices/known_hosts)"
    )
    server = subprocess.Popen(
        command,
        cwd=run.root,
        env=run.env(LAB),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (run.root / "devices" / "known_hosts").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise InputError(
                    "the lab devices did not start",
                    run.root / "devices",
                    f"airgap lab serve exited {server.returncode}",
                )
            time.sleep(0.05)
        yield
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)


def _cycle(run: Demo, tamper: str | None) -> None:
    for side, home in HOMES.items():
        run.run(
            "make this host's operator key",
            side,
            "airgap",
            "key",
            "generate",
            "--out",
            f"{home}/keys/operator",
            "--no-passphrase",
        )
    for side in HOMES:
        for owner in (side, *(h for h in HOMES if h != side)):
            whose = "its own" if owner == side else "the other host's"
            run.run(
                f"trust {whose} operator key",
                side,
                "airgap",
                "key",
                "trust",
                f"{HOMES[owner]}/keys/operator.pub",
                "--name",
                OPERATORS[owner],
                "--role",
                "operator",
                "--yes",
            )
    run.run(
        "a second person's key: the approver",
        JUMP,
        "airgap",
        "key",
        "generate",
        "--out",
        "jump/keys/approver",
        "--no-passphrase",
    )
    for side in HOMES:
        run.run(
            "trust the approver's key",
            side,
            "airgap",
            "key",
            "trust",
            "jump/keys/approver.pub",
            "--name",
            "Release approver",
            "--role",
            "approver",
            "--yes",
        )
    run.run(
        "check the devices over SSH: host keys pinned, SCP on, UDIs",
        JUMP,
        "airgap",
        "inventory",
        "check",
        *SITE,
    )
    run.run(
        "the devices save their usage; copy it off over SSH",
        JUMP,
        "airgap",
        "collect",
        *SITE,
        "--out",
        "jump/collected",
    )
    run.run("validate the usage files", JUMP, "airgap", "validate", "jump/collected", "--record")
    usage = sorted(
        str(p.relative_to(run.root)) for p in (run.root / "jump/collected").glob("*/usage-*.xml")
    )
    created = run.run(
        "bundle and sign them (outbound)",
        JUMP,
        "airgap",
        "bundle",
        "create",
        "--out",
        "outbound.tar.gz",
        *usage,
        "--key",
        "jump/keys/operator.key",
    )
    found = re.search(r"bundle (AG\S+)", created.stdout)
    outbound = found[1] if found else "?"
    run.run(
        "a second person approves the release (two-person rule)",
        JUMP,
        "airgap",
        "bundle",
        "approve",
        "outbound.tar.gz",
        "--key",
        "jump/keys/approver.key",
        "--note",
        "device list checked",
    )
    (run.root / "usb").mkdir()
    run.run(
        "copy to the USB stick, read back",
        JUMP,
        "airgap",
        "media",
        "write",
        "outbound.tar.gz",
        "usb",
    )
    approval = next((run.root).glob("outbound.tar.gz.approved-*.minisig"))
    shutil.copyfile(approval, run.root / "usb" / approval.name)
    run.say(f"$ cp {approval.name} usb/   (the approval travels with the bundle)")
    if tamper == "media":
        target = run.root / "usb" / "outbound.tar.gz"
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
        run.say(f"TAMPER: flipped one bit of usb/outbound.tar.gz at byte {len(data) // 2}.")
    scanned = _scan(run, INTERNET)
    run.run(
        "verify the bundle: signature, manifest, files, one approval",
        INTERNET,
        "airgap",
        "bundle",
        "verify",
        "usb/outbound.tar.gz",
        "--require-approvals",
        "1",
        "--approver-role",
        "approver",
    )
    run.run(
        "extract it",
        INTERNET,
        "airgap",
        "bundle",
        "extract",
        "usb/outbound.tar.gz",
        "internet/received",
        *scanned,
    )
    _stock_checks(run)
    received = sorted(
        str(p.relative_to(run.root)) for p in (run.root / "internet/received/data").rglob("*.xml")
    )
    run.run(
        "pack a CSLU-style upload archive",
        INTERNET,
        "airgap",
        "cslu",
        "pack",
        *received,
        "--out",
        "internet/upload.tar.gz",
        "--virtual-account",
        "LAB-PLANT",
    )
    run.run(
        "record the upload to CSSM",
        INTERNET,
        "airgap",
        "ledger",
        "record",
        "--step",
        LedgerStep.CSSM_UPLOAD,
        "--material",
        "internet/upload.tar.gz",
        "--note",
        "lab CSSM",
    )
    run.run(
        "CSSM answers (simulated)",
        LAB,
        "airgap",
        "lab",
        "cssm",
        "internet/upload.tar.gz",
        "--out",
        "cssm",
    )
    acks = sorted(str(p.relative_to(run.root)) for p in (run.root / "cssm").glob("ACK_*"))
    run.run(
        "record the download from CSSM",
        INTERNET,
        "airgap",
        "ledger",
        "record",
        "--step",
        LedgerStep.CSSM_DOWNLOAD,
        *[a for ack in acks for a in ("--product", ack)],
    )
    run.run(
        "bundle the ACKs (inbound, answering the outbound bundle)",
        INTERNET,
        "airgap",
        "bundle",
        "create",
        "--out",
        "inbound.tar.gz",
        *acks,
        "--direction",
        "inbound",
        "--answers",
        outbound,
        "--key",
        "internet/keys/operator.key",
    )
    run.run(
        "copy to the USB stick, read back",
        INTERNET,
        "airgap",
        "media",
        "write",
        "inbound.tar.gz",
        "usb",
    )
    scanned = _scan(run, JUMP)
    run.run("verify the ACK bundle", JUMP, "airgap", "bundle", "verify", "usb/inbound.tar.gz")
    run.run(
        "extract it",
        JUMP,
        "airgap",
        "bundle",
        "extract",
        "usb/inbound.tar.gz",
        "jump/received",
        *scanned,
    )
    for answer in sorted((run.root / "jump/received/data").rglob("ACK_*.tar.gz")):
        run.run(
            "unpack CSSM's ACK archive",
            JUMP,
            "airgap",
            "cslu",
            "unpack",
            str(answer.relative_to(run.root)),
            "jump/acks",
        )
    run.run("validate the ACKs", JUMP, "airgap", "validate", "jump/acks")
    unpacked = sorted(
        str(p.relative_to(run.root)) for p in (run.root / "jump/acks").rglob("*") if p.is_file()
    )
    run.run(
        "import each ACK on its device over SSH, and prove it",
        JUMP,
        "airgap",
        "push",
        *unpacked,
        *SITE,
        "--captures",
        "jump/imports",
    )
    run.run(
        "did the import take effect?",
        JUMP,
        "airgap",
        "diff",
        "jump/imports/before",
        "jump/imports/after",
        "--record",
    )
    run.run(
        "reconcile reports, ACKs and devices",
        JUMP,
        "airgap",
        "reconcile",
        "jump/collected",
        "jump/acks",
        "jump/imports/after",
    )
    run.run(
        "when must each device report next?",
        JUMP,
        "airgap",
        "deadlines",
        "jump/imports/after",
        "--today",
        _lab_today(),
    )
    for side in HOMES:
        run.run("verify this host's audit ledger", side, "airgap", "ledger", "verify")
    run.run(
        "the audit report for the inspector (one offline HTML page)",
        JUMP,
        "airgap",
        "audit",
        "report",
        "--since",
        "2000-01-01",
        "--out",
        "jump/audit-report.html",
        "--captures",
        "jump/imports/after",
    )


def _scan(run: Demo, side: str) -> list[str]:
    """The stick scanned for anything unexpected, and for malware when ClamAV is here; the
    flags ``bundle extract`` then needs (none once a clean scan is recorded)."""
    args = ["airgap", "media", "scan", "usb"]
    extract: list[str] = []
    if shutil.which("clamscan") and shutil.which("sigtool"):
        database = run.root / HOMES[side] / "av"
        database.mkdir(parents=True, exist_ok=True)
        marker = database / "marker.txt"
        marker.write_text("airgap demo: a file no medium should carry\n")
        signature = subprocess.run(
            ["sigtool", "--md5", str(marker)], capture_output=True, text=True, check=False
        ).stdout
        (database / "demo.hdb").write_text(signature.replace("marker.txt", "Airgap.Demo"))
        marker.unlink()
        run.say(
            f"A demo signature database in {HOMES[side]}/av/ (a site carries ClamAV's own "
            "databases inbound as a signed bundle)."
        )
        args += ["--av", "clamscan", "--av-db", f"{HOMES[side]}/av"]
    else:
        run.say("ClamAV is not installed: no malware scan, so extracting needs --no-scan-required.")
        extract = ["--no-scan-required"]
    run.run("scan the stick: unexpected files, and malware", side, *args)
    return extract


def _lab_today() -> str:
    from airgap.lab.fleet import LAB_NOW

    return f"{LAB_NOW:%Y-%m-%d}"


def _stock_checks(run: Demo) -> None:
    """The same checks with stock tools, when they are installed: no airgap needed."""
    if shutil.which("minisign"):
        run.run(
            "stock minisign checks the signature",
            INTERNET,
            "minisign",
            "-V",
            "-p",
            "jump/keys/operator.pub",
            "-m",
            "usb/outbound.tar.gz",
        )
    else:
        run.say("minisign is not installed: skipping the stock signature check.")
    if shutil.which("sha256sum"):
        run.run(
            "stock sha256sum checks the manifest",
            INTERNET,
            "sh",
            "-c",
            "cd internet/received && sha256sum -c --quiet manifest-sha256.txt",
        )
