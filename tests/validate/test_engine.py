"""The validation engine: each rule fires on what it is about, levels and privacy apply,
and duplicates are found within a file and across files."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from airgap.formats.common import Udi
from airgap.validate.engine import Validator
from airgap.validate.rules import RULES
from tests.conftest import need_field, wrap_fragment
from tests.formats.helpers import envelope, payload, report_xml, usage_xml


def rules_of(data: bytes, validator: Validator | None = None, path: str = "f.xml") -> list[str]:
    return [f.code for f in (validator or Validator()).validate(data, path).findings]


def test_a_clean_file_has_no_findings() -> None:
    for layout in ("v1", "2.0"):
        assert rules_of(report_xml(payload(layout=layout))) == []


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"", "empty-file"),
        (b"  \n", "empty-file"),
        (b"<smartLicense><RUMReport>", "not-xml"),
        (b"<!DOCTYPE smartLicense><smartLicense/>", "doctype"),
        (b"<licenseReport/>", "unknown-root"),
        ("<smartLicense/>".encode("utf-16"), "encoding"),
        (b"<smartLicense><RUMReport><x/></RUMReport></smartLicense>", "xml-schema"),
        (usage_xml("{not json"), "json-syntax"),
        (usage_xml(envelope("{not json")), "json-syntax"),
        (usage_xml(json.dumps({"payload": json.dumps(payload())})), "json-schema"),
        (report_xml(payload(extra={"measurements": "none"})), "json-schema"),
        (usage_xml(envelope(json.dumps(payload()), sn="OTHER")), "sudi-mismatch"),
        (
            usage_xml(envelope(json.dumps(payload())), envelope(json.dumps(payload()))),
            "duplicate-report",
        ),
        (report_xml(payload(start=200, end=100)), "start-after-end"),
        (usage_xml(envelope(json.dumps(payload()), value="not base64!")), "signature-value"),
        (
            usage_xml(envelope(json.dumps(payload()), value=base64.b64encode(b"x" * 16).decode())),
            "signature-value",
        ),
        (report_xml(payload(interval=5)), "sample-interval"),
        (
            usage_xml(envelope(json.dumps(payload())), system_info={"hostname": "plc-gw-3"}),
            "hostname-present",
        ),
        (
            report_xml(
                payload(extra={"meta": {"entitlement_tag": "t", "report_id": 1, "hostname": "sw9"}})
            ),
            "hostname-present",
        ),
        (
            usage_xml(
                envelope(
                    json.dumps(
                        payload(extra={"meta": {"report_id": 1, "hostname": "sw9"}})
                    ).replace('"hostname"', '"\\u0068ostname"')
                )
            ),
            "hostname-present",
        ),
        (b"<smartLicense><smartLicenseTrustCode/></smartLicense>", "unknown-part"),
        (
            b"<smartLicense><smartLicenseAccountInfo><customerInfo><smartAccountDomain>"
            b"lab.airgap.invalid</smartAccountDomain></customerInfo></smartLicenseAccountInfo>"
            b"</smartLicense>",
            "simulated-ack",
        ),
        (
            f"<RUMReport><![CDATA[{envelope(json.dumps(payload()))}]]></RUMReport>".encode(),
            "rum-fragment",
        ),
        (b"<smartLicense/>", "no-reports"),
        (report_xml(payload(layout="2.1")), "payload-version"),
        (usage_xml('{"payload": "{}", "payload": "{}"}'), "json-duplicate-key"),
        (b"<smartLicense><RUMReport><!-- x -->{}</RUMReport></smartLicense>", "json-markup"),
        (
            usage_xml(
                envelope(json.dumps(payload(7)).replace('"report_id": 7', '"report_id": 7.0'))
            ),
            "report-id",
        ),
    ],
)
def test_rule_fires(data: bytes, rule: str) -> None:
    assert rule in rules_of(data)


def test_every_rule_has_a_trigger_above() -> None:
    (mark,) = test_rule_fires.pytestmark  # type: ignore[attr-defined]
    assert {rule for _, rule in mark.args[1]} == set(RULES)


def test_unknown_layout_is_checked_as_2_0_and_only_warned() -> None:
    found = Validator().validate(report_xml(payload(layout="2.1")), "f.xml").findings
    assert [(f.code, f.level) for f in found] == [("payload-version", "warning")]


def test_empty_hostname_is_fine() -> None:
    data = usage_xml(envelope(json.dumps(payload())), system_info={"hostname": ""})
    assert rules_of(data) == []


def test_duplicates_across_files_name_the_first_place() -> None:
    validator = Validator()
    data = report_xml(payload(1700000009))
    assert rules_of(data, validator, "a.xml") == []
    (finding,) = validator.validate(data, "b.xml").findings
    assert finding.code == "duplicate-report" and "a.xml:1" in finding.message


def test_duplicates_name_the_file_and_line_first_seen_among_many() -> None:
    validator = Validator()
    for n in range(3):
        assert rules_of(report_xml(payload(1700000100 + n)), validator, f"{n}.xml") == []
    later = b"\n\n\n" + report_xml(payload(1700000001))  # the report on line 4
    assert rules_of(later, validator, "later.xml") == []
    (finding,) = validator.validate(report_xml(payload(1700000001)), "again.xml").findings
    assert finding.message.endswith("also at later.xml:4")
    assert len(validator.reports_seen()) == 4


def test_reports_seen_are_report_keys_and_a_duplicate_names_its_device() -> None:
    validator = Validator()
    one = envelope(json.dumps(payload(7, sn="SN1")), sn="SN1")
    two = envelope(json.dumps(payload(8, sn="SN2")), sn="SN2")
    assert rules_of(usage_xml(one, two), validator, "a.xml") == []
    assert sorted(validator.reports_seen()) == [
        (Udi("C9300-24UX", "SN1"), 7),
        (Udi("C9300-24UX", "SN2"), 8),
    ]
    (finding,) = validator.validate(usage_xml(two), "b.xml").findings
    assert finding.message.startswith("report 8 of PID:C9300-24UX,SN:SN2 also at a.xml:")


def test_same_report_id_on_two_devices_is_not_a_duplicate() -> None:
    one = envelope(json.dumps(payload(7, sn="SN1")), sn="SN1")
    two = envelope(json.dumps(payload(7, sn="SN2")), sn="SN2")
    assert rules_of(usage_xml(one, two)) == []


def test_privacy_strict_makes_hostname_an_error() -> None:
    data = usage_xml(envelope(json.dumps(payload())), system_info={"hostname": "plc-gw-3"})
    (normal,) = Validator().validate(data, "f").findings
    (strict,) = Validator(privacy="strict").validate(data, "f").findings
    assert (normal.level, strict.level) == ("warning", "error")


def test_rule_levels_from_settings_apply() -> None:
    data = report_xml(payload(interval=5))
    assert [
        f.level for f in Validator(levels={"sample-interval": "error"}).validate(data, "f").findings
    ] == ["error"]
    assert Validator(levels={"sample-interval": "off"}).validate(data, "f").findings == []


def test_xsd_reports_every_violation_with_lines() -> None:
    data = (
        b"<smartLicense>\n<RUMReport><a/></RUMReport>\n<RUMReport><b/></RUMReport>\n</smartLicense>"
    )
    found = [f for f in Validator().validate(data, "f").findings if f.code == "xml-schema"]
    assert [f.line for f in found] == [2, 3]


def test_field_rum_element_is_valid_once_wrapped() -> None:
    fragment = need_field("rum", "c9800cl_17.09.02__RUMReport_element.xml").read_bytes()
    assert rules_of(wrap_fragment(fragment)) == []
    assert rules_of(fragment) == ["rum-fragment"]


def test_field_ack_transcriptions_pass_the_import_schema() -> None:
    for path in sorted(need_field("ack").glob("*.xml")):
        found = Validator().validate(path.read_bytes(), str(path)).findings
        assert "xml-schema" not in [f.code for f in found], found


def test_schema_violation_names_where_and_what() -> None:
    from airgap.validate.jsonschemas import PAYLOAD_V2, violation

    found = violation(
        PAYLOAD_V2,
        {
            "version": "2.0",
            "asset_identification": {
                "report_id": "12",
                "asset": {"name": "x"},
                "instance": {"sudi": {"udi_pid": "p", "udi_serial_number": "s"}},
            },
            "meta": {"entitlement_tag": "t"},
            "measurements": [],
        },
    )
    assert found == (
        'asset_identification.report_id: "12" is not of type "integer" (rum-payload-v2.schema.json)'
    )


def test_strict_json_refuses_nan_and_keeps_64_bit_integers() -> None:
    from airgap.formats.common import EmbeddedJson

    assert not EmbeddedJson.decode('{"a": NaN}', 1).ok
    assert EmbeddedJson.decode('{"a": 18446744073709551615}', 1).value == {"a": 2**64 - 1}


def test_no_schema_declares_an_attribute() -> None:
    """The engine reports and removes every attribute before XSD validation (so that libxml2's
    error log cannot grow with them): right only while no schema allows one."""
    from lxml import etree

    from airgap import xml

    xs = "{http://www.w3.org/2001/XMLSchema}"
    for path in sorted(xml.schema_dir().glob("*.xsd")):
        tree = etree.parse(str(path))
        assert not tree.findall(f".//{xs}attribute") + tree.findall(f".//{xs}anyAttribute"), path


def test_attributes_are_reported_with_their_lines_then_the_rest_of_the_schema() -> None:
    data = b'<smartLicense>\n<RUMReport a="1" b="2">{}</RUMReport>\n<x/></smartLicense>'
    found = [
        (f.line, f.message)
        for f in Validator().validate(data, "f").findings
        if f.code == "xml-schema"
    ]
    assert found == [
        (2, "Element 'RUMReport', attribute 'a': The attribute 'a' is not allowed."),
        (2, "Element 'RUMReport', attribute 'b': The attribute 'b' is not allowed."),
        (3, found[2][1]),
    ]
    assert "Element 'x'" in found[2][1]


def test_a_root_validated_in_batches_gives_what_one_pass_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Faults spread over more children than one batch, on their own lines: the same findings,
    at the same lines, as one pass over the whole tree, which is left as it was."""
    from airgap.validate import engine

    good = envelope(json.dumps(payload(1)))
    parts = [
        f"<RUMReport><![CDATA[{good}]]></RUMReport>" if n % 2 else "<smartLicenseSystemInfo/>"
        for n in range(3 * engine.BATCH + 5)
    ]
    parts[-1] = f"<RUMReport><!-- late --><![CDATA[{good}]]></RUMReport>"
    data = ("<smartLicense>\n" + "\n".join(parts) + "\n</smartLicense>").encode()
    levels = {"duplicate-report": "off"}

    def found() -> list[tuple[str, int | None, str]]:
        return [
            (f.code, f.line, f.message)
            for f in Validator(levels=levels).validate(data, "f").findings
        ]

    batches: list[int] = []
    real = engine._batched

    def spy(schema: Any, root: Any) -> Any:
        batches.append(len(root))
        return real(schema, root)

    monkeypatch.setattr(engine, "_batched", spy)
    batched = found()
    assert batches == [len(parts)]
    monkeypatch.setattr(engine, "BATCH", 10**9)
    assert batched == found()
    assert batches == [len(parts)]
    assert {rule for rule, _, _ in batched} == {"xml-schema", "json-syntax", "json-markup"}
    assert ("json-markup", len(parts) + 1, "a comment inside <RUMReport>") in batched
