"""What CSLU-style archives are made of: names, timestamps, the manifest, and what a file
inside one holds (kind, UDIs, report ids). See the package docstring for the layout."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airgap import formats, xml
from airgap.formats.common import Udi, dig, find_key
from airgap.formats.imports import ImportFile
from airgap.formats.usage import UsageFile

UPLOAD = "cslu-upload-archive"
ACK = "cssm-ack-archive"
MANIFEST = "manifest.mf"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def timestamp(when: datetime) -> str:
    """``YYMonDD_HH_MM_SS_mmm`` as Cisco's sample writes it, whatever the locale."""
    return f"{when:%y}{_MONTHS[when.month - 1]}{when:%d_%H_%M_%S}_{when.microsecond // 1000:03d}"


@dataclass(frozen=True)
class ManifestEntry:
    """One per-VA section of ``manifest.mf``: the VA archive and its virtual account."""

    name: str
    virtual_account: str
    virtual_account_id: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {
            "name": self.name,
            "virtual_account": self.virtual_account,
            "virtual_account_id": self.virtual_account_id,
        }


@dataclass(frozen=True)
class Manifest:
    """``manifest.mf``: who made the upload, for which Smart Account, and one entry per VA.
    Reading never fails: keys airgap does not know and lines it cannot read are kept."""

    smart_account: str = ""
    smart_account_id: str = ""
    created_by: str = ""
    version: str = "1.0"
    entries: tuple[ManifestEntry, ...] = ()
    other: tuple[tuple[str, str], ...] = ()
    unreadable_lines: tuple[int, ...] = ()

    def render(self) -> bytes:
        """The file's bytes, as the sample writes them: main section, then a blank line and a
        section per VA archive (``Name: /<archive>``); no line wrapping."""
        lines = [
            f"Manifest-Version: {self.version}",
            f"Created-By: {self.created_by}",
            f"Smart-Account: {self.smart_account}",
            f"Smart-Account-ID: {self.smart_account_id}",
        ]
        for entry in self.entries:
            lines += [
                "",
                f"Name: /{entry.name}",
                f"Specification-VA: {entry.virtual_account}",
                f"Specification-VA-ID: {entry.virtual_account_id}",
            ]
        return ("\n".join(lines) + "\n").encode()

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        """Read JAR-manifest style sections (continuation lines start with a space)."""
        sections: list[list[tuple[str, str]]] = [[]]
        bad: list[int] = []
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                if sections[-1]:
                    sections.append([])
            elif line.startswith(" ") and sections[-1]:
                key, value = sections[-1][-1]
                sections[-1][-1] = (key, value + line[1:])
            elif ":" in line:
                key, _, value = line.partition(":")
                sections[-1].append((key.strip(), value.strip()))
            else:
                bad.append(number)
        main = dict(sections[0])
        entries: list[ManifestEntry] = []
        other: list[tuple[str, str]] = []
        for section in sections[1:]:
            fields = dict(section)
            if "Name" in fields:
                entries.append(
                    ManifestEntry(
                        fields.pop("Name").lstrip("/"),
                        fields.pop("Specification-VA", ""),
                        fields.pop("Specification-VA-ID", ""),
                    )
                )
            other += list(fields.items())
        known = ("Manifest-Version", "Created-By", "Smart-Account", "Smart-Account-ID")
        other = [(k, v) for k, v in sections[0] if k not in known] + other
        return cls(
            main.get("Smart-Account", ""),
            main.get("Smart-Account-ID", ""),
            main.get("Created-By", ""),
            main.get("Manifest-Version", ""),
            tuple(entries),
            tuple(other),
            tuple(bad),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "version": self.version,
            "created_by": self.created_by,
            "smart_account": self.smart_account,
            "smart_account_id": self.smart_account_id,
            "entries": [e.to_dict() for e in self.entries],
            "other": [{"key": k, "value": v} for k, v in self.other],
            "unreadable_lines": list(self.unreadable_lines),
        }


@dataclass(frozen=True)
class Content:
    """What a file's bytes are: kind, the devices they name, and why they could not be read."""

    kind: str | None
    udis: tuple[Udi, ...] = ()  # SEEN evidence: usage reports, system info, SLAC <udi>
    inferred_udis: tuple[Udi, ...] = ()  # from RUM ACK data, whose keys are not public
    report_ids: tuple[int, ...] = ()
    error: str | None = None


def classify(data: bytes) -> Content:
    """Kind and UDIs of one file, from its content; never raises for bad content."""
    sniffed = formats.sniff(data[: 1 << 16])
    if sniffed.family == "capture":
        return Content(sniffed.kind)
    if sniffed.family is None:
        return Content(None, error="empty file" if not data.strip() else None)
    try:
        doc = formats.read_xml(xml.parse(data))
    except xml.XmlSyntaxError as exc:
        return Content(None, error=f"line {exc.line}: {exc}" if exc.line else str(exc))
    if doc is None:
        return Content(None)
    if isinstance(doc.model, UsageFile):
        system = doc.model.system_info.value if doc.model.system_info else None
        reports = [(r.udi, r.report_id) for r in doc.model.iter_reports()]
        udis = {udi for udi, _ in reports} | {Udi.from_sudi(dig(system, "sudi"))}
        ids = {rid for _, rid in reports if rid is not None}
        return Content(doc.kind, _udis(udis), report_ids=tuple(sorted(ids)))
    if isinstance(doc.model, ImportFile):
        seen = _udis({a.udi for a in doc.model.authorizations})
        inferred = _udis(
            {
                Udi.from_sudi(u)
                for ack in doc.model.rum_acks
                if ack.ok
                for u in find_key(ack.value, "udi")
            }
        )
        ids = {
            i
            for ack in doc.model.rum_acks
            if ack.ok
            for i in find_key(ack.value, "report_id")
            if isinstance(i, int) and not isinstance(i, bool)
        }
        return Content(doc.kind, seen, inferred, tuple(sorted(ids)))
    return Content(doc.kind)


def _udis(found: Iterable[Udi | None]) -> tuple[Udi, ...]:
    return tuple(sorted({u for u in found if u is not None}))
