"""``parse_capture`` against genieparser's parse of every real capture, on the ntc-templates
captures and the samples, and on odd input: unknown lines, CRLF, tabs, prompts, sessions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airgap.formats.common import Udi
from airgap.state.model import DeviceState, Stamp, TrustCode
from airgap.state.parse import parse_capture
from airgap.state.times import parse_time
from tests.conftest import FIELD, SAMPLES
from tests.state.genie import expected, first

SHOW = FIELD / "show"
CAPTURES = sorted(SHOW.glob("ShowLicense*_output.txt")) if SHOW.exists() else []
NTC = sorted(SHOW.glob("ntc-templates__*.raw")) if SHOW.exists() else []
SAMPLE_CAPTURES = sorted((SAMPLES / "show").glob("*.txt"))


def one(path: Path) -> DeviceState:
    (state,) = parse_capture(path.read_text(), str(path))
    return state


def sentinel(text: str | None) -> str | None:
    return None if text is None or text.strip() in ("<none>", "<empty>", "") else text.strip()


def udi_of(value: Any) -> Udi | None:
    if isinstance(value, dict) and "pid" in value and "sn" in value:
        return Udi(value["pid"], value["sn"])
    return None


def groups(pattern: str, text: str) -> tuple[str, ...]:
    match = re.fullmatch(pattern, text)
    assert match is not None, (pattern, text)
    return match.groups()


# Each check compares one field with genieparser's value; None means genieparser lacks it.
Check = Callable[[dict[str, Any], DeviceState], bool | None]


def check_policy(want: dict[str, Any], got: DeviceState) -> bool | None:
    policy = first(want, "policy")
    if not isinstance(policy, dict):
        return None
    assert got.policy is not None
    assert got.policy.name == policy.get("policy_name")
    in_use = policy.get("policy_in_use", "")
    installed = in_use.removeprefix("Installed On ") if in_use.startswith("Installed") else None
    assert (got.policy.installed_on.raw if got.policy.installed_on else None) == installed
    assert got.policy.ack_required is policy["reporting_ack_required"].startswith("yes")
    blocks = {
        "unenforced_non_export_perpetual_attributes": "unenforced_perpetual",
        "unenforced_non_export_subscription_attributes": "unenforced_subscription",
        "enforced_perpetual_subscription_license_attributes": "enforced",
        "export_perpetual_subscription_license_attributes": "export",
    }
    for key, kind in blocks.items():
        days = policy[key]
        attributes = got.policy.attributes[kind]
        for field, ours in (
            ("first_report_requirement_days", attributes.first_report_days),
            ("reporting_frequency_days", attributes.reporting_frequency_days),
            ("report_on_change_days", attributes.report_on_change_days),
        ):
            number, source = groups(r"(\d+) \((.*)\)", days[field])
            assert ours == int(number), (kind, field)
            assert source in (attributes.source or ""), (kind, field)
    return True


def check_usage_reporting(want: dict[str, Any], got: DeviceState) -> bool | None:
    usage = first(want, "usage_reporting")
    if not isinstance(usage, dict) or "last_ack_received" not in usage:
        return None
    assert got.usage_reporting is not None
    for key in ("last_ack_received", "next_ack_deadline", "last_report_push", "next_report_push"):
        ours: Stamp | None = getattr(got.usage_reporting, key)
        assert ours == parse_time(usage[key]), key  # the same text, read the same way
        # "<none>" is kept as shown (a Stamp with no ISO form), not read as a missing line
        assert (ours.raw if ours else None) == (usage[key].strip() or None), key
        assert (ours.iso if ours else None) is None or sentinel(usage[key]) is not None, key
    interval = int(usage["reporting_push_interval"].split()[0])
    assert got.usage_reporting.reporting_push_interval_days == interval
    return True


def check_transport(want: dict[str, Any], got: DeviceState) -> bool | None:
    transport = first(want, "transport")
    if not isinstance(transport, dict) or "type" not in transport:
        return None
    assert got.transport_type == transport["type"]
    url = transport.get("url") or transport.get("cslu_address")
    assert got.transport_url == sentinel(url)
    return True


def check_account(want: dict[str, Any], got: DeviceState) -> bool | None:
    account = first(want, "account_information")
    if not isinstance(account, dict):
        return None
    smart = sentinel(account["smart_account"])
    assert got.smart_account == (re.sub(r" As of .*$", "", smart) if smart else None)
    assert got.virtual_account == sentinel(account["virtual_account"])
    return True


def check_data_privacy(want: dict[str, Any], got: DeviceState) -> bool | None:
    privacy = first(want, "data_privacy")
    if not isinstance(privacy, dict):
        return None
    converted = {k: {"yes": True, "no": False}.get(v, v) for k, v in privacy.items()}
    assert got.data_privacy == converted
    return True


def check_udi(want: dict[str, Any], got: DeviceState) -> bool | None:
    device = (
        udi_of(first(want, "product_information") and first(want, "udi"))
        or udi_of(want.get("udi_details"))
        or udi_of(want)
    )
    members = first(want, "ha_udi_list")
    reports = want.get("report_id")
    if device is None and isinstance(reports, dict):
        device = udi_of(next(iter(reports.values())).get("udi"))
    if device is None:
        return None
    assert got.udi == device
    if isinstance(members, dict):
        assert udi_of(members.get("active")) == got.udi
    return True


def check_trust_codes(want: dict[str, Any], got: DeviceState) -> bool | None:
    installed = first(want, "trust_code_installed")
    trust_data = first(want, "trust_data")
    if isinstance(installed, dict):
        theirs = {
            (role.capitalize(), udi_of(v), v["info"].removeprefix("INSTALLED on "))
            for role, v in installed.items()
        }
        ours = {
            (t.role, t.udi, t.installed_on.raw if t.installed_on else None) for t in got.trust_codes
        }
        assert ours == theirs
        return True
    if isinstance(trust_data, dict):
        serials = {
            sn.rstrip(":").upper()
            for sn, v in trust_data.items()
            if "trustid" in v or v.get("trustvalue") == "Trust Data INSTALLED"
        }
        assert {t.udi.sn for t in got.trust_codes if t.udi} == serials
        return True
    return None


def check_reports(want: dict[str, Any], got: DeviceState) -> bool | None:
    table = want.get("smart_license_usage_reports")
    detail = want.get("report_id")
    if isinstance(table, dict):
        theirs = {(int(i), r["state"], r["flag"], r["feature_name"]) for i, r in table.items()}
        assert {(r.id, r.state, r.flag, r.feature) for r in got.reports} == theirs
        return True
    if isinstance(detail, dict):
        details = {(int(i), r["state"], r.get("feature_name")) for i, r in detail.items()}
        assert {(r.id, r.state, r.feature) for r in got.reports} == details
        return True
    return None


def check_licenses(want: dict[str, Any], got: DeviceState) -> bool | None:
    ours = {
        (lic.name, lic.entitlement_tag, lic.count, lic.status, lic.enforcement, lic.export_status)
        for lic in got.licenses
    }
    usage = want.get("license_usage")
    by_name = first(want, "license_name")
    handles = first(want, "handle")
    if isinstance(handles, dict):
        theirs = {
            (
                h["license"],
                h["entitlement_tag"],
                h["count"],
                re.sub(r"\(\d+\)$", "", h["status"]),
                h["enforcement_type"],
                h["export_status"],
            )
            for h in handles.values()
        }
    elif isinstance(by_name, dict):
        theirs = set()
        for label, h in by_name.items():
            name, tag = groups(r"(.*?) \((.*)\):", label)
            theirs.add(
                (name, tag, h["count"], h["status"], h["enforcement_type"], h["export_status"])
            )
    elif isinstance(usage, dict):
        theirs = {
            (u["license"], u["entitlement"], int(u["count"]), u["status"], None, None)
            for u in usage.values()
        }
    else:
        return None
    assert ours == theirs
    return True


def check_history(want: dict[str, Any], got: DeviceState) -> bool | None:
    if "event_log" in want:
        assert [h.message for h in got.history] == [e["log_message"] for e in want["event_log"]]
        assert all(h.time is not None and h.time.iso for h in got.history)
        return True
    if want.get("no_eventlog_found") or "message_history" in want:
        history = [
            *want.get("message_history", {}).values(),
            *want.get("import_message_history", {}).values(),
        ]
        assert all(text.startswith("No past") for text in history)
        assert got.history == ()
        return True
    return None


CHECKS: tuple[Check, ...] = (
    check_policy,
    check_usage_reporting,
    check_transport,
    check_account,
    check_data_privacy,
    check_udi,
    check_trust_codes,
    check_reports,
    check_licenses,
    check_history,
)


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_every_field_agrees_with_genieparser(path: Path) -> None:
    got = one(path)
    compared = [check.__name__ for check in CHECKS if check(expected(path), got)]
    assert compared, "genieparser's parse has none of the fields compared"


@pytest.mark.parametrize("path", CAPTURES + NTC, ids=[p.name for p in CAPTURES + NTC])
def test_real_captures_leave_few_lines_unparsed(path: Path) -> None:
    got = one(path)
    assert got.kind.startswith("show-license-")
    assert len(got.unparsed_lines) <= 6, got.unparsed_lines


def test_ntc_templates_captures() -> None:
    if not NTC:
        pytest.skip(f"field captures not present: {SHOW}")
    status = [p for p in NTC if "show_license_status" in p.name]
    states = {p.name.split("status")[-1]: one(p) for p in status}
    assert states["1.raw"].smart_account == "ACME Corporation"
    assert states["1.raw"].transport_type == "Callhome"
    edt = states["2.raw"].usage_reporting
    assert edt is not None and edt.last_ack_received == Stamp(
        "Nov 08 10:31:23 2023 EDT", "2023-11-08T10:31:23"
    )
    sle = states["3.raw"]
    assert sle.policy is not None and sle.policy.name == "SLE Policy"
    assert sle.transport_url == "https://smartreceiver.cisco.com/licservice/license"
    # "Trust Code Installed: <time>" is the device's own, though the capture names no device
    assert sle.trust_codes == (
        TrustCode(None, None, Stamp("Dec 03 08:23:45 2021 UTC", "2021-12-03T08:23:45Z")),
    )
    assert sle.unparsed_lines == ()
    est = states["4.raw"]
    assert est.smart_account == "Sample Smart Account"
    assert est.usage_reporting is not None
    assert est.usage_reporting.reporting_push_interval_days == 0
    converted = parse_capture(status[3].read_text(), None, {"EST": timedelta(hours=-5)})[
        0
    ].usage_reporting
    assert converted is not None and converted.next_ack_deadline == Stamp(
        "Aug 03 09:03:25 2025 est", "2025-08-03T14:03:25Z"
    )


@pytest.mark.parametrize("path", SAMPLE_CAPTURES, ids=[p.name for p in SAMPLE_CAPTURES])
def test_samples(path: Path) -> None:
    (got,) = parse_capture(path.read_text(), str(path))
    assert got.kind == "show-license-" + path.stem.removeprefix("c9300-")
    assert got.hostname == "c9300-edge-01"
    assert got.unparsed_lines == ()
    if got.udi is not None:
        assert got.udi == Udi("C9300-24UX", "FCW2437L0TZ")
    if path.stem in ("c9300-udi", "c9300-all", "c9300-tech-support", "c9300-rum-id-detail"):
        assert got.udi is not None


def test_sample_states_hold_what_the_samples_say() -> None:
    read = {p.stem.removeprefix("c9300-"): one(p) for p in SAMPLE_CAPTURES}
    status = read["status"]
    assert status.policy is not None and status.policy.name == "Example Industrial Policy"
    assert status.data_privacy["sending_hostname"] is False
    assert status.transport_type == "Transport Off" and status.transport_url is None
    assert [(r.state, r.feature) for r in read["rum-id-all"].reports][:2] == [
        ("ACK", "network-advantage"),
        ("ACK", "dna-advantage"),
    ]
    history = read["history-message"].history
    assert [h.category for h in history].count("Import RUM ACK") == 1
    assert history[0].time == Stamp("Mar 16 10:41:22 2023 UTC", "2023-03-16T10:41:22Z")
    assert [lic.entitlement_tag for lic in read["summary"].licenses] == [
        "C9300-24 Network Advan...",
        "C9300-24 DNA Advantage",
        "Cat9K HSEC",
    ]
    assert read["usage"].licenses[2].export_status == "RESTRICTED - ALLOWED"


STATUS = """\
Load for five secs: 1%/0%; one minute: 0%; five minutes: 0%
Time source is NTP, 12:19:01.163 UTC Tue Nov 16 2021
Router#show license status
Utility:
  Status: DISABLED

