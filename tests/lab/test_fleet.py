"""The lab fleet: repeatable bytes, files that validate clean, captures the parser reads back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from airgap.lab import captures, fleet
from airgap.state.parse import parse_capture
from airgap.validate.engine import Validator
from tests.conftest import Cli


def digest(folder: Path) -> str:
    total = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            total.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return total.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    fleet.write(tmp_path / "a", 30, seed=7, jobs=1)
    fleet.write(tmp_path / "b", 30, seed=7, jobs=2)
    fleet.write(tmp_path / "c", 30, seed=8, jobs=1)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_devices_cover_families_and_both_layouts() -> None:
    devices = list(fleet.fleet(1, 10))
    assert {d.family.name for d in devices} == {f.name for f in fleet.FAMILIES}
    assert {d.family.layout for d in devices} == {"1", "2.0"}
    assert len({d.udi for d in devices}) == 10
    assert all(2 <= len(d.reports) <= 4 for d in devices)


def test_usage_files_validate_clean() -> None:
    validator = Validator()
    for dev in fleet.fleet(3, 25):
        report = validator.validate(fleet.usage_file(dev), dev.file_name)
        assert report.ok and not report.findings, report.findings


def test_measurements_never_after_the_lab_clock() -> None:
    now = int(fleet.LAB_NOW.timestamp())
    for dev in fleet.fleet(5, 50):
        assert all(m.start <= m.end <= now for r in dev.reports for m in r.measurements)


def test_before_capture_reads_back_as_the_state_it_renders() -> None:
    dev = fleet.device(1, 2)
    state = fleet.before_state(dev)
    parsed = parse_capture(fleet.before_capture(dev).decode(), "before.txt")
    kinds = [s.kind for s in parsed]
    assert kinds == [
        "show-license-status",
        "show-license-summary",
        "show-license-udi",
        "show-license-rum-id-all",
    ]
    status, summary, udi, rum = parsed
    assert status.policy is not None and state.policy is not None
    assert status.policy.name == state.policy.name
    assert status.policy.attributes == state.policy.attributes
    assert status.usage_reporting is not None and state.usage_reporting is not None
    assert status.usage_reporting.last_ack_received == state.usage_reporting.last_ack_received
    assert status.usage_reporting.next_ack_deadline == state.usage_reporting.next_ack_deadline
    assert [t.udi for t in status.trust_codes] == [dev.udi]
    assert status.hostname == dev.hostname
    assert udi.udi == dev.udi
    assert [(r.id, r.state) for r in rum.reports] == [(r.id, r.state) for r in state.reports]
    assert {(lic.name, lic.count) for lic in summary.licenses} == {
        (lic.name, lic.count) for lic in state.licenses
    }
    assert all(not s.unparsed_lines for s in parsed), [s.unparsed_lines for s in parsed]


@settings(max_examples=25, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_device_time_round_trips(when: datetime) -> None:
    when = when.replace(microsecond=0, tzinfo=UTC)
    stamp = captures.stamp(when)
    assert stamp is not None
    [state] = parse_capture(
        f"Usage Reporting:\n  Last ACK received: {stamp.raw}\n"
        "Smart Licensing Using Policy:\n  Status: ENABLED\n"
    )
    assert state.usage_reporting is not None
    assert state.usage_reporting.last_ack_received == stamp


def test_cli_fleet_refuses_an_existing_folder(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    run = cli("lab", "fleet", "--devices", "2", "--out", tmp_path / "lab")
    assert run.code == 3
    assert "refusing to write the fleet" in run.err and "Traceback" not in run.err
    assert not any((tmp_path / "lab").iterdir())


def test_cli_fleet_json(cli: Cli, tmp_path: Path) -> None:
    import json

    run = cli("lab", "fleet", "--devices", "3", "--out", tmp_path / "lab", "--format", "json")
    assert run.code == 0, run.err
    results = json.loads(run.out)["results"]
    assert len(results) == 3
    for row in results:
        assert Path(row["usage"]).is_file() and Path(row["before"]).is_file()


def test_ten_thousand_devices_validate_clean_and_repeat(cli: Cli, tmp_path: Path) -> None:
    made = cli("lab", "fleet", "--devices", "10000", "--out", tmp_path / "a", "--seed", "42")
    assert made.code == 0, made.err
    run = cli("validate", tmp_path / "a")
    assert run.code == 0, run.out[-2000:]
    assert "10000 files validated: 0 invalid, 0 errors, 0 warnings (10000 captures)" in run.out
    fleet.write(tmp_path / "b", 10000, seed=42, jobs=1)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
