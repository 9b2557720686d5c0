"""Names from outside are escaped so that they show, write and sign without harm."""

from __future__ import annotations

import os
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from airgap.names import escaped, raw

DANGEROUS = {"Cc", "Cs"}  # controls and surrogates; plus the bidi controls below
BIDI = {
    "\u061c",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u2028",
    "\u2029",
}


def test_escape_sequences_bidi_overrides_and_bytes_that_are_not_utf8() -> None:
    assert escaped("\x1b[2Kok.xml") == "\\x1b[2Kok.xml"
    assert escaped("report\u202elmx.exe") == "report\\u202elmx.exe"
    assert escaped(os.fsdecode(b"bad\xff\xfe.xml")) == "bad\\xff\\xfe.xml"
    assert escaped("tab\tnew\nline\r\x7f\x85") == "tab\\x09new\\x0aline\\x0d\\x7f\\x85"
    assert escaped("\ud800 lone") == "\\ud800 lone"


def test_plain_names_come_back_as_they_are() -> None:
    for name in ("usage-c9300.xml", "café/Zürich→2026.xml", "a b\\c.xml", "日本.xml"):
        assert escaped(name) is name


@given(st.text())
def test_escaped_names_are_safe_utf8_on_one_line(name: str) -> None:
    shown = escaped(name)
    shown.encode("utf-8")  # never a surrogate left
    assert not any(unicodedata.category(c) in DANGEROUS or c in BIDI for c in shown)
    assert escaped(shown) == shown  # escaping twice changes nothing


@given(st.binary())
def test_raw_gives_back_the_bytes_the_file_system_has(name: bytes) -> None:
    assert raw(os.fsdecode(name)) == name
