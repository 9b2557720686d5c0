"""A syslog time without a year takes the latest year on or before the capture's clock, read
through the clock's :class:`Moment` (UTC, an offset or a local time alike); a ``will be
required in N days`` event is due N days after its log time, naive or UTC as that time is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airgap.state.devices import group
from airgap.state.model import HistoryEntry, Stamp
from airgap.state.parse import parse_capture
from airgap.state.syslog import required_by, with_year

CODE = "SMART_LIC-6-REPORTING_REQUIRED"
SAID = "A Usage report acknowledgement will be required in 89 days."


def event(raw: str, iso: str | None = None) -> HistoryEntry:
    return HistoryEntry(CODE, SAID, Stamp(raw, iso))


@pytest.mark.parametrize(
    ("clock", "raw", "iso"),
    [
        ("2026-03-02T08:00:00Z", "Mar  1 10:00:00.123", "2026-03-01T10:00:00Z"),
        ("2026-03-02T08:00:00Z", "Mar  3 10:00:00.123", "2025-03-03T10:00:00Z"),
        ("2026-03-02T08:00:00", "Mar  1 10:00:00", "2026-03-01T10:00:00"),
        ("2026-03-02T08:00:00", "Mar  1 10:00:00 UTC", "2026-03-01T10:00:00Z"),
        # an offset clock: its wall-clock time is the one syslog printed beside it
        ("2026-03-01T11:00:00+02:00", "Mar  1 10:00:00", "2026-03-01T10:00:00"),
        ("2026-03-01T09:00:00+02:00", "Mar  1 10:00:00", "2025-03-01T10:00:00"),
    ],
)
def test_a_time_without_a_year_takes_the_clocks(clock: str, raw: str, iso: str) -> None:
    dated = with_year(event(raw), Stamp(f"clock {clock}", clock))
    assert dated.time == Stamp(raw, iso)
    assert dated.meaning == f"year {iso[:4]} taken from the capture's clock (clock {clock})"


@pytest.mark.parametrize("clock", [None, Stamp("no clock", None), Stamp("garbled", "not-iso")])
def test_no_clock_to_go_by_leaves_the_event(clock: Stamp | None) -> None:
    entry = event("Mar  1 10:00:00.123")
    assert with_year(entry, clock) is entry


@pytest.mark.parametrize(
    ("iso", "due"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 5, 29, 10, tzinfo=UTC)),
        ("2026-03-01T10:00:00", datetime(2026, 5, 29, 10)),
    ],
)
def test_required_in_days_is_due_that_many_days_later(iso: str, due: datetime) -> None:
    assert required_by(event("Mar  1 10:00:00", iso)) == (due, 89)


@pytest.mark.parametrize("iso", [None, "not-iso"])
def test_an_event_without_a_time_to_go_by_is_due_never(iso: str | None) -> None:
    assert required_by(event("Mar  1 10:00:00", iso)) is None


# A central syslog server's file: RFC 5424, RFC 3164 (a Cisco relay with its own time after the
# host) and rsyslog's RFC 3339 file format, from three devices, and one nil host.
SERVER_LOG = """\
<134>1 2026-11-30T10:00:00Z sw1 smartagent - - - %SMART_LIC-6-REPORTING_REQUIRED: A Usage \
report acknowledgement will be required in 5 days.
Nov 29 10:00:00 sw2 %SMART_LIC-3-COMM_FAILED: Communications failure with the Cisco Smart \
License Utility (CSLU)
Nov 29 11:00:00 192.0.2.5 123: *Nov 29 11:00:00.123 UTC: %SMART_LIC-6-REPORTING_SUCCESS: \
A usage report was saved
2026-11-30T11:00:00.5+01:00 SW1 124: %SMART_LIC-3-COMM_FAILED: Communications failure
<134>1 2026-11-30T12:00:00Z - smartagent - - - %SMART_LIC-6-AGENT_READY: ready
"""


def test_a_syslog_servers_file_is_one_device_per_host() -> None:
    states = parse_capture(SERVER_LOG, "logs/site.log")
    by_host = {s.hostname: s for s in states}
    assert list(by_host) == [None, "sw1", "sw2", "192.0.2.5"]  # the nil host stays the file's
    sw1 = by_host["sw1"]
    assert [h.category for h in sw1.history] == [
        "SMART_LIC-6-REPORTING_REQUIRED",
        "SMART_LIC-3-COMM_FAILED",  # SW1: host names are not case-sensitive
    ]
    assert [h.time.iso for h in sw1.history if h.time] == ["2026-11-30T10:00:00Z"] * 2
    assert sw1.clock == Stamp("2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z")
    assert sw1.udi is None and sw1.shown == {"history"}
    # the device's own time, sent after the host, says more than the server's
    [relayed] = by_host["192.0.2.5"].history
    assert relayed.time == Stamp("Nov 29 11:00:00.123 UTC", None)
    assert [h.category for h in by_host[None].history] == ["SMART_LIC-6-AGENT_READY"]
    keys = {d.key for d in group(states)}
    assert keys == {
        "file:logs/site.log",
        "host:sw1 in logs",
        "host:sw2 in logs",
        "host:192.0.2.5 in logs",
    }


def test_a_servers_host_joins_that_hosts_capture_in_the_folder() -> None:
    capture = parse_capture("sw2#show license status\nUtility:\n  Status: DISABLED\n", "logs/a.txt")
    [device] = [
        d
        for d in group(capture + parse_capture(SERVER_LOG, "logs/site.log"))
        if d.state.hostname == "sw2"
    ]
    assert set(device.paths) == {"logs/a.txt", "logs/site.log"}
    assert [h.category for h in device.state.history] == ["SMART_LIC-3-COMM_FAILED"]


@pytest.mark.parametrize(
    "line",
    [
        "*Oct 30 09:00:00.123: %SMART_LIC-6-REPORTING_REQUIRED: required in 2 days.",
        "Oct 30 09:00:00 UTC: %SMART_LIC-6-REPORTING_REQUIRED: required in 2 days.",
        "000123: Oct 30 09:00:00.123 PDT: %SMART_LIC-6-REPORTING_REQUIRED: required in 2 days.",
        "sw-log#show logging\nOct 30 2026 09:00:00 UTC: %SMART_LIC-6-REPORTING_REQUIRED: x",
    ],
)
def test_a_devices_own_log_names_no_other_host(line: str) -> None:
    [state] = parse_capture(line + "\n", "a.txt")
    assert [h.category for h in state.history] == ["SMART_LIC-6-REPORTING_REQUIRED"]


def test_the_capture_hosts_own_lines_stay_with_it() -> None:
    text = "sw1#show logging\n" + SERVER_LOG
    first, *others = parse_capture(text, "a.txt")
    assert first.hostname == "sw1" and len(first.history) == 3  # sw1, SW1 and the nil host
    assert [s.hostname for s in others] == ["sw2", "192.0.2.5"]
