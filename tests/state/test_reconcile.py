"""Reconcile on a synthetic set built with the lab fleet and the simulated CSSM: each case
(acknowledged seen and inferred, outstanding, foreign, stale, exported twice, never reported)
is reported with its evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from airgap import formats, xml
from airgap.findings import Basis, Evidence, Level
from airgap.formats.common import Udi
from airgap.formats.usage import UsageFile
from airgap.inputs import file_name
from airgap.lab import captures, cssm, fleet
from airgap.state import evidence
from airgap.state.reconcile import Kind, Reconciliation, finding_dict, reconcile

SEED = 11
FOREIGN_UDI = Udi("C9300-48P", "FOREIGN00001")


def usage_doc(data: bytes) -> UsageFile:
    doc = formats.read_xml(xml.parse(data))
    assert doc is not None and isinstance(doc.model, UsageFile)
    return doc.model


@dataclass(frozen=True)
class Scenario:
    """The synthetic set: where it is and which device plays which part."""

    root: Path
    devices: dict[str, fleet.LabDevice]

    def key(self, part: str) -> str:
        return str(self.devices[part].udi)


def build(root: Path, *, problems: bool = True) -> Scenario:
    """usage/, acks/ and captures/ under ``root``. With ``problems`` false only the devices
    that reconcile cleanly are written."""
    parts = ["seen", "inferred", "outstanding", "twice", "stale", "silent"]
    devices = {part: fleet.device(SEED, n) for n, part in enumerate(parts)}
    for folder in ("usage", "acks", "captures", "again"):
        (root / folder).mkdir(parents=True)

    def export(part: str) -> tuple[bytes, UsageFile]:
        dev = devices[part]
        data = fleet.usage_file(dev)
        (root / "usage" / dev.file_name).write_bytes(data)
        return data, usage_doc(data)

    def answered(part: str, ack_name: str | None = None, after: bool = True) -> None:
        dev = devices[part]
        data, doc = export(part)
        answer = cssm.answer(dev.file_name, data, doc, cssm.processed_at([doc]))
        (root / "acks" / (ack_name or answer.ack_name)).write_bytes(answer.ack)
        for host, capture in answer.after_captures if after else ():
            (root / "captures" / f"{host}.txt").write_bytes(capture)

    answered("seen")  # ACK_<name>, RUM ACK and an after-capture showing ACK
    if not problems:
        return Scenario(root, devices)
    answered("inferred", "cssm-download-1.xml", after=False)  # only the RUM ACK data
    export("outstanding")
    (root / "captures" / "outstanding.txt").write_bytes(
        fleet.before_capture(devices["outstanding"])
    )
    answered("twice", after=False)
    twice = devices["twice"]
    (root / "again" / f"resend_{twice.file_name}").write_bytes(fleet.usage_file(twice))
    answered("stale")
    stale = devices["stale"]
    old = cssm.ack_xml(
        stale.udi,
        [(r.report_id, stale.udi) for r in stale.reports],
        "0ld0ld0ld0ld",
        fleet.LAB_NOW - timedelta(days=120),
    )
    (root / "acks" / "old-ack.xml").write_bytes(old)
    (root / "captures" / "silent.txt").write_text(
        captures.render(fleet.before_state(devices["silent"]))
    )
    foreign = cssm.ack_xml(
        FOREIGN_UDI, [(1_700_000_000, FOREIGN_UDI)], "f0f0f0f0f0f0", fleet.LAB_NOW
    )
    (root / "acks" / f"ACK_usage_{FOREIGN_UDI.sn}.xml").write_bytes(foreign)
    return Scenario(root, devices)


def said(found: tuple[Evidence, ...]) -> list[str]:
    """Evidence as reconcile prints it."""
    return [str(e) for e in found]


def run(root: Path) -> Reconciliation:
    found = evidence.load([str(root)])
    assert not found.problems
    return reconcile(found)


def test_each_case_is_reported_with_its_evidence(tmp_path: Path) -> None:
    scene = build(tmp_path / "set")
    result = run(scene.root)
    by_device = {d.device: d for d in result.devices}
    assert list(by_device) == sorted(by_device)

    seen = by_device[scene.key("seen")]
    assert seen.reports and not seen.outstanding
    for report in seen.reports:
        assert not report.inferred
        assert report.evidence[0].basis is Basis.SEEN
        assert report.evidence[-1].basis is Basis.INFERRED
        words = said(report.evidence)
        assert any(e.startswith("seen: ACK file name ACK_usage_") for e in words)
        assert any(
            e.startswith(f"seen: device shows report {report.report_id} as ACK") for e in words
        )
        assert any(
            e.startswith(
                f"inferred: RUM ACK data in ACK_usage_{seen.udi.sn}.xml "
                f"lists report {report.report_id}"
            )
            for e in words
            if seen.udi
        )

    inferred = by_device[scene.key("inferred")]
    assert inferred.reports and not inferred.outstanding
    assert all(
        r.inferred
        and said(r.evidence)
        == [f"inferred: RUM ACK data in cssm-download-1.xml lists report {r.report_id}"]
        for r in inferred.reports
    )

    findings = {(f.code, f.where.device): f for f in result.findings}
    outstanding = findings[(Kind.OUTSTANDING, scene.key("outstanding"))]
    assert outstanding.report_ids == tuple(
        r.report_id for r in scene.devices["outstanding"].reports
    )
    assert said(outstanding.evidence)[0].startswith("seen: exported in ")
    assert by_device[scene.key("outstanding")].outstanding == list(outstanding.report_ids)

    twice = [f for f in result.findings if f.code == Kind.EXPORTED_TWICE]
    assert {f.where.device for f in twice} == {scene.key("twice")}
    assert len(twice) == len(scene.devices["twice"].reports)
    for f in twice:
        assert sorted(Path(e).name for e in said(f.evidence)) == sorted(
            [scene.devices["twice"].file_name, f"resend_{scene.devices['twice'].file_name}"]
        )
        assert all(
            e.startswith(f"seen: report {f.report_ids[0]} of {f.where.device} in ")
            for e in said(f.evidence)
        )

    stale = findings[(Kind.STALE, scene.key("stale"))]
    assert Path(stale.path).name == "old-ack.xml"
    assert (
        said(stale.evidence)[0] == f"seen: SLAC udi P:{scene.devices['stale'].udi.pid},"
        f"S:{scene.devices['stale'].udi.sn}"
    )
    assert said(stale.evidence)[1].startswith("seen: device shows Last ACK received ")
    assert not by_device[scene.key("stale")].outstanding  # the current ACK covers it

    foreign = findings[(Kind.FOREIGN, str(FOREIGN_UDI))]
    assert said(foreign.evidence) == [f"seen: SLAC udi P:{FOREIGN_UDI.pid},S:{FOREIGN_UDI.sn}"]
    assert str(FOREIGN_UDI) not in by_device

    silent = findings[(Kind.NEVER_REPORTED, scene.key("silent"))]
    assert said(silent.evidence) == ["seen: capture of this device, no usage file names it"]
    assert silent.level is Level.WARNING and by_device[scene.key("silent")].never_reported

    kinds = [f.code for f in result.findings if f.code != Kind.EXPORTED_TWICE]
    assert sorted(kinds) == sorted(
        [Kind.FOREIGN, Kind.NEVER_REPORTED, Kind.OUTSTANDING, Kind.STALE]
    )
    assert not result.ok
    counts = result.counts()
    assert all(type(key) is str for key in counts)  # JSON keys: orjson takes no enum there
    assert counts["devices"] == 6 and counts["foreign-ack"] == 1 and counts["stale-ack"] == 1
    assert counts["outstanding"] == len(outstanding.report_ids)


def test_all_reconciled(tmp_path: Path) -> None:
    result = run(build(tmp_path / "set", problems=False).root)
    assert result.ok and result.findings == ()
    (device,) = result.devices
    assert device.reports and not device.outstanding


def test_same_inputs_same_result(tmp_path: Path) -> None:
    root = build(tmp_path / "set").root
    first, second = run(root), run(root)
    assert [d.to_dict() for d in first.devices] == [d.to_dict() for d in second.devices]
    assert list(map(finding_dict, first.findings)) == list(map(finding_dict, second.findings))


def test_same_report_id_on_two_devices_is_two_reports(tmp_path: Path) -> None:
    one, two = fleet.device(SEED, 1), fleet.device(SEED, 2)
    shared = one.reports[0].report_id
    two = fleet.LabDevice(
        two.number,
        two.family,
        two.udi,
        (fleet.LabReport(shared, two.reports[0].license, two.reports[0].measurements),),
    )
    (tmp_path / "usage").mkdir()
    for dev in (one, two):
        (tmp_path / "usage" / dev.file_name).write_bytes(fleet.usage_file(dev))
    ack = cssm.ack_xml(one.udi, [(shared, one.udi)], "abc", fleet.LAB_NOW)
    (tmp_path / "ack.xml").write_bytes(ack)
    result = run(tmp_path)
    assert not any(f.code == Kind.EXPORTED_TWICE for f in result.findings)
    by_device = {d.device: d for d in result.devices}
    assert shared not in by_device[str(one.udi)].outstanding
    assert by_device[str(two.udi)].outstanding == [shared]


def test_rum_ack_entry_without_udi_uses_the_slac_udi(tmp_path: Path) -> None:
    dev = fleet.device(SEED, 0)
    (tmp_path / dev.file_name).write_bytes(fleet.usage_file(dev))
    ids = ",".join(f'{{"reportId":"{r.report_id}","status":"ack"}}' for r in dev.reports)
    ack = (
        f"<smartLicense><smartLicenseAuthorization><udi>P:{dev.udi.pid},S:{dev.udi.sn}"
        f"</udi></smartLicenseAuthorization><smartLicenseRumAck><data><![CDATA[[{ids}]]]>"
        "</data></smartLicenseRumAck></smartLicense>"
    )
    (tmp_path / "answer.xml").write_text(ack)
    result = run(tmp_path)
    assert result.ok, result.findings
    (device,) = result.devices
    assert all(r.inferred for r in device.reports)


def test_archive_members_are_read(tmp_path: Path) -> None:
    import io
    import tarfile

    build(tmp_path / "set", problems=False)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "set", arcname="set")
    (tmp_path / "set.tar.gz").write_bytes(buffer.getvalue())
    result = run(tmp_path / "set.tar.gz")
    assert result.ok
    (device,) = result.devices
    assert all("set.tar.gz!" in r.exported_in[0] for r in device.reports)
    assert any(
        e.startswith("seen: ACK file name ACK_") for r in device.reports for e in said(r.evidence)
    )


def test_file_name_of_members() -> None:
    assert file_name(("a/b.tar.gz", "x/ACK_usage_1.xml")) == "ACK_usage_1.xml"
    assert file_name(("usage/usage_1.xml",)) == "usage_1.xml"
    assert file_name(("in!out/a!b.xml",)) == "a!b.xml"  # '!' is only a character in a name


def test_a_devices_reports_share_their_evidence(tmp_path: Path) -> None:
    """At site scale the evidence is references, not sentences: each piece names a file and
    not a report, so the reports of one device given the same evidence share one tuple of
    it, and the words still name each report."""
    scene = build(tmp_path / "set", problems=False)
    (device,) = run(scene.root).devices
    assert len(device.reports) > 1
    first = device.reports[0].said
    assert len(first) == 3 and all(r.said is first for r in device.reports)
    for report in device.reports:
        assert sum(str(report.report_id) in str(e) for e in report.evidence) == 2
