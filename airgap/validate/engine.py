"""Apply every rule to a file's bytes, and the cross-file rules to everything given at once.

:func:`check_file` is pure (bytes in, findings out) so that it can run in worker processes;
:class:`Validator` adds what needs every file seen so far: duplicate reports across files.
"""

from __future__ import annotations

import copy
import functools
import gc
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from airgap import formats, xml
from airgap.findings import Finding, Level, Location
from airgap.formats.common import ReportKey, Udi, markup
from airgap.formats.imports import ImportFile, SlacRequest
from airgap.formats.usage import UsageFile
from airgap.validate import checks
from airgap.validate.rules import RULES

OFF = "off"
OUTBOUND_RULES = ("hostname-present",)
OUTBOUND_KINDS = (formats.USAGE, formats.RUM_FRAGMENT, formats.SLAC_REQUEST)
MAX_FINDINGS = 1000  # kept per file; the rest are counted, so output stays bounded
BATCH = 256  # children of a root validated at once (see _batched)


@dataclass(frozen=True)
class FileReport:
    """What validation found in one file (or archive member)."""

    where: Location
    kind: str | None
    findings: list[Finding] = field(default_factory=list)
    sha256: str | None = None
    omitted_errors: int = 0  # findings past MAX_FINDINGS: counted, not kept
    omitted_warnings: int = 0

    @property
    def path(self) -> str:
        """The file, and the member inside archives, as shown: ``a.tar!b.xml``."""
        return self.where.path or ""

    @property
    def ok(self) -> bool:
        """True when no finding is an error, kept or not."""
        return not self.errors

    @property
    def errors(self) -> int:
        """How many findings are errors, the omitted ones included."""
        return sum(f.level is Level.ERROR for f in self.findings) + self.omitted_errors

    @property
    def warnings(self) -> int:
        """How many findings are warnings, the omitted ones included."""
        return sum(f.level is Level.WARNING for f in self.findings) + self.omitted_warnings

    @property
    def omitted(self) -> str | None:
        """A line saying how many findings past the first MAX_FINDINGS were left out, if any."""
        more = self.omitted_errors + self.omitted_warnings
        if not more:
            return None
        level = Level.ERROR if self.omitted_errors else Level.WARNING
        return (
            f"{self.path}: {level.value}: {more:,} more findings not shown "
            f"({self.omitted_errors:,} errors, {self.omitted_warnings:,} warnings; "
            f"the first {MAX_FINDINGS:,} are)"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``validate``."""
        return {
            "path": self.path,
            "kind": self.kind,
            "ok": self.ok,
            "sha256": self.sha256,
            "findings": [finding_dict(f) for f in self.findings],
            "omitted": {"errors": self.omitted_errors, "warnings": self.omitted_warnings},
        }


@dataclass(frozen=True)
class Checked:
    """One file's own findings, and the reports it holds (for the cross-file rules)."""

    report: FileReport
    reports: list[tuple[ReportKey, int]]  # (identity, line) in file order


def rule_levels(privacy: str = "normal", levels: Mapping[str, str] | None = None) -> dict[str, str]:
    """The level of every rule: defaults, then privacy, then ``airgap.toml`` overrides."""
    result = {rid: r.level.value for rid, r in RULES.items()}
    if privacy == "strict":
        result.update(dict.fromkeys(OUTBOUND_RULES, Level.ERROR.value))
    result.update(levels or {})
    return result


def finding_dict(finding: Finding) -> dict[str, Any]:
    """A validation finding's JSON form, the same in every command that reports them."""
    return {
        "rule": finding.code,
        "level": finding.level.value,
        "path": finding.path,
        "line": finding.line,
        "message": finding.message,
    }


def placed(levels: Mapping[str, str], where: Location, hit: Finding) -> Finding | None:
    """A rule's finding in its file, at the level in force; None when its rule is off."""
    level = levels[hit.code]
    if level == OFF:
        return None
    where = Location(where.file, where.member, hit.line)
    return Finding(hit.code, Level(level), hit.message, where)


class _Kept:
    """The first MAX_FINDINGS findings of a file; past them, only a count of each level, so
    that a file with millions of faults cannot take memory in proportion."""

    def __init__(self, levels: Mapping[str, str], where: Location) -> None:
        self.levels, self.where = levels, where
        self.findings: list[Finding] = []
        self.errors = self.warnings = 0

    @property
    def room(self) -> int:
        """How many more findings are kept."""
        return MAX_FINDINGS - len(self.findings)

    def add(self, hits: Iterable[Finding]) -> None:
        for hit in hits:
            if len(self.findings) < MAX_FINDINGS:
                if found := placed(self.levels, self.where, hit):
                    self.findings.append(found)
            else:
                self.count(hit.code)

    def count(self, rule: str, times: int = 1) -> None:
        """Count findings of ``rule`` past the kept ones, without making them."""
        level = self.levels[rule]
        self.errors += times if level == Level.ERROR else 0
        self.warnings += times if level == Level.WARNING else 0

    def report(self, kind: str | None, sha256: str | None) -> FileReport:
        return FileReport(self.where, kind, self.findings, sha256, self.errors, self.warnings)


def check_file(
    data: bytes, path: str, levels: Mapping[str, str], member: tuple[str, ...] = ()
) -> Checked:
    """Every finding that one file's bytes give on their own; ``member`` is the path of
    names inside the archive ``path`` when the file is one of its members."""
    # Decoding a usage file makes dozens of JSON containers per report, none in a cycle: the
    # cyclic collector would only scan them again and again (a sixth of the time).
    collecting = gc.isenabled()
    gc.disable()
    kept = _Kept(levels, Location(path, member))
    try:
        kind, reports = _check(data, kept)
    finally:
        if collecting:
            gc.enable()
    return Checked(kept.report(kind, hashlib.sha256(data).hexdigest()), reports)


def _check(data: bytes, kept: _Kept) -> tuple[str | None, list[tuple[ReportKey, int]]]:
    """Add every hit of one file to ``kept``; its kind, and the reports it holds."""
    doc = formats.read(data)
    if isinstance(doc, formats.Unreadable):
        kept.add([checks.hit(doc.rule, doc.line, doc.message)])
        return None, []
    _attributes(doc.root, kept)
    kept.add(_schema_hits(doc))
    kept.add(checks.markup(markup(doc.root), doc.kind in OUTBOUND_KINDS))
    reports: list[tuple[ReportKey, int]] = []
    model = doc.model
    if isinstance(model, UsageFile):
        kept.add(checks.usage_file(model))
        udis: dict[Udi, Udi] = {}  # one UDI object a device: a worker pickles each once
        for rum in model.iter_reports():  # one at a time: memory stays flat for a large file
            kept.add(checks.report(rum))
            if rum.udi is not None and rum.report_id is not None:
                reports.append(((udis.setdefault(rum.udi, rum.udi), rum.report_id), rum.line))
    elif isinstance(model, SlacRequest):
        kept.add(checks.slac_request(model))
    elif isinstance(model, ImportFile):
        kept.add(checks.import_file(model))
    return doc.kind, reports


def warm() -> None:
    """Load every schema now (before worker processes fork, so they inherit them)."""
    from airgap.validate import jsonschemas

    for name in set(formats.XSD_FOR_KIND.values()):
        xml.xml_schema(name)
    for name in jsonschemas.ALL:
        jsonschemas.violation(name, None)


def _schema_hits(doc: formats.XmlDocument) -> Iterable[Finding]:
    """XSD violations, all of them, with their lines."""
    schema = xml.xml_schema(formats.XSD_FOR_KIND[doc.kind])
    if doc.kind == formats.RUM_FRAGMENT:
        from lxml import etree

        target = etree.Element(formats.ROOT)
        target.append(copy.deepcopy(doc.root))
        return _violations(schema, target)
    if (
        doc.root.tag == formats.ROOT
        and len(doc.root) > BATCH
        and (doc.kind != formats.USAGE or _misshapen()(doc.root) > BATCH)
    ):
        return _batched(schema, doc.root)
    return _violations(schema, doc.root)


@functools.cache
def _misshapen() -> Any:
    """How many children of a usage file's root are sure to break usage.xsd: anything but a
    <RUMReport> or a <smartLicenseSystemInfo><data> holding no element. Only so many can
    cost their siblings' count in one pass, so a large usage file batches only past BATCH
    of them (moving 20,000 reports there and back takes a sixth of validating them)."""
    from lxml import etree

    return etree.XPath(
        "count(*[not(self::RUMReport[not(*)] or self::smartLicenseSystemInfo"
        "[count(*) = 1 and data[not(*)]])])"
    )


def _violations(schema: Any, target: Any) -> list[Finding]:
    if schema.validate(target):
        return []
    return [
        checks.hit("xml-schema", error.line or None, " ".join(error.message.split()))
        for error in schema.error_log
    ]


def _batched(schema: Any, root: Any) -> Iterator[Finding]:
    """Validate the children of a ``<smartLicense>`` root BATCH at a time, each batch under a
    root of its own, moved there and back, so that the tree ends as it began.

    lxml gives each violation the path of its element, which takes as long as the element
    has preceding siblings: 20,000 faulty reports took seconds, a million would take hours.
    Each ``<smartLicense>`` schema lets any number of its children come in any order, so a
    batch is valid exactly when those children are.
    """
    from lxml import etree

    count = len(root)
    for start in range(0, count, BATCH):
        batch = etree.Element(root.tag)
        batch.extend(root[: min(BATCH, count - start)])  # the first ones not yet validated
        hits = _violations(schema, batch)
        root.extend(list(batch))  # back at the end: after the last batch, all are in place
        yield from hits


@functools.cache
def _any_attribute() -> Any:
    from lxml import etree

    return etree.XPath("boolean(//@*)")


def _attributes(root: Any, kept: _Kept) -> None:
    """Each attribute is an XSD violation, since no schema of airgap's declares one: reported
    here and removed from the tree before libxml2 validates it, whose error log would keep an
    object for each (two million attributes in 20 MB: gigabytes). A licensing file has none."""
    if not _any_attribute()(root):
        return
    for element in root.iter("*"):
        attributes = element.attrib
        names = list(attributes)
        shown = names[: kept.room]
        kept.add(
            checks.hit(
                "xml-schema",
                element.sourceline,
                f"Element '{element.tag}', "
                f"attribute '{name}': The attribute '{name}' is not allowed.",
            )
            for name in shown
        )
        kept.count("xml-schema", len(names) - len(shown))
        attributes.clear()


class Validator:
    """Validates files one at a time while remembering what cross-file rules need.

    ``levels`` maps rule ids to ``error``, ``warning`` or ``off`` (from ``airgap.toml``);
    ``privacy="strict"`` makes a hostname in an outbound file an error. The memory it keeps
    grows with the reports seen: per device, each report id and where it was first seen, about
    100 bytes a report.
    """

    def __init__(self, *, privacy: str = "normal", levels: Mapping[str, str] | None = None) -> None:
        self.levels = rule_levels(privacy, levels)
        self._paths: list[str] = []
        # UDI -> report id -> file number << 32 | line: two ints a report, no tuples
        self._seen: dict[Udi, dict[int, int]] = {}

    def reports_seen(self) -> list[ReportKey]:
        """Every (UDI, report id) in the files validated so far."""
        return [(udi, report_id) for udi, ids in self._seen.items() for report_id in ids]

    def validate(self, data: bytes, path: str, member: tuple[str, ...] = ()) -> FileReport:
        """Every finding for one file (``member``: the names inside the archive ``path``),
        plus duplicates of reports in files validated before."""
        return self.finish(check_file(data, path, self.levels, member))

    def finish(self, checked: Checked) -> FileReport:
        """Add the cross-file findings to a file checked on its own (perhaps elsewhere)."""
        report = checked.report
        self._paths.append(report.path)
        here = (len(self._paths) - 1) << 32  # a file holds fewer than 2**32 lines (1 GiB)
        duplicates = []
        for (udi, report_id), line in checked.reports:
            device = self._seen.get(udi)
            if device is None:
                device = self._seen[udi] = {}
            first = device.get(report_id)
            if first is None:
                device[report_id] = here | line
            else:
                where = f"{self._paths[first >> 32]}:{first & 0xFFFFFFFF}"
                hit = checks.hit(
                    "duplicate-report",
                    line,
                    f"report {report_id} of {udi} also at {where}",
                )
                if found := placed(self.levels, report.where, hit):
                    duplicates.append(found)
        if not duplicates:
            return report
        findings = sorted([*report.findings, *duplicates], key=lambda f: f.line or 0)
        past = findings[MAX_FINDINGS:]
        errors = sum(f.level is Level.ERROR for f in past)
        return FileReport(
            report.where,
            report.kind,
            findings[:MAX_FINDINGS],
            report.sha256,
            report.omitted_errors + errors,
            report.omitted_warnings + len(past) - errors,
        )
