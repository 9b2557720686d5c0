"""Device times into Stamps, and ``--tz LABEL=OFFSET`` values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airgap.errors import ExitCode
from airgap.state.model import Moment, Stamp
from airgap.state.times import (
    TimeZoneError,
    parse_time,
    parse_tz,
    parse_tz_options,
    search_time,
    split_time_prefix,
)

PDT = {"PDT": timedelta(hours=-7)}


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("Oct 14 12:10:32 2021 UTC", "2021-10-14T12:10:32Z"),
        ("Feb 07 10:32:11 2022 UTC", "2022-02-07T10:32:11Z"),
        ("Feb  7 10:32:11 2022 utc", "2022-02-07T10:32:11Z"),
        ("2021-11-17 03:31:32.920 UTC", "2021-11-17T03:31:32Z"),
        (".05:30:30.132 UTC Fri Oct 22 2021", "2021-10-22T05:30:30Z"),
        ("Oct 14 2021 12:10:32.123 UTC", "2021-10-14T12:10:32Z"),
    ],
)
def test_utc_is_certain(raw: str, iso: str) -> None:
    assert parse_time(raw) == Stamp(raw, iso)
    assert parse_time(raw, PDT) == Stamp(raw, iso)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("Dec 18 11:05:11 2023 PDT", "2023-12-18T11:05:11"),
        ("Jun 04 00:00:01 2023 CET", "2023-06-04T00:00:01"),
        ("Nov 08 10:31:23 2023 EDT", "2023-11-08T10:31:23"),
        ("Aug 03 09:03:25 2024 est", "2024-08-03T09:03:25"),
        ("Mar 01 23:59:59 2022 IST", "2022-03-01T23:59:59"),
        ("Oct 14 12:10:32 2021", "2021-10-14T12:10:32"),
    ],
)
def test_other_labels_stay_local_without_an_offset(raw: str, iso: str) -> None:
    assert parse_time(raw) == Stamp(raw, iso)


def test_a_label_the_operator_names_converts_to_utc() -> None:
    assert parse_time("Dec 18 11:05:11 2023 PDT", PDT) == Stamp(
        "Dec 18 11:05:11 2023 PDT", "2023-12-18T18:05:11Z"
    )
    zones = parse_tz_options(["IST=+05:30", "EST=-5"])
    assert parse_time("Mar 01 02:00:00 2022 IST", zones) == Stamp(
        "Mar 01 02:00:00 2022 IST", "2022-02-28T20:30:00Z"
    )
    assert parse_time("Aug 03 09:03:25 2024 est", zones) == Stamp(  # labels fold case
        "Aug 03 09:03:25 2024 est", "2024-08-03T14:03:25Z"
    )
    assert parse_time("Jun 04 00:00:01 2023 CET", zones) == Stamp(  # not named: local
        "Jun 04 00:00:01 2023 CET", "2023-06-04T00:00:01"
    )


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z"),
        ("2026-11-30T10:00:00.123456Z", "2026-11-30T10:00:00Z"),
        ("2026-11-30T10:00:00.123+01:00", "2026-11-30T09:00:00Z"),
        ("2026-11-30T10:00:00-0530", "2026-11-30T15:30:00Z"),
        ("2026-11-30T23:30:00-01:00", "2026-12-01T00:30:00Z"),
        ("2026-11-30T10:00:00+19:00", None),  # no clock has that offset: not a known time
    ],
)
def test_rfc3339_offsets_give_utc(raw: str, iso: str | None) -> None:
    """RFC 5424's syslog time (and rsyslog's files) says its offset: it is never local."""
    assert parse_time(raw) == Stamp(raw, iso)
    assert search_time(f"<134>1 {raw} sw1 agent - - - %SMART_LIC-6-X: y") == Stamp(raw, iso)


@pytest.mark.parametrize("raw", ["<none>", "<empty>", "None", "  <none> "])
def test_sentinels_are_shown_as_none(raw: str) -> None:
    stamp = parse_time(raw)
    assert stamp == Stamp(raw.strip(), None) and stamp.shown_none


@pytest.mark.parametrize("raw", ["", "  "])
def test_blank_is_not_shown(raw: str) -> None:
    assert parse_time(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "Apr 05 21:11:50 2023 pacific",
        "Apr 05 21:11:50 2023 CEST",
        "Apr 05 21:11:50 2023 PDT",
        "Apr 05 21:11:50 2023 NZDT",
    ],
)
def test_zone_labels_of_any_length(raw: str) -> None:
    assert parse_time(raw) == Stamp(raw, "2023-04-05T21:11:50")
    label = raw.rsplit(" ", 1)[1]
    assert parse_time(raw, {label: timedelta(hours=-7)}) == Stamp(raw, "2023-04-06T04:11:50Z")


@pytest.mark.parametrize(
    "raw", ["soon", "Feb 30 10:00:00 2022 UTC", "Oct 14 12:10:32.123", "Oct 14 25:10:32 2021 UTC"]
)
def test_text_that_is_no_knowable_time_keeps_its_raw_form(raw: str) -> None:
    assert parse_time(raw) == Stamp(raw, None)


def test_times_inside_longer_text() -> None:
    assert search_time("INSTALLED on Oct 14 11:37:52 2021 UTC") == Stamp(
        "Oct 14 11:37:52 2021 UTC", "2021-10-14T11:37:52Z"
    )
    assert search_time("SA-Switching As of Dec 18 11:02:51 2023 PDT", PDT) == Stamp(
        "Dec 18 11:02:51 2023 PDT", "2023-12-18T18:02:51Z"
    )
    assert search_time("Merged from multiple sources.") is None
    assert split_time_prefix("Mar 16 10:41:22 2023 UTC: Import Data Successful") == (
        Stamp("Mar 16 10:41:22 2023 UTC", "2023-03-16T10:41:22Z"),
        "Import Data Successful",
    )
    assert split_time_prefix("No past history") is None


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)))
def test_device_utc_times_round_trip(when: datetime) -> None:
    when = when.replace(microsecond=0)
    raw = when.strftime("%b %d %H:%M:%S %Y UTC")
    stamp = parse_time(raw)
    assert stamp is not None and stamp.iso == when.strftime("%Y-%m-%dT%H:%M:%SZ")
    converted = parse_time(when.strftime("%b %d %H:%M:%S %Y PDT"), PDT)
    assert converted is not None
    assert converted.iso == (when + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("raw", "tz", "when", "local"),
    [
        ("Oct 14 12:10:32 2021 UTC", None, datetime(2021, 10, 14, 12, 10, 32, tzinfo=UTC), False),
        ("Dec 18 11:02:51 2023 PDT", PDT, datetime(2023, 12, 18, 18, 2, 51, tzinfo=UTC), False),
        ("Dec 18 11:02:51 2023 PDT", None, datetime(2023, 12, 18, 11, 2, 51), True),
    ],
)
def test_a_stamp_gives_the_moment_it_names(
    raw: str, tz: dict[str, timedelta] | None, when: datetime, local: bool
) -> None:
    stamp = parse_time(raw, tz)
    assert stamp is not None and stamp.moment == Moment(when, local)
    assert stamp.moment.iso() == stamp.iso


@pytest.mark.parametrize("raw", ["<none>", "Never", "sometime last week"])
def test_a_stamp_with_no_known_time_gives_no_moment(raw: str) -> None:
    stamp = parse_time(raw)
    assert stamp is not None and stamp.iso is None and stamp.moment is None


def test_a_local_moment_orders_as_if_utc() -> None:
    local, utc = Moment.parse("2024-03-01T10:00:00"), Moment.parse("2024-03-01T09:00:00Z")
    assert local is not None and utc is not None
    assert local.as_utc() == datetime(2024, 3, 1, 10, tzinfo=UTC) > utc.as_utc()
    assert local.plus(30) == Moment(datetime(2024, 3, 31, 10), True)


@pytest.mark.parametrize(
    ("value", "label", "offset"),
    [
        ("PDT=-07:00", "PDT", timedelta(hours=-7)),
        ("IST=+05:30", "IST", timedelta(hours=5, minutes=30)),
        ("CET=+1", "CET", timedelta(hours=1)),
        ("est=-0500", "est", timedelta(hours=-5)),
        (" NPT = 5:45 ", "NPT", timedelta(hours=5, minutes=45)),
        ("UTC=+00:00", "UTC", timedelta(0)),
    ],
)
def test_tz_values(value: str, label: str, offset: timedelta) -> None:
    assert parse_tz(value) == (label, offset)


@pytest.mark.parametrize(
    "value",
    [
        "PDT",
        "PDT=",
        "=-07:00",
        "PDT=seven",
        "PDT=-07:75",
        "PDT=+15",
        "UTC=+01:00",
        "P D T=-7",
        "PDT=-07:00:00",
    ],
)
def test_bad_tz_values_are_usage_errors_naming_the_value(value: str) -> None:
    with pytest.raises(TimeZoneError) as caught:
        parse_tz(value)
    error = caught.value
    assert isinstance(error, ValueError) and error.exit_code == ExitCode.USAGE
    assert value in error.message and "\n" not in error.message
