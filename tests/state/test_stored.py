"""State JSON read back: what ``airgap state --format json`` writes gives the same states, so
sites combine by the state files they carry."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from airgap import formats, inputs
from airgap.state import stored
from airgap.state.parse import parse_capture
from tests.conftest import FIELD, SAMPLES, Cli

CAPTURES = sorted((SAMPLES / "show").glob("*.txt")) + (
    sorted((FIELD / "show").glob("*.txt")) + sorted((FIELD / "show").glob("*.raw"))
    if FIELD.exists()
    else []
)


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_a_state_reads_back_as_it_was_written(path: Path) -> None:
    for state in parse_capture(path.read_text(errors="replace"), str(path)):
        written = state.to_dict()
        again = stored.state(json.loads(json.dumps(written)), "site.json").to_dict()
        assert again.pop("path") == f"site.json#{path}"
        written.pop("path")
        written.pop("unparsed_lines"), again.pop("unparsed_lines")  # not carried back
        assert again == written


def test_health_and_deadlines_over_state_files_match_the_captures(tmp_path: Path, cli: Cli) -> None:
    site_a = cli("state", "--format", "json", SAMPLES / "import" / "after")
    (tmp_path / "site-a.json").write_text(site_a.out)
    for command in ("deadlines", "health"):
        direct = cli(
            command, "--format", "json", "--today", "2023-06-05", SAMPLES / "import" / "after"
        )
        combined = cli(
            command, "--format", "json", "--today", "2023-06-05", tmp_path / "site-a.json"
        )
        assert combined.code == direct.code == 0, combined.err
        (one,), (two,) = json.loads(direct.out)["results"], json.loads(combined.out)["results"]
        assert (one["device"], one["status" if command == "deadlines" else "level"]) == (
            two["device"],
            two["status" if command == "deadlines" else "level"],
        )


def test_a_broken_state_file_is_named(tmp_path: Path, cli: Cli) -> None:
    bad = tmp_path / "site.json"
    bad.write_text('{"airgap": "0.1.0", "json_version": 1, "command": "state", "results": 5}')
    run = cli("deadlines", "--today", "2023-06-05", bad)
    assert run.code == 1 and "site.json" in run.err and "Traceback" not in run.err


def test_state_files_in_a_folder_are_read_as_named_ones(tmp_path: Path, cli: Cli) -> None:
    """A central team's folder of state files from its sites: the walk reads each ``*.json``
    that is state JSON, as when each is named, and skips other JSON with a note."""
    sites = tmp_path / "sites"
    (sites / "north").mkdir(parents=True)
    (sites / "a.json").write_text(
        cli("state", "--format", "json", SAMPLES / "import" / "after").out
    )
    # b.json keeps a line it did not understand that reads as a syslog event: to the walk's
    # sniff, its head is a capture's
    written = json.loads(cli("state", "--format", "json", SAMPLES / "import" / "before").out)
    written["results"][0]["unparsed_lines"].append("%SMART_LIC-3-AUTHORIZATION_FAILED: x")
    (sites / "north" / "b.json").write_text(json.dumps(written, indent=2))
    assert formats.sniff((sites / "north" / "b.json").read_bytes()).family == "capture"
    (sites / "other.json").write_text('{"not": "a state file"}')
    for command in ("deadlines", "health", "reconcile"):
        extra = () if command == "reconcile" else ("--today", "2023-06-05")
        walked = cli(command, "--format", "json", *extra, sites)
        named = cli(
            command, "--format", "json", *extra, sites / "a.json", sites / "north" / "b.json"
        )
        assert walked.code == named.code, walked.err
        one, two = json.loads(walked.out), json.loads(named.out)
        assert one["results"] == two["results"] and one["results"]
        assert [s["path"] for s in one["skipped"]] == [str(sites / "other.json")]


def _sniffed_as_capture(cli: Cli) -> bytes:
    """State JSON whose head the walk's sniff takes for a capture's: an unparsed line in it
    reads as a syslog event."""
    written = json.loads(cli("state", "--format", "json", SAMPLES / "import" / "before").out)
    written["results"][0]["unparsed_lines"].append("%SMART_LIC-3-AUTHORIZATION_FAILED: x")
    data = json.dumps(written, indent=2).encode()
    assert formats.sniff(data).family == "capture"
    return data


def test_state_json_in_an_archive_is_read_as_states_not_as_a_capture(
    tmp_path: Path, cli: Cli
) -> None:
    data = _sniffed_as_capture(cli)
    (tmp_path / "site.json").write_bytes(data)
    member = tarfile.TarInfo("north/site.json")
    member.size = len(data)
    with tarfile.open(tmp_path / "sites.tar.gz", "w:gz") as archive:
        archive.addfile(member, io.BytesIO(data))
    for command in ("deadlines", "health", "reconcile"):
        extra = () if command == "reconcile" else ("--today", "2023-06-05")
        packed = cli(command, "--format", "json", *extra, tmp_path / "sites.tar.gz")
        named = cli(command, "--format", "json", *extra, tmp_path / "site.json")
        assert packed.code == named.code, packed.err
        one, two = json.loads(packed.out), json.loads(named.out)
        assert [r["device"] for r in one["results"]] == [r["device"] for r in two["results"]]
        assert one["results"] and not one.get("problems")


def test_state_says_state_json_is_no_capture(tmp_path: Path, cli: Cli) -> None:
    """``airgap state`` reads captures: state JSON is skipped in a folder and refused when
    named (exit 3), never parsed as a capture because its head holds a capture's words."""
    (tmp_path / "site.json").write_bytes(_sniffed_as_capture(cli))
    walked = cli("state", "--format", "json", tmp_path)
    assert walked.code == 0 and json.loads(walked.out)["results"] == []
    [skipped] = json.loads(walked.out)["skipped"]
    assert skipped["path"] == str(tmp_path / "site.json") and "state JSON" in skipped["reason"]
    named = cli("state", tmp_path / "site.json")
    assert named.code == 3 and "state JSON" in named.err and "Traceback" not in named.err


def test_a_state_file_over_the_size_limit_is_refused_unread(tmp_path: Path, cli: Cli) -> None:
    huge = tmp_path / "site.json"
    huge.write_text(cli("state", "--format", "json", SAMPLES / "import" / "after").out)
    with huge.open("r+b") as handle:
        handle.truncate(inputs.MAX_FILE_BYTES + 1)  # sparse: no disk taken, nothing to read
    run = cli("health", "--today", "2023-06-05", huge)
    assert run.code == 3 and "site.json" in run.err and "limit" in run.err, run.err
    assert "Traceback" not in run.err
