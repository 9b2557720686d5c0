"""``reconcile``, ``ledger verify`` and ``bundle verify`` write SARIF, JUnit and GitHub
annotations as ``validate`` does: SARIF checked against the SARIF 2.1.0 schema, JUnit parsed and
its failures counted, annotations in GitHub's workflow-command syntax; exit codes as in text."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from airgap.signing.minisign import SecretKey
from tests.conftest import SAMPLES, Cli, Run

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
USAGE = SAMPLES / "usage-c8000v-ios-xe-17.9-v2.xml"
ACK = SAMPLES / "ack-c8000v.xml"
OTHER_USAGE = SAMPLES / "usage-c9300-ios-xe-17.6-v1.xml"
ANNOTATION = re.compile(r"^::(error|warning|notice) ((file=[^,:]+(,line=\d+)?,)?title=[\w-]+)::.+$")


def sarif_log(run: Run) -> dict[str, Any]:
    """The run's stdout as a SARIF log, validated against the SARIF 2.1.0 schema."""
    import jsonschema_rs

    log: dict[str, Any] = json.loads(run.out)
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema_rs.validator_for(schema).validate(log)
    return log


def results(run: Run) -> list[dict[str, Any]]:
    (sarif_run,) = sarif_log(run)["runs"]
    found: list[dict[str, Any]] = sarif_run["results"]
    return found


def junit_failures(run: Run) -> tuple[int, list[str]]:
    """The suite's failures count and the type of each failure element."""
    from lxml import etree

    suite = etree.fromstring(run.out.encode()).find("testsuite")
    assert suite is not None
    return int(suite.get("failures") or 0), [f.get("type") for f in suite.iter("failure")]


def github_lines(run: Run) -> list[str]:
    lines = run.out.splitlines()
    assert all(ANNOTATION.match(line) for line in lines), lines
    return lines


# reconcile


def test_reconcile_sarif_names_kinds_as_rules_and_devices_as_logical_locations(cli: Cli) -> None:
    run = cli("reconcile", OTHER_USAGE, "--format", "sarif")
    assert run.code == 1, run.err
    (sarif_run,) = sarif_log(run)["runs"]
    rules = {
        r["id"]: r["defaultConfiguration"]["level"] for r in sarif_run["tool"]["driver"]["rules"]
    }
    assert rules == {
        "outstanding": "error",
        "foreign-ack": "error",
        "stale-ack": "error",
        "exported-twice": "error",
        "never-reported": "warning",
    }
    (result,) = sarif_run["results"]
    assert result["ruleId"] == "outstanding" and result["level"] == "error"
    (logical,) = result["locations"][0]["logicalLocations"]
    assert logical["name"].startswith("PID:C9300") and logical["kind"] == "device"
    clean = cli("reconcile", USAGE, ACK, "--format", "sarif")
    assert clean.code == 0, clean.err
    assert results(clean) == []


def test_reconcile_junit_and_github(cli: Cli) -> None:
    run = cli("reconcile", OTHER_USAGE, "--format", "junit")
    assert run.code == 1
    assert junit_failures(run) == (1, ["outstanding"])
    clean = cli("reconcile", USAGE, ACK, "--format", "junit")
    assert clean.code == 0 and junit_failures(clean) == (0, [])
    run = cli("reconcile", OTHER_USAGE, "--format", "github")
    assert run.code == 1
    (line,) = github_lines(run)
    assert line.startswith("::error title=outstanding::PID:C9300")
    assert "without an ACK" in line
    clean = cli("reconcile", USAGE, ACK, "--format", "github")
    assert clean.code == 0 and clean.out == ""


