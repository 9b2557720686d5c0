"""The one hardened XML parser, and the schemas shipped with airgap.

Every XML byte that airgap reads goes through :func:`parse`: no DTD is loaded, no entity is
expanded, nothing is fetched from the network, XInclude is never processed, and libxml2's
limits on depth and text size stay on. A DOCTYPE is refused before libxml2 sees the document,
so entity tricks (billion laughs, external entities, external DTDs) have nothing to work with.
So is a UTF-16 or UTF-32 document: devices write UTF-8 and CSSM checks the bytes as signed, so
a file re-encoded on the way is refused everywhere rather than read by one command and not another.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import re
from pathlib import Path
from typing import TYPE_CHECKING

from airgap.errors import InputError

if TYPE_CHECKING:
    from lxml import etree

# What may come before the root element: a BOM, an XML declaration, comments, processing
# instructions and white space. The regex stops at the first thing that is none of these.
_PROLOG = re.compile(
    rb"(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*",
    re.DOTALL,
)
_NAME = rb"([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)"
_ROOT = re.compile(rb"<" + _NAME + rb"(?=[\s/>])")  # the whole name, not one cut short
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+" + _NAME)
# UTF-32 and UTF-16, by their byte order mark or by how white space or '<' is spelled at the
# start (XML 1.0 appendix F). UTF-32 first: its little-endian mark begins like UTF-16's.
_WIDE = tuple(
    (re.compile(pattern), name, codec)
    for pattern, name, codec in (
        (rb"\x00\x00\xfe\xff|\x00\x00\x00[\s<]", "UTF-32 (big-endian)", "utf-32-be"),
        (rb"\xff\xfe\x00\x00|[\s<]\x00\x00\x00", "UTF-32 (little-endian)", "utf-32-le"),
        (rb"\xfe\xff|\x00[\s<]\x00[^\x00]", "UTF-16 (big-endian)", "utf-16-be"),
        (rb"\xff\xfe|[\s<]\x00[^\x00]\x00", "UTF-16 (little-endian)", "utf-16-le"),
    )
)


class XmlSyntaxError(Exception):
    """The bytes are not well-formed XML, or break the parser's limits."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class DoctypeError(XmlSyntaxError):
    """The document declares a DOCTYPE: refused, never processed."""


class EncodingError(XmlSyntaxError):
    """The document is UTF-16 or UTF-32: refused, never decoded."""


@dataclasses.dataclass(frozen=True)
class Prolog:
    """What a cheap look at the start of a document tells: no parsing involved."""

    root: str | None  # name of the root element (as a DOCTYPE names it, when there is one)
    doctype: bool  # a DOCTYPE declaration comes before the root
    line: int  # line of the DOCTYPE or of the root element
    encoding: str | None = None  # "UTF-16 (little-endian)" and the like; None for UTF-8
    markup: bool = False  # it starts like XML: a declaration, comment or '<' before any text


def sniff(data: bytes) -> Prolog:
    """Look at the prolog only: the root element's name, whether a DOCTYPE is declared, and
    whether the bytes start like XML at all, in UTF-8 or in a wider encoding (whose text is
    looked at the same way, so that UTF-16 notes are not taken for a licensing file)."""
    for pattern, name, codec in _WIDE:
        if pattern.match(data):
            text = data.decode(codec, errors="ignore").lstrip("\ufeff")  # may end mid-character
            return dataclasses.replace(_utf8_prolog(text.encode("utf-8")), encoding=name)
    return _utf8_prolog(data)


def _utf8_prolog(data: bytes) -> Prolog:
    end = _PROLOG.match(data)
    pos = end.end() if end else 0
    line = data.count(b"\n", 0, pos) + 1
    doctype = _DOCTYPE.match(data, pos)
    match = doctype or _ROOT.match(data, pos)
    root = match.group(1).decode("ascii") if match else None
    return Prolog(
        root=root,
        doctype=doctype is not None or data.startswith(b"<!DOCTYPE", pos),
        line=line,
        markup=data.startswith(b"<", pos) or b"<" in data[:pos],
    )


@functools.cache
def _parser() -> etree.XMLParser:
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        collect_ids=False,
        remove_comments=False,
        strip_cdata=False,
    )


def parse(data: bytes) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise :class:`XmlSyntaxError`."""
    from lxml import etree

    prolog = sniff(data)
    if prolog.encoding:
        raise EncodingError(
            f"the file is {prolog.encoding}; licensing files are UTF-8, as "
            "devices write them and CSSM checks them",
            1,
        )
    if prolog.doctype:
        raise DoctypeError(
            "a DOCTYPE is declared; DTDs and entities are never processed", prolog.line
        )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        if not data or data.isspace():  # said plainly for callers that do not check first
            raise XmlSyntaxError("the file is empty", None) from None
        raise XmlSyntaxError(_one_line(exc.msg or str(exc)), exc.lineno) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise DoctypeError("a DOCTYPE is declared; DTDs and entities are never processed", 1)
    return root


def _one_line(text: str) -> str:
    return " ".join(text.split())


def schema_dir() -> Path:
    """Where the schemas are: inside the installed package, else the source checkout's top."""
    installed = importlib.resources.files("airgap") / "schemas"
    if installed.is_dir():
        return Path(str(installed))
    checkout = Path(__file__).resolve().parent.parent / "schemas"
    if checkout.is_dir():
        return checkout
    raise InputError(
        "schemas not found",
        str(installed),
        "the installation is incomplete",
        "reinstall airgap: pip install --force-reinstall airgap",
    )


@functools.cache
def xml_schema(name: str) -> etree.XMLSchema:
    """The compiled XSD ``schemas/<name>``, loaded once per process."""
    from lxml import etree

    path = schema_dir() / name
    try:
        return etree.XMLSchema(etree.parse(str(path), _parser()))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise InputError("cannot load schema", path, _one_line(str(exc))) from None
