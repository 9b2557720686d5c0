"""Reports of ``airgap validate`` for CI: SARIF 2.1.0, JUnit XML and GitHub annotations.

Each takes the same data: the file reports (findings), and the problems that stopped a file
from being read (missing, corrupt, unsafe). Built from core data, never from rendered text.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from airgap import __version__
from airgap.validate.engine import FileReport
from airgap.validate.rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(path: str) -> str:
    return quote(path, safe="/!:._-~")


def sarif(reports: Sequence[FileReport], problems: Sequence[dict[str, Any]]) -> str:
    """A SARIF 2.1.0 log: one run, every rule with its help, every finding a result."""
    ids = list(RULES)
    rules = [{
        "id": rule.id, "name": rule.id.replace("-", " ").title().replace(" ", ""),
        "shortDescription": {"text": rule.summary}, "fullDescription": {"text": rule.help},
        "help": {"text": rule.help}, "defaultConfiguration": {"level": rule.level.value},
    } for rule in RULES.values()]
    results = []
    for report in reports:
        for finding in report.findings:
            location: dict[str, Any] = {"artifactLocation": {"uri": _uri(finding.path)}}
            if finding.line:
                location["region"] = {"startLine": finding.line}
            results.append({"ruleId": finding.rule, "ruleIndex": ids.index(finding.rule),
                            "level": finding.level.value, "message": {"text": finding.message},
                            "locations": [{"physicalLocation": location}]})
    notifications = [{"level": "error", "message": {"text": f"{p['path']}: {p['reason']}"}}
                     for p in problems]
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "airgap", "version": __version__, "rules": rules}},
        "invocations": [{"executionSuccessful": not problems,
                         "toolExecutionNotifications": notifications}],
        "results": results,
    }]}
    return json.dumps(log, indent=2) + "\n"


def junit(reports: Sequence[FileReport], problems: Sequence[dict[str, Any]]) -> str:
    """JUnit XML: one test case per file (failed when it has an error), problems as errors."""
    cases = []
    failures = 0
    for report in reports:
        errors = [f for f in report.findings if f.level == "error"]
        body = ""
        if errors:
            failures += 1
            text = "\n".join(str(f) for f in report.findings)
            body = (f"<failure message={quoteattr(errors[0].message)} "
                    f"type={quoteattr(errors[0].rule)}>{_text(text)}</failure>")
        elif report.findings:
            body = f"<system-out>{_text(chr(10).join(str(f) for f in report.findings))}" \
                   "</system-out>"
        cases.append(f'    <testcase classname="airgap.validate" name={quoteattr(report.path)}'
                     f' time="0">{body}</testcase>')
    for problem in problems:
        cases.append(f'    <testcase classname="airgap.validate" name={quoteattr(problem["path"])}'
                     f' time="0"><error message={quoteattr(str(problem["reason"]))} '
                     f'type="problem">{_text(str(problem["reason"]))}</error></testcase>')
    counts = (f'tests="{len(cases)}" failures="{failures}" errors="{len(problems)}" '
              f'skipped="0" time="0"')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuites name="airgap validate" {counts}>\n'
            f'  <testsuite name="airgap validate" {counts} id="0" package="airgap" '
            f'hostname="localhost" timestamp="1970-01-01T00:00:00">\n'
            + "\n".join(cases) + "\n  </testsuite>\n</testsuites>\n")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _property(value: str) -> str:
    return (value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            .replace(":", "%3A").replace(",", "%2C"))


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github(reports: Sequence[FileReport], problems: Sequence[dict[str, Any]]) -> str:
    """GitHub Actions workflow commands: one ``::error``/``::warning`` per finding."""
    lines = []
    for report in reports:
        for f in report.findings:
            where = f"file={_property(f.path.split('!')[0])}"
            if f.line:
                where += f",line={f.line}"
            lines.append(f"::{f.level.value} {where},title={_property(f.rule)}::"
                         f"{_data(f.path + ': ' + f.message)}")
    for problem in problems:
        lines.append(f"::error file={_property(str(problem['path']).split('!')[0])},"
                     f"title=problem::{_data(str(problem['reason']))}")
    return "".join(line + "\n" for line in lines)


def write(text: str) -> None:
    """Reports go to stdout whole."""
    sys.stdout.write(text)
