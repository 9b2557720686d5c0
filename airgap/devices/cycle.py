"""The steps an operator types on every device, carried out over SSH for a whole inventory.

``check`` (``airgap inventory check``), ``collect`` (``airgap collect``) and ``push`` (``airgap
push``) each take typed options and a recorder for the ledger, run the devices concurrently
(bounded by ``jobs``) on one event loop, and return one :class:`DeviceResult` per device: a
device that fails never stops the others, and on Ctrl-C what finished stays and the rest are
named as interrupted. Nothing partial ever lands in an output folder: a copy goes to a hidden
temporary name beside its target, is checked (the device's own MD5 where the platform has one,
then validation) and only then renamed into place.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from airgap import formats, xml
from airgap.devices.header import capture_header
from airgap.devices.session import (
    DeviceError,
    HostKeyError,
    RefusedError,
    Session,
    open_session,
)
from airgap.errors import AirgapError, ExitCode, InputError
from airgap.findings import Level
from airgap.formats.common import Udi
from airgap.formats.imports import ImportFile, rum_entries
from airgap.fsutil import place, write_atomic
from airgap.inventory import InventoryDevice, Platform
from airgap.ledger.store import Result, Step
from airgap.state.deadlines import import_time
from airgap.state.devices import merge
from airgap.state.diff import Verdict, verdict
from airgap.state.model import DeviceState
from airgap.state.parse import parse_capture

BEFORE = [
    "show license status",
    "show license summary",
    "show license rum id all",
    "show license udi",
]
AFTER = ["show license status", "show license rum id all", "show license udi"]
SUCCESS = {
    Platform.IOSXE: "Import Data Successful",
    Platform.NXOS: "Import Data Successful",
    Platform.IXM: "Import Data Successful",
}
_MD5 = re.compile(r"=\s*(?P<hex>[0-9a-fA-F]{32})\s*$", re.M)
_REPORTS = re.compile(r"^(all|unreported|days:(?P<days>[1-9]\d{0,4}))$")


class Status(StrEnum):
    """What became of one device."""

    DONE = "done"
    PLANNED = "planned"  # --dry-run
    SKIPPED = "skipped"  # done in an earlier run
    REFUSED = "refused"  # a trust check failed: nothing was copied
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class DeviceResult:
    """One device's outcome, and what it rests on."""

    device: str
    status: Status
    exit_code: int
    message: str
    files: tuple[str, ...] = ()
    udi: str | None = None
    host_key: str | None = None
    verdict: Verdict | None = None
    ack: str | None = None
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "status": str(self.status),
            "exit_code": self.exit_code,
            "message": self.message,
            "files": list(self.files),
            "udi": self.udi,
            "host_key": self.host_key,
            "verdict": str(self.verdict) if self.verdict else None,
            "ack": self.ack,
            "hint": self.hint,
        }


class Recorder(Protocol):
    """Records one step in the audit ledger (a no-op when no ledger is configured)."""

    def __call__(
        self,
        step: str,
        *,
        device: str,
        materials: Mapping[str, str] | None = None,
        products: Mapping[str, str] | None = None,
        note: str = "",
        result: Result = Result.OK,
    ) -> object: ...


def no_ledger(
    step: str,
    *,
    device: str,
    materials: Mapping[str, str] | None = None,
    products: Mapping[str, str] | None = None,
    note: str = "",
    result: Result = Result.OK,
) -> None:
    """The recorder when no ledger is configured."""


def reports_argument(text: str) -> str:
    """``--reports all|unreported|days:N`` as the device's words (``days 30``)."""
    match = _REPORTS.match(text)
    if match is None:
        raise InputError("invalid --reports value", text, "expected all, unreported or days:N")
    return f"days {match['days']}" if match["days"] else text


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _failed(device: InventoryDevice, exc: AirgapError, **known: Any) -> DeviceResult:
    status = Status.REFUSED if exc.exit_code == ExitCode.TRUST else Status.FAILED
    why = f"{exc.what}: {exc.why}" if exc.why else exc.what
    return DeviceResult(device.name, status, int(exc.exit_code), why, hint=exc.hint, **known)


def _unheard(_: DeviceResult) -> None:
    return None


Done = Callable[[DeviceResult], None]
"""Told each device's result as it finishes (a running count on the terminal)."""


