"""Times as IOS-XE prints them, read into :class:`~airgap.state.model.Stamp`.

The device prints ``Oct 14 12:10:32 2021 UTC`` in ``show license`` output,
``2021-11-17 03:31:32.920 UTC`` in its event log and ``14:37:25.569 UTC Tue Mar 22 2022`` for
its clock. The zone is a label the operator configured (``clock timezone PDT -7``), not a
zone database name, and the field shows labels that lie (``Dec 18 ... 2023 PDT``). So only
``UTC`` is certain: other labels give local time with no offset, unless the operator says
what the label means (``--tz PDT=-07:00``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from airgap.errors import AirgapError, ExitCode
from airgap.state.model import SENTINELS, Stamp, is_sentinel

__all__ = [
    "SENTINELS",
    "Stamp",
    "TimeZoneError",
    "Zones",
    "is_sentinel",
    "parse_time",
    "parse_tz",
    "parse_tz_options",
    "search_time",
    "split_time_prefix",
]

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_CLOCK = r"(?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.\d{1,9})?"
# Any alphabetic label the operator configured: UTC, PDT, CEST, est, pacific (SEEN).
_ZONE = r"(?P<zone>[A-Za-z]{2,16})\b"
_MON = r"(?P<month>[A-Za-z]{3})"
_DAY = r"(?P<day>\d{1,2})"
_YEAR = r"(?P<year>\d{4})"
# RFC 3339 (RFC 5424's syslog time, rsyslog's file format): Z or an offset right after the time.
_UTC_OFFSET = r"(?:(?P<utc>Z)|(?P<off_sign>[+-])(?P<off_hours>\d{2}):?(?P<off_minutes>\d{2}))\b"
# Most common first; each matches from the start of the text. In order: Oct 14 12:10:32 2021
# UTC; 2021-11-17 03:31:32.920 UTC (event log); Oct 14 2021 12:10:32.123 UTC (syslog with the
# year); 14:37:25.569 UTC Tue Mar 22 2022 (the clock); Oct 14 12:10:32.123 (syslog, no year).
# The event log's form also reads RFC 3339 (2026-11-30T10:00:00.123+01:00, or Z for UTC).
_FORMS = tuple(
    re.compile(rf"[*.]?\s*{form}")
    for form in (
        rf"{_MON}\s+{_DAY}\s+{_CLOCK}\s+{_YEAR}(?:\s+{_ZONE})?",
        rf"{_YEAR}-(?P<num_month>\d{{2}})-{_DAY}[ T]{_CLOCK}(?:{_UTC_OFFSET}|\s*{_ZONE})?",
        rf"{_MON}\s+{_DAY}\s+{_YEAR}\s+{_CLOCK}(?:\s+{_ZONE})?",
        rf"{_CLOCK}\s+{_ZONE}\s+(?:[A-Za-z]{{3}}\s+)?{_MON}\s+{_DAY}\s+{_YEAR}",
        rf"{_MON}\s+{_DAY}\s+{_CLOCK}(?:\s+{_ZONE})?",
    )
)
_OFFSET = re.compile(r"^(?P<sign>[+-])?(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?$")
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]{0,31}$")
_TZ_EXAMPLE = "expected LABEL=OFFSET, e.g. PDT=-07:00, IST=+05:30 or CET=+1"

Zones = Mapping[str, timedelta]


class TimeZoneError(AirgapError, ValueError):
    """A ``--tz`` value that is not ``LABEL=OFFSET`` (exit 2: a bad flag)."""

    exit_code = ExitCode.USAGE


def parse_time(text: str, tz: Zones | None = None) -> Stamp | None:
    """The time ``text`` holds and nothing else, as a Stamp.

    A sentinel (``<none>``, ``<empty>``) is a Stamp "shown as none" (``iso`` None,
    :attr:`Stamp.shown_none`); blank text is None (not shown); text that is not a time this
    module knows is a Stamp with ``iso`` None, so the raw text still reaches the user.
    """
    return _parse_time_no_zones(text) if tz is None else _parse_time(text, tz)


def search_time(text: str, tz: Zones | None = None) -> Stamp | None:
    """The first time found inside longer text (``INSTALLED on Oct 14 ... UTC``), or None."""
    return _search_time_no_zones(text) if tz is None else _search_time(text, tz)


# A site's devices print many times alike (``<none>``, when a policy or trust code was
# installed): with no zones given, each text is read once (a Stamp is never changed).
@functools.lru_cache(maxsize=4096)
def _parse_time_no_zones(text: str) -> Stamp | None:
    return _parse_time(text, None)


@functools.lru_cache(maxsize=4096)
def _search_time_no_zones(text: str) -> Stamp | None:
    return _search_time(text, None)


def _parse_time(text: str, tz: Zones | None) -> Stamp | None:
    raw = text.strip()
    if not raw:
        return None
    if is_sentinel(raw):
        return Stamp(raw, None)
    for form in _FORMS:
        match = form.fullmatch(raw)
        if match:
            return Stamp(raw, _iso(match, tz))
    return Stamp(raw, None)


def _search_time(text: str, tz: Zones | None) -> Stamp | None:
    found = [
        (match.start(), rank, match)
        for rank, form in enumerate(_FORMS)
        if (match := form.search(text))
    ]
    if not found:
        return None
    match = min(found, key=lambda item: item[:2])[2]
    return Stamp(_raw(match), _iso(match, tz))


def split_time_prefix(text: str, tz: Zones | None = None) -> tuple[Stamp, str] | None:
    """A line that starts with a time: the time and the rest (``: `` separators dropped)."""
    stripped = text.strip()
    for form in _FORMS:
        match = form.match(stripped)
        if match:
            rest = stripped[match.end() :].lstrip(" :\t")
            return Stamp(_raw(match), _iso(match, tz)), rest
    return None


def _raw(match: re.Match[str]) -> str:
    """The matched time without the ``*``/``.`` the clock adds when it is not in sync."""
    return match.group(0).strip().lstrip("*.").strip()


def _iso(match: re.Match[str], tz: Zones | None) -> str | None:
    """ISO 8601 for a match: ``Z`` for UTC or a label ``tz`` names, else local with no offset."""
    parts = match.groupdict()
    if parts.get("year") is None:
        return None
    month = (
        int(parts["num_month"])
        if parts.get("num_month")
        else _MONTHS.get(parts["month"].lower(), 0)
    )
    try:
        when = datetime(
            int(parts["year"]),
            month,
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"]),
        )
    except ValueError:
        return None
    if parts.get("utc"):
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if parts.get("off_sign"):
        hours, minutes = int(parts["off_hours"]), int(parts["off_minutes"])
        if hours > 14 or minutes >= 60:
            return None  # not an offset any clock has: the time is not known
        east = timedelta(hours=hours, minutes=minutes)
        return (when - (east if parts["off_sign"] == "+" else -east)).strftime("%Y-%m-%dT%H:%M:%SZ")
    zone = parts.get("zone")
    if zone and zone.upper() == "UTC":
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    offset = _offset_for(zone, tz) if zone else None
    if offset is not None:
        return (when - offset).strftime("%Y-%m-%dT%H:%M:%SZ")
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def _offset_for(zone: str, tz: Zones | None) -> timedelta | None:
    if not tz:
        return None
    if zone in tz:
        return tz[zone]
    folded = {label.upper(): offset for label, offset in tz.items()}
    return folded.get(zone.upper())


def parse_tz(value: str) -> tuple[str, timedelta]:
    """One ``--tz`` value: ``PDT=-07:00``, ``IST=+05:30``, ``CET=+1`` -> (label, offset east).

    Raises TimeZoneError (exit 2) with a one-line message naming the value.
    """
    label, sep, offset_text = value.partition("=")
    label, offset_text = label.strip(), offset_text.strip()
    if not sep or not _LABEL.match(label):
        raise TimeZoneError("invalid --tz value", value, _TZ_EXAMPLE)
    match = _OFFSET.match(offset_text)
    if not match:
        raise TimeZoneError("invalid --tz value", value, _TZ_EXAMPLE)
    hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
    if hours > 14 or minutes >= 60:
        raise TimeZoneError(
            "invalid --tz value", value, "the offset must be between -14:00 and +14:00"
        )
    offset = timedelta(hours=hours, minutes=minutes)
    if match["sign"] == "-":
        offset = -offset
    if label.upper() == "UTC" and offset:
        raise TimeZoneError("invalid --tz value", value, "UTC is always +00:00")
    return label, offset


def parse_tz_options(values: Iterable[str]) -> dict[str, timedelta]:
    """Every ``--tz`` value as ``{label: offset}``; a label given twice keeps the last."""
    return dict(parse_tz(value) for value in values)