Policy:
  Policy in use: Installed On Oct 14 11:37:52 2021 UTC
  Policy name: Custom Policy
  Brand New Label: 42
  Reporting ACK required: yes (Customer Policy)

Usage Reporting:
  Last ACK received: Oct 14 12:10:32 2021 UTC
  Next ACK deadline: Jan 12 12:10:32 2022 UTC
  Reporting push interval: 30  days

Something Else Entirely:
  Whatever: 1
Trust Code Installed: <none>
Router#
"""


def test_unknown_lines_are_kept_in_order_and_the_rest_is_read() -> None:
    (got,) = parse_capture(STATUS)
    assert got.kind == "show-license-status" and got.hostname == "Router"
    assert got.unparsed_lines == (
        "  Brand New Label: 42",
        "Something Else Entirely:",
        "  Whatever: 1",
    )
    assert got.policy is not None and got.policy.name == "Custom Policy"
    assert got.policy.ack_required is True and got.policy.attributes == {}
    assert got.usage_reporting is not None
    assert got.usage_reporting.next_ack_deadline == Stamp(
        "Jan 12 12:10:32 2022 UTC", "2022-01-12T12:10:32Z"
    )
    assert got.usage_reporting.reporting_push_interval_days == 30
    assert got.trust_codes == () and got.udi is None and got.licenses == ()


def test_crlf_tabs_and_extra_spaces_read_the_same() -> None:
    (plain,) = parse_capture(STATUS)
    (crlf,) = parse_capture(STATUS.replace("\n", "\r\n"))
    spaced = STATUS.replace(": ", ":   ").replace("\n", "   \n")
    (wide,) = parse_capture(spaced)
    (tabbed,) = parse_capture(STATUS.replace("\n  ", "\n\t"))
    assert crlf == plain
    assert wide.policy == plain.policy and wide.usage_reporting == plain.usage_reporting
    assert tabbed.policy == plain.policy and tabbed.usage_reporting == plain.usage_reporting


def test_missing_sections_leave_fields_none() -> None:
    (got,) = parse_capture("Usage Reporting:\n  Last ACK received: <none>\n")
    assert got.kind == "unknown"
    usage = got.usage_reporting
    assert usage is not None and usage.last_ack_received == Stamp("<none>", None)  # shown
    assert usage.last_ack_received.shown_none and usage.next_ack_deadline is None  # not shown
    assert got.to_dict()["usage_reporting"]["last_ack_received_raw"] == "<none>"
    assert got.to_dict()["usage_reporting"]["next_ack_deadline_raw"] is None
    assert got.policy is None and got.transport_type is None and got.unparsed_lines == ()
    assert parse_capture("") == [] and parse_capture("\n \r\n") == []


SESSION = """\
c9300#show license udi
SlotID   PID    \t\tSN      \t\tUDI
--------------------------------------------------------------------------------
*\t C9300-24UX            FCW2437L0TZ     C9300-24UX:FCW2437L0TZ

