"""Readers for every kind of file that crosses the gap, and kind detection from content.

The kind of a file comes from what it holds, never from its name: :func:`sniff` takes a cheap
look (is it XML with a root airgap knows, or a ``show license`` capture?) and :func:`read`
parses an XML document and decides between usage, fragment, import, policy and SLAC request
from its elements. Readers tolerate anything the schemas would reject: validation reports it.

A name only ever adds suspicion: a file that starts like XML, or is named like a licensing
file (``.xml``, ``usage...``, ``ACK_...``, CSLU's ``dev_<n>_...``), is read as one, so that
an empty or broken one is a finding rather than a file skipped as "something else".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airgap import xml
from airgap.formats.imports import (
    ACCOUNT_INFO,
    AUTHORIZATION,
    CORRELATION_ID,
    POLICY,
    RUM_ACK,
    ImportFile,
    SlacRequest,
    read_import,
    read_slac_request,
)
from airgap.formats.showcli import capture_kind
from airgap.formats.usage import REPORT, SYSTEM_INFO, UsageFile, read_usage

USAGE = "usage"
RUM_FRAGMENT = "rum-fragment"
IMPORT = "import"
POLICY_FILE = "policy"
SLAC_REQUEST = "slac-request"
XML_KINDS = (USAGE, RUM_FRAGMENT, IMPORT, POLICY_FILE, SLAC_REQUEST)

ROOT = "smartLicense"
KNOWN_ROOTS = (ROOT, REPORT, POLICY)
AUTH_REQUEST = "smartLicenseAuthRequest"
# The parts of a <smartLicense> airgap reads; an unknown part is kept only beside one of these,
# or when it is named like Cisco's own (trust-code and conversion ACK names are not public).
KNOWN_PARTS = frozenset(
    {
        REPORT,
        SYSTEM_INFO,
        AUTH_REQUEST,
        AUTHORIZATION,
        POLICY,
        RUM_ACK,
        ACCOUNT_INFO,
        CORRELATION_ID,
    }
)
CISCO_PART = "smartLicense"
_LICENSING_NAME = re.compile(r"(?i).*\.xml|(?:usage|rum|slac|ack|dev_\d+)(?:[-_.\d].*)?")
# What a name of the licensing forms can still plainly be: a screenshot, notes, a spreadsheet.
_OTHER_SUFFIX = re.compile(
    r"(?i).*\.(?:png|jpe?g|gif|bmp|tiff?|webp|svg|ico|pdf|md|rst|html?|"
    r"csv|json|ya?ml|toml|py|sh|docx?|xlsx?|pptx?|odt|zip)"
)

# Which XSD checks each kind; a fragment is checked once wrapped in <smartLicense>.
XSD_FOR_KIND = {
    USAGE: "usage.xsd",
    RUM_FRAGMENT: "usage.xsd",
    IMPORT: "import.xsd",
    POLICY_FILE: "policy.xsd",
    SLAC_REQUEST: "slac-request.xsd",
}


@dataclass(frozen=True)
class Sniff:
    """What a look at the bytes, without parsing, says a file is."""

    family: str | None  # "xml" (meant to be a licensing file), "capture", or None (neither)
    kind: str | None = None  # the capture kind; XML kinds need a parse
    root: str | None = None


def sniff(data: bytes, name: str = "") -> Sniff:
    """Cheap detection from the start of a file: ``xml`` for what is, or is meant to be, a
    licensing XML file (any root, a DOCTYPE, XML-like markup, in UTF-8, UTF-16 or UTF-32, or
    else a name of the licensing forms); ``capture`` for a ``show license`` capture; None for
    what is plainly something else."""
    prolog = xml.sniff(data)
    if prolog.root is not None or prolog.doctype:
        return Sniff("xml", root=prolog.root)
    kind = capture_kind(data[: 1 << 20].decode("utf-8", errors="replace"))
    if kind:
        return Sniff("capture", kind)
    if prolog.markup or licensing_name(name):
        return Sniff("xml")
    return Sniff(None)


def licensing_name(path: str) -> bool:
    """True when a file's name (the last part of ``path``, archive members included) is one
    licensing files go by: ``*.xml``, ``usage*``, ``rum*``, ``slac*``, ``ACK_*``, ``dev_<n>_*``,
    unless its suffix says it is an image or a document (``usage-chart.png``)."""
    name = re.split(r"[/\\!]", path)[-1]
    return _LICENSING_NAME.fullmatch(name) is not None and _OTHER_SUFFIX.fullmatch(name) is None


def blank(data: bytes) -> bool:
    """True for an empty or white-space-only file: ``empty-file`` for every command. Stops at
    the first other byte, so a large file costs nothing (``strip`` would copy it)."""
    return not data or data.isspace()


def plainly(data: bytes) -> str:
    """What a file that is plainly no licensing file is, in a few words for the user."""
    if blank(data):
        return "empty, and not named like a licensing file"
    if encoding := xml.sniff(data).encoding:
        return f"{encoding} text, not XML"
    return "binary, not XML" if b"\x00" in data else "text, not XML"


def xml_kind(root: Any) -> str | None:
    """The kind of a parsed XML document, from its root and the root's children."""
    if root.tag == REPORT:
        return RUM_FRAGMENT
    if root.tag == POLICY:
        return POLICY_FILE
    if root.tag != ROOT:
        return None
    tags = {child.tag for child in root.iterchildren("*")}
    if REPORT in tags:
        return USAGE
    if AUTH_REQUEST in tags:
        return SLAC_REQUEST
    if tags and not any(tag in KNOWN_PARTS or tag.startswith(CISCO_PART) for tag in tags):
        return None  # only foreign-namespace, XInclude or other unknown elements
    if tags - {SYSTEM_INFO}:
        return IMPORT
    return USAGE