def run_all(
    devices: Sequence[InventoryDevice],
    jobs: int,
    one: Callable[[InventoryDevice], Awaitable[DeviceResult]],
    done: Done = _unheard,
) -> list[DeviceResult]:
    """Every device through ``one``, ``jobs`` at a time, in inventory order; ``done`` hears
    each as it finishes. On Ctrl-C the finished results stay and every other device is
    ``interrupted``."""
    results: dict[str, DeviceResult] = {}
    limit = asyncio.Semaphore(max(1, jobs))

    async def bounded(device: InventoryDevice) -> None:
        async with limit:
            try:
                results[device.name] = await one(device)
            except AirgapError as exc:
                results[device.name] = _failed(device, exc)
            except OSError as exc:  # the output folder: full, read-only, gone
                results[device.name] = _failed(
                    device, DeviceError("cannot write", exc.filename, exc.strerror or str(exc))
                )
            done(results[device.name])

    async def main() -> None:
        await asyncio.gather(*(bounded(d) for d in devices))

    interrupted = False
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        interrupted = True
    found = [
        results.get(d.name)
        or DeviceResult(d.name, Status.INTERRUPTED, 130, "interrupted before it finished")
        for d in devices
    ]
    if interrupted:
        raise Interrupted(found)
    return found


class Interrupted(AirgapError):
    """Ctrl-C: the results of the devices that finished, and those left (exit 130)."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, results: list[DeviceResult]) -> None:
        left = [r.device for r in results if r.status is Status.INTERRUPTED]
        super().__init__("interrupted", None, f"{len(left)} devices left: {', '.join(left)}")
        self.results = results


# ---- capturing ----------------------------------------------------------------------------


async def capture(session: Session, commands: Iterable[str]) -> tuple[str, DeviceState | None]:
    """The session's commands as one capture (prompt lines kept), and the device state it
    shows."""
    parts = []
    for command in commands:
        output = await session.run(command)
        parts.append(f"{session.prompt}{command}\n{output}\n")
    text = "".join(parts) + session.prompt + "\n"
    states = parse_capture(text)
    return text, merge(states) if states else None


def _refuse_udi(device: InventoryDevice, shown: Udi | None) -> None:
    if device.udi is not None and shown != device.udi:
        raise RefusedError(
            "not the device the inventory names",
            device.name,
            f"the inventory says {device.udi}, the device shows {shown or 'no UDI'}",
            "fix the inventory or the connection",
        )


def _write_new(path: Path, data: bytes) -> Path:
    """Write a file atomically under ``path``, or ``<stem>-2<suffix>`` and on when that name
    is taken: never replacing what is there. Returns where it went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target, number = path, 1
    while True:
        try:
            write_atomic(target, data, replace=False)
            return target
        except FileExistsError:
            number += 1
            target = path.with_name(f"{path.stem}-{number}{path.suffix}")


# ---- inventory check ----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOptions:
    known_hosts: Path
    accept_new: bool = False
    jobs: int = 16
    timeout: float = 30.0


def check(
    devices: Sequence[InventoryDevice],
    options: CheckOptions,
    record: Recorder = no_ledger,
    done: Done = _unheard,
) -> list[DeviceResult]:
    """Per device: reachable, host key as pinned (``accept_new`` pins unknown ones and records
    each), privilege 15, SCP server on, the UDI the inventory names."""
    return run_all(devices, options.jobs, lambda d: _check_one(d, options, record), done)


async def _check_one(
    device: InventoryDevice, options: CheckOptions, record: Recorder
) -> DeviceResult:
    try:
        session = await open_session(device, options.known_hosts, options.timeout)
    except HostKeyError:
        if not options.accept_new or _pinned(options.known_hosts, device):
            raise
        fingerprint = await _accept(device, options.known_hosts, options.timeout)
        record(
            Step.HOST_KEY_ACCEPT,
            device=device.name,
            note=f"{device.host}:{device.port} {fingerprint} added to known_hosts",
        )
        session = await open_session(device, options.known_hosts, options.timeout)
    try:
        notes = []
        privilege = await session.run("show privilege")
        if "15" not in privilege:
            notes.append(f"privilege: {privilege.strip() or 'unknown'} (SCP needs 15)")
        scp = await session.run("show running-config | include scp")
        if "ip scp server enable" not in scp:
            notes.append("SCP server off (on the device: ip scp server enable)")
        _, state = await capture(session, ["show license udi"])
        shown = state.udi if state else None
        _refuse_udi(device, shown)
    finally:
        await session.close()
    status, code = (Status.FAILED, 1) if notes else (Status.DONE, 0)
    return DeviceResult(
        device.name,
        status,
        code,
        "; ".join(notes) or "ok",
        udi=str(shown) if shown else None,
        host_key=session.fingerprint,
    )


