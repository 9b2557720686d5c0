"""``airgap reconcile`` and ``airgap deadlines`` through the real CLI: exit codes, JSON
envelopes, text tables, and one-line errors for bad flags and missing paths."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from airgap.lab import captures, fleet
from airgap.state.model import DeviceState, UsageReporting
from tests.conftest import Cli
from tests.state.test_reconcile import FOREIGN_UDI, build


def test_reconcile_reports_every_case_and_exits_1(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airgap.cli import output

    def slow(value: object) -> bytes:  # kinds are enums: the fast encoder must still take all
        raise AssertionError("the JSON went through the slow encoder")

    monkeypatch.setattr(output, "_slow_json", slow)
    scene = build(tmp_path / "set")
    run = cli("reconcile", "--format", "json", scene.root)
    assert run.code == 1, run.err
    doc = json.loads(run.out)
    assert doc["command"] == "reconcile" and doc["ok"] is False
    counts = doc["counts"]
    assert (counts["foreign-ack"], counts["stale-ack"], counts["never-reported"]) == (1, 1, 1)
    assert counts["outstanding"] == len(scene.devices["outstanding"].reports)
    assert counts["exported-twice"] == len(scene.devices["twice"].reports)
    assert counts["inferred"] == len(scene.devices["inferred"].reports)
    kinds = {f["kind"]: f for f in doc["findings"]}
    assert kinds["foreign-ack"]["device"] == str(FOREIGN_UDI)
    assert kinds["foreign-ack"]["level"] == "error"
    assert kinds["never-reported"]["level"] == "warning"
    assert all(f["evidence"] for f in doc["findings"])
    results = {r["device"]: r for r in doc["results"]}
    seen = results[scene.key("seen")]
    assert seen["outstanding"] == [] and seen["acknowledged"] == seen["exported"] > 0
    assert all(r["evidence"][0].startswith("seen: ") for r in seen["reports"])
    assert results[scene.key("silent")]["never_reported"] is True


def test_reconcile_text(tmp_path: Path, cli: Cli) -> None:
    scene = build(tmp_path / "set")
    run = cli("reconcile", scene.root)
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0].split()[:2] == ["DEVICE", "EXPORTED"]
    assert "findings:" in lines
    assert any(line.startswith(f"  foreign-ack: {FOREIGN_UDI}") for line in lines)
    assert any(
        line.strip() == f"seen: SLAC udi P:{FOREIGN_UDI.pid},S:{FOREIGN_UDI.sn}" for line in lines
    )
    assert lines[-1].startswith("6 devices, ")
    assert "1 foreign ACK, 1 stale ACK" in lines[-1]


def test_reconcile_all_reconciled_exits_0(tmp_path: Path, cli: Cli) -> None:
    root = build(tmp_path / "set", problems=False).root
    run = cli("reconcile", "--format", "json", root)
    assert run.code == 0, run.out
    doc = json.loads(run.out)
    assert doc["ok"] is True and doc["findings"] == []


def test_reconcile_missing_path_exits_3(tmp_path: Path, cli: Cli) -> None:
    root = build(tmp_path / "set", problems=False).root
    run = cli("reconcile", root, tmp_path / "nowhere")
    assert run.code == 3
    assert (
        run.err.strip().splitlines()[-1] == f"error: no such file or folder: {tmp_path / 'nowhere'}"
    )
    assert "Traceback" not in run.err


def fleet_captures(root: Path, count: int) -> dict[str, int]:
    """``count`` captures with last ACKs spread over 200 days; every third shows no Next ACK
    deadline (an estimate from the policy). Returns each device's days since its last ACK."""
    root.mkdir()
    ages = {}
    for number in range(count):
        dev = fleet.device(5, number)
        age = (number * 37) % 200
        state = fleet.device_state(
            dev.udi,
            [(r.report_id, r.license, 1, "ACK") for r in dev.reports],
            last_ack=fleet.LAB_NOW - timedelta(days=age),
            pushed=None,
        )
        if number % 3 == 0:
            assert state.usage_reporting is not None
            state = replace(
                state, usage_reporting=replace(state.usage_reporting, next_ack_deadline=None)
            )
        (root / f"{dev.hostname}.txt").write_text(captures.render(state))
        ages[str(dev.udi)] = age
    return ages