def test_reconcile_locates_a_finding_in_its_file(cli: Cli, tmp_path: Path) -> None:
    twice = tmp_path / "copy.xml"
    twice.write_bytes(OTHER_USAGE.read_bytes())
    run = cli("reconcile", OTHER_USAGE, twice, "--format", "sarif")
    assert run.code == 1
    twins = [r for r in results(run) if r["ruleId"] == "exported-twice"]
    assert twins
    for twin in twins:
        uri = twin["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri in (str(OTHER_USAGE), str(twice))
        assert twin["locations"][0]["logicalLocations"][0]["name"].startswith("PID:C9300")
    lines = github_lines(cli("reconcile", OTHER_USAGE, twice, "--format", "github"))
    assert any(re.match(r"::error file=[^,]+,title=exported-twice::", line) for line in lines)


@pytest.mark.parametrize("fmt", ["sarif", "junit", "github"])
def test_reconcile_tells_an_unreadable_input_in_each_format(
    cli: Cli, tmp_path: Path, fmt: str
) -> None:
    missing = tmp_path / "gone.xml"
    run = cli("reconcile", USAGE, ACK, missing, "--format", fmt)
    assert run.code == 3
    assert f"{missing}" in run.err
    if fmt == "sarif":
        (sarif_run,) = sarif_log(run)["runs"]
        (invocation,) = sarif_run["invocations"]
        assert invocation["executionSuccessful"] is False
        (notification,) = invocation["toolExecutionNotifications"]
        assert str(missing) in notification["message"]["text"]
    elif fmt == "junit":
        from lxml import etree

        suite = etree.fromstring(run.out.encode()).find("testsuite")
        assert suite is not None and suite.get("errors") == "1"
    else:
        assert github_lines(run) == [
            f"::error file={missing},title=problem::no such file or folder"
        ]


# ledger verify


@pytest.fixture
def ledger(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger of two entries signed by this host's key."""
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("AIRGAP_LEDGER", str(path))
    for note in ("one", "two"):
        assert cli("ledger", "record", "--step", "note", "--note", note).code == 0
    return path


def test_ledger_verify_places_each_finding_on_its_line(ledger: Path, cli: Cli) -> None:
    clean = cli("ledger", "verify", "--format", "sarif")
    assert clean.code == 0, clean.err
    assert results(clean) == []
    lines = ledger.read_bytes().splitlines(keepends=True)
    ledger.write_bytes(lines[1] + lines[0])  # moved: out of order and a broken chain
    run = cli("ledger", "verify", "--format", "sarif")
    assert run.code == 4, run.err
    found = results(run)
    assert {r["ruleId"] for r in found} >= {"out-of-order", "broken-chain"}
    for result in found:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == str(ledger)
        assert physical["region"]["startLine"] in (1, 2)


def test_ledger_verify_junit_and_github(ledger: Path, cli: Cli) -> None:
    clean = cli("ledger", "verify", "--format", "junit")
    assert clean.code == 0 and junit_failures(clean) == (0, [])
    assert cli("ledger", "verify", "--format", "github").out == ""
    with ledger.open("ab") as handle:
        handle.write(b'{"seq":3,"prev":')  # a torn tail: a warning, exit 1
    run = cli("ledger", "verify", "--format", "junit")
    assert run.code == 1
    assert junit_failures(run) == (0, [])
    assert "torn-tail" in run.out
    run = cli("ledger", "verify", "--format", "github")
    assert run.code == 1
    (line,) = github_lines(run)
    assert line.startswith(f"::warning file={ledger},line=3,title=torn-tail::")


def test_ledger_verify_without_a_ledger_is_exit_3_in_a_ci_format(cli: Cli, tmp_path: Path) -> None:
    run = cli("ledger", "verify", "--ledger", tmp_path / "typo.jsonl", "--format", "sarif")
    assert run.code == 3
    assert run.out == ""
    assert run.err.startswith("error: ") and "typo.jsonl" in run.err


def test_ledger_verify_names_unchecked_signatures_as_a_problem(
    ledger: Path, cli: Cli, tmp_path: Path
) -> None:
    secret = SecretKey.generate()
    (tmp_path / "olga.key").write_text(secret.text(None))
    (tmp_path / "olga.key").chmod(0o600)
    assert cli("ledger", "record", "--step", "note", "--key", tmp_path / "olga.key").code == 0
    run = cli("ledger", "verify", "--format", "sarif")
    assert run.code == 3
    assert "cannot check the signatures" in run.err
    (sarif_run,) = sarif_log(run)["runs"]
    (invocation,) = sarif_run["invocations"]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolExecutionNotifications"]
    assert secret.public.id in notification["message"]["text"]


# bundle verify


@pytest.fixture
def bundle(tmp_path: Path, cli: Cli) -> Path:
    """A bundle of one usage file signed by tmp/op.key; its public key is tmp/op.pub."""
    secret = SecretKey.generate()
    (tmp_path / "op.key").write_text(secret.text(None))
    (tmp_path / "op.key").chmod(0o600)
    (tmp_path / "op.pub").write_text(secret.public.text())
    out = tmp_path / "usage.tar.gz"
    run = cli("bundle", "create", "--out", out, OTHER_USAGE, "--key", tmp_path / "op.key")
    assert run.code == 0, run.err
    return out


@pytest.mark.parametrize("fmt", ["sarif", "junit", "github"])
def test_bundle_verify_in_each_ci_format(bundle: Path, cli: Cli, fmt: str) -> None:
    trust = ("--trusted-key", bundle.parent / "op.pub")
    clean = cli("bundle", "verify", bundle, *trust, "--format", fmt)
    assert clean.code == 0, clean.err
    stranger = SecretKey.generate()
    (bundle.parent / "stranger.pub").write_text(stranger.public.text())
    run = cli("bundle", "verify", bundle, "--trusted-key", bundle.parent / "stranger.pub")
    text_code = run.code
    assert text_code == 4
    run = cli(
        "bundle", "verify", bundle, "--trusted-key", bundle.parent / "stranger.pub", "--format", fmt
    )
    assert run.code == text_code
    if fmt == "sarif":
        assert results(clean) == []
        found = results(run)
        assert found and {r["ruleId"] for r in found} == {"problem"}
        uri = found[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == str(bundle)
    elif fmt == "junit":
        assert junit_failures(clean) == (0, [])
        failures, types = junit_failures(run)
        assert failures == 1 and set(types) == {"problem"}
    else:
        assert clean.out == ""
        lines = github_lines(run)
        assert lines and all(
            line.startswith(f"::error file={bundle},title=problem::") for line in lines
        )


def test_bundle_verify_tells_a_missing_bundle_in_a_ci_format(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "gone.tar.gz"
    text = cli("bundle", "verify", missing, "--trusted-key", tmp_path / "x.pub")
    run = cli(
        "bundle", "verify", missing, "--trusted-key", tmp_path / "x.pub", "--format", "github"
    )
    assert run.code == text.code != 0
    assert "gone.tar.gz" in run.out + run.err


@pytest.mark.parametrize(
    "command", [("reconcile",), ("ledger", "verify"), ("bundle", "verify"), ("validate",)]
)
def test_help_lists_the_formats(cli: Cli, command: tuple[str, ...]) -> None:
    run = cli(*command, "--help")
    assert run.code == 0
    text = " ".join(run.out.split())
    assert all(word in text for word in ("sarif", "junit", "github")), text
