"""Readers for every kind of file that crosses the gap, and kind detection from content.

The kind of a file comes from what it holds, never from its name: :func:`sniff` takes a cheap
look (is it XML with a root airgap knows, or a ``show license`` capture?) and :func:`read`
parses an XML document and decides between usage, fragment, import, policy and SLAC request
from its elements. Readers tolerate anything the schemas would reject: validation reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airgap import xml
from airgap.formats.imports import (
    POLICY,
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

    family: str | None  # "xml", "capture", or None for nothing airgap knows
    kind: str | None = None  # the capture kind; XML kinds need a parse
    root: str | None = None


def sniff(data: bytes) -> Sniff:
    """Cheap content detection: an XML root airgap knows, or a known capture."""
    prolog = xml.sniff(data)
    if prolog.root in KNOWN_ROOTS:
        return Sniff("xml", root=prolog.root)
    if prolog.root is not None or prolog.doctype:
        return Sniff(None, root=prolog.root)
    kind = capture_kind(data[:1 << 20].decode("utf-8", errors="replace"))
    return Sniff("capture", kind) if kind else Sniff(None)


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