def _pinned(known_hosts: Path, device: InventoryDevice) -> bool:
    """True when known_hosts has some key for this host (so the key changed: never accept)."""
    names = {device.host, f"[{device.host}]:{device.port}"}
    with contextlib.suppress(OSError):
        for line in known_hosts.read_text(errors="replace").splitlines():
            hosts = line.split(" ", 1)[0].split(",")
            if names & set(hosts):
                return True
    return False


async def _accept(device: InventoryDevice, known_hosts: Path, timeout: float) -> str:
    import asyncssh

    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(device.host, device.port), timeout
        )
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        raise DeviceError("unreachable", device.name, str(exc)) from None
    if key is None:
        raise DeviceError("no host key offered", device.name)
    host = device.host if device.port == 22 else f"[{device.host}]:{device.port}"
    line = f"{host} {key.export_public_key().decode().strip()}\n"
    old = known_hosts.read_bytes() if known_hosts.exists() else b""
    write_atomic(known_hosts, old + line.encode(), mode=0o644)
    return key.get_fingerprint()


# ---- collect ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectOptions:
    out: Path
    known_hosts: Path
    reports: str = "unreported"  # the device's words: all, unreported, days N
    tech_support: bool = False
    keep_remote: bool = False
    jobs: int = 8
    timeout: float = 30.0
    again: bool = False
    levels: Mapping[str, str] = field(default_factory=dict)
    receive_on: str = "127.0.0.1"  # where a gateway (ixm) reaches this host for its copies


def collect(
    devices: Sequence[InventoryDevice],
    options: CollectOptions,
    record: Recorder = no_ledger,
    done: Done = _unheard,
) -> list[DeviceResult]:
    """Per device: capture before, save usage, copy it off, verify and validate it, write
    ``OUT/<device>/usage-<time>.xml`` and ``before-<time>.txt``; record each step."""
    return run_all(devices, options.jobs, lambda d: _collect_one(d, options, record), done)


async def _collect_one(
    device: InventoryDevice, options: CollectOptions, record: Recorder
) -> DeviceResult:
    folder = options.out / device.name
    done = sorted(folder.glob("usage-*.xml")) if folder.is_dir() else []
    if done and not options.again:
        return DeviceResult(
            device.name,
            Status.SKIPPED,
            0,
            f"already collected ({done[-1].name}); --again collects anew",
            tuple(str(p) for p in done),
        )
    session = await open_session(device, options.known_hosts, options.timeout)
    try:
        return await _collect_session(session, device, options, record)
    except AirgapError as exc:
        return _failed(device, exc, host_key=session.fingerprint)
    finally:
        await session.close()


