"""Reports for CI: SARIF 2.1.0, JUnit XML and GitHub annotations, for every command whose
result is findings (validate, reconcile, ledger verify, bundle verify).

Each command builds one :class:`Report` from its own result: the subjects it checked (files,
devices, a ledger, bundles), each with its findings; the problems (inputs that could not be
read); and the descriptors of the codes that can occur. Built from core data, never from
rendered text. Names and messages are escaped (:mod:`airgap.names`): a file name that is not
UTF-8 or holds control characters gives a valid report that shows it, never a crash or a
broken document; a SARIF URI quotes the name's own bytes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from airgap import __version__
from airgap.cli.output import ReportFormat
from airgap.findings import Finding, Level, Location
from airgap.names import escaped, raw

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ANNOTATION = {Level.ERROR: "error", Level.WARNING: "warning", Level.NOTE: "notice"}


class Described(Protocol):
    """What a report says of a code that can occur: validate's rules have this shape."""

    @property
    def id(self) -> str: ...
    @property
    def level(self) -> Level: ...
    @property
    def summary(self) -> str: ...
    @property
    def help(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Rule:
    """A code a command can report (a reconcile kind, a ledger code), its default level and
    its meaning."""

    id: str
    level: Level
    summary: str
    help: str = ""


@dataclass(frozen=True, slots=True)
class Checked:
    """One subject a command checked (a file, a device, a ledger, a bundle) and its
    findings: a test case in JUnit."""

    name: str
    findings: Sequence[Finding]


@dataclass(frozen=True, slots=True)
class Report:
    """What a finding command hands to a CI reporter: ``command`` names the JUnit suite."""

    command: str
    rules: Sequence[Described]
    checked: Sequence[Checked]
    problems: Sequence[Finding] = ()


def _uri(where: Location) -> str:
    """The file (and the member inside archives, as shown) as a URI: the name's own bytes
    quoted."""
    return quote(raw(where.path or ""), safe="/!:._-~")


def _sarif_rule(rule: Described) -> dict[str, Any]:
    text = rule.help or rule.summary
    return {
        "id": rule.id,
        "name": rule.id.replace("-", " ").title().replace(" ", ""),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": text},
        "help": {"text": text},
        "defaultConfiguration": {"level": rule.level.value},
    }


def _sarif_location(where: Location) -> dict[str, Any]:
    """The file (and line) the finding is in, and the device it is about, as a logical
    location."""
    location: dict[str, Any] = {}
    if where.file is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(where)}}
        if where.line:
            physical["region"] = {"startLine": where.line}
        location["physicalLocation"] = physical
    if where.device is not None:
        location["logicalLocations"] = [{"name": escaped(where.device), "kind": "device"}]
    return location


def _sarif_result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": finding.code}
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    return result | {
        "level": finding.level.value,
        "message": {"text": escaped(finding.message)},
        "locations": [_sarif_location(finding.where)],
    }


def sarif(report: Report) -> str:
    """A SARIF 2.1.0 log: one run, every rule with its help, every finding a result, each
    input that could not be read a notification."""
    index = {rule.id: n for n, rule in enumerate(report.rules)}
    results = [_sarif_result(f, index) for c in report.checked for f in c.findings]
    notifications = [
        {"level": "error", "message": {"text": escaped(f"{p.path}: {p.message}")}}
        for p in report.problems
    ]
    rules = list(map(_sarif_rule, report.rules))
    driver = {"name": "airgap", "version": __version__, "rules": rules}
    invocation = {
        "executionSuccessful": not report.problems,
        "toolExecutionNotifications": notifications,
    }
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "invocations": [invocation], "results": results}],
    }
    return json.dumps(log, indent=2) + "\n"


def _junit_case(checked: Checked, classname: str) -> tuple[str, list[str]]:
    """One subject's test case, failed when it has an error, and its findings to note in the
    suite's system-out when it has none."""
    errors = [f for f in checked.findings if f.level is Level.ERROR]
    body, notes = "", []
    if errors:
        text = "\n".join(str(f) for f in checked.findings)
        body = (
            f"<failure message={quoteattr(escaped(errors[0].message))} "
            f"type={quoteattr(errors[0].code)}>{_text(text)}</failure>"
        )
    else:
        notes = [str(f) for f in checked.findings]
    case = (
        f"    <testcase name={quoteattr(escaped(checked.name))} "
        f'classname="{classname}" time="0">{body}</testcase>'
    )
    return case, notes


def _junit_problem(problem: Finding, classname: str) -> str:
    reason = escaped(problem.message)
    return (
        f"    <testcase name={quoteattr(escaped(problem.path))} "
        f'classname="{classname}" time="0"><error message={quoteattr(reason)} '
        f'type="problem">{_text(reason)}</error></testcase>'
    )


def junit(report: Report) -> str:
    """JUnit XML (the Ant JUnit schema): one test case per subject, failed when it has an
    error; an input that could not be read is an errored case; warnings go to the suite's
    system-out."""
    classname = report.command.replace(" ", ".")
    cases, notes = [], []
    for checked in report.checked:
        case, noted = _junit_case(checked, classname)
        cases.append(case)
        notes += noted
    failures = sum(any(f.level is Level.ERROR for f in c.findings) for c in report.checked)
    cases += (_junit_problem(p, classname) for p in report.problems)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n'
        f'  <testsuite name={quoteattr(report.command)} package="airgap" id="0" '
        f'hostname="localhost" timestamp="{datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")}" '
        f'tests="{len(cases)}" failures="{failures}" errors="{len(report.problems)}" time="0">\n'
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


def _annotation(finding: Finding) -> str:
    """One finding as a workflow command, on the file on disk when there is one; the file
    with its member inside archives, and the device, lead the message."""
    props = []
    if finding.where.file is not None:
        props.append(f"file={_property(finding.where.file)}")
        props += [f"line={finding.line}"] if finding.line else []
    props.append(f"title={_property(finding.code)}")
    subjects = [s for s in (finding.path, finding.where.device) if s]
    message = ": ".join((*subjects, finding.message))
    return f"::{ANNOTATION[finding.level]} {','.join(props)}::{_data(message)}"


def github(report: Report) -> str:
    """GitHub Actions workflow commands: one ``::error``/``::warning`` per finding, and one
    ``::error`` per input that could not be read."""
    lines = [_annotation(f) for c in report.checked for f in c.findings]
    for problem in report.problems:
        lines.append(
            f"::error file={_property(problem.where.file or '')},"
            f"title=problem::{_data(problem.message)}"
        )
    return "".join(line + "\n" for line in lines)


WRITERS: dict[ReportFormat, Callable[[Report], str]] = {
    ReportFormat.SARIF: sarif,
    ReportFormat.JUNIT: junit,
    ReportFormat.GITHUB: github,
}


def write(fmt: ReportFormat, report: Report) -> None:
    """The report in a CI format (sarif, junit, github), whole on stdout."""
    sys.stdout.write(WRITERS[fmt](report))
