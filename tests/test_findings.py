"""The one finding model: a place inside archives is kept as parts and shown in one form, and
the enums print the words the outputs have always printed."""

from __future__ import annotations

import json

import pytest

from airgap.errors import ExitCode
from airgap.findings import (
    PROBLEM,
    Basis,
    Evidence,
    Finding,
    Level,
    Location,
    joined,
    problem,
    shown,
)


@pytest.mark.parametrize(
    ("where", "text"),
    [
        (Location("a.xml"), "a.xml"),
        (Location("a.xml", line=12), "a.xml:12"),
        (Location("a.tar", ("b.xml",), 3), "a.tar!b.xml:3"),
        (Location("a.tar.gz", ("inner.tar", "deep/b.xml")), "a.tar.gz!inner.tar!deep/b.xml"),
        (Location(device="PID:C9300,SN:X1"), "PID:C9300,SN:X1"),
        (Location(seq=7), "entry 7"),
        (Location(), ""),
    ],
)
def test_a_location_is_shown_in_one_form(where: Location, text: str) -> None:
    assert shown(where) == text


def test_a_name_holding_the_separator_keeps_its_parts() -> None:
    """A file named ``odd!name.xml`` is one file: its parts are never split from the text."""
    where = Location("odd!name.xml", line=1)
    assert where.file == "odd!name.xml" and where.member == ()
    inside = Location("a!b.tar", ("c.xml",))
    assert (
        inside.file == "a!b.tar" and inside.path == joined(("a!b.tar", "c.xml")) == "a!b.tar!c.xml"
    )


def test_a_finding_reads_as_validate_prints_it() -> None:
    found = Finding("xml-schema", Level.ERROR, "bad", Location("a.tar", ("b.xml",), 4))
    assert str(found) == "a.tar!b.xml:4: error: bad [xml-schema]"
    assert found.path == "a.tar!b.xml" and found.line == 4
    assert Finding("x", Level.WARNING, "m", Location(device="d")).path == ""


def test_a_problem_is_an_error_with_its_exit_code() -> None:
    missing = problem("gone.xml", "no such file or folder")
    assert (missing.code, missing.level, missing.exit_code) == (
        PROBLEM,
        Level.ERROR,
        ExitCode.CANNOT_RUN,
    )
    unsafe = problem("a.tar", "unsafe archive member", ExitCode.TRUST, "ask", ("../x",))
    assert unsafe.path == "a.tar!../x" and unsafe.where.file == "a.tar" and unsafe.hint == "ask"


def test_enums_print_and_serialise_as_their_words() -> None:
    evidence = Evidence(Basis.INFERRED, "RUM ACK data names PID:A,SN:B")
    assert str(evidence) == "inferred: RUM ACK data names PID:A,SN:B"
    assert json.dumps([Level.ERROR, Level.WARNING, Basis.SEEN]) == '["error", "warning", "seen"]'
    assert f"{Level.NOTE}" == "note"
