"""A synthetic fleet: per device a usage file as the device saves it and the ``show license``
captures it shows before the ACK is imported.

Everything derives from (seed, device number) and the lab clock, so the same seed gives the
same bytes, devices can be made in any order, and the simulated CSSM can rebuild a device's
state from its usage file alone (``device_state``). Serial numbers start with ``LAB`` and
hostnames end in ``.lab``, so lab data is never mistaken for a real site's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from airgap.formats.common import Udi
from airgap.fsutil import StagedFolder
from airgap.lab import captures
from airgap.state.model import (
    DeviceState,
    License,
    Policy,
    PolicyAttributes,
    Report,
    TrustCode,
    UsageReporting,
)
from airgap.workers import ordered_map

LAB_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the default lab clock: fixed, so output repeats
SMART_ACCOUNT = "Lab Simulated Account (not Cisco)"
ACK_WINDOW_DAYS = 90  # the lab policy's reporting frequency: next ACK deadline = last ACK + this


def _tag(name: str, year: str) -> str:
    """A regid tag of Cisco's shape, with a UUID derived from the name."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    uuid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return f"regid.{year}.com.cisco.{name},1.0_{uuid}"


@dataclass(frozen=True)
class Family:
    """A product family: PIDs, its product tag, licenses, software and payload layout."""

    name: str
    pids: tuple[str, ...]
    product: str
    licenses: tuple[str, ...]
    software: str
    layout: str  # "1" or "2.0"


FAMILIES = (
    Family(
        "switch",
        ("C9300-24UX", "C9300-48P"),
        _tag("C9300", "2017-05"),
        ("network-advantage", "dna-advantage"),
        "17.06.05",
        "1",
    ),
    Family(
        "router",
        ("C8000V",),
        _tag("C8000V", "2019-10"),
        ("DNA_NWStack", "DNA_HSEC"),
        "17.09.04a",
        "2.0",
    ),
    Family(
        "wlc",
        ("C9800-CL-K9",),
        _tag("WLC_9500C", "2018-05"),
        ("air-network-advantage", "air-dna-advantage"),
        "17.12.03",
        "2.0",
    ),
    Family(
        "branch",
        ("ISR4451-X/K9",),
        _tag("ISR_4451", "2016-04"),
        ("appxk9", "securityk9", "uck9"),
        "17.12.04",
        "2.0",
    ),
    Family(
        "industrial",
        ("IE-3400-8P2S",),
        _tag("IE3400", "2019-08"),
        ("network-essentials", "dna-essentials"),
        "17.09.05",
        "1",
    ),
)
LICENSE_TAGS = {name: _tag(name, "2018-06") for family in FAMILIES for name in family.licenses}
LICENSE_NAMES = {tag: name for name, tag in LICENSE_TAGS.items()}

LAB_POLICY = Policy(
    name="Lab Customer Policy",
    installed_on=captures.stamp(datetime(2026, 1, 5, 10, tzinfo=UTC)),
    ack_required=True,
    attributes={
        "unenforced_perpetual": PolicyAttributes(365, 0, 90, "Customer Policy"),
        "unenforced_subscription": PolicyAttributes(90, ACK_WINDOW_DAYS, 90, "Customer Policy"),
        "enforced": PolicyAttributes(0, 0, 90, "Customer Policy"),
        "export": PolicyAttributes(0, 0, 90, "Customer Policy"),
    },
)


@dataclass(frozen=True)
class Measurement:
    """One usage sample: a closed time range and the count in use."""

    start: int
    end: int
    count: int


@dataclass(frozen=True)
class LabReport:
    """One RUM report of a lab device."""

    report_id: int
    license: str
    measurements: tuple[Measurement, ...]


@dataclass(frozen=True)
class LabDevice:
    """One synthetic device and the reports its usage file carries."""

    number: int
    family: Family
    udi: Udi
    reports: tuple[LabReport, ...]

    @property
    def hostname(self) -> str:
        return hostname(self.udi)

    @property
    def saved(self) -> datetime:
        """When the device saved its usage file: the end of its last measurement."""
        return saved([m.end for r in self.reports for m in r.measurements])

    @property
    def file_name(self) -> str:
        """The name the device saves its usage file under."""
        return f"usage_{self.udi.sn}.xml"


