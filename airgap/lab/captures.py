"""Render a device state as IOS-XE prints it: ``show license status``, ``summary``, ``udi``
and ``rum id all``, laid out like the real captures in the field set (two-space sections,
``<none>``/``<empty>`` sentinels, ``30  days`` with two spaces, times like
``Oct 14 12:10:32 2021 UTC``).

The lab fleet, the simulated CSSM and the tests use it to make captures before and after an
import; ``airgap.state.parse`` must read back what this writes (a test checks the round trip).
"""

from __future__ import annotations

from datetime import UTC, datetime

from airgap.state.model import POLICY_KINDS, DeviceState, Policy, Stamp

COMMANDS = ("status", "summary", "udi", "rum id all")

_KIND_TITLES = {
    "unenforced_perpetual": "Unenforced/Non-Export Perpetual Attributes:",
    "unenforced_subscription": "Unenforced/Non-Export Subscription Attributes:",
    "enforced": "Enforced (Perpetual/Subscription) License Attributes:",
    "export": "Export (Perpetual/Subscription) License Attributes:",
}


def device_time(when: datetime) -> str:
    """``Oct 14 12:10:32 2021 UTC``: how the device prints a UTC time."""
    return when.astimezone(UTC).strftime("%b %d %H:%M:%S %Y UTC")


def stamp(when: datetime | None) -> Stamp | None:
    """A model stamp for a UTC time, as the parser would give it."""
    if when is None:
        return None
    when = when.astimezone(UTC)
    return Stamp(device_time(when), when.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _raw(value: Stamp | None) -> str:
    return value.raw if value else "<none>"


def _yes_no(flag: bool | None) -> str:
    return {True: "yes", False: "no", None: "<none>"}[flag]


def status(state: DeviceState) -> list[str]:
    """``show license status`` lines."""
    account = state.smart_account or "<none>"
    as_of = state.policy.installed_on if state.policy else None
    if state.smart_account and as_of:
        account = f"{account} As of {as_of.raw}"
    privacy = state.data_privacy
    lines = [
        "Utility:",
        "  Status: DISABLED",
        "",
        "Smart Licensing Using Policy:",
        "  Status: ENABLED",
        "",
        "Account Information:",
        f"  Smart Account: {account}",
        f"  Virtual Account: {state.virtual_account or '<none>'}",
        "",
        "Data Privacy:",
        f"  Sending Hostname: {_yes_no(privacy.get('sending_hostname'))}",
        "    Callhome hostname privacy: DISABLED",
        "    Smart Licensing hostname privacy: "
        + ("DISABLED" if privacy.get("sending_hostname") else "ENABLED"),
        "  Version privacy: DISABLED",
        "",
        "Transport:",
        f"  Type: {state.transport_type or 'Transport Off'}",
    ]
    if state.transport_url is not None:
        lines.append(f"  Cslu address: {state.transport_url}")
    lines += ["", "Miscellaneous:", "  Custom Id: <empty>", ""]
    lines += _policy(state.policy or Policy())
    lines += _usage_reporting(state)
    lines += _trust_codes(state)
    return lines


def _policy(policy: Policy) -> list[str]:
    installed = f"Installed On {policy.installed_on.raw}" if policy.installed_on else "<none>"
    source = next((a.source for a in policy.attributes.values() if a.source), "CISCO default")
    lines = ["Policy:", f"  Policy in use: {installed}"]
    if policy.name:
        lines.append(f"  Policy name: {policy.name}")
    lines.append(f"  Reporting ACK required: {_yes_no(policy.ack_required)} ({source})")
    for kind in POLICY_KINDS:
        attributes = policy.attributes.get(kind)
        if attributes is None:
            continue
        note = f" ({attributes.source})" if attributes.source else ""
        lines += [
            f"  {_KIND_TITLES[kind]}",
            f"    First report requirement (days): {attributes.first_report_days}{note}",
            f"    Reporting frequency (days): {attributes.reporting_frequency_days}{note}",
            f"    Report on change (days): {attributes.report_on_change_days}{note}",
        ]
    return [*lines, ""]


def _usage_reporting(state: DeviceState) -> list[str]:
    usage = state.usage_reporting
    if usage is None:
        return []
    interval = usage.reporting_push_interval_days
    return [
        "Usage Reporting:",
        f"  Last ACK received: {_raw(usage.last_ack_received)}",
        f"  Next ACK deadline: {_raw(usage.next_ack_deadline)}",
        f"  Reporting push interval: {interval if interval is not None else 0}  days",
        "  Next ACK push check: <none>",
        f"  Next report push: {_raw(usage.next_report_push)}",
        f"  Last report push: {_raw(usage.last_report_push)}",
        "  Last report file write: <none>",
        "",
    ]


def _trust_codes(state: DeviceState) -> list[str]:
    if not state.trust_codes:
        return ["Trust Code Installed: <none>", ""]
    lines = ["Trust Code Installed:"]
    for code in state.trust_codes:
        lines += [
            f"  {code.role or 'Active'}: {code.udi}",
            f"    INSTALLED on {_raw(code.installed_on)}",
        ]
    return [*lines, ""]


def summary(state: DeviceState) -> list[str]:
    """``show license summary`` lines."""
    lines = [
        "Account Information:",
        f"  Smart Account: {state.smart_account or '<none>'}",
        f"  Virtual Account: {state.virtual_account or '<none>'}",
        "",
        "License Usage:",
        "  License                 Entitlement Tag               Count Status",
        "  " + "-" * 77,
    ]
    for lic in state.licenses:
        tag = f"({lic.entitlement_tag})" if lic.entitlement_tag else ""
        lines.append(f"  {lic.name:<23} {tag:<29} {lic.count or 0:>5} {lic.status or 'IN USE'}")
    return [*lines, ""]


def udi(state: DeviceState) -> list[str]:
    """``show license udi`` lines."""
    lines = ["SlotID   PID    \t\tSN      \t\tUDI", "-" * 80]
    if state.udi:
        pid, sn = state.udi.pid, state.udi.sn
        lines.append(f"*\t {pid:<21} {sn:<15} {pid}:{sn}")
    return [*lines, ""]


def rum_id_all(state: DeviceState) -> list[str]:
    """``show license rum id all`` lines."""
    lines = [
        "Smart Licensing Usage Report:",
        "=" * 36,
        "Report Id,          State,    Flag, Feature Name",
    ]
    lines += [
        f"{r.id:<19} {r.state or 'OPEN':<9} {r.flag or 'N':<5} {r.feature or ''}".rstrip()
        for r in state.reports
    ]
    return [*lines, ""]


_RENDERERS = {"status": status, "summary": summary, "udi": udi, "rum id all": rum_id_all}


def render(state: DeviceState, commands: tuple[str, ...] = COMMANDS) -> str:
    """One capture holding each command after a prompt line, as an operator saves a session."""
    prompt = f"{state.hostname or 'Switch'}#"
    lines: list[str] = []
    for command in commands:
        lines.append(f"{prompt}show license {command}")
        lines += _RENDERERS[command](state)
    lines.append(prompt)
    return "\n".join(lines) + "\n"
