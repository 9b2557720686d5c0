"""A simulated CSSM: the ACK it would send back for a usage file, and what the device shows
after importing that ACK.

Each ACK has CSSM's parts in CSSM's order (FORMATS.md 2): a SLAC-style ``<udi>``, the lab
policy, a RUM ACK listing every report of the usage file, account info and a correlation id,
one line with no XML declaration, named ``ACK_<uploaded name>``. Its account fields say it is
simulated (``LAB_DOMAIN`` in the smart account domain, which ``validate`` flags unless told
``--lab``) and each ``<signature>`` is an Ed25519 signature by the lab key over the part before
it: a real device would refuse it, which is the point.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from airgap.formats import cslu
from airgap.formats.common import Udi
from airgap.formats.usage import UsageFile
from airgap.fsutil import StagedFolder
from airgap.lab import LAB_DOMAIN, captures, fleet
from airgap.state.model import POLICY_KINDS

_XML_KIND = {
    "unenforced_subscription": "subscription",
    "unenforced_perpetual": "perpetual",
    "enforced": "enforced",
    "export": "export",
}


def lab_key() -> Ed25519PrivateKey:
    """The lab CSSM's signing key: fixed and public by design, so lab output repeats."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"airgap lab cssm").digest())


@dataclass(frozen=True)
class Answer:
    """What the simulated CSSM sends back for one uploaded usage file."""

    ack_name: str
    ack: bytes
    devices: tuple[Udi, ...]
    report_ids: tuple[int, ...]
    after_captures: tuple[tuple[str, bytes], ...]  # (device hostname, capture text)


def _signed(xml: str) -> str:
    value = base64.b64encode(lab_key().sign(xml.encode())).decode()
    return f"{xml}<signature>{value}</signature>"


def _policy_xml(now: datetime) -> str:
    policy = fleet.LAB_POLICY
    blocks = []
    for kind in POLICY_KINDS:
        days = policy.attributes[kind]
        blocks.append(
            f"<{_XML_KIND[kind]}><firstTimeReport>{days.first_report_days}"
            f"</firstTimeReport><onGoingReporting>{days.reporting_frequency_days}"
            f"</onGoingReporting><reportOnMACD>{days.report_on_change_days}"
            f"</reportOnMACD></{_XML_KIND[kind]}>"
        )
    installed = policy.installed_on.iso if policy.installed_on and policy.installed_on.iso else ""
    code = (
        f"<policyCode><name>{escape(policy.name or '')}</name><version>1</version><flag></flag>"
        f"<datestamp>{installed.rstrip('Z')}</datestamp><ackRequired>yes</ackRequired>"
        f"{''.join(blocks)}</policyCode>"
    )
    return f"<smartLicensePolicy>{_signed(code)}</smartLicensePolicy>"


def ack_xml(udi: Udi, reports: Iterable[tuple[int, Udi]], correlation: str, now: datetime) -> bytes:
    """The ACK for a usage file: the SLAC part names ``udi``, the RUM ACK every (report id,
    device) pair."""
    account = escape(fleet.SMART_ACCOUNT)
    virtual = escape(fleet.virtual_account(udi))
    rum = json.dumps(
        [
            {
                "report_id": rid,
                "status": "ACK",
                "udi": {"udi_pid": who.pid, "udi_serial_number": who.sn},
            }
            for rid, who in reports
        ],
        separators=(",", ":"),
    )
    authorization = (
        f"<udi>P:{escape(udi.pid)},S:{escape(udi.sn)}</udi><authorizationCode><customerInfo>"
        f"<smartAccount>{account}</smartAccount><virtualAccount>{virtual}</virtualAccount>"
        f"</customerInfo><flag>A</flag><version>C</version><piid>{correlation[:8]}</piid>"
        f"<dateStamp>{now:%Y-%m-%dT%H:%M:%S}</dateStamp><entitlements></entitlements>"
        f"<status><success>true</success><correlationID>{correlation}</correlationID></status>"
        "</authorizationCode>"
    )
    info = (
        f"<customerInfo><timestamp>{int(now.timestamp() * 1000)}</timestamp>"
        f"<smartAccount>{account}</smartAccount><virtualAccount>{virtual}</virtualAccount>"
        "<smartAccountId>0</smartAccountId><virtualAccountId>0</virtualAccountId>"
        f"<smartAccountDomain>{LAB_DOMAIN}</smartAccountDomain></customerInfo>"
    )
    return (
        "<smartLicense>"
        f"<smartLicenseAuthorization>{_signed(authorization)}</smartLicenseAuthorization>"
        f"{_policy_xml(now)}"
        f"<smartLicenseRumAck>{_signed(f'<data><![CDATA[{rum}]]></data>')}</smartLicenseRumAck>"
        f"<smartLicenseAccountInfo>{_signed(info)}</smartLicenseAccountInfo>"
        f"<correlationID>{correlation}</correlationID></smartLicense>"
    ).encode()