Model = UsageFile | ImportFile | SlacRequest


@dataclass(frozen=True)
class XmlDocument:
    """A parsed licensing XML file: its kind, its element tree and what the reader made of it."""

    kind: str
    root: Any
    model: Model


@dataclass(frozen=True)
class Unreadable:
    """Why bytes meant to be a licensing file are none: the rule id, a line, a message."""

    rule: str
    line: int | None
    message: str


def read(data: bytes) -> XmlDocument | Unreadable:
    """A licensing file's bytes, parsed and read; or why they are not one. The one verdict
    ``validate``, ``inspect`` and ``bundle create`` give on a file."""
    if blank(data):
        return Unreadable("empty-file", None, "the file is empty")
    try:
        root = xml.parse(data)
    except xml.EncodingError as exc:
        return Unreadable("encoding", exc.line, str(exc))
    except xml.DoctypeError as exc:
        return Unreadable("doctype", exc.line, str(exc))
    except xml.XmlSyntaxError as exc:
        return Unreadable("not-xml", exc.line, f"not well-formed XML: {exc}")
    doc = read_xml(root)
    if doc is None:
        return Unreadable("unknown-root", root.sourceline, _unknown_root(root))
    return doc


def _unknown_root(root: Any) -> str:
    if root.tag != ROOT:
        return f"unknown root element <{root.tag}>"
    tags = sorted({str(child.tag) for child in root.iterchildren("*")})
    shown = ", ".join(f"<{tag}>" for tag in tags[:3]) + (", ..." if len(tags) > 3 else "")
    return f"<{ROOT}> holds no part airgap knows, only {shown}"


def read_xml(root: Any) -> XmlDocument | None:
    """Read a parsed document with the reader its kind calls for; None for an unknown root."""
    kind = xml_kind(root)
    if kind in (USAGE, RUM_FRAGMENT):
        return XmlDocument(kind, root, read_usage(root))
    if kind in (IMPORT, POLICY_FILE):
        return XmlDocument(kind, root, read_import(root))
    if kind == SLAC_REQUEST:
        return XmlDocument(kind, root, read_slac_request(root))
    return None
