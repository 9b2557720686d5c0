"""``airgap state``: exit codes, the JSON envelope, ``--tz``, and what is refused or skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, Cli

PDT_STATUS = """\
sw1#show license status
Usage Reporting:
  Last ACK received: Dec 18 11:05:11 2023 PDT
  Next ACK deadline: Feb 16 11:05:11 2024 PDT
  Reporting push interval: 30  days
"""


def test_samples_folder_in_text(cli: Cli) -> None:
    run = cli("state", SAMPLES / "show")
    assert run.code == 0, run.err
    assert run.err == ""
    assert "c9300-status.txt: show-license-status" in run.out
    assert "next ACK deadline: 2023-06-13T08:02:55Z" in run.out
    assert "device: C9300-24UX FCW2437L0TZ" in run.out
    assert "reports: 3 ACK, 3 CLOSED, 3 OPEN" in run.out
    assert run.out.count("unparsed lines: 0") == 10


def test_json_envelope_holds_one_state_per_capture(cli: Cli) -> None:
    run = cli("state", "--format", "json", SAMPLES / "show")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert doc["command"] == "state" and doc["ok"] is True and "json_version" in doc
    assert "problems" not in doc and "error" not in doc and doc["skipped"] == []
    kinds = sorted(r["kind"] for r in doc["results"])
    assert len(kinds) == 10 and kinds[0] == "show-license-all"
    status = next(r for r in doc["results"] if r["kind"] == "show-license-status")
    assert status["usage_reporting"]["last_ack_received"] == "2023-04-14T08:02:55Z"
    assert status["usage_reporting"]["last_ack_received_raw"] == "Apr 14 08:02:55 2023 UTC"
    assert status["path"].endswith("c9300-status.txt") and status["unparsed_lines"] == []


def test_tz_converts_a_named_label(tmp_path: Path, cli: Cli) -> None:
    capture = tmp_path / "status.txt"
    capture.write_text(PDT_STATUS)
    local = json.loads(cli("state", "--format", "json", capture).out)["results"][0]
    assert local["usage_reporting"]["last_ack_received"] == "2023-12-18T11:05:11"
    run = cli("state", "--format", "json", "--tz", "PDT=-07:00", capture)
    assert run.code == 0, run.err
    usage = json.loads(run.out)["results"][0]["usage_reporting"]
    assert usage["last_ack_received"] == "2023-12-18T18:05:11Z"
    assert usage["next_ack_deadline"] == "2024-02-16T18:05:11Z"
    assert usage["next_ack_deadline_raw"] == "Feb 16 11:05:11 2024 PDT"


@pytest.mark.parametrize("value", ["PDT", "PDT=-7:99", "PDT=soon"])
def test_bad_tz_is_a_usage_error_in_one_line(value: str, cli: Cli) -> None:
    run = cli("state", "--tz", value, SAMPLES / "show")
    assert run.code == 2
    assert run.out == ""
    assert run.err.count("\n") == 1 and run.err.startswith("error: invalid --tz value")
    assert value in run.err and "Traceback" not in run.err


def test_named_file_that_is_no_capture_exits_3_in_one_line(tmp_path: Path, cli: Cli) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("remember to export the usage file\n")
    run = cli("state", notes)
    assert run.code == 3 and run.out == ""
    assert run.err.count("\n") == 1 and str(notes) in run.err
    assert run.err.startswith("error: no kind airgap knows (text, not XML)")
    xml = cli("state", "--format", "json", SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml")
    assert xml.code == 3 and "Traceback" not in xml.err
    doc = json.loads(xml.out)
    assert doc["ok"] is False and doc["results"] == []
    assert doc["problems"][0]["path"].endswith("usage-c9300-ios-xe-17.6-v1.xml")


def test_files_met_in_a_folder_that_are_no_capture_are_skipped(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "status.txt").write_text(PDT_STATUS)
    (tmp_path / "notes.txt").write_text("nothing to see\n")
    (tmp_path / "usage.xml").write_bytes((SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml").read_bytes())
    run = cli("state", "--format", "json", tmp_path)
    assert run.code == 0, run.err
    assert "note: skipped" in run.err and "notes.txt" in run.err and "usage.xml" in run.err
    doc = json.loads(run.out)
    assert [r["kind"] for r in doc["results"]] == ["show-license-status"]
    assert {Path(s["path"]).name for s in doc["skipped"]} == {"notes.txt", "usage.xml"}


def test_missing_path_exits_3(tmp_path: Path, cli: Cli) -> None:
    run = cli("state", tmp_path / "nope.txt")
    assert run.code == 3 and "no such file" in run.err and "Traceback" not in run.err


def test_a_session_file_gives_a_state_per_command(tmp_path: Path, cli: Cli) -> None:
    session = tmp_path / "session.log"
    session.write_text(
        (SAMPLES / "show" / "c9300-udi.txt").read_text()
        + (SAMPLES / "show" / "c9300-status.txt").read_text()
    )
    run = cli("state", "--format", "json", session)
    assert run.code == 0, run.err
    udi, status = json.loads(run.out)["results"]
    assert (udi["kind"], status["kind"]) == ("show-license-udi", "show-license-status")
    assert status["udi"] == {"pid": "C9300-24UX", "sn": "FCW2437L0TZ"}


def test_json_writes_each_state_before_reading_the_next_capture(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    from airgap.state import parse

    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(PDT_STATUS)
    written: list[int] = []
    real = parse.parse_capture

    def counting(*args: object, **kwargs: object) -> object:
        out = sys.stdout.buffer
        assert isinstance(out, io.BytesIO)
        written.append(out.getvalue().count(b'"kind"'))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parse, "parse_capture", counting)
    run = cli("state", "--format", "json", tmp_path)
    assert run.code == 0, run.err
    assert written == [0, 1, 2]  # streamed: each state is out before the next file is read
    doc = json.loads(run.out)
    assert doc["ok"] is True and len(doc["results"]) == 3 and doc["skipped"] == []
    assert list(doc)[:4] == ["airgap", "json_version", "command", "results"]
