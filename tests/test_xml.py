"""The hardened parser against hostile XML: every case is refused with exit 1 and one line,
no traceback, and never reveals what an entity points to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airgap import xml
from tests.conftest import Cli

SECRET = "TOP-SECRET-CONTENT-4242"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE smartLicense [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<smartLicense><RUMReport>&lol9;</RUMReport></smartLicense>
"""


def hostile_cases(tmp: Path) -> dict[str, bytes]:
    """Each hostile document, built fresh; the secret file is what entities point to."""
    secret = tmp / "secret.txt"
    secret.write_text(SECRET)
    dtd = tmp / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak SYSTEM "file://{secret}">')
    depth = 200_000
    return {
        "billion-laughs": BILLION_LAUGHS,
        "external-entity": (
            f'<?xml version="1.0"?><!DOCTYPE smartLicense [<!ENTITY x SYSTEM "file://{secret}">]>'
            f"<smartLicense><RUMReport>&x;</RUMReport></smartLicense>"
        ).encode(),
        "external-dtd": (
            f'<!DOCTYPE smartLicense SYSTEM "file://{dtd}">'
            "<smartLicense><RUMReport>&leak;</RUMReport></smartLicense>"
        ).encode(),
        "xinclude": (
            '<smartLicense xmlns:xi="http://www.w3.org/2001/XInclude">'
            f'<RUMReport><xi:include href="file://{secret}" parse="text"/></RUMReport>'
            "</smartLicense>"
        ).encode(),
        "deep-nesting": b"<smartLicense>" + b"<a>" * depth + b"</a>" * depth + b"</smartLicense>",
        "random-bytes": os.urandom(4096).replace(b"<", b"\x00"),
        "empty": b"",
        "truncated": b'<smartLicense><RUMReport><![CDATA[{"payload": "{\\"a',
        "utf16-doctype": (
            '<?xml version="1.0" encoding="UTF-16"?>'
            f'<!DOCTYPE smartLicense [<!ENTITY x SYSTEM "file://{secret}">]>'
            "<smartLicense><RUMReport>&x;</RUMReport></smartLicense>"
        ).encode("utf-16"),
    }


CASES = [
    "billion-laughs",
    "external-entity",
    "external-dtd",
    "xinclude",
    "deep-nesting",
    "random-bytes",
    "empty",
    "truncated",
    "utf16-doctype",
]


@pytest.mark.parametrize("case", CASES)
def test_hostile_xml_is_refused_in_one_line(case: str, tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / f"{case}.xml"
    path.write_bytes(hostile_cases(tmp_path)[case])
    for fmt in ("text", "json"):
        run = cli("validate", "--format", fmt, path)
        assert run.code == 1, run
        assert SECRET not in run.out + run.err
        assert "Traceback" not in run.out + run.err
    run = cli("validate", path)
    findings = [line for line in run.out.splitlines() if line.startswith(str(path))]
    assert len(findings) >= 1
    assert all(": error: " in line for line in findings)


def test_parse_never_expands_or_fetches(tmp_path: Path) -> None:
    cases = hostile_cases(tmp_path)
    for name in ("billion-laughs", "external-entity", "external-dtd"):
        with pytest.raises(xml.DoctypeError):
            xml.parse(cases[name])
    with pytest.raises(xml.EncodingError):  # refused before libxml2 decodes it
        xml.parse(cases["utf16-doctype"])
    root = xml.parse(cases["xinclude"])  # parsed, but XInclude is never processed
    assert SECRET not in "".join(root.itertext())


def test_depth_limit_is_a_syntax_error(tmp_path: Path) -> None:
    with pytest.raises(xml.XmlSyntaxError, match=r"[Dd]epth"):
        xml.parse(hostile_cases(tmp_path)["deep-nesting"])


def test_sniff_reads_the_prolog_only() -> None:
    assert xml.sniff(b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- c --><smartLicense>").root == (
        "smartLicense"
    )
    doctype = xml.sniff(b"<?xml version='1.0'?>\n<!DOCTYPE smartLicense [ ]><smartLicense/>")
    assert doctype.doctype and doctype.root == "smartLicense" and doctype.line == 2
    assert xml.sniff(b"hello").root is None


def test_sniff_names_no_root_that_is_cut_short() -> None:
    assert xml.sniff(b"<smartLicense").root is None  # the head ended inside the name
    assert xml.sniff(b"<RUMReportX>").root == "RUMReportX"
    assert xml.sniff(b"<RUMReport\n>").root == "RUMReport"


@pytest.mark.parametrize(
    "codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
)
@pytest.mark.parametrize("text", ["<?xml version='1.0'?><smartLicense/>", "\n <smartLicense/>"])
def test_sniff_tells_a_wide_encoding(codec: str, text: str) -> None:
    prolog = xml.sniff(text.encode(codec))
    assert prolog.encoding is not None and prolog.encoding.startswith(codec[:6].upper())
    assert prolog.markup and prolog.root == "smartLicense"
    with pytest.raises(xml.EncodingError, match="licensing files are UTF-8"):
        xml.parse(text.encode(codec))


@pytest.mark.parametrize(
    ("data", "markup"),
    [
        (b"<?xml version='1.0'?>not a root", True),
        (b"<!-- c -->", True),
        (b"  <1bad>", True),
        (b"\xef\xbb\xbf<smartLicense/>", True),
        (b"hello <b>", False),
        (b"\xef\xbb\xbfhello", False),
        (b"", False),
        (b"Router#show license status", False),
    ],
)
def test_sniff_says_whether_bytes_start_like_xml(data: bytes, markup: bool) -> None:
    prolog = xml.sniff(data)
    assert prolog.markup is markup and prolog.encoding is None


def test_an_empty_document_is_said_plainly() -> None:
    for data in (b"", b" \n\t"):
        with pytest.raises(xml.XmlSyntaxError, match=r"^the file is empty$"):
            xml.parse(data)


def test_wide_text_that_is_not_xml_is_told_apart() -> None:
    prolog = xml.sniff("\ufeffmeeting notes\n".encode("utf-16-le"))
    assert prolog.encoding == "UTF-16 (little-endian)" and not prolog.markup
    assert prolog.root is None and not prolog.doctype