async def _collect_session(
    session: Session, device: InventoryDevice, options: CollectOptions, record: Recorder
) -> DeviceResult:
    taken = datetime.now(UTC)
    stamp = f"{taken:%Y%m%dT%H%M%SZ}"
    commands = BEFORE + (["show license tech support"] if options.tech_support else [])
    text, state = await capture(session, commands)
    shown = state.udi if state else None
    _refuse_udi(device, shown)
    remote = f"{device.filesystem}airgap-{stamp}.xml"
    said = await session.run(f"license smart save usage {options.reports} file {remote}")
    if said.strip():  # IOS-XE prints nothing on success; any output is a failure
        record(
            Step.USAGE_SAVE,
            device=device.name,
            note=f"{remote}: {said.strip()}",
            result=Result.FAILED,
        )
        raise DeviceError(
            "the device did not save its usage", device.name, said.strip().splitlines()[0]
        )
    record(
        Step.USAGE_SAVE,
        device=device.name,
        note=f"license smart save usage {options.reports} file {remote}",
    )
    folder = options.out / device.name
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".airgap-{stamp}.partial"
    try:
        if device.platform is Platform.IXM:
            await _gateway_sends(session, remote, partial, options.receive_on)
        else:
            await session.fetch(remote, partial)
        data = partial.read_bytes()
        await _same_as_device(session, device, remote, data)
        _validated(data, f"{device.name}:{remote}", options.levels)
        usage = _write_new(folder / f"usage-{device.name}-{stamp}.xml", data)
    finally:
        partial.unlink(missing_ok=True)
    header = capture_header(device, session.fingerprint, shown, taken, commands)
    before = _write_new(folder / f"before-{device.name}-{stamp}.txt", (header + text).encode())
    if not options.keep_remote:
        await session.run(f"delete /force {remote}")
    record(
        Step.USAGE_COLLECT,
        device=device.name,
        materials={remote: _sha(data)},
        products={str(usage): _sha(data), str(before): _sha((header + text).encode())},
        note=f"host key {session.fingerprint}; udi {shown or 'not shown'}",
    )
    return DeviceResult(
        device.name,
        Status.DONE,
        0,
        f"{len(data)} bytes of usage",
        (str(usage), str(before)),
        str(shown) if shown else None,
        session.fingerprint,
    )


async def _gateway_sends(session: Session, remote: str, local: Path, bind: str) -> None:
    """A gateway copies its file itself: toward a one-shot receiver that accepts this file only,
    from this login only, for this copy only."""
    from airgap.devices import receiver

    spool = Path(tempfile.mkdtemp(prefix=".airgap-spool-", dir=local.parent))
    name = remote.split(":", 1)[-1].lstrip("/")
    shot = await receiver.receive(bind, name, spool)
    try:
        said = await session.run(
            f"scp local {remote} {shot.user} {shot.address} {shot.path}", password=shot.password
        )
        try:
            await asyncio.wait_for(shot.done.wait(), session.timeout)
        except TimeoutError:
            raise DeviceError(
                "the gateway did not copy its file",
                session.device.name,
                said.strip()[:200] or "no answer",
            ) from None
        place([(spool / name, local)], replace=False)  # synced; never over another file
    finally:
        shot.close()
        shutil.rmtree(spool, ignore_errors=True)


async def _gateway_fetches(session: Session, ack: Path, remote: str, bind: str) -> None:
    """A gateway fetches its ACK itself, from a one-shot endpoint offering that file only."""
    from airgap.devices import receiver

    spool = Path(tempfile.mkdtemp(prefix="airgap-offer-"))
    name = remote.split(":", 1)[-1].lstrip("/")
    shutil.copyfile(ack, spool / name)
    shot = await receiver.offer(bind, spool / name)
    try:
        said = await session.run(
            f"scp remote {shot.user} {shot.address} {shot.path} {remote}", password=shot.password
        )
        if "%" in said:
            raise DeviceError(
                "the gateway did not fetch the ACK", session.device.name, said.strip()[:200]
            )
    finally:
        shot.close()
        shutil.rmtree(spool, ignore_errors=True)


async def _same_as_device(
    session: Session, device: InventoryDevice, remote: str, data: bytes
) -> None:
    """The copy has the MD5 the device computes of its own file (IOS-XE ``verify /md5``)."""
    if device.platform is not Platform.IOSXE:
        return
    said = await session.run(f"verify /md5 {remote}")
    match = _MD5.search(said)
    if match is None:
        raise DeviceError("the device gave no MD5 of its file", device.name, said.strip()[:200])
    mine = hashlib.md5(data).hexdigest()  # noqa: S324 - the device's own check, not ours
    if match["hex"].lower() != mine:
        raise DeviceError(
            "the copy differs from the device's file",
            device.name,
            f"{remote}: device MD5 {match['hex']}, copy {mine}",
        )


def _validated(data: bytes, path: str, levels: Mapping[str, str]) -> ImportFile | None:
    """Validation as ``airgap validate`` does it; DeviceError (exit 1) naming the errors."""
    from airgap.validate.engine import check_file, rule_levels

    checked = check_file(data, path, rule_levels("normal", levels))
    errors = [f for f in checked.report.findings if f.level is Level.ERROR]
    if errors:
        raise DeviceError(
            "the file does not validate",
            path,
            "; ".join(f"{f.code}: {f.message}" for f in errors[:3]),
        )
    doc = formats.read_xml(xml.parse(data))
    return doc.model if doc is not None and isinstance(doc.model, ImportFile) else None


