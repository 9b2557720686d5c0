"""The shipped samples: valid ones pass (stock xmllint agrees), each warning sample shows its
warning and still exits 0, and each invalid sample exits 1 naming the rule it is named after."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from airgap import formats, xml
from tests.conftest import SAMPLES, Cli, need_field, need_tool, wrap_fragment

VALID = sorted(SAMPLES.glob("*.xml"))
CAPTURES = sorted((SAMPLES / "show").glob("*.txt"))
WARNINGS = sorted((SAMPLES / "warnings").glob("*.xml"))
INVALID = sorted((SAMPLES / "invalid").glob("*.xml"))


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_corpus_is_complete() -> None:
    from airgap.validate.rules import RULES

    assert {p.stem for p in INVALID} == {r.id for r in RULES.values() if r.level == "error"}
    assert {p.stem for p in WARNINGS} == {r.id for r in RULES.values() if r.level == "warning"}
    kinds = {json_kind(p) for p in VALID}
    assert kinds == {"usage", "import", "policy", "slac-request"}
    layouts = {r["layout"] for p in VALID if json_kind(p) == "usage" for r in inspect(p)["reports"]}
    assert layouts == {"v1", "2.0"}
    assert len(CAPTURES) == 10


def inspect(path: Path) -> dict[str, Any]:
    doc = formats.read_xml(xml.parse(path.read_bytes()))
    assert doc is not None
    from airgap.formats import summary
    from airgap.formats.usage import UsageFile

    assert isinstance(doc.model, UsageFile)
    return summary.usage(doc.kind, doc.model)


def json_kind(path: Path) -> str | None:
    doc = formats.read_xml(xml.parse(path.read_bytes()))
    return doc.kind if doc else None


@pytest.mark.parametrize("path", VALID, ids=ids(VALID))
def test_valid_sample_has_no_findings(path: Path, cli: Cli) -> None:
    run = cli("validate", "--format", "json", path)
    assert run.code == 0, run.out
    (result,) = json.loads(run.out)["results"]
    assert result["findings"] == []


def test_all_valid_samples_together(cli: Cli) -> None:
    run = cli("validate", *VALID, SAMPLES / "show")
    assert run.code == 0, run.out
    assert f"{len(VALID)} files validated: 0 invalid, 0 errors, 0 warnings" in run.out


@pytest.mark.parametrize("path", WARNINGS, ids=ids(WARNINGS))
def test_warning_sample_warns_and_exits_0(path: Path, cli: Cli) -> None:
    run = cli("validate", path)
    assert run.code == 0, run.out
    lines = [line for line in run.out.splitlines() if line.startswith(str(path))]
    assert lines, run.out
    assert all(": warning: " in line and line.endswith(f"[{path.stem}]") for line in lines)


def test_warnings_folder_exits_0(cli: Cli) -> None:
    assert cli("validate", SAMPLES / "warnings").code == 0


@pytest.mark.parametrize("path", INVALID, ids=ids(INVALID))
def test_invalid_sample_exits_1_naming_its_rule(path: Path, cli: Cli) -> None:
    run = cli("validate", path)
    assert run.code == 1
    assert "error: " in run.out and f"[{path.stem}]" in run.out
    data = json.loads(cli("validate", "--format", "json", path).out)
    rules = {f["rule"] for f in data["results"][0]["findings"] if f["level"] == "error"}
    assert rules == {path.stem}


@pytest.mark.parametrize("path", CAPTURES, ids=ids(CAPTURES))
def test_capture_kind_matches_its_name(path: Path, cli: Cli) -> None:
    run = cli("inspect", "--format", "json", path)
    assert run.code == 0
    kind = json.loads(run.out)["results"][0]["kind"]
    assert kind == "show-license-" + path.stem.split("-", 1)[1]


@pytest.mark.tool
def test_stock_xmllint_accepts_the_valid_samples(tmp_path: Path) -> None:
    xmllint = need_tool("xmllint")
    schemas = xml.schema_dir()
    for path in [*VALID, *(SAMPLES / "warnings").glob("*.xml")]:
        kind = json_kind(path)
        assert kind is not None
        target = path
        if kind == "rum-fragment":
            target = tmp_path / path.name
            target.write_bytes(wrap_fragment(path.read_bytes()))
        result = subprocess.run(
            [
                xmllint,
                "--noout",
                "--nonet",
                "--schema",
                str(schemas / formats.XSD_FOR_KIND[kind]),
                str(target),
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, (path, result.stderr)


@pytest.mark.tool
def test_stock_xmllint_accepts_the_field_files(tmp_path: Path) -> None:
    xmllint = need_tool("xmllint")
    schemas = xml.schema_dir()
    rum = need_field("rum", "c9800cl_17.09.02__RUMReport_element.xml")
    wrapped = tmp_path / "wrapped.xml"
    wrapped.write_bytes(wrap_fragment(rum.read_bytes()))
    checks = [(wrapped, "usage.xsd")]
    checks += [(p, "import.xsd") for p in sorted(need_field("ack").glob("*.xml"))]
    for path, xsd in checks:
        result = subprocess.run(
            [xmllint, "--noout", "--nonet", "--schema", str(schemas / xsd), str(path)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, (path, result.stderr)