def saved(usage: Iterable[UsageFile]) -> datetime:
    """When the usage files were saved: the end of their newest measurement."""
    return fleet.saved(
        m.end_time
        for doc in usage
        for r in doc.reports
        for m in r.measurements
        if isinstance(m.end_time, int)
    )


def processed_at(usage: Iterable[UsageFile]) -> datetime:
    """When the lab CSSM answers: an hour after the usage was saved, so the same upload
    always gets the same answer."""
    return saved(usage) + timedelta(hours=1)


def answer(name: str, data: bytes, usage: UsageFile, now: datetime) -> Answer:
    """The ACK for the usage file ``name`` and each device's capture after importing it."""
    by_device: dict[Udi, list[tuple[int, str, int]]] = {}
    for report in usage.reports:
        if report.udi is None or report.report_id is None:
            continue
        tag = report.entitlement_tag or ""
        count = max(
            (
                int(m.value)
                for m in report.measurements
                if isinstance(m.value, str) and m.value.isascii() and m.value.isdigit()
            ),
            default=0,
        )
        by_device.setdefault(report.udi, []).append(
            (report.report_id, fleet.LICENSE_NAMES.get(tag, tag), count)
        )
    correlation = hashlib.sha256(data).hexdigest()[:24]
    # One ACK per uploaded file, as CSSM names it; a file from one device is the usual case.
    udi = next(iter(by_device), None)
    pairs = [(rid, device) for device, rows in by_device.items() for rid, _, _ in rows]
    ack = ack_xml(udi or Udi("UNKNOWN", "UNKNOWN"), pairs, correlation, now)
    pushed = saved([usage])
    after = tuple(
        (
            fleet.hostname(device),
            captures.render(
                fleet.device_state(
                    device,
                    [(rid, lic, count, "ACK") for rid, lic, count in rows],
                    last_ack=now,
                    pushed=pushed,
                )
            ).encode(),
        )
        for device, rows in by_device.items()
    )
    return Answer(f"ACK_{name}", ack, tuple(by_device), tuple(rid for rid, _ in pairs), after)


def answer_archive(
    upload_name: str, answered: Iterable[tuple[str, Answer]], now: datetime
) -> tuple[str, bytes]:
    """CSSM's answer to a CSLU upload archive: ``ACK_<upload name>`` holding, per virtual
    account archive, the ACK of each usage file in it (FORMATS.md 3)."""
    by_archive: dict[str, list[tuple[str, bytes]]] = {}
    for va_archive, item in answered:
        by_archive.setdefault(va_archive, []).append((item.ack_name, item.ack))
    return cslu.ack_archive_name(upload_name), cslu.ack_archive(by_archive, when=now)


def write(
    out: Path,
    loose: Iterable[Answer],
    answers: Iterable[Answer],
    archives: Iterable[tuple[str, bytes]] = (),
) -> None:
    """Under ``out``: the ``loose`` ACK files, the ACK ``archives``, and in ``out/after`` the
    after-import capture of every device ``answers`` cover; whole or not at all. An existing
    ``out`` is never touched (FileExistsError)."""
    with StagedFolder(out) as work:
        (work / "after").mkdir()
        for item in loose:
            (work / item.ack_name).write_bytes(item.ack)
        for name, data in archives:
            (work / name).write_bytes(data)
        for item in answers:
            for host, capture in item.after_captures:
                (work / "after" / f"{host}.txt").write_bytes(capture)