def hostname(udi: Udi) -> str:
    """A lab device's hostname, derived from its UDI so that CSSM's side can rebuild it."""
    return f"{udi.pid.split('-')[0].lower()}-{udi.sn.lower()}.lab"


def virtual_account(udi: Udi) -> str:
    """The lab's virtual account for a device: one per product family."""
    family = next((f for f in FAMILIES if udi.pid in f.pids), None)
    return f"LAB-{family.name.upper()}" if family else "LAB-OTHER"


def saved(ends: Iterable[int]) -> datetime:
    """The time a usage file was saved, from its measurements' end times."""
    return datetime.fromtimestamp(max(ends, default=int(LAB_NOW.timestamp())), UTC)


def device(seed: int, number: int, now: datetime = LAB_NOW) -> LabDevice:
    """Device ``number`` of the fleet made from ``seed``."""
    rng = random.Random(f"airgap-lab/{seed}/{number}")  # noqa: S311 - repeatable, not secret
    family = FAMILIES[number % len(FAMILIES)]
    udi = Udi(rng.choice(family.pids), f"LAB{number:06d}{rng.randrange(16**3):03X}")  # unique
    first_id = int(now.timestamp()) - 30 * 86_400 + number * 16
    reports = []
    for index in range(rng.randint(2, 4)):
        license = family.licenses[index % len(family.licenses)]
        start = int(now.timestamp()) - 30 * 86_400 + rng.randrange(3_600)
        samples = []
        for _ in range(rng.randint(1, 3)):
            end = min(start + rng.randrange(86_400, 10 * 86_400), int(now.timestamp()))
            samples.append(Measurement(start, end, rng.randint(1, 8)))
            start = end + rng.randrange(1, 600)
        reports.append(LabReport(first_id + index, license, tuple(samples)))
    return LabDevice(number, family, udi, tuple(reports))


def fleet(seed: int, devices: int, now: datetime = LAB_NOW) -> Iterable[LabDevice]:
    """The fleet's devices, in order."""
    return (device(seed, number, now) for number in range(devices))


def _sudi(udi: Udi) -> dict[str, str]:
    return {"udi_pid": udi.pid, "udi_serial_number": udi.sn}


def _signature(seed: str) -> str:
    """A base64 value of 32 bytes where a device puts its builtin signature (not verifiable)."""
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()


def payload(dev: LabDevice, report: LabReport) -> str:
    """The payload JSON text of one report, in the device family's layout."""
    sudi = _sudi(dev.udi)
    signature = {
        "signing_type": "builtin",
        "key": dev.family.product,
        "value": _signature(f"payload/{dev.udi}/{report.report_id}"),
    }
    meta: dict[str, object] = {"entitlement_tag": LICENSE_TAGS[report.license]}
    identification: dict[str, object] = {
        "asset": {"name": dev.family.product},
        "instance": {"sudi": sudi},
    }
    body: dict[str, object] = {}
    if dev.family.layout == "1":
        identification["signature"] = signature
        meta["report_id"] = report.report_id
    else:
        body["version"] = "2.0"
        identification["report_id"] = report.report_id
        body["signature"] = signature
        meta["utility_enabled"] = False
    meta.update(software_version=dev.family.software, ha_udi=[{"role": "Active", "sudi": sudi}])
    body.update(
        asset_identification=identification,
        meta=meta,
        measurements=[
            {
                "log_time": m.end,
                "metric_name": "ENTITLEMENT",
                "start_time": m.start,
                "end_time": m.end,
                "sample_interval": m.end - m.start,
                "num_samples": 1 + (m.end - m.start) // 900,
                "meta": {"termination_reason": "CurrentUsageRequested"},
                "value": {"type": "COUNT", "value": str(m.count)},
            }
            for m in report.measurements
        ],
    )
    return json.dumps(body, separators=(",", ":"))


