"""``%SMART_LIC-`` syslog events: what each code means, and the deadlines they announce.

Devices log ``%SMART_LIC-6-REPORTING_REQUIRED: A Usage report acknowledgement will be required
in 89 days.`` (SEEN in public device logs) at X and X-30 days when reporting is not done; nobody
reads them. A syslog time often has no year (``*Mar  1 10:00:00.123:``): it takes the latest
year that puts it on or before the capture's own clock, and the stamp says so.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta

from airgap.state.model import HistoryEntry, Stamp

# Code (the part after the severity) -> what it means for the operator, in one line.
MEANINGS = {
    "REPORTING_REQUIRED": "a usage report and its ACK are required by the date it names",
    "REPORTING_NOT_SUPPORTED": "the device cannot report over the transport it is set to",
    "COMM_FAILED": "the device could not reach CSSM or CSLU (expected on an offline site "
    "unless transport is off)",
    "COMM_RESTORED": "communication with CSSM or CSLU works again",
    "TRUST_CODE_INSTALL_FAILED": "the trust code was not installed (one already installed, or "
    "clocks more than an hour apart)",
    "TRUST_CODE_INSTALL_SUCCESS": "the trust code was installed",
    "AUTHORIZATION_FAILED": "a SLAC (authorization code) was refused",
    "AUTHORIZATION_INSTALL_SUCCESS": "a SLAC (authorization code) was installed",
    "POLICY_INSTALL_SUCCESS": "a new licensing policy was installed",
    "POLICY_INSTALL_FAILED": "a licensing policy could not be installed",
    "ACK_INSTALL_SUCCESS": "an ACK was imported",
    "REPORTING_SUCCESS": "a usage report was sent or saved",
    "LICENSE_EXPIRED": "a license has expired",
    "OUT_OF_COMPLIANCE": "a license in use is not authorized",
}
_REQUIRED_IN = re.compile(r"required in (?P<days>\d+) days?", re.IGNORECASE)
_NO_YEAR = re.compile(
    r"^(?P<month>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+(?P<clock>\d{1,2}:\d{2}:\d{2})"
    r"(?:\.\d+)?(?:\s+(?P<zone>[A-Za-z]{2,16}))?$"
)


def code_of(category: str | None) -> str | None:
    """``SMART_LIC-6-REPORTING_REQUIRED`` -> ``REPORTING_REQUIRED``; None for other events."""
    if not category or not category.startswith("SMART_LIC-"):
        return None
    return category.split("-", 2)[-1]


def meaning(category: str) -> str | None:
    """What a ``%SMART_LIC-`` event means, or None for another facility or an unknown code."""
    code = code_of(category)
    return MEANINGS.get(code or "") if code else None


def required_by(entry: HistoryEntry) -> tuple[datetime, int] | None:
    """For ``... will be required in N days``: the log time + N days (naive or UTC as the log
    time is) and N; None for other events or a log time with no known year."""
    logged = entry.time.moment if entry.time else None
    days = required_in(entry)
    if days is None or logged is None:
        return None
    return logged.plus(days).when, days


def required_in(entry: HistoryEntry) -> int | None:
    """N for a ``REPORTING_REQUIRED ... will be required in N days`` event, else None."""
    if code_of(entry.category) != "REPORTING_REQUIRED":
        return None
    match = _REQUIRED_IN.search(entry.message)
    return None if match is None else int(match["days"])


def with_year(entry: HistoryEntry, clock: Stamp | None) -> HistoryEntry:
    """An event whose time has no year, given the latest year that puts it on or before the
    capture's clock; unchanged when it has a year or there is no clock to go by."""
    stamp, now = entry.time, clock.moment if clock else None
    if stamp is None or stamp.iso is not None or clock is None or now is None:
        return entry
    match = _NO_YEAR.match(stamp.raw)
    if match is None:
        return entry
    ref = now.when.replace(tzinfo=None)  # the clock as the device printed it, as syslog is
    for year in (ref.year, ref.year - 1):
        try:
            when = datetime.strptime(
                f"{match['month']} {match['day']} {year} {match['clock']}", "%b %d %Y %H:%M:%S"
            )
        except ValueError:
            continue
        if when <= ref:
            utc = (match["zone"] or "").upper() == "UTC" or (
                not match["zone"] and now.when.utcoffset() == timedelta(0)
            )
            said = f"year {year} taken from the capture's clock ({clock.raw})"
            return dataclasses.replace(
                entry,
                time=Stamp(stamp.raw, when.isoformat() + ("Z" if utc else "")),
                meaning=f"{entry.meaning}; {said}" if entry.meaning else said,
            )
    return entry
