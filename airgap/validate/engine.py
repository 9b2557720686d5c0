"""Apply every rule to a file's bytes, and the cross-file rules to everything given at once."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airgap import formats, xml
from airgap.formats.common import Udi
from airgap.formats.imports import ImportFile, SlacRequest
from airgap.formats.usage import UsageFile
from airgap.validate import checks
from airgap.validate.rules import RULES, Finding, Level

OFF = "off"
PRIVACY_LEVELS = ("normal", "strict")
OUTBOUND_RULES = ("hostname-present",)


@dataclass(frozen=True)
class FileReport:
    """What validation found in one file."""

    path: str
    kind: str | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not any(f.level is Level.ERROR for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``validate``."""
        return {"path": self.path, "kind": self.kind, "ok": self.ok,
                "findings": [f.to_dict() for f in self.findings]}


class Validator:
    """Validates files one at a time while remembering what cross-file rules need.

    ``levels`` maps rule ids to ``error``, ``warning`` or ``off`` (from ``airgap.toml``);
    ``privacy="strict"`` makes a hostname in an outbound file an error.
    """

    def __init__(self, *, privacy: str = "normal",
                 levels: Mapping[str, str] | None = None) -> None:
        self._levels: dict[str, str] = {rid: r.level.value for rid, r in RULES.items()}
        if privacy == "strict":
            self._levels.update(dict.fromkeys(OUTBOUND_RULES, Level.ERROR.value))
        self._levels.update(levels or {})
        self._reports_seen: dict[tuple[Udi, int], str] = {}

    def validate(self, data: bytes, path: str) -> FileReport:
        """Every finding for one file, plus duplicates of reports in files validated before."""
        kind, hits = self._hits(data, path)
        findings = [
            Finding(hit.rule, Level(level), path, hit.line, hit.message)
            for hit in hits
            if (level := self._levels[hit.rule]) != OFF
        ]
        return FileReport(path, kind, findings)

    def _hits(self, data: bytes, path: str) -> tuple[str | None, list[checks.Hit]]:
        if not data.strip():
            return None, [checks.Hit("empty-file", None, "the file is empty")]
        try:
            root = xml.parse(data)
        except xml.DoctypeError as exc:
            return None, [checks.Hit("doctype", exc.line, str(exc))]
        except xml.XmlSyntaxError as exc:
            return None, [checks.Hit("not-xml", exc.line, f"not well-formed XML: {exc}")]
        doc = formats.read_xml(root)
        if doc is None:
            return None, [checks.Hit("unknown-root", root.sourceline,
                                     f"unknown root element <{root.tag}>")]
        hits = list(_schema_hits(doc))
        model = doc.model
        if isinstance(model, UsageFile):
            hits += checks.usage(model)
            hits += self._duplicates(model, path)
        elif isinstance(model, SlacRequest):
            hits += checks.slac_request(model)
        elif isinstance(model, ImportFile):
            hits += checks.import_file(model)
        return doc.kind, hits

    def _duplicates(self, doc: UsageFile, path: str) -> Iterable[checks.Hit]:
        """A report is (UDI, report id); the same pair twice is a replay, here or across files."""
        for rum in doc.reports:
            udi, report_id = rum.udi, rum.report_id
            if udi is None or report_id is None:
                continue
            first = self._reports_seen.get((udi, report_id))
            if first:
                yield checks.Hit("duplicate-report", rum.line,
                                 f"report {report_id} of {udi} also at {first}")
            else:
                self._reports_seen[(udi, report_id)] = f"{path}:{rum.line}"


def _schema_hits(doc: formats.XmlDocument) -> Iterable[checks.Hit]:
    """XSD violations, all of them, with their lines."""
    schema = xml.xml_schema(formats.XSD_FOR_KIND[doc.kind])
    target = doc.root
    if doc.kind == formats.RUM_FRAGMENT:
        from lxml import etree

        target = etree.Element(formats.ROOT)
        target.append(copy.deepcopy(doc.root))
    if schema.validate(target):
        return
    for error in schema.error_log:
        yield checks.Hit("xml-schema", error.line or None, " ".join(error.message.split()))
