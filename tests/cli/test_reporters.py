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


def _pack(path: Path, members: dict[str, bytes]) -> Path:
    """A tar archive of ``members`` (name -> bytes) at ``path``."""
    import io
    import tarfile

    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_annotations_name_the_file_on_disk(cli: Cli, tmp_path: Path) -> None:
    """A file whose own name holds '!' is annotated whole; a finding in an archive member is
    annotated on the archive, the member named in the message; so is an unsafe member."""
    odd = tmp_path / "odd!name.xml"
    odd.write_bytes((SAMPLES / "invalid" / "sudi-mismatch.xml").read_bytes())
    packed = _pack(
        tmp_path / "a.tar", {"in/b.xml": (SAMPLES / "invalid" / "start-after-end.xml").read_bytes()}
    )
    unsafe = _pack(tmp_path / "u.tar", {"../evil.xml": b"<x/>"})
    run = cli("validate", "--format", "github", odd, packed, unsafe)
    assert run.code == 4
    first, second, third = run.out.splitlines()
    assert first.startswith(f"::error file={odd},line=1,title=sudi-mismatch::{odd}: report ")
    assert second.startswith(
        f"::error file={packed},line=1,title=start-after-end::{packed}!in/b.xml: report "
    )
    assert third == f"::error file={unsafe},title=problem::unsafe archive member: '..' in the name"


def test_sarif_locates_a_member_in_its_archive(cli: Cli, tmp_path: Path) -> None:
    invalid = (SAMPLES / "invalid" / "sudi-mismatch.xml").read_bytes()
    packed = _pack(tmp_path / "a.tar", {"in/b.xml": invalid})
    run = cli("validate", "--format", "sarif", packed)
    assert run.code == 1
    (result,) = json.loads(run.out)["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location == {
        "artifactLocation": {"uri": f"{packed}!in/b.xml"},
        "region": {"startLine": 1},
    }