# ---- push ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushOptions:
    known_hosts: Path
    collected: tuple[Path, ...] = ()  # where collect wrote usage files: ACK_<name> matches them
    dry_run: bool = False
    jobs: int = 8
    timeout: float = 30.0
    levels: Mapping[str, str] = field(default_factory=dict)
    captures: Path | None = None  # CAPTURES/before/<device>/ and CAPTURES/after/<device>/
    receive_on: str = "127.0.0.1"  # where a gateway (ixm) reaches this host for its copies


@dataclass(frozen=True)
class Planned:
    """An ACK and the device it is for, with the evidence that matched them."""

    ack: Path
    device: InventoryDevice
    evidence: str


def plan(
    acks: Sequence[Path], devices: Sequence[InventoryDevice], options: PushOptions
) -> tuple[list[Planned], list[DeviceResult]]:
    """Each ACK matched to one inventory device (SLAC ``<udi>``; ``ACK_<name>`` against the
    usage files collect wrote; the RUM ACK's UDIs, inferred), or refused as foreign (exit 4)."""
    by_udi = {d.udi: d for d in devices if d.udi is not None}
    by_name = {d.name: d for d in devices}
    usage_owner = {
        p.name: by_name[p.parent.name]
        for top in options.collected
        for p in top.glob("*/usage-*.xml")
        if p.parent.name in by_name
    }
    planned, refused = [], []
    for path in acks:
        try:
            doc = _read_ack(path)
        except AirgapError as exc:
            refused.append(
                DeviceResult("-", Status.REFUSED, int(exc.exit_code), exc.message, ack=str(path))
            )
            continue
        slac = [a.udi for a in doc.authorizations if a.udi is not None]
        inferred = [e.udi for e in rum_entries(doc) if e.udi is not None]
        match, how = None, ""
        if slac:
            match = by_udi.get(slac[0])
            how = f"seen: SLAC udi {slac[0]}"
        if match is None and path.name.startswith("ACK_"):
            match = usage_owner.get(path.name.removeprefix("ACK_"))
            how = f"seen: {path.name} answers {path.name.removeprefix('ACK_')}"
        if match is None and not slac and inferred:
            match = by_udi.get(inferred[0])
            how = f"inferred: RUM ACK data names {inferred[0]}"
        if match is None:
            names = ", ".join(str(u) for u in (slac or inferred)) or "no device"
            refused.append(
                DeviceResult(
                    "-",
                    Status.REFUSED,
                    int(ExitCode.TRUST),
                    f"foreign ACK: it names {names}, no device of the inventory",
                    ack=str(path),
                )
            )
            continue
        planned.append(Planned(path, match, how))
    return planned, refused


def _read_ack(path: Path) -> ImportFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError("cannot read", path, exc.strerror or str(exc)) from None
    doc = formats.read_xml(xml.parse(data)) if data.strip() else None
    if doc is None or not isinstance(doc.model, ImportFile):
        raise InputError("not an ACK", path, "no import file airgap knows")
    return doc.model


def push(
    acks: Sequence[Path],
    devices: Sequence[InventoryDevice],
    options: PushOptions,
    record: Recorder = no_ledger,
    done: Done = _unheard,
) -> list[DeviceResult]:
    """Per ACK: its device, checked (foreign, stale, wrong device: refused before any copy),
    validated, copied on, imported, proven by a capture after and the diff verdict."""
    planned, refused = plan(acks, devices, options)
    if options.dry_run:
        return refused + [
            DeviceResult(
                p.device.name,
                Status.PLANNED,
                0,
                f"would import {p.ack.name} ({p.evidence})",
                ack=str(p.ack),
            )
            for p in planned
        ]
    per_device = {p.device.name: p for p in planned}
    results = run_all(
        [p.device for p in planned],
        options.jobs,
        lambda d: _push_one(per_device[d.name], options, record),
        done,
    )
    return refused + results


