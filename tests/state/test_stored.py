"""State JSON read back: what ``airgap state --format json`` writes gives the same states, so
sites combine by the state files they carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgap import formats
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
