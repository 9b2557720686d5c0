"""Deadlines: the device's own Next ACK deadline wins (every real capture that shows one),
computed dates are estimates that name their rule, and devices sort most urgent first."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from airgap import formats, xml
from airgap.formats.common import Udi
from airgap.formats.imports import ImportFile
from airgap.lab import captures, cssm, fleet
from airgap.state import deadlines
from airgap.state.model import DeviceState, Policy, PolicyAttributes, Stamp, UsageReporting
from airgap.state.parse import parse_capture
from airgap.state.times import parse_time
from tests.conftest import FIELD, need_field

_DEADLINE = re.compile(r"^\s*Next ACK deadline:\s*(?P<when>\w{3} +\d+ [\d:]+ \d{4})", re.M)


def with_deadline() -> list[Path]:
    if not FIELD.exists():
        return []
    return [
        p
        for p in sorted((FIELD / "show").iterdir())
        if _DEADLINE.search(p.read_text(errors="replace"))
    ]


CAPTURES = with_deadline()
UDI = Udi("C9300-24UX", "LAB000001ABC")
TODAY = date(2026, 11, 2)


def state(
    *,
    last_ack: datetime | None = None,
    deadline: datetime | None = None,
    policy: Policy | None = fleet.LAB_POLICY,
    pushed: datetime | None = None,
    next_push: datetime | None = None,
    udi: Udi | None = UDI,
    path: str = "captures/a.txt",
) -> DeviceState:
    usage = UsageReporting(
        captures.stamp(last_ack),
        captures.stamp(deadline),
        captures.stamp(pushed),
        captures.stamp(next_push),
        30,
    )
    return DeviceState(
        "show-license-status", path, udi, "lab-host", policy=policy, usage_reporting=usage
    )


def one(
    item: DeviceState,
    today: date = TODAY,
    warn_days: int = 14,
    imports: list[tuple[str, ImportFile]] | None = None,
) -> deadlines.DeviceDeadlines:
    (found,) = deadlines.deadlines([item], today, warn_days, imports or [])
    return found


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_field_next_ack_deadline_wins(path: Path) -> None:
    text = path.read_text(errors="replace")
    match = _DEADLINE.search(text)
    assert match
    want = datetime.strptime(" ".join(match["when"].split()), "%b %d %H:%M:%S %Y").date()
    (found,) = deadlines.deadlines(parse_capture(text, str(path)), want)
    assert found.ack_by is not None
    assert found.ack_by.date == want
    assert (found.ack_by.source, found.ack_by.estimate) == ("device", False)
    # the earlier obligation decides: a report push the device scheduled before its deadline
    earliest = min(d.date for d in (found.ack_by, found.report_by) if d is not None)
    assert found.date == earliest and found.days_left == (earliest - want).days
    assert found.status == ("due" if earliest == want else "overdue")


def test_field_status_golden_output1_is_due_jan_12_2022() -> None:
    path = need_field("show", "ShowLicenseStatus__golden_output1_output.txt")
    (found,) = deadlines.deadlines(parse_capture(path.read_text(), str(path)), date(2022, 1, 20))
    assert found.ack_by is not None and found.ack_by.date == date(2022, 1, 12)
    assert found.ack_by.time == "2022-01-12T12:10:32Z" and not found.ack_by.local_time
    assert found.report_by is not None and found.report_by.date == date(2021, 10, 22)
    assert (found.report_by.source, found.report_by.estimate) == ("device", False)
    # the earlier obligation decides: the report push of Oct 22 2021 was missed
    assert found.status == "overdue" and found.basis == "report_by" and found.days_left == -90


def test_field_local_time_is_flagged() -> None:
    path = need_field("show", "ShowLicenseAll__golden_output_2_output.txt")
    (found,) = deadlines.deadlines(parse_capture(path.read_text(), str(path)), TODAY)
    assert found.ack_by is not None
    assert (found.ack_by.date, found.ack_by.local_time) == (date(2024, 2, 16), True)
    assert found.ack_by.raw == "Feb 16 11:05:11 2024 PDT"


def test_estimate_from_last_ack_and_smallest_non_zero_frequency() -> None:
    last = datetime(2026, 9, 1, 8, tzinfo=UTC)
    policy = Policy(
        "Site",
        captures.stamp(datetime(2026, 1, 1, tzinfo=UTC)),
        True,
        {
            "unenforced_perpetual": PolicyAttributes(365, 0, 90),
            "unenforced_subscription": PolicyAttributes(90, 60, 90),
            "export": PolicyAttributes(30, 45, 0),
        },
    )
    found = one(state(last_ack=last, policy=policy))
    assert found.ack_by is not None
    assert found.ack_by.date == date(2026, 10, 16)  # Sep 1 + 45 days
    assert found.ack_by.time == "2026-10-16T08:00:00Z"
    assert (found.ack_by.source, found.ack_by.estimate) == ("policy", True)
    assert (
        "+ 45 days" in found.ack_by.rule
        and "smallest non-zero reporting frequency" in found.ack_by.rule
    )
    assert found.status == "overdue" and found.days_left == -17


def test_estimate_from_policy_install_when_no_ack_yet() -> None:
    found = one(state())  # lab policy installed Jan 05 2026; first report 90 (365, 0 ignored)
    assert found.ack_by is not None
    assert found.ack_by.date == date(2026, 4, 5) and found.ack_by.estimate
    assert "no ACK received yet" in found.ack_by.rule
    assert "first report requirement" in found.ack_by.rule


def test_no_policy_falls_back_to_the_default_table() -> None:
    found = one(state(last_ack=datetime(2026, 10, 1, tzinfo=UTC), policy=None))
    assert found.ack_by is not None
    assert found.ack_by.date == date(2026, 12, 30)  # + 90 days
    assert (found.ack_by.source, found.ack_by.estimate) == ("default table", True)
    assert "default table" in found.ack_by.rule
    assert found.policy.source == "default table" and found.status == "ok"


def test_no_policy_and_no_ack_is_unknown() -> None:
    found = one(DeviceState("show-license-status", "a.txt", UDI))
    assert (found.status, found.ack_by, found.report_by, found.basis) == (
        "unknown",
        None,
        None,
        None,
    )
    assert found.notes


def test_newest_imported_policy_beats_the_default_table() -> None:
    def ack(when: datetime) -> ImportFile:
        data = cssm.ack_xml(UDI, [(1, UDI)], "c0ffee", when)
        model = formats.read_xml(xml.parse(data))
        assert model is not None and isinstance(model.model, ImportFile)
        return model.model

    old, new = ack(datetime(2026, 1, 1, tzinfo=UTC)), ack(datetime(2026, 6, 1, tzinfo=UTC))
    new.policies[0].terms["subscription"]["onGoingReporting"] = 30  # tell the two apart
    found = one(
        state(last_ack=datetime(2026, 10, 1, tzinfo=UTC), policy=None),
        imports=[("acks/ACK_new.xml", new), ("acks/ACK_old.xml", old)],
    )
    assert found.ack_by is not None
    assert (found.ack_by.source, found.ack_by.date) == ("imported policy", date(2026, 10, 31))
    assert "acks/ACK_new.xml" in found.ack_by.rule


def test_the_device_policy_beats_an_imported_one() -> None:
    data = cssm.ack_xml(UDI, [], "c0ffee", datetime(2026, 6, 1, tzinfo=UTC))
    doc = formats.read_xml(xml.parse(data))
    assert doc is not None and isinstance(doc.model, ImportFile)
    doc.model.policies[0].terms["subscription"]["onGoingReporting"] = 7
    found = one(state(last_ack=datetime(2026, 10, 1, tzinfo=UTC)), imports=[("a", doc.model)])
    assert found.ack_by is not None and found.ack_by.source == "policy"


def test_report_by_from_device_or_policy() -> None:
    pushed = datetime(2026, 10, 20, tzinfo=UTC)
    shown = one(state(pushed=pushed, next_push=datetime(2026, 11, 5, tzinfo=UTC)))
    assert shown.report_by is not None
    assert (shown.report_by.date, shown.report_by.estimate) == (date(2026, 11, 5), False)
    estimated = one(state(pushed=pushed))  # the push interval (30 days) is no obligation
    assert estimated.report_by is not None
    assert (estimated.report_by.date, estimated.report_by.estimate) == (date(2027, 1, 18), True)
    assert estimated.report_by.source == "policy" and "last report push" in estimated.report_by.rule


def test_a_past_report_by_makes_the_device_overdue() -> None:
    found = one(
        state(
            deadline=datetime(2027, 1, 1, tzinfo=UTC), next_push=datetime(2026, 10, 1, tzinfo=UTC)
        )
    )
    assert found.ack_by is not None and found.ack_by.date == date(2027, 1, 1)
    assert (found.status, found.basis, found.days_left) == ("overdue", "report_by", -32)


def test_next_ack_deadline_none_means_no_ack_pending() -> None:
    usage = UsageReporting(
        captures.stamp(datetime(2026, 8, 1, tzinfo=UTC)), parse_time("<none>"), None, None, 30
    )
    found = one(
        DeviceState(
            "show-license-status", "a.txt", UDI, usage_reporting=usage, policy=fleet.LAB_POLICY
        )
    )
    assert found.ack_by is None and any("no ACK is pending" in n for n in found.notes)
    assert found.report_by is not None and found.report_by.estimate  # Aug 1 + 90 days
    assert (found.basis, found.report_by.date, found.status) == (
        "report_by",
        date(2026, 10, 30),
        "overdue",
    )


def test_no_ack_required_rests_on_report_by() -> None:
    policy = replace(fleet.LAB_POLICY, ack_required=False)
    found = one(state(policy=policy, pushed=datetime(2026, 8, 1, tzinfo=UTC)))
    assert found.ack_by is None and found.basis == "report_by"
    assert found.status == "overdue"  # Aug 1 + 90 days = Oct 30 < Nov 2
    assert any("requires no ACK" in n for n in found.notes)


@pytest.mark.parametrize(("days", "status"), [(-1, "overdue"), (0, "due"), (14, "due"), (15, "ok")])
def test_status_by_calendar_date(days: int, status: str) -> None:
    # 23:59 on the deadline day is still that day: dates compare, not times
    deadline = datetime.combine(TODAY + timedelta(days=days), datetime.max.time(), UTC)
    found = one(state(deadline=deadline.replace(microsecond=0)))
    assert (found.status, found.days_left) == (status, days)


def test_local_time_used_as_printed_unless_tz_given() -> None:
    raw = "Nov 01 23:30:00 2026 PDT"
    local = replace(state(), usage_reporting=UsageReporting(next_ack_deadline=parse_time(raw)))
    found = one(local)
    assert found.ack_by is not None
    assert (found.ack_by.date, found.ack_by.local_time, found.status) == (
        date(2026, 11, 1),
        True,
        "overdue",
    )
    converted = parse_time(raw, {"PDT": timedelta(hours=-7)})
    found = one(replace(local, usage_reporting=UsageReporting(next_ack_deadline=converted)))
    assert found.ack_by is not None
    assert (found.ack_by.date, found.ack_by.local_time, found.status) == (
        date(2026, 11, 2),
        False,
        "due",
    )


def test_unreadable_deadline_is_noted_not_fatal() -> None:
    usage = UsageReporting(next_ack_deadline=Stamp("sometime soon", None))
    found = one(replace(state(), usage_reporting=usage))
    assert any("sometime soon" in n for n in found.notes)
    assert found.ack_by is not None and found.ack_by.estimate


def test_most_urgent_first_unknown_last() -> None:
    items = [
        state(deadline=datetime(2026, 12, 30, tzinfo=UTC), udi=Udi("A", "1"), path="a/1"),
        DeviceState("show-license-status", "b/2", Udi("B", "2")),
        state(deadline=datetime(2026, 10, 1, tzinfo=UTC), udi=Udi("C", "3"), path="c/3"),
        state(deadline=datetime(2026, 11, 10, tzinfo=UTC), udi=Udi("D", "4"), path="d/4"),
        state(deadline=datetime(2026, 9, 1, tzinfo=UTC), udi=Udi("E", "5"), path="e/5"),
    ]
    found = deadlines.deadlines(items, TODAY)
    assert [f.device.split(",")[0] for f in found] == ["PID:E", "PID:C", "PID:D", "PID:A", "PID:B"]
    assert [f.status for f in found] == ["overdue", "overdue", "due", "ok", "unknown"]
    assert deadlines.counts(found) == {"overdue": 2, "due": 1, "ok": 1, "unknown": 1}


def test_lab_captures_round_trip_in_order() -> None:
    texts = []
    for number in range(40):
        dev = fleet.device(3, number)
        last = fleet.LAB_NOW - timedelta(days=number * 5)
        item = fleet.device_state(dev.udi, [], last_ack=last, pushed=None)
        texts.append((f"c/{number}.txt", captures.render(item)))
    states = [s for path, text in texts for s in parse_capture(text, path)]
    found = deadlines.deadlines(states, fleet.LAB_NOW.date())
    dates = [f.date for f in found]
    assert dates == sorted(d for d in dates if d is not None)
    assert [f.status for f in found][:3] == ["overdue"] * 3
    assert all(f.ack_by is not None and f.ack_by.source == "device" for f in found)
    assert found[0].to_dict()["ack_by"]["estimate"] is False


def test_the_newest_capture_of_a_device_wins(tmp_path: Path) -> None:
    dev = fleet.device(3, 1)
    before = parse_capture(fleet.before_capture(dev).decode(), "a/before.txt")
    after_state = fleet.device_state(dev.udi, [], last_ack=fleet.LAB_NOW, pushed=None)
    after = parse_capture(captures.render(after_state), "b/after.txt")
    for order in (before + after, after + before):
        (found,) = deadlines.deadlines(order, fleet.LAB_NOW.date())
        assert found.ack_by is not None
        assert found.ack_by.date == (fleet.LAB_NOW + timedelta(days=90)).date()
        assert set(found.paths) == {"a/before.txt", "b/after.txt"}


def test_statuses_bases_and_sources_are_enum_members_that_write_the_same_words() -> None:
    item = one(state(deadline=datetime(2026, 11, 10, tzinfo=UTC)))
    assert item.status is deadlines.DueStatus.DUE and item.basis is deadlines.Obligation.ACK_BY
    assert item.ack_by is not None and item.ack_by.source is deadlines.DateSource.DEVICE
    assert item.policy.source is deadlines.DateSource.POLICY  # the one the device shows
    # the JSON writer the commands use: an enum as a dict key would be refused
    written = orjson.loads(orjson.dumps([item.to_dict(), deadlines.counts([item])]))
    assert (written[0]["status"], written[0]["basis"]) == ("due", "ack_by")
    assert written[0]["ack_by"]["source"] == "device"
    assert written[0]["policy"]["source"] == "policy"
    assert written[1] == {"overdue": 0, "due": 1, "ok": 0, "unknown": 0}
