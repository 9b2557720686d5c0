"""``validate --format sarif|junit|github``: SARIF checked against the SARIF 2.1.0 schema,
JUnit against a published JUnit XSD, annotations in GitHub's workflow-command syntax."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES, Cli

SCHEMAS = ROOT / "tests" / "data" / "schemas"
FILES = [
    SAMPLES / "invalid" / "sudi-mismatch.xml",
    SAMPLES / "warnings" / "sample-interval.xml",
    SAMPLES / "usage-n9k-nxos-v1.xml",
]


def test_sarif_validates_against_the_sarif_schema(cli: Cli, tmp_path: Path) -> None:
    import jsonschema_rs

    missing = tmp_path / "gone.xml"
    run = cli("validate", "--format", "sarif", *FILES, missing)
    assert run.code == 3
    log = json.loads(run.out)
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema_rs.validator_for(schema).validate(log)
    (sarif_run,) = log["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} >= {"sudi-mismatch", "sample-interval"}
    assert all(r["help"]["text"] for r in rules)
    results = {(r["ruleId"], r["level"]) for r in sarif_run["results"]}
    assert results == {("sudi-mismatch", "error"), ("sample-interval", "warning")}
    assert sarif_run["invocations"][0]["executionSuccessful"] is False


def test_junit_validates_against_a_junit_xsd(cli: Cli) -> None:
    from lxml import etree

    run = cli("validate", "--format", "junit", *FILES)
    assert run.code == 1
    document = etree.fromstring(run.out.encode())
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "junit.xsd")))
    assert schema.validate(document), schema.error_log
    failures = document.findall(".//failure")
    assert [f.get("type") for f in failures] == ["sudi-mismatch"]
    assert len(document.findall(".//testcase")) == 3


def test_github_annotations_by_default_under_actions(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    run = cli("validate", *FILES)
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0].startswith(f"::error file={FILES[0]},line=1,title=sudi-mismatch::")
    assert lines[1].startswith(f"::warning file={FILES[1]},line=1,title=sample-interval::")
    assert len(lines) == 2
    assert (
        cli("validate", "--format", "text", *FILES)
        .out.splitlines()[0]
        .startswith(f"{FILES[0]}:1: error:")
    )