c9300#sh lic status
Trust Code Installed: Dec 03 08:23:45 2021 PDT
*Oct 14 12:10:32.123: %SMART_LIC-6-POLICY_INSTALL_SUCCESS: A new licensing policy was installed
c9300#sh lic rum id all
Smart Licensing Usage Report:
====================================
Report Id,          State,    Flag, Feature Name
1629870048          CLOSED    N     network-premier_2.5G
1629870049          DELETED   N
c9300#
"""


def test_a_session_gives_one_state_per_command_on_one_device() -> None:
    udi, status, rum = parse_capture(SESSION, "session.txt", {"PDT": timedelta(hours=-7)})
    assert [s.kind for s in (udi, status, rum)] == [
        "show-license-udi",
        "show-license-status",
        "show-license-rum-id-all",
    ]
    assert {s.udi for s in (udi, status, rum)} == {Udi("C9300-24UX", "FCW2437L0TZ")}
    assert {s.hostname for s in (udi, status, rum)} == {"c9300"}
    assert {s.path for s in (udi, status, rum)} == {"session.txt"}
    (code,) = status.trust_codes
    assert code.udi == udi.udi and code.installed_on == Stamp(
        "Dec 03 08:23:45 2021 PDT", "2021-12-03T15:23:45Z"
    )
    (event,) = status.history
    assert event.category == "SMART_LIC-6-POLICY_INSTALL_SUCCESS"
    assert event.time == Stamp("Oct 14 12:10:32.123", None)
    assert [(r.id, r.state, r.feature) for r in rum.reports] == [
        (1629870048, "CLOSED", "network-premier_2.5G"),
        (1629870049, "DELETED", None),
    ]
    assert all(s.unparsed_lines == () for s in (udi, status, rum))


def test_stack_trust_codes_and_ha_members() -> None:
    text = (
        "Trust Code Installed:\n"
        "  Active: PID:C9300-24UX,SN:FCW2303D16Y\n    INSTALLED on Oct 14 11:37:52 2021 UTC\n"
        "  Member: PID:C9300-48T,SN:FCW2139L056\n    NOT INSTALLED\n"
        "  Standby: PID:C9300-24U,SN:FHH2043P09E\n    INSTALLED on Oct 14 11:37:53 2021 UTC\n"
        "\nHA UDI List:\n    Standby:PID:C9300-24U,SN:FHH2043P09E\n"
        "    Active:PID:C9300-24UX,SN:FCW2303D16Y\n"
    )
    (got,) = parse_capture(text)
    assert [(t.role, t.udi and t.udi.sn) for t in got.trust_codes] == [
        ("Active", "FCW2303D16Y"),
        ("Standby", "FHH2043P09E"),
    ]
    assert got.udi == Udi("C9300-24UX", "FCW2303D16Y")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Policy:",
                "  Policy name: X",
                "Usage Reporting:",
                "  Last ACK received: <none>",
                "\t",
                "Report Id,  State,  Flag, Feature Name",
                "12 OPEN N x",
                "License Usage",
                "=====",
                "Handle: 1",
                "  Count: x",
                "UDI: PID:",
                "r1#show license all",
                "Trust Code Installed:",
                "  Active: PID:A,SN:B",
                "Other Info",
                "P:A,S:B: Trust Data INSTALLED",
                "\r",
                "::",
                "",
                "Report Id: 5",
                "  State: ACK, x",
                "2021-13-45 99:99:99 UTC boom",
                "%SMART_LIC-6-X_Y:",
            ]
        )
        | st.text(max_size=30),
        max_size=30,
    )
)
def test_any_text_parses_and_unparsed_lines_come_from_it(lines: list[str]) -> None:
    text = "\n".join(lines)
    # parse splits on CR and LF only; other line separators read as spaces, NULs are dropped
    seen = re.sub("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]", " ", text.replace("\r", "\n"))
    for state in parse_capture(text):
        state.to_dict()
        assert all(line in seen.replace("\x00", "") for line in state.unparsed_lines)


def test_deep_nesting_does_not_raise() -> None:
    stairs = "\n".join(" " * depth + "Title\n" + " " * depth + "=====" for depth in range(3000))
    (got,) = parse_capture(stairs)
    assert len(got.unparsed_lines) == 3000
    (got,) = parse_capture("\n".join(" " * depth + "Data Privacy: x" for depth in range(3000)))
    assert got.data_privacy == {"data_privacy": "x"} and got.unparsed_lines == ()


def test_a_policy_printed_alike_is_read_once_and_gives_what_reading_it_gives() -> None:
    """Site summaries (no lines marked) take a policy block printed as one read before from
    what that one gave: the same policy, and a name shown as ``<none>`` remembered again."""
    text = next((SAMPLES / "show").glob("*status*")).read_text()
    named = re.search(r"Policy name: (.*)", text)
    assert named is not None
    unnamed = text.replace(named[0], "Policy name: <none>")
    for capture in (text, unnamed, text, unnamed):
        full = parse_capture(capture)  # lines marked: read afresh
        for quick in (parse_capture(capture, unparsed=False) for _ in range(2)):
            assert [s.policy for s in quick] == [s.policy for s in full]
            assert [s.none_raw for s in quick] == [s.none_raw for s in full]
    assert parse_capture(unnamed)[0].none_raw.get("policy.name") == "<none>"
    assert (
        parse_capture(text, unparsed=False)[0].policy
        is parse_capture(text, unparsed=False)[0].policy
    )
