"""Capture reading found wrong on real captures (FORMATS.md 4), each on a capture written from
FORMATS.md and, where one exists, on the real capture in ``../shared/field``."""

from __future__ import annotations

from airgap.formats.common import Udi
from airgap.formats.showcli import capture_kind
from airgap.state.model import Stamp
from airgap.state.parse import parse_capture
from tests.conftest import need_field


def test_nxos_10_tag_blocks_without_a_name() -> None:
    text = (
        "switch# show license usage\n(LAN_ENTERPRISE_SERVICES_PKG):\n"
        "  Description: LAN license for Nexus 9300\n  Count: 1\n  Version: 1.0\n"
        "  Status: IN USE\n  Export status: NOT RESTRICTED\n"
        "  Feature Name: LAN_ENTERPRISE_SERVICES_PKG\n  Enforcement type: NOT ENFORCED\n"
    )
    (state,) = parse_capture(text)
    assert state.kind == "show-license-usage" and state.unparsed_lines == ()
    (lic,) = state.licenses
    assert (lic.name, lic.entitlement_tag, lic.count, lic.status, lic.enforcement) == (
        "LAN_ENTERPRISE_SERVICES_PKG",
        "LAN_ENTERPRISE_SERVICES_PKG",
        1,
        "IN USE",
        "NOT ENFORCED",
    )
    assert capture_kind(text.split("\n", 1)[1]) == "show-license-usage"  # no command line


def test_nxos_7000_feature_table_agrees_with_ntc_templates() -> None:
    path = need_field("show", "ntc-templates__cisco_nxos_show_license_usage.raw")
    (state,) = parse_capture(path.read_text(), str(path))
    assert state.kind == "show-license-usage" and state.unparsed_lines == ()
    theirs = [
        line.split('"')[1]
        for line in path.with_suffix(".yml").read_text().splitlines()
        if line.strip().startswith("feature:")
    ]
    assert [lic.name for lic in state.licenses] == theirs
    in_use = [lic.name for lic in state.licenses if lic.status == "In use"]
    assert in_use == ["LAN_ENTERPRISE_SERVICES_PKG"]


def test_show_license_authorization() -> None:
    path = need_field(
        "show", "genieparser__ShowLicenseAuthorization__c9300_golden_output_output.txt"
    )
    (state,) = parse_capture(path.read_text(), str(path))
    assert state.kind == "show-license-authorization" and state.unparsed_lines == ()
    (member,) = state.authorizations
    assert (member.role, member.udi, member.status) == (
        "Active",
        Udi("C9300-24UX", "FCW2147L0C5"),
        "NOT INSTALLED",
    )
    assert state.udi == Udi("C9300-24UX", "FCW2147L0C5")


def test_rum_id_all_rows_without_the_header() -> None:
    text = (
        "sw-a#show license rum id all | include TELEMETRY\n"
        "1690000001         OPEN      N   TELEMETRY\n"
        "1690000004         ACK       N   TELEMETRY\n"
    )
    (state,) = parse_capture(text)
    assert state.kind == "show-license-rum-id-all" and state.hostname == "sw-a"
    assert [(r.id, r.state) for r in state.reports] == [(1690000001, "OPEN"), (1690000004, "ACK")]


def test_c9800_rum_id_all_states() -> None:
    path = need_field("show", "xaviervalette-slup__c9800cl_17.09.02_show_license_rum_id_all.txt")
    (state,) = parse_capture(path.read_text(), str(path))
    assert {r.state for r in state.reports} == {"ACK", "CLOSED", "OPEN"}
    assert state.unparsed_lines == ()


def test_show_logging_smart_lic_events() -> None:
    text = (
        "sw-a#show clock\n*10:00:00.000 UTC Thu Oct 15 2026\nsw-a#show logging | include "
        "SMART_LIC\n*Oct 14 09:00:00.123: %SMART_LIC-6-REPORTING_REQUIRED: A Usage report "
        "acknowledgement will be required in 89 days.\n"
        "*Oct 14 09:00:01.000: %SMART_LIC-3-COMM_FAILED: Communications failure\n"
    )
    states = parse_capture(text)
    logging = [s for s in states if s.kind == "show-logging"]
    assert logging and logging[0].clock == Stamp(
        "10:00:00.000 UTC Thu Oct 15 2026", "2026-10-15T10:00:00Z"
    )
    required, failed = logging[0].history
    assert required.category == "SMART_LIC-6-REPORTING_REQUIRED"
    assert required.meaning is not None and "required by the date" in required.meaning
    assert required.time is not None and required.time.iso == "2026-10-14T09:00:00Z"
    assert "year 2026 taken from the capture's clock" in required.meaning
    assert failed.meaning is not None and "could not reach" in failed.meaning


def test_common_packet_forwarder_status() -> None:
    text = (
        "Gateway#show common-packet-forwarder status\nEnabled : Yes\nRunning : Yes\n"
        "NS Registration : Successful\nLicense Status: Reported - Yes, Acknowledged - No\n"
    )
    (state,) = parse_capture(text)
    assert state.kind == "show-common-packet-forwarder-status"
    assert state.forwarder == {"reported": True, "acknowledged": False}


