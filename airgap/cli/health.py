"""``airgap health PATH...``: deadlines, report backlog, syslog events, stale and missing
captures and offline-transport trouble, per device and for the site."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from airgap.cli.options import NoProgressOption, speak
from airgap.cli.output import Format, TzOption, begin, emit_json_results, out, plural
from airgap.cli.reconcile import (
    PathsArgument,
    TodayOption,
    collector_resting,
    inputs_json,
    load_inputs,
    parse_today,
)
from airgap.errors import ExitCode, worst

if TYPE_CHECKING:
    from airgap.state.health import SiteHealth


class HealthFormat(StrEnum):
    """What ``health`` writes: for people, scripts, or a monitoring system."""

    TEXT = "text"
    JSON = "json"
    NAGIOS = "nagios"
    PROMETHEUS = "prometheus"
    ICS = "ics"


def health(
    paths: PathsArgument,
    inventory: Annotated[
        str | None,
        typer.Option(
            "--inventory",
            help="The site's inventory (TOML): devices never captured are named.",
            show_default=False,
        ),
    ] = None,
    today: TodayOption = None,
    warn_days: Annotated[
        int, typer.Option("--warn-days", min=0, help="An obligation this close is a warning.")
    ] = 14,
    crit_days: Annotated[
        int, typer.Option("--crit-days", min=0, help="An obligation this close is critical.")
    ] = 3,
    backlog_warn: Annotated[
        int,
        typer.Option("--backlog-warn", min=0, help="Unacknowledged reports that make a warning."),
    ] = 50,
    backlog_crit: Annotated[
        int, typer.Option("--backlog-crit", min=0, help="Unacknowledged reports that are critical.")
    ] = 200,
    stale_days: Annotated[
        int, typer.Option("--stale-days", min=0, help="A newest capture older than this is stale.")
    ] = 45,
    tz: TzOption = None,
    no_progress: NoProgressOption = False,
    fmt: Annotated[
        HealthFormat,
        typer.Option(
            "--format",
            help="text, json, nagios (a Monitoring Plugins status line and its exit "
            "codes 0-3), prometheus (text exposition format) or ics (RFC 5545 reminders).",
        ),
    ] = HealthFormat.TEXT,
) -> None:
    """Site health from captures, usage files and ACKs: per device the ACK-by and report-by
    dates (from the device, a syslog event, or the policy: marked), the report backlog, the
    %SMART_LIC- events explained, how old the newest capture is, inventory devices never
    captured, and transports that cannot work offline.

    Exit 1 when any device is warning or critical (under --format nagios: 0 ok, 1 warning,
    2 critical, 3 unknown, as the Monitoring Plugins guidelines say).
    """
    from airgap import inventory as inventories
    from airgap.cli import health_formats as render
    from airgap.state import health as core
    from airgap.state.times import parse_tz_options

    begin("health", Format.JSON if fmt is HealthFormat.JSON else Format.TEXT)
    speak(no_progress=no_progress)
    day = parse_today(today)
    devices = inventories.load(inventory) if inventory else []
    found = load_inputs(paths, parse_tz_options(tz or []))
    limits = core.Thresholds(warn_days, crit_days, backlog_warn, backlog_crit, stale_days)
    with collector_resting():
        site = core.health(found.states, day, limits, found.acks, devices)
    failing = site.level in (core.Level.WARNING, core.Level.CRITICAL)
    code = worst(found.exit_code, ExitCode.FINDINGS if failing else ExitCode.OK)
    if fmt is HealthFormat.NAGIOS:
        line, status = render.nagios(site)
        sys.stdout.write(line + "\n")
        raise typer.Exit(max(status, 3 if found.exit_code >= ExitCode.CANNOT_RUN else 0))
    if fmt is HealthFormat.PROMETHEUS:
        sys.stdout.write(render.prometheus(site))
    elif fmt is HealthFormat.ICS:
        sys.stdout.buffer.write(render.ics(site).encode())
    elif fmt is HealthFormat.JSON:
        emit_json_results(  # each device's JSON made as it is written
            code == ExitCode.OK,
            (d.to_dict() for d in site.devices),
            level=str(site.level),
            today=day.isoformat(),
            counts=site.counts(),
            **inputs_json(found),
        )
    else:
        _print(site)
    raise typer.Exit(code)


def _print(site: SiteHealth) -> None:
    from airgap.state.deadlines import Obligation
    from airgap.state.health import Level

    console = out()
    width = max((len(d.device) for d in site.devices), default=6)
    console.print(
        f"{'LEVEL':<9} {'ACK BY':>6} {'REPORT':>6} {'BACKLOG':>7} {'AGE':>4}  "
        f"{'DEVICE':<{width}}  HOSTNAME",
        markup=False,
    )
    for d in site.devices:
        cells = [
            _days(d.days_to(Obligation.ACK_BY)),
            _days(d.days_to(Obligation.REPORT_BY)),
            "-" if d.backlog is None else str(d.backlog),
            "-" if d.capture_age_days is None else str(d.capture_age_days),
        ]
        console.print(
            f"{d.level:<9} {cells[0]:>6} {cells[1]:>6} {cells[2]:>7} {cells[3]:>4}  "
            f"{d.device:<{width}}  {d.hostname or d.inventory or '-'}",
            markup=False,
        )
        for check in d.checks:
            if check.level is Level.OK:
                continue
            console.print(f"  {check.level}: {check.message}", markup=False)
            if check.evidence:
                console.print(f"    evidence: {check.evidence}", markup=False)
            if check.hint:
                console.print(f"    hint: {check.hint}", markup=False)
    counts = site.counts()
    console.print(
        f"site: {site.level}: {counts['critical']} critical, {counts['warning']} "
        f"warning, {counts['unknown']} unknown, {counts['ok']} ok, of "
        f"{plural(len(site.devices), 'device')}; ACK BY and REPORT are days left",
        markup=False,
    )


def _days(days: int | None) -> str:
    return "-" if days is None else str(days)
