"""Site health in the formats monitoring systems read: a Monitoring Plugins status line, the
Prometheus text exposition format (for node_exporter's textfile collector), and RFC 5545
calendar reminders. Each renderer turns a :class:`~airgap.state.health.SiteHealth` into text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from airgap.state.deadlines import Obligation
from airgap.state.health import DeviceHealth, Level, SiteHealth

# Monitoring Plugins guidelines: the plugin's exit code says the state.
NAGIOS_CODES = {Level.OK: 0, Level.WARNING: 1, Level.CRITICAL: 2, Level.UNKNOWN: 3}


def nagios(site: SiteHealth) -> tuple[str, int]:
    """One status line with performance data, and the plugin exit code (0-3)."""
    level = site.level
    counts = site.counts()
    problems = [d for d in site.devices if d.level in (Level.CRITICAL, Level.WARNING)]
    if problems:
        first = problems[0]
        worst_check = next(c for c in first.checks if c.level is first.level)
        summary = f"{first.device}: {worst_check.message}"
        if len(problems) > 1:
            summary += f" (and {len(problems) - 1} more)"
    elif level is Level.UNKNOWN:
        summary = (
            f"{counts['unknown']} of {len(site.devices)} devices without evidence"
            if site.devices
            else "no device in the inputs"
        )
    else:
        summary = f"{len(site.devices)} devices ok"
    limits = site.thresholds
    days = [d for item in site.devices for d in map(item.days_to, Obligation) if d is not None]
    backlog = [item.backlog for item in site.devices if item.backlog is not None]
    perf = [
        f"devices={len(site.devices)};;;0",
        f"critical={counts['critical']};;;0",
        f"warning={counts['warning']};;;0",
        f"unknown={counts['unknown']};;;0",
    ]
    if days:
        perf.append(f"min_days_left={min(days)};{limits.warn_days}:;{limits.crit_days}:")
    if backlog:
        perf.append(f"max_backlog={max(backlog)};{limits.backlog_warn};{limits.backlog_crit};0")
    line = f"AIRGAP HEALTH {level.name} - {_plain(summary)} | {' '.join(perf)}"
    return line, NAGIOS_CODES[level]


def _plain(text: str) -> str:
    """No ``|`` (it starts performance data) and no line breaks in the status text."""
    return " ".join(text.replace("|", "/").split())


_METRICS: tuple[tuple[str, str, Callable[[DeviceHealth], int | None]], ...] = (
    (
        "airgap_ack_by_days",
        "Days until the device's ACK-by date (negative: overdue).",
        lambda d: d.days_to(Obligation.ACK_BY),
    ),
    (
        "airgap_report_by_days",
        "Days until the device's report-by date (negative: overdue).",
        lambda d: d.days_to(Obligation.REPORT_BY),
    ),
    ("airgap_report_backlog", "RUM reports not yet acknowledged.", lambda d: d.backlog),
    (
        "airgap_capture_age_days",
        "Age in days of the device's newest capture.",
        lambda d: d.capture_age_days,
    ),
)


def prometheus(site: SiteHealth) -> str:
    """The text exposition format: per-device gauges with ``device``, ``udi`` and
    ``hostname`` labels, and the site's device counts by level."""
    lines: list[str] = []
    for name, help_text, value in _METRICS:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for device in site.devices:
            number = value(device)
            if number is not None:
                lines.append(f"{name}{{{_labels(device)}}} {number}")
    lines += [
        "# HELP airgap_device_level The device's health: 0 ok, 1 warning, 2 critical, 3 unknown.",
        "# TYPE airgap_device_level gauge",
    ]
    lines += [f"airgap_device_level{{{_labels(d)}}} {NAGIOS_CODES[d.level]}" for d in site.devices]
    lines += ["# HELP airgap_devices Devices by health level.", "# TYPE airgap_devices gauge"]
    lines += [
        f'airgap_devices{{level="{level}"}} {count}' for level, count in site.counts().items()
    ]
    return "\n".join(lines) + "\n"


def _labels(device: DeviceHealth) -> str:
    labels = {
        "device": device.device,
        "udi": str(device.udi) if device.udi else "",
        "hostname": device.hostname or "",
    }
    return ",".join(f'{key}="{_escape_label(value)}"' for key, value in labels.items())


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def ics(site: SiteHealth, now: datetime | None = None) -> str:
    """RFC 5545: one all-day event per device deadline, with an alarm ``warn_days`` before."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//airgap//site health//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    for device in site.devices:
        deadlines = device.deadlines
        for which, label in (("ack_by", "ACK by"), ("report_by", "Report by")):
            due = getattr(deadlines, which) if deadlines else None
            if due is None:
                continue
            uid = hashlib.sha256(f"{device.device}/{which}".encode()).hexdigest()[:32]
            name = device.hostname or device.device
            estimate = " (estimate)" if due.estimate else ""
            lines += [
                "BEGIN:VEVENT",
                f"UID:{uid}@airgap",
                f"DTSTAMP:{stamp}",
                f"DTSTART;VALUE=DATE:{due.date.strftime('%Y%m%d')}",
                f"DTEND;VALUE=DATE:{(due.date + timedelta(days=1)).strftime('%Y%m%d')}",
                f"SUMMARY:{_text(f'{label}: {name}{estimate}')}",
                f"DESCRIPTION:{_text(f'{device.device}: {due.source} - {due.rule}')}",
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                f"DESCRIPTION:{_text(f'{label} {name} in {site.thresholds.warn_days} days')}",
                f"TRIGGER:-P{site.thresholds.warn_days}D",
                "END:VALARM",
                "END:VEVENT",
            ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _text(value: str) -> str:
    """An RFC 5545 TEXT value: backslash, semicolon, comma and newline escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets folded (RFC 5545 3.1), never inside a UTF-8 character."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts: list[str] = []
    while data:
        cut = min(len(data), 75 if not parts else 74)
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:
            cut -= 1
        parts.append(data[:cut].decode())
        data = data[cut:]
    return "\r\n ".join(parts)