def test_trust_codes_counted_once_per_member() -> None:
    text = (
        "Trust Code Installed:\n  Active: PID:C9300-24UX,SN:FCW2303D16Y\n"
        "    INSTALLED on Oct 14 11:37:52 2021 UTC\n"
        "  Standby: PID:C9300-24U,SN:FHH2043P09E\n    INSTALLED on Oct 14 11:37:53 2021 UTC\n"
        "\nOther Info\n==========\nSoftware ID: regid.2017-05.com.cisco.C9300,v1\n"
        "P:C9300-24UX,S:FCW2303D16Y: Trust Data INSTALLED\n"
        "P:C9300-24U,S:FHH2043P09E: Trust Data INSTALLED\n"
    )
    (state,) = parse_capture(text)
    assert [(t.role, t.udi) for t in state.trust_codes] == [
        ("Active", Udi("C9300-24UX", "FCW2303D16Y")),
        ("Standby", Udi("C9300-24U", "FHH2043P09E")),
    ]


def test_a_block_after_an_underlined_region_is_read() -> None:
    text = (
        "Device Telemetry Report Summary:\n================================\n"
        "Data Channel: AVAILABLE\nReports on disk: 0\n\nTrust Code Installed:\n"
        "  Active: PID:C9300-24UX,SN:FCW2303D16Y\n    INSTALLED on Oct 14 11:37:52 2021 UTC\n"
    )
    (state,) = parse_capture(text)
    assert [t.udi for t in state.trust_codes] == [Udi("C9300-24UX", "FCW2303D16Y")]


def test_trust_code_time_in_a_plain_status_capture() -> None:
    (state,) = parse_capture(
        "Smart Licensing Using Policy:\n  Status: ENABLED\n\n"
        "Trust Code Installed: Dec 03 08:23:45 2021 UTC\n"
    )
    (code,) = state.trust_codes
    assert code.udi is None and code.installed_on == Stamp(
        "Dec 03 08:23:45 2021 UTC", "2021-12-03T08:23:45Z"
    )
    assert state.unparsed_lines == ()


def test_virtual_account_not_indented_under_registration() -> None:
    text = (
        "Smart Licensing is ENABLED\n\nRegistration:\n  Status: REGISTERED\n"
        "  Smart Account: ACME\nVirtual Account: Plant 7\n"
    )
    (state,) = parse_capture(text)
    assert (state.smart_account, state.virtual_account) == ("ACME", "Plant 7")
    assert state.unparsed_lines == ()


def test_tech_support_without_its_title_line() -> None:
    path = need_field("show", "ShowLicenseTechSupport__golden_output_2_output.txt")
    lines = path.read_text().splitlines()
    body = "\n".join(
        line
        for line in lines
        if not line.startswith(("Smart Licensing Tech Support info", "show "))
    )
    assert capture_kind(body) == "show-license-tech-support"


def test_usage_report_summary_and_dropped_lines_are_kept() -> None:
    path = need_field("show", "ShowLicenseTechSupport__golden_output_7_output.txt")
    (state,) = parse_capture(path.read_text(), str(path))
    assert state.report_summary == {
        "total": 1188,
        "purged": 1204,
        "acknowledged": 0,
        "waiting_for_ack": 0,
        "available_to_report": 322,
        "collecting_data": 4,
        "maximum_display": 322,
        "in_storage": 0,
        "mia": 96,
    }
    usage = state.usage_reporting
    assert usage is not None and usage.last_report_file_write is not None
    assert usage.next_ack_push_check is not None


def test_the_clock_a_capture_prints() -> None:
    path = need_field("show", "ShowLicenseTechSupport__golden_output_2_output.txt")
    (state,) = parse_capture(path.read_text(), str(path))
    assert state.clock == Stamp("Mar 22 14:48:32 2022 UTC", "2022-03-22T14:48:32Z")
    assert state.clock_source == "Current time"


def test_airgap_capture_header_names_the_device() -> None:
    text = (
        "! airgap capture\n! device: sw-a\n! host: 192.0.2.10:22\n"
        "! host-key: SHA256:abc\n! udi: PID:C9300-24UX,SN:FCW2437L0TZ\n"
        "! taken: 2026-11-01T10:00:00Z\nsw-a#show license status\n"
        "Smart Licensing Using Policy:\n  Status: ENABLED\n"
    )
    (state,) = parse_capture(text)
    assert state.collected["device"] == "sw-a" and state.udi_source == "header"
    assert state.udi == Udi("C9300-24UX", "FCW2437L0TZ")
    assert state.clock == Stamp("2026-11-01T10:00:00Z", "2026-11-01T10:00:00Z")
    assert state.unparsed_lines == ()


def test_text_values_shown_as_none_keep_their_raw_form() -> None:
    (state,) = parse_capture("Transport:\n  Type: cslu\n  Cslu address: <empty>\n")
    data = state.to_dict()
    assert data["transport"] == {"type": "cslu", "url": None, "url_raw": "<empty>"}