def test_deadlines_over_1000_captures_overdue_first(tmp_path: Path, cli: Cli) -> None:
    ages = fleet_captures(tmp_path / "captures", 1000)
    run = cli("deadlines", "--format", "json", "--today", "2026-11-02", tmp_path / "captures")
    assert run.code == 1, run.err
    doc = json.loads(run.out)
    assert doc["command"] == "deadlines" and doc["ok"] is False
    assert (doc["today"], doc["warn_days"]) == ("2026-11-02", 14)
    results = doc["results"]
    assert len(results) == 1000
    overdue = [r for r in results if ages[r["device"]] > 90]  # lab policy: 90 days
    due = [r for r in results if 76 <= ages[r["device"]] <= 90]
    assert [r["status"] for r in results] == (
        ["overdue"] * len(overdue) + ["due"] * len(due) + ["ok"] * (1000 - len(overdue) - len(due))
    )
    assert doc["counts"] == {
        "overdue": len(overdue),
        "due": len(due),
        "ok": 1000 - len(overdue) - len(due),
        "unknown": 0,
    }
    dates = [r[r["basis"]]["date"] for r in results]
    assert dates == sorted(dates)
    assert results[0]["days_left"] == 90 - max(ages.values())
    for result in results:
        ack_by = result["ack_by"]
        if ack_by is None:  # "Next ACK deadline: <none>": no ACK pending, the report-by decides
            assert result["basis"] == "report_by"
            assert any("no ACK is pending" in n for n in result["notes"])
            assert (result["report_by"]["source"], result["report_by"]["estimate"]) == (
                "policy",
                True,
            )
            assert "smallest non-zero reporting frequency" in result["report_by"]["rule"]
        else:
            assert (ack_by["source"], ack_by["rule"]) == (
                "device",
                "the device's own Next ACK deadline",
            )
    assert sum(r["ack_by"] is None for r in results) == 334


def test_deadlines_text_lists_overdue_first(tmp_path: Path, cli: Cli) -> None:
    fleet_captures(tmp_path / "captures", 30)
    run = cli("deadlines", "--today", "2026-11-02", "--warn-days", "7", tmp_path / "captures")
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0].split()[:4] == ["STATUS", "DAYS", "ACK", "BY"]
    assert lines[1].startswith("overdue")
    assert any(" est " in line for line in lines[1:31])
    assert lines[-2].startswith("est: an estimate")
    assert re.fullmatch(r"\d+ overdue, \d+ due within 7 days, \d+ ok, 0 unknown", lines[-1])


def test_deadlines_ok_exits_0_and_no_policy_falls_back(tmp_path: Path, cli: Cli) -> None:
    dev = fleet.device(5, 1)
    state = DeviceState(
        "show-license-status",
        udi=dev.udi,
        hostname=dev.hostname,
        usage_reporting=UsageReporting(last_ack_received=captures.stamp(fleet.LAB_NOW)),
    )
    path = tmp_path / "one.txt"
    path.write_text(captures.render(state))
    run = cli("deadlines", "--format", "json", "--today", "2026-11-02", path)
    assert run.code == 0, run.err
    (result,) = json.loads(run.out)["results"]
    assert result["status"] == "ok" and result["days_left"] == 90
    # the capture shows "Next ACK deadline: <none>": no ACK pending; report-by is estimated
    assert result["ack_by"] is None and result["basis"] == "report_by"
    assert (result["report_by"]["source"], result["report_by"]["estimate"]) == (
        "default table",
        True,
    )


def test_deadlines_tz_converts_local_times(tmp_path: Path, cli: Cli) -> None:
    capture = (
        "sw1#show license status\nUsage Reporting:\n"
        "  Last ACK received: Oct 01 10:00:00 2026 PDT\n"
        "  Next ACK deadline: Nov 20 23:30:00 2026 PDT\n"
    )
    path = tmp_path / "sw1.txt"
    path.write_text(capture)
    run = cli("deadlines", "--format", "json", "--today", "2026-11-02", path)
    (local,) = json.loads(run.out)["results"]
    assert (local["ack_by"]["date"], local["ack_by"]["local_time"]) == ("2026-11-20", True)
    run = cli("deadlines", "--format", "json", "--today", "2026-11-02", "--tz", "PDT=-07:00", path)
    (converted,) = json.loads(run.out)["results"]
    assert (converted["ack_by"]["date"], converted["ack_by"]["local_time"]) == ("2026-11-21", False)
    assert converted["ack_by"]["time"] == "2026-11-21T06:30:00Z"


