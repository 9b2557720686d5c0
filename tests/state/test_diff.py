"""diff: changes and verdicts between device states, usage files and ACKs."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airgap import xml
from airgap.formats.usage import read_usage
from airgap.lab import captures, cssm, fleet
from airgap.state import diff
from airgap.state.model import DeviceState, Report, Stamp, UsageReporting
from airgap.state.parse import parse_capture
from tests.conftest import SAMPLES, Cli, need_field

NOW = fleet.LAB_NOW


def lab_state(reports: list[tuple[int, str]], last_ack: datetime | None) -> DeviceState:
    udi = fleet.device(1, 0).udi
    rows = [(rid, "network-advantage", 1, state) for rid, state in reports]
    return dataclasses.replace(
        fleet.device_state(udi, rows, last_ack=last_ack, pushed=NOW), path="dev/status.txt"
    )


def test_import_that_took_effect() -> None:
    before = lab_state([(1, "CLOSED"), (2, "OPEN")], NOW - timedelta(days=60))
    after = lab_state([(1, "ACK"), (2, "ACK")], NOW)
    verdict, evidence = diff.verdict(before, after)
    assert verdict == diff.Verdict.TOOK_EFFECT
    assert any("2 of 2" in e for e in evidence)


def test_open_report_still_open_is_not_a_failure() -> None:
    before = lab_state([(1, "CLOSED"), (2, "OPEN")], NOW - timedelta(days=60))
    after = lab_state([(1, "ACK"), (2, "OPEN")], NOW)
    assert diff.verdict(before, after)[0] == diff.Verdict.TOOK_EFFECT


def test_nothing_moved_is_not_applied() -> None:
    before = lab_state([(1, "CLOSED")], NOW - timedelta(days=60))
    assert diff.verdict(before, before)[0] == diff.Verdict.NOT_APPLIED


def test_ack_moved_but_a_closed_report_left_is_partly() -> None:
    before = lab_state([(1, "CLOSED"), (2, "CLOSED")], NOW - timedelta(days=60))
    after = lab_state([(1, "ACK"), (2, "CLOSED")], NOW)
    verdict, evidence = diff.verdict(before, after)
    assert verdict == diff.Verdict.PARTLY
    assert any("2" in e and "without ACK" in e for e in evidence)


def test_without_evidence_the_verdict_is_unknown() -> None:
    bare = DeviceState(kind="show-license-summary")
    assert diff.verdict(bare, bare)[0] == diff.Verdict.UNKNOWN


def test_changes_list_policy_deadline_and_reports() -> None:
    before = lab_state([(1, "CLOSED")], NOW - timedelta(days=60))
    after = lab_state([(1, "ACK")], NOW)
    names = {c.field for c in diff.changes(before, after)}
    assert names == {"last_ack_received", "next_ack_deadline", "report 1"}


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 10**10), st.sampled_from(["OPEN", "CLOSED", "ACK"])), max_size=6
    ),
    st.integers(0, 400),
)
def test_a_state_against_itself_has_no_changes(reports: list[tuple[int, str]], days: int) -> None:
    state = lab_state(reports, NOW - timedelta(days=days))
    assert diff.changes(state, state) == []
    assert diff.verdict(state, state)[0] != diff.Verdict.TOOK_EFFECT


def test_overall_is_the_worst_verdict() -> None:
    made = [
        diff.DeviceDiff("a", (), v, ())
        for v in (diff.Verdict.TOOK_EFFECT, diff.Verdict.NOT_APPLIED)
    ]
    assert diff.overall(made) == diff.Verdict.NOT_APPLIED
    assert diff.overall([made[0]]) == diff.Verdict.TOOK_EFFECT


def ack_check(
    cli: Cli, tmp_path: Path, dev: fleet.LabDevice, for_dev: fleet.LabDevice, when: datetime
) -> tuple[int, dict[str, Any]]:
    """``airgap diff ACK captures/``: the exit code and the one result."""
    data = fleet.usage_file(for_dev)
    answer = cssm.answer(for_dev.file_name, data, read_usage(xml.parse(data)), when)
    (tmp_path / "ack.xml").write_bytes(answer.ack)
    (tmp_path / "captures").mkdir()
    (tmp_path / "captures" / "before.txt").write_bytes(fleet.before_capture(dev))
    run = cli("diff", tmp_path / "ack.xml", tmp_path / "captures", "--format", "json")
    [result] = json.loads(run.out)["results"]
    return run.code, result


def test_ack_against_its_own_device_belongs_and_is_fresh(cli: Cli, tmp_path: Path) -> None:
    dev = fleet.device(1, 3)
    code, result = ack_check(cli, tmp_path, dev, dev, NOW)
    assert code == 0 and result["belongs"] is True and result["stale"] is False
    assert any(e.startswith("seen: SLAC udi") for e in result["evidence"])


def test_ack_for_another_device_does_not_belong(cli: Cli, tmp_path: Path) -> None:
    code, result = ack_check(cli, tmp_path, fleet.device(1, 3), fleet.device(1, 4), NOW)
    assert code == 1 and result["belongs"] is False


def test_ack_older_than_the_last_one_received_is_stale(cli: Cli, tmp_path: Path) -> None:
    dev = fleet.device(1, 3)
    code, result = ack_check(cli, tmp_path, dev, dev, NOW - timedelta(days=200))
    assert code == 1 and result["belongs"] is True and result["stale"] is True


def test_usage_report_diff_by_udi_and_report_id() -> None:
    dev = fleet.device(1, 0)
    keys = [(dev.udi, r.report_id) for r in dev.reports]
    changes = diff.diff_reports(keys[:-1], keys[1:])
    assert [c.after for c in changes] == ["added", None]
    assert changes[0].field.endswith(str(keys[-1][1]))


# -- the CLI


def test_samples_pair_took_effect(cli: Cli) -> None:
    run = cli("diff", SAMPLES / "import/before", SAMPLES / "import/after")
    assert run.code == 0, run.err
    assert "verdict: took effect" in run.out
    assert "report 1678901234: CLOSED -> ACK" in run.out


def test_unchanged_pair_is_not_applied_and_exits_1(cli: Cli) -> None:
    run = cli("diff", SAMPLES / "import/before", SAMPLES / "import/before", "--format", "json")
    assert run.code == 1
    body = json.loads(run.out)
    assert body["verdict"] == "not applied" and body["ok"] is False


def test_exit_code_flag_on_usage_files(cli: Cli, tmp_path: Path) -> None:
    a, b = (fleet.device(1, n) for n in (0, 1))
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / a.file_name).write_bytes(fleet.usage_file(a))
    (tmp_path / "y" / a.file_name).write_bytes(fleet.usage_file(a))
    (tmp_path / "y" / b.file_name).write_bytes(fleet.usage_file(b))
    assert cli("diff", tmp_path / "x", tmp_path / "x", "--exit-code").code == 0
    run = cli("diff", tmp_path / "x", tmp_path / "y", "--exit-code")
    assert run.code == 1
    assert run.out.count("added") == len(b.reports)
    assert cli("diff", tmp_path / "x", tmp_path / "y").code == 0


def test_ack_against_captures(cli: Cli, tmp_path: Path) -> None:
    dev = fleet.device(1, 2)
    (tmp_path / "before.txt").write_bytes(fleet.before_capture(dev))
    data = fleet.usage_file(dev)
    old = cssm.answer(dev.file_name, data, read_usage(xml.parse(data)), NOW - timedelta(days=90))
    (tmp_path / "old.xml").write_bytes(old.ack)
    run = cli("diff", tmp_path / "old.xml", tmp_path / "before.txt")
    assert run.code == 1
    assert "STALE" in run.out


def test_nothing_comparable_exits_3(cli: Cli) -> None:
    run = cli("diff", SAMPLES / "ack-c8000v.xml", SAMPLES / "slac-request-c9300.xml")
    assert run.code == 3
    assert "nothing to compare" in run.err and "Traceback" not in run.err


def test_missing_path_exits_3(cli: Cli, tmp_path: Path) -> None:
    run = cli("diff", tmp_path / "nope", SAMPLES / "import/after")
    assert run.code == 3
    assert "nope" in run.err


def test_captures_in_crlf_and_with_local_times(cli: Cli, tmp_path: Path) -> None:
    text = (SAMPLES / "import/after/c9300-edge-01.txt").read_text()
    (tmp_path / "after").mkdir()
    (tmp_path / "after" / "c.txt").write_bytes(text.replace("\n", "\r\n").encode())
    run = cli("diff", SAMPLES / "import/before", tmp_path / "after")
    assert run.code == 0 and "took effect" in run.out


def test_rendered_after_capture_parses_like_the_state() -> None:
    state = lab_state([(5, "ACK")], NOW)
    [status, *_] = parse_capture(captures.render(state))
    assert status.usage_reporting == UsageReporting(
        last_ack_received=captures.stamp(NOW),
        next_ack_deadline=captures.stamp(NOW + timedelta(days=fleet.ACK_WINDOW_DAYS)),
        last_report_push=captures.stamp(NOW),
        reporting_push_interval_days=30,
        next_report_push=Stamp("<none>", None),  # shown as none, not a missing line
        last_report_file_write=Stamp("<none>", None),
        next_ack_push_check=Stamp("<none>", None),
    )
    last = status.usage_reporting.last_ack_received
    assert last is not None and last.iso is not None
    assert datetime.fromisoformat(last.iso.replace("Z", "+00:00")) == NOW.astimezone(UTC)
    assert (
        Report(5, "ACK", "N", "network-advantage")
        in parse_capture(captures.render(state))[-1].reports
    )


def test_record_puts_the_verdict_and_both_sides_in_the_ledger(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = cli("diff", SAMPLES / "import/before", SAMPLES / "import/after", "--record")
    assert run.code == 3 and "no ledger configured" in run.err
    monkeypatch.setenv("AIRGAP_LEDGER", str(tmp_path / "ledger.jsonl"))
    run = cli("diff", SAMPLES / "import/before", SAMPLES / "import/after", "--record")
    assert run.code == 0, run.err
    entry = json.loads((tmp_path / "ledger.jsonl").read_text().splitlines()[-1])
    assert entry["step"] == "diff" and entry["note"] == "states, verdict took effect"
    assert len(entry["materials"]) == 2


def test_diff_parts_keep_every_change_and_verdict_of_the_field_captures() -> None:
    """diff reads the states of one device in one file merged (``devices.compact``) and
    through ``evidence.diff_parts`` (the parts it never compares dropped): any two field
    captures, or sample captures, compare the same either way."""
    from airgap.state.devices import compact, merge
    from airgap.state.evidence import diff_parts

    files = sorted(need_field("show").glob("*_output.txt"))
    files += sorted((SAMPLES / "import").glob("*/*.txt"))
    full = [merge(parse_capture(f.read_text(errors="replace"), str(f))) for f in files]
    reduced = [
        merge(
            [diff_parts(s) for s in compact(parse_capture(f.read_text(errors="replace"), str(f)))]
        )
        for f in files
    ]
    assert len(full) > 10
    for a, small_a in zip(full, reduced, strict=True):
        for b, small_b in zip(full, reduced, strict=True):
            assert diff.changes(small_a, small_b) == diff.changes(a, b)
            assert diff.not_shown(small_a, small_b) == diff.not_shown(a, b)
            assert diff.verdict(small_a, small_b) == diff.verdict(a, b)


def test_nothing_comparable_counts_every_capture_state(cli: Cli, tmp_path: Path) -> None:
    """diff merges a file's states of one device, yet names every state it read."""
    capture = tmp_path / "before" / "d.txt"
    capture.parent.mkdir()
    capture.write_bytes(fleet.before_capture(fleet.device(1, 2)))
    usage = SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml"
    run = cli("diff", capture.parent, usage)
    assert run.code == 3 and "Traceback" not in run.err
    assert "4 capture states against 1 usage files" in run.err
