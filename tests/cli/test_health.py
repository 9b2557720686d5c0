"""``airgap health``: each check on captures with injected trouble and on real captures, and the
monitoring formats checked with their reference parsers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.cli.test_false_green import status, write
from tests.conftest import SAMPLES, Cli, need_field

TODAY = "2026-11-02"
SUMMARY = (
    "\nUsage Report Summary:\n=====================\nTotal: 900,  Purged: 0(0)\n"
    "Total Acknowledged Received: 10,  Waiting for Ack: {waiting}(0)\n"
    "Available to Report: {available}  Collecting Data: 2\n"
)


def site(tmp_path: Path) -> Path:
    """Five devices, each with one kind of trouble, and one healthy one."""
    ok = status(
        "Oct 20 10:00:00 2026 UTC",
        "Jan 18 10:00:00 2027 UTC",
        clock="10:00:00.000 UTC Sun Nov 01 2026",
    )
    write(
        tmp_path / "site", "ok.txt", ok.replace("Utility:", "sw-ok#show license status\nUtility:")
    )
    write(
        tmp_path / "site",
        "backlog.txt",
        "sw-backlog#show license all\n" + ok + SUMMARY.format(waiting=150, available=100),
    )
    write(
        tmp_path / "site",
        "overdue.txt",
        "sw-late#show license status\n"
        + status(
            "Jan 05 10:00:00 2026 UTC",
            "Apr 05 10:00:00 2026 UTC",
            clock="10:00:00.000 UTC Sun Nov 01 2026",
        ),
    )
    write(
        tmp_path / "site",
        "stale.txt",
        "sw-old#show license status\n"
        + status(
            "Jul 01 10:00:00 2026 UTC",
            "Dec 30 10:00:00 2026 UTC",
            clock="10:00:00.000 UTC Wed Jul 01 2026",
        ),
    )
    cslu = ok.replace(
        "Smart Licensing Using Policy:",
        "Transport:\n  Type: cslu\n"
        "  Cslu address: http://cslu-local:8182/cslu/v1/pi\n\n"
        "Smart Licensing Using Policy:",
    )
    write(tmp_path / "site", "cslu.txt", "sw-cslu#show license status\n" + cslu)
    logging = (
        "sw-log#show clock\n*10:00:00.000 UTC Sun Nov 01 2026\nsw-log#show logging\n"
        "*Oct 30 09:00:00.123: %SMART_LIC-6-REPORTING_REQUIRED: A Usage report "
        "acknowledgement will be required in 2 days.\n"
    )
    write(
        tmp_path / "site",
        "syslog.txt",
        "sw-log#show license status\n"
        + status("Oct 20 10:00:00 2026 UTC", "").replace("  Next ACK deadline: \n", "")
        + logging,
    )
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(
        '[[device]]\nname = "sw-ok"\nhost = "192.0.2.1"\n\n'
        '[[device]]\nname = "sw-never"\nhost = "192.0.2.9"\n'
    )
    return inventory


def run_health(cli: Cli, tmp_path: Path, *flags: str) -> tuple[int, str]:
    inventory = site(tmp_path)
    run = cli("health", "--today", TODAY, "--inventory", inventory, *flags, tmp_path / "site")
    assert "Traceback" not in run.err
    return run.code, run.out


def by_host(results: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(r["hostname"] or r["inventory"]): r for r in results}


def kinds(result: dict[str, object], level: str) -> set[str]:
    checks = result["checks"]
    assert isinstance(checks, list)
    return {c["kind"] for c in checks if c["level"] == level}


def test_each_check_finds_its_trouble(tmp_path: Path, cli: Cli) -> None:
    code, text = run_health(cli, tmp_path, "--format", "json")
    assert code == 1
    doc = json.loads(text)
    found = by_host(doc["results"])
    assert found["sw-ok"]["level"] == "ok" and found["sw-ok"]["inventory"] == "sw-ok"
    assert kinds(found["sw-backlog"], "critical") == {"backlog"}  # 250 >= 200
    assert found["sw-backlog"]["backlog"] == 250
    assert "ack-by" in kinds(found["sw-late"], "critical")
    assert kinds(found["sw-old"], "warning") == {"stale"}  # and its report-by is past:
    assert kinds(found["sw-old"], "critical") == {"report-by"}
    assert found["sw-old"]["capture_age_days"] == 124
    assert kinds(found["sw-cslu"], "warning") == {"transport"}
    checks = found["sw-cslu"]["checks"]
    assert isinstance(checks, list)
    hints = [c["hint"] for c in checks]
    assert "on the device: license smart transport off" in hints
    log = found["sw-log"]
    assert "ack-by" in kinds(log, "critical")  # Oct 30 + 2 days = Nov 1 < Nov 2
    deadlines = log["deadlines"]
    assert isinstance(deadlines, dict) and deadlines["ack_by"]["source"] == "syslog"
    assert kinds(found["sw-never"], "warning") == {"never-captured"}
    assert doc["level"] == "critical" and doc["counts"]["ok"] == 1


def test_thresholds_move_the_levels(tmp_path: Path, cli: Cli) -> None:
    _, text = run_health(
        cli, tmp_path, "--format", "json", "--backlog-crit", "300", "--stale-days", "200"
    )
    found = by_host(json.loads(text)["results"])
    assert kinds(found["sw-backlog"], "warning") == {"backlog"}
    assert kinds(found["sw-old"], "warning") == set()  # 124 days is no longer stale


NAGIOS = re.compile(r"^AIRGAP HEALTH (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n]+ \| (?P<perf>.+)$")
# Monitoring Plugins guidelines: 'label'=value[UOM];[warn];[crit];[min];[max]
PERF = re.compile(
    r"^(?:'[^'=]+'|[^'= ]+)=-?\d+(?:\.\d+)?(?:s|ms|us|%|B|KB|MB|TB|c)?"
    r"(?:;(?:@?-?\d*:?-?\d*)?){0,2}(?:;-?\d*(?:\.\d+)?){0,2}$"
)


def test_nagios_drives_a_plugin_check(tmp_path: Path) -> None:
    inventory = site(tmp_path)
    plugin = [sys.executable, "-m", "airgap", "health", "--format", "nagios", "--today", TODAY]
    done = subprocess.run(
        [*plugin, "--inventory", str(inventory), str(tmp_path / "site")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr  # CRITICAL
    (line,) = done.stdout.splitlines()
    match = NAGIOS.match(line)
    assert match and line.split()[2] == "CRITICAL"
    for item in match["perf"].split():
        assert PERF.match(item), item
    ok = tmp_path / "ok-only"
    write(ok, "a.txt", (tmp_path / "site" / "ok.txt").read_text())
    done = subprocess.run([*plugin, str(ok)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.split()[2]) == (0, "OK")
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run([*plugin, str(empty)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.split()[2]) == (3, "UNKNOWN")


def test_prometheus_parses_with_the_reference_parser(tmp_path: Path, cli: Cli) -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    _, text = run_health(cli, tmp_path, "--format", "prometheus")
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    assert {
        "airgap_ack_by_days",
        "airgap_report_backlog",
        "airgap_capture_age_days",
        "airgap_device_level",
        "airgap_devices",
    } <= set(families)
    backlog = {s.labels["hostname"]: s.value for s in families["airgap_report_backlog"].samples}
    assert backlog["sw-backlog"] == 250
    levels = {s.labels["level"]: s.value for s in families["airgap_devices"].samples}
    assert levels["critical"] >= 2 and levels["ok"] == 1


def test_ics_parses_with_the_reference_parser(tmp_path: Path, cli: Cli) -> None:
    icalendar = pytest.importorskip("icalendar")
    _, text = run_health(cli, tmp_path, "--format", "ics", "--warn-days", "10")
    calendar = icalendar.Calendar.from_ical(text)
    events = list(calendar.walk("VEVENT"))
    assert len(events) >= 6
    late = next(e for e in events if "sw-late" in str(e["SUMMARY"]))
    assert late.decoded("DTSTART") == date(2026, 4, 5)
    (alarm,) = late.walk("VALARM")
    assert str(alarm["TRIGGER"].dt) == "-10 days, 0:00:00"
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_real_tech_support_backlog(cli: Cli) -> None:
    path = need_field("show", "ShowLicenseTechSupport__golden_output_7_output.txt")
    run = cli("health", "--format", "json", "--today", "2023-07-14", path)
    (device,) = json.loads(run.out)["results"]
    assert device["backlog"] == 322 and "backlog" in kinds(device, "critical")
    assert device["capture_age_days"] == 1


def test_no_evidence_is_unknown_never_ok(tmp_path: Path, cli: Cli) -> None:
    write(
        tmp_path,
        "bare.txt",
        "sw#show license status\nSmart Licensing Using Policy:\n  Status: ENABLED\n",
    )
    run = cli("health", "--format", "json", "--today", TODAY, tmp_path)
    (device,) = json.loads(run.out)["results"]
    assert device["level"] == "unknown"


def test_samples_health(cli: Cli) -> None:
    run = cli("health", "--today", "2023-06-05", SAMPLES / "import" / "after")
    assert run.code == 0, run.out
    assert run.out.splitlines()[-1].startswith("site: ok: 0 critical, 0 warning")


def test_the_first_inventory_entry_a_device_matches_names_it(tmp_path: Path, cli: Cli) -> None:
    """Matched by UDI or by host name, whichever entry the inventory lists first; an entry
    matching a captured device is not 'never captured'."""
    capture = status().replace("Utility:", "sw-a#show license status\nUtility:")
    capture += "\nsw-a#show license udi\nSlotID   PID    SN      UDI\n"
    capture += "-" * 20 + "\n*        C9300-24UX  FCW2437L0TZ  C9300-24UX:FCW2437L0TZ\n"
    write(tmp_path / "site", "a.txt", capture)
    inventory = tmp_path / "inventory.toml"
    for first, second in (("by-udi", "sw-a"), ("sw-a", "by-udi")):
        entries = {
            "by-udi": '[[device]]\nname = "by-udi"\nhost = "192.0.2.1"\n'
            'udi = "PID:C9300-24UX,SN:FCW2437L0TZ"\n',
            "sw-a": '[[device]]\nname = "sw-a"\nhost = "192.0.2.2"\n',
            "never": '[[device]]\nname = "never"\nhost = "192.0.2.3"\n',
        }
        inventory.write_text("\n".join([entries[first], entries[second], entries["never"]]))
        run = cli(
            "health",
            "--today",
            TODAY,
            "--inventory",
            inventory,
            "--format",
            "json",
            tmp_path / "site",
        )
        assert run.code == 1, run.err  # "never" is never captured: a warning
        results = json.loads(run.out)["results"]
        assert [r["inventory"] for r in results if r["paths"]] == [first]
        assert [r["inventory"] for r in results if not r["paths"]] == ["never"]


def test_a_stored_state_whose_clock_is_no_time_has_no_age(tmp_path: Path, cli: Cli) -> None:
    capture = SAMPLES / "show" / "c9300-tech-support.txt"
    doc = json.loads(cli("state", "--format", "json", capture).out)
    good = tmp_path / "good.state.json"
    good.write_text(json.dumps(doc))
    doc["results"][0]["clock"] = "June the 8th"  # as another tool, or a hand, might write it
    bad = tmp_path / "bad.state.json"
    bad.write_text(json.dumps(doc))
    ages = []
    for path in (good, bad):
        run = cli("health", "--format", "json", "--today", "2023-06-10", path)
        assert run.code in (0, 1) and "Traceback" not in run.err, run.err
        (device,) = json.loads(run.out)["results"]
        ages.append(device["capture_age_days"])
    assert ages == [2, None]


def test_a_syslog_servers_file_warns_each_host_it_names(tmp_path: Path, cli: Cli) -> None:
    """One file from a central syslog server is many devices, never one: each host's deadline
    is its own, and a host written as an address finds its inventory entry by ``host``."""
    log = tmp_path / "logs" / "site.log"
    log.parent.mkdir()
    log.write_text(
        "<134>1 2026-10-30T10:00:00Z sw1 smartagent - - - %SMART_LIC-6-REPORTING_REQUIRED: "
        "A Usage report acknowledgement will be required in 5 days.\n"
        "2026-10-31T09:00:00+01:00 192.0.2.1 77: %SMART_LIC-3-COMM_FAILED: Communications "
        "failure\n"
    )
    inventory = tmp_path / "inventory.toml"
    inventory.write_text('[[device]]\nname = "sw-ok"\nhost = "192.0.2.1"\n')
    run = cli("health", "--today", TODAY, "--inventory", inventory, "--format", "json", log)
    found = by_host(json.loads(run.out)["results"])
    assert set(found) == {"sw1", "192.0.2.1"}
    assert "ack-by" in kinds(found["sw1"], "critical")  # Oct 30 + 5 days < Nov 2
    assert found["sw1"]["capture_age_days"] == 3
    assert kinds(found["192.0.2.1"], "warning") == {"syslog"}
    assert "ack-by" not in kinds(found["192.0.2.1"], "critical")
    assert found["192.0.2.1"]["inventory"] == "sw-ok"