def usage_file(dev: LabDevice) -> bytes:
    """The usage file as ``license smart save usage unreported`` writes it: one line."""
    parts = []
    for report in dev.reports:
        envelope = {
            "payload": payload(dev, report),
            "header": {"type": "rum"},
            "signature": {
                "sudi": _sudi(dev.udi),
                "signing_type": "builtin",
                "key": dev.family.product,
                "value": _signature(f"envelope/{dev.udi}/{report.report_id}"),
            },
        }
        parts.append(f"<RUMReport><![CDATA[{json.dumps(envelope)}]]></RUMReport>")
    return f"<smartLicense>{''.join(parts)}</smartLicense>".encode()


def device_state(
    udi: Udi,
    reports: Iterable[tuple[int, str, int, str]],
    *,
    last_ack: datetime | None,
    pushed: datetime | None,
) -> DeviceState:
    """A lab device's state: ``reports`` as (report id, license, count, state) tuples, the last
    ACK it received and when it last wrote a report. The policy and trust code are the lab's."""
    reports = list(reports)
    counts: dict[str, int] = {}
    for _, license, count, _state in reports:
        counts[license] = max(counts.get(license, 0), count)
    deadline = last_ack + timedelta(days=ACK_WINDOW_DAYS) if last_ack else None
    return DeviceState(
        kind="show-license-status",
        udi=udi,
        hostname=hostname(udi),
        smart_account=SMART_ACCOUNT,
        virtual_account=virtual_account(udi),
        data_privacy={"sending_hostname": False},
        policy=LAB_POLICY,
        transport_type="Transport Off",
        usage_reporting=UsageReporting(
            last_ack_received=captures.stamp(last_ack),
            next_ack_deadline=captures.stamp(deadline),
            last_report_push=captures.stamp(pushed),
            reporting_push_interval_days=30,
        ),
        trust_codes=(TrustCode(udi, "Active", LAB_POLICY.installed_on),),
        licenses=tuple(
            License(name, name, count, "IN USE") for name, count in sorted(counts.items())
        ),
        reports=tuple(Report(rid, state, "N", license) for rid, license, _, state in reports),
    )


def before_state(dev: LabDevice, now: datetime = LAB_NOW) -> DeviceState:
    """What the device shows when it saved its usage file: its last report still open, the
    others closed, and the ACK of the previous cycle (60 days ago) as the last one received."""
    rows = [
        (
            r.report_id,
            r.license,
            r.measurements[-1].count,
            "OPEN" if r is dev.reports[-1] else "CLOSED",
        )
        for r in dev.reports
    ]
    return device_state(dev.udi, rows, last_ack=now - timedelta(days=60), pushed=dev.saved)


def before_capture(dev: LabDevice, now: datetime = LAB_NOW) -> bytes:
    """The before-import capture (status, summary, udi, rum id all) of one device."""
    return captures.render(before_state(dev, now)).encode()


@dataclass(frozen=True)
class Made:
    """The files of one device: its usage file and its before-import capture."""

    udi: Udi
    hostname: str
    usage_name: str
    usage: bytes
    capture: bytes


def make(seed: int, now: datetime, number: int) -> Made:
    """Device ``number``'s files (a top-level function so worker processes can run it)."""
    dev = device(seed, number, now)
    return Made(dev.udi, dev.hostname, dev.file_name, usage_file(dev), before_capture(dev, now))


@dataclass(frozen=True)
class Written:
    """Where one device's files went: ``usage/<usage_name>`` and ``before/<hostname>.txt``."""

    udi: Udi
    hostname: str
    usage_name: str


def write(
    out: Path,
    devices: int,
    seed: int,
    now: datetime = LAB_NOW,
    *,
    jobs: int = 0,
    progress: Callable[[int], None] = lambda _: None,
) -> list[Written]:
    """Write the fleet under ``out`` (``usage/`` and ``before/``), whole or not at all; an
    existing ``out`` is never touched (FileExistsError). Returns where each device's files
    went."""
    written = []
    with StagedFolder(out) as work:
        (work / "usage").mkdir()
        (work / "before").mkdir()
        for made in ordered_map(partial(make, seed, now), range(devices), jobs=jobs):
            assert isinstance(made, Made)  # every item needs work
            (work / "usage" / made.usage_name).write_bytes(made.usage)
            (work / "before" / f"{made.hostname}.txt").write_bytes(made.capture)
            written.append(Written(made.udi, made.hostname, made.usage_name))
            progress(1)
    return written