@pytest.mark.parametrize(
    "flags",
    [("--today", "2026-13-01"), ("--today", "soon"), ("--tz", "PDT"), ("--tz", "PDT=+25:00")],
)
def test_deadlines_bad_flag_exits_2_in_one_line(
    tmp_path: Path, cli: Cli, flags: tuple[str, str]
) -> None:
    path = tmp_path / "sw1.txt"
    path.write_text(captures.render(fleet.before_state(fleet.device(5, 1))))
    run = cli("deadlines", *flags, path)
    assert run.code == 2
    assert run.out == ""
    assert run.err.startswith(f"error: invalid {flags[0]} value: {flags[1]}")
    assert len(run.err.strip().splitlines()) == 1


def test_deadlines_missing_path_exits_3(tmp_path: Path, cli: Cli) -> None:
    run = cli("deadlines", "--format", "json", tmp_path / "nowhere")
    assert run.code == 3
    doc = json.loads(run.out)
    assert doc["problems"][0]["exit_code"] == 3 and doc["results"] == []


def test_help_has_a_docstring(cli: Cli) -> None:
    for command in ("reconcile", "deadlines"):
        run = cli(command, "--help")
        assert run.code == 0
        assert "--format" in run.out
    assert "--warn-days" in cli("deadlines", "--help").out


def test_nothing_to_work_on_is_said_not_passed_silently(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "notes.txt").write_text("nothing here\n")
    due = cli("deadlines", tmp_path)
    matched = cli("reconcile", tmp_path)
    assert due.code == matched.code == 0
    assert "no device found" in due.err and "nothing to reconcile" in matched.err


def test_reconcile_a_lab_fleet_read_in_worker_processes(tmp_path: Path, cli: Cli) -> None:
    """Sixty files (usage files, the simulated CSSM's ACK archive, after-import captures):
    enough for the files to be read in worker processes and sent back."""
    fleet.write(tmp_path / "fleet", 20, seed=3)
    assert cli("lab", "cssm", tmp_path / "fleet" / "usage", tmp_path / "cssm").code == 0
    run = cli("reconcile", "--format", "json", tmp_path / "fleet" / "usage", tmp_path / "cssm")
    assert run.code == 0, run.out
    doc = json.loads(run.out)
    assert doc["counts"]["devices"] == 20 and doc["counts"]["outstanding"] == 0
    assert doc["counts"]["acknowledged"] == doc["counts"]["exported"] > 20


def _name_evidence(tmp_path: Path, cli: Cli, usage_name: str, ack_name: str) -> list[str]:
    """The ``ACK file name`` evidence reconcile gives for one device's usage file and its ACK
    written under these names."""
    from airgap.lab import cssm
    from tests.state.test_reconcile import SEED, usage_doc

    dev = fleet.device(SEED, 0)
    data = fleet.usage_file(dev)
    doc = usage_doc(data)
    (tmp_path / usage_name).write_bytes(data)
    answer = cssm.answer(usage_name, data, doc, cssm.processed_at([doc]))
    (tmp_path / ack_name).write_bytes(answer.ack)
    run = cli("reconcile", "--format", "json", tmp_path)
    assert run.code == 0, run.out + run.err
    (result,) = json.loads(run.out)["results"]
    return [e for r in result["reports"] for e in r["evidence"] if "ACK file name" in e]


def test_an_ack_named_for_a_usage_file_with_a_bang_in_its_name_is_matched(
    tmp_path: Path, cli: Cli
) -> None:
    # '!' shows an archive member; in a file's own name it is only a character
    evidence = _name_evidence(tmp_path, cli, "a!usage.xml", "ACK_a!usage.xml")
    assert evidence
    assert all(e.startswith("seen: ACK file name ACK_a!usage.xml answers ") for e in evidence)


def test_an_ack_is_not_matched_to_the_tail_of_a_name_with_a_bang(tmp_path: Path, cli: Cli) -> None:
    assert _name_evidence(tmp_path, cli, "a!usage.xml", "ACK_usage.xml") == []
