"""The simulated CSSM: ACKs shaped like CSSM's, marked simulated, answering every report."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from airgap import xml
from airgap.formats.imports import read_import, rum_entries
from airgap.formats.usage import read_usage
from airgap.lab import LAB_DOMAIN, cssm, fleet
from airgap.validate.engine import Validator
from tests.conftest import Cli


def answer_for(number: int) -> tuple[fleet.LabDevice, cssm.Answer]:
    dev = fleet.device(4, number)
    data = fleet.usage_file(dev)
    doc = read_usage(xml.parse(data))
    return dev, cssm.answer(dev.file_name, data, doc, cssm.processed_at([doc]))


def test_ack_has_cssm_parts_in_order_and_lists_every_report() -> None:
    dev, answer = answer_for(1)
    assert answer.ack_name == f"ACK_{dev.file_name}"
    assert b"\n" not in answer.ack and not answer.ack.startswith(b"<?xml")
    ack = read_import(xml.parse(answer.ack))
    assert ack.parts == [
        "smartLicenseAuthorization",
        "smartLicensePolicy",
        "smartLicenseRumAck",
        "smartLicenseAccountInfo",
        "correlationID",
    ]
    assert ack.devices == [dev.udi]
    assert sorted((e.udi, e.report_id) for e in rum_entries(ack) if e.acknowledges) == sorted(
        (dev.udi, r.report_id) for r in dev.reports
    )
    assert ack.account_infos[0].smart_account_domain == LAB_DOMAIN


def test_signatures_verify_with_the_lab_key_only() -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _, answer = answer_for(2)
    part = xml.parse(answer.ack).find("smartLicenseRumAck")
    signed = f"<data><![CDATA[{part.find('data').text}]]></data>".encode()
    signature = base64.b64decode(part.find("signature").text)
    cssm.lab_key().public_key().verify(signature, signed)
    for key, data in (
        (Ed25519PrivateKey.generate().public_key(), signed),
        (cssm.lab_key().public_key(), signed.replace(b"ACK", b"NAK", 1)),
    ):
        with pytest.raises(InvalidSignature):
            key.verify(signature, data)


def test_lab_acks_are_refused_by_validate_unless_lab(cli: Cli, tmp_path: Path) -> None:
    _, answer = answer_for(3)
    path = tmp_path / answer.ack_name
    path.write_bytes(answer.ack)
    run = cli("validate", path)
    assert run.code == 1 and "[simulated-ack]" in run.out
    assert cli("validate", "--lab", path).code == 0
    assert not Validator().validate(answer.ack, "x").ok


def test_same_input_same_answer() -> None:
    assert answer_for(5)[1] == answer_for(5)[1]


def test_after_capture_shows_reports_acked() -> None:
    from airgap.state.parse import parse_capture

    dev, answer = answer_for(6)
    [(host, capture)] = answer.after_captures
    assert host == dev.hostname
    rum = parse_capture(capture.decode())[-1]
    assert {r.id: r.state for r in rum.reports} == {r.report_id: "ACK" for r in dev.reports}


def test_cli_answers_a_cslu_upload_with_an_ack_archive(cli: Cli, tmp_path: Path) -> None:
    assert cli("lab", "fleet", "--devices", "4", "--out", tmp_path / "lab").code == 0
    usage = sorted((tmp_path / "lab" / "usage").glob("*.xml"))
    assert (
        cli("cslu", "pack", "--out", tmp_path / "up.tar.gz", *usage, "--virtual-account", "X").code
        == 0
    )
    run = cli("lab", "cssm", tmp_path / "up.tar.gz", tmp_path / "answer", "--format", "json")
    assert run.code == 0, run.err
    assert len(json.loads(run.out)["results"]) == 4
    assert (tmp_path / "answer" / "ACK_up.tar.gz").is_file()
    assert len(list((tmp_path / "answer" / "after").glob("*.txt"))) == 4
    unpacked = cli("cslu", "unpack", tmp_path / "answer" / "ACK_up.tar.gz", tmp_path / "acks")
    assert unpacked.code == 0, unpacked.err
    assert cli("validate", "--lab", tmp_path / "acks").code == 0


def test_cli_refuses_an_existing_output_and_no_input(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "in").mkdir()
    run = cli("lab", "cssm", tmp_path / "in", tmp_path / "out")
    assert run.code == 3 and "no usage file found" in run.err
