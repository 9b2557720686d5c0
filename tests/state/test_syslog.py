"""A syslog time without a year takes the latest year on or before the capture's clock, read
through the clock's :class:`Moment` (UTC, an offset or a local time alike); a ``will be
required in N days`` event is due N days after its log time, naive or UTC as that time is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airgap.state.model import HistoryEntry, Stamp
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