async def _push_one(item: Planned, options: PushOptions, record: Recorder) -> DeviceResult:
    device = item.device
    data = item.ack.read_bytes()
    try:
        ack = _validated(data, str(item.ack), options.levels)
    except DeviceError as exc:
        return _failed(device, exc, ack=str(item.ack))
    assert ack is not None
    session = await open_session(device, options.known_hosts, options.timeout)
    try:
        return await _push_session(session, item, ack, data, options, record)
    except AirgapError as exc:
        return _failed(device, exc, ack=str(item.ack), host_key=session.fingerprint)
    finally:
        await session.close()


async def _push_session(
    session: Session,
    item: Planned,
    ack: ImportFile,
    data: bytes,
    options: PushOptions,
    record: Recorder,
) -> DeviceResult:
    device = item.device
    taken = datetime.now(UTC)
    before_text, before = await capture(session, AFTER)
    shown = before.udi if before else None
    _refuse_udi(device, shown)
    slac = [a.udi for a in ack.authorizations if a.udi is not None]
    if slac and shown is not None and shown not in slac:
        raise RefusedError(
            "wrong device for this ACK",
            device.name,
            f"the ACK's SLAC names {slac[0]}, the device shows {shown}",
        )
    _refuse_stale(device, ack, before)
    record(
        Step.IMPORT_BEFORE,
        device=device.name,
        materials={str(item.ack): _sha(data)},
        note=f"{item.evidence}; host key {session.fingerprint}",
    )
    remote = f"{device.filesystem}{item.ack.name}"
    if device.platform is Platform.IXM:
        await _gateway_fetches(session, item.ack, remote, options.receive_on)
        said = await session.run(f"license smart import file {device.filesystem} {item.ack.name}")
    else:
        await session.put(item.ack, remote)
        said = await session.run(f"license smart import {remote}")
    success = SUCCESS.get(device.platform, "Import Data Successful")
    imported = success in said
    record(
        Step.IMPORT_APPLY,
        device=device.name,
        materials={remote: _sha(data)},
        note=said.strip()[:200],
        result=Result.OK if imported else Result.FAILED,
    )
    after_taken = datetime.now(UTC)
    after_text, after = await capture(session, AFTER)
    files = _keep_captures(
        options.captures,
        device,
        session,
        shown,
        (("before", taken, before_text), ("after", after_taken, after_text)),
    )
    result, evidence = (
        verdict(before, after)
        if before and after
        else (Verdict.UNKNOWN, ("no capture to compare",))
    )
    record(
        Step.IMPORT_AFTER,
        device=device.name,
        note=f"verdict {result}: {'; '.join(evidence)}"[:500],
        result=Result.OK if result is Verdict.TOOK_EFFECT and imported else Result.FAILED,
    )
    code = 0 if result is Verdict.TOOK_EFFECT and imported else 1
    message = (
        f"{result}: {'; '.join(evidence)}"
        if imported
        else f"no '{success}' from the device: {said.strip()[:120] or '(nothing)'}"
    )
    return DeviceResult(
        device.name,
        Status.DONE if code == 0 else Status.FAILED,
        code,
        message,
        files,
        str(shown) if shown else None,
        session.fingerprint,
        result,
        str(item.ack),
    )


def _keep_captures(
    folder: Path | None,
    device: InventoryDevice,
    session: Session,
    shown: Udi | None,
    texts: Iterable[tuple[str, datetime, str]],
) -> tuple[str, ...]:
    """The captures around an import, with airgap's header: ``folder/before/<device>/`` and
    ``folder/after/<device>/``, so that ``airgap diff folder/before folder/after`` compares
    them."""
    if folder is None:
        return ()
    written = []
    for name, taken, text in texts:
        header = capture_header(device, session.fingerprint, shown, taken, AFTER)
        path = folder / name / device.name / f"{device.name}-{taken:%Y%m%dT%H%M%SZ}.txt"
        written.append(str(_write_new(path, (header + text).encode())))
    return tuple(written)


def _refuse_stale(device: InventoryDevice, ack: ImportFile, before: DeviceState | None) -> None:
    """An ACK older than the last one the device received is stale or replayed: refused."""
    made = import_time(ack)
    usage = before.usage_reporting if before else None
    received = usage.last_ack_received if usage else None
    last = received.moment if received else None
    if made is None or last is None:
        return
    if made.as_utc() < last.as_utc():
        raise RefusedError(
            "stale ACK",
            device.name,
            f"made {made.iso()}, older than the device's last ACK received ({last.iso()})",
            "an old ACK is never imported again",
        )
