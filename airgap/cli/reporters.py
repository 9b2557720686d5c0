"""Reports of ``airgap validate`` for CI: SARIF 2.1.0, JUnit XML and GitHub annotations.

Each takes the same data: the file reports (findings), and the problems that stopped a file
from being read (missing, corrupt, unsafe). Built from core data, never from rendered text.
Names and messages are escaped (:mod:`airgap.names`): a file name that is not UTF-8 or holds
control characters gives a valid report that shows it, never a crash or a broken document;
a SARIF URI quotes the name's own bytes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from airgap import __version__
from airgap.findings import Finding, Level, Location
from airgap.names import escaped, raw
from airgap.validate.engine import FileReport
from airgap.validate.rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(where: Location) -> str:
    """The file (and the member inside archives, as shown) as a URI: the name's own bytes
    quoted."""
    return quote(raw(where.path or ""), safe="/!:._-~")


def _sarif_rule(rule_id: str) -> dict[str, Any]:
    rule = RULES[rule_id]
    return {
        "id": rule.id,
        "name": rule.id.replace("-", " ").title().replace(" ", ""),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.help},
        "help": {"text": rule.help},
        "defaultConfiguration": {"level": rule.level.value},
    }


def _sarif_result(finding: Finding, index: int) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": _uri(finding.where)}}
    if finding.line:
        location["region"] = {"startLine": finding.line}
    return {
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": finding.level.value,
        "message": {"text": escaped(finding.message)},
        "locations": [{"physicalLocation": location}],
    }


def sarif(reports: Sequence[FileReport], problems: Sequence[Finding]) -> str:
    """A SARIF 2.1.0 log: one run, every rule with its help, every finding a result, each
    input that could not be read a notification."""
    index = {rule_id: n for n, rule_id in enumerate(RULES)}
    results = [_sarif_result(f, index[f.code]) for r in reports for f in r.findings]
    notifications = [
        {"level": "error", "message": {"text": escaped(f"{p.path}: {p.message}")}} for p in problems
    ]
    driver = {"name": "airgap", "version": __version__, "rules": list(map(_sarif_rule, RULES))}
    invocation = {"executionSuccessful": not problems, "toolExecutionNotifications": notifications}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "invocations": [invocation], "results": results}],
    }
    return json.dumps(log, indent=2) + "\n"


def _junit_case(report: FileReport) -> tuple[str, list[str]]:
    """One file's test case, failed when it has an error, and its findings to note in the
    suite's system-out when it has none."""
    errors = [f for f in report.findings if f.level is Level.ERROR]
    body, notes = "", []
    if errors:
        text = "\n".join(str(f) for f in report.findings)
        body = (
            f"<failure message={quoteattr(escaped(errors[0].message))} "
            f"type={quoteattr(errors[0].code)}>{_text(text)}</failure>"
        )
    else:
        notes = [str(f) for f in report.findings]
    case = (
        f"    <testcase name={quoteattr(escaped(report.path))} "
        f'classname="airgap.validate" time="0">{body}</testcase>'
    )
    return case, notes


def _junit_problem(problem: Finding) -> str:
    reason = escaped(problem.message)
    return (
        f"    <testcase name={quoteattr(escaped(problem.path))} "
        f'classname="airgap.validate" time="0"><error message={quoteattr(reason)} '
        f'type="problem">{_text(reason)}</error></testcase>'
    )


def junit(reports: Sequence[FileReport], problems: Sequence[Finding]) -> str:
    """JUnit XML (the Ant JUnit schema): one test case per file, failed when it has an error;
    a file that could not be read is an errored case; warnings go to the suite's system-out."""
    cases, notes = [], []
    for case, noted in map(_junit_case, reports):
        cases.append(case)
        notes += noted
    failures = sum(any(f.level is Level.ERROR for f in r.findings) for r in reports)
    cases += map(_junit_problem, problems)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n'
        f'  <testsuite name="airgap validate" package="airgap" id="0" hostname="localhost" '
        f'timestamp="{datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")}" '
        f'tests="{len(cases)}" failures="{failures}" errors="{len(problems)}" time="0">\n'
        "    <properties/>\n" + "\n".join(cases) + "\n"
        f"    <system-out>{_text(chr(10).join(notes))}</system-out>\n"
        "    <system-err></system-err>\n  </testsuite>\n</testsuites>\n"
    )


def _text(value: str) -> str:
    """XML character data; control characters (no XML 1.0 document may hold them) escaped,
    line breaks kept."""
    value = "\n".join(escaped(line) for line in value.split("\n"))
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _property(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def _data(value: str) -> str:
    """A workflow command's text: one line, controls escaped, ``%`` quoted as GitHub asks."""
    return escaped(value).replace("%", "%25")


def github(reports: Sequence[FileReport], problems: Sequence[Finding]) -> str:
    """GitHub Actions workflow commands: one ``::error``/``::warning`` per finding, on the
    file on disk (an archive's member is named in the message)."""
    lines = []
    for report in reports:
        for f in report.findings:
            where = f"file={_property(f.where.file or '')}"
            if f.line:
                where += f",line={f.line}"
            lines.append(
                f"::{f.level.value} {where},title={_property(f.code)}::"
                f"{_data(f.path + ': ' + f.message)}"
            )
    for problem in problems:
        lines.append(
            f"::error file={_property(problem.where.file or '')},"
            f"title=problem::{_data(problem.message)}"
        )
    return "".join(line + "\n" for line in lines)


def write(text: str) -> None:
    """Reports go to stdout whole."""
    sys.stdout.write(text)
