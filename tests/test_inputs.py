"""What the walk makes of each file: examined when it is, or is meant to be, a licensing file
(by content or by name), skipped with a reason only when it is plainly something else."""

from __future__ import annotations

import itertools
import os
import signal
from pathlib import Path, PurePosixPath

import pytest

from airgap import formats, inputs
from airgap.findings import Finding
from tests.conftest import SAMPLES, nested, unnested


@pytest.mark.parametrize(
    ("name", "licensing"),
    [
        ("usage-x.xml", True),
        ("pom.XML", True),
        ("usage.txt", True),
        ("usage_FCW1.txt", True),
        ("usage", True),
        ("ACK_usage.txt", True),
        ("ack-c8000v.xml", True),
        ("dev_3_20260101T000000.txt", True),
        ("rum_1.txt", True),
        ("slac-request", True),
        ("tarball.tar.gz!UD_VA_1.tar.gz/dev_1_x.txt", True),
        ("folder/usage.txt", True),
        ("notes.txt", False),
        ("README.md", False),
        ("acknowledgements.md", False),
        ("rumours.txt", False),
        ("slack.log", False),
        ("usage.xml.png", False),
        ("usage-chart.PNG", False),
        ("ACK_notes.md", False),
        ("device_3.txt", False),
        ("xml", False),
        ("usage-c8000v-ios-xe-17.9-v2", True),
    ],
)
def test_licensing_names(name: str, licensing: bool) -> None:
    assert formats.licensing_name(name) is licensing


def entries(top: Path, files: dict[str, bytes], strict: bool = True) -> dict[str, inputs.Entry]:
    top.mkdir(exist_ok=True)
    for name, data in files.items():
        (top / name).write_bytes(data)
    return {Path(e.path).name: e for e in inputs.walk([str(top)], strict=strict)}


def test_walk_examines_what_is_meant_to_be_a_licensing_file(tmp_path: Path) -> None:
    found = entries(
        tmp_path / "d",
        {
            "usage-x.xml": b"",
            "ACK_a.txt": b" \n",
            "root.xml": b"<other/>",
            "anything": b"<?xml version='1.0'?>",
            "wide": "<smartLicense/>".encode("utf-16-le"),
            "doc": b"<!DOCTYPE x><x/>",
            "notes.txt": b"hello\n",
            "photo.jpg": b"\xff\xd8\xff\x00",
            "empty.md": b"",
            "notes16.txt": "\ufeffmeeting notes\n".encode("utf-16-le"),
            "usage16.txt": "\ufeffmeeting notes\n".encode("utf-16-le"),
        },
    )
    examined = {n for n, e in found.items() if isinstance(e, inputs.Item)}
    assert examined == {
        "usage-x.xml",
        "ACK_a.txt",
        "root.xml",
        "anything",
        "wide",
        "doc",
        "usage16.txt",
    }
    assert all(found[n].sniff.family == "xml" for n in examined)  # type: ignore[union-attr]
    reasons = {n: e.reason for n, e in found.items() if isinstance(e, inputs.Skipped)}
    assert reasons == {
        "notes.txt": "not a licensing file (text, not XML)",
        "photo.jpg": "not a licensing file (binary, not XML)",
        "empty.md": "not a licensing file (empty, and not named like a licensing file)",
        "notes16.txt": "not a licensing file (UTF-16 (little-endian) text, not XML)",
    }


def test_a_named_file_is_examined_or_of_no_kind(tmp_path: Path) -> None:
    (tmp_path / "empty.md").write_bytes(b"\n")
    (tmp_path / "notes.txt").write_bytes(b"hello\n")
    empty, notes = inputs.walk([str(tmp_path / "empty.md"), str(tmp_path / "notes.txt")])
    assert isinstance(empty, inputs.Item) and empty.sniff.family == "xml" and empty.named
    assert isinstance(notes, Finding) and notes.exit_code == 3
    assert notes.message == "no kind airgap knows (text, not XML)"
    skipped = list(inputs.walk([str(tmp_path / "notes.txt")], strict=False))
    assert [type(e) for e in skipped] == [inputs.Skipped]


def test_a_capture_named_like_a_usage_file_is_still_a_capture(tmp_path: Path) -> None:
    # The name counts only when the content says nothing: a capture whose commands start
    # past the first 4 KiB is still read on to 64 KiB and found.
    capture = (SAMPLES / "show" / "c9300-status.txt").read_bytes()
    found = entries(tmp_path / "d", {"usage.txt": b"!\n" * 3000 + capture})
    item = found["usage.txt"]
    assert isinstance(item, inputs.Item) and item.sniff.family == "capture"


def test_the_walk_reads_the_head_of_a_file_only(tmp_path: Path) -> None:
    big = tmp_path / "d" / "usage-big.txt"
    big.parent.mkdir()
    big.write_bytes(b"x" * (inputs.HEAD_BYTES * 4))
    with big.open("rb") as handle:
        head, sniff = inputs._sniff(handle.read, big.name)
        assert len(head) == inputs.HEAD_BYTES and handle.tell() == inputs.HEAD_BYTES
    assert sniff.family == "xml"  # named like a usage file: reading it says not-xml


def test_a_file_swapped_for_a_fifo_after_the_walk_is_refused_not_waited_on(
    tmp_path: Path,
) -> None:
    usage = tmp_path / "usage.xml"
    usage.write_bytes(b"<smartLicense>" + b" " * inputs.HEAD_BYTES + b"</smartLicense>")
    [item] = inputs.walk([str(tmp_path)])
    assert isinstance(item, inputs.Item) and item.data is None  # read again where examined
    usage.unlink()
    os.mkfifo(usage)  # no writer: opening it to read would block for ever

    def waited(*_: object) -> None:
        raise AssertionError("read() waited on the FIFO")

    signal.signal(signal.SIGALRM, waited)
    signal.alarm(5)
    try:
        with pytest.raises(OSError, match="not a regular file"):
            item.read()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"", "empty-file"),
        (b"\r\n \t\x0b\x0c", "empty-file"),
        ("<smartLicense/>".encode("utf-16"), "encoding"),
        ("<smartLicense/>".encode("utf-32-be"), "encoding"),
        (b"<!DOCTYPE smartLicense><smartLicense/>", "doctype"),
        (b"<smartLicense>", "not-xml"),
        (b"<licenseReport/>", "unknown-root"),
        (b"<smartLicense xmlns='urn:other'><RUMReport/></smartLicense>", "unknown-root"),
        (b"<smartLicense><a/><b:c xmlns:b='urn:b'/></smartLicense>", "unknown-root"),
    ],
)
def test_read_says_why_bytes_are_no_licensing_file(data: bytes, rule: str) -> None:
    found = formats.read(data)
    assert isinstance(found, formats.Unreadable) and found.rule == rule


def test_a_smart_license_with_no_known_part_names_what_it_holds() -> None:
    found = formats.read(b"<smartLicense><a/><b/><c/><d/></smartLicense>")
    assert isinstance(found, formats.Unreadable)
    assert found.message == "<smartLicense> holds no part airgap knows, only <a>, <b>, <c>, ..."
    for kept in (
        b"<smartLicense/>",
        b"<smartLicense><smartLicenseSystemInfo/></smartLicense>",
        b"<smartLicense><correlationID>1</correlationID><x/></smartLicense>",
    ):
        assert isinstance(formats.read(kept), formats.XmlDocument), kept


def test_a_folder_any_depth_is_walked(tmp_path: Path) -> None:
    """Folders nested deeper than Python's recursion limit (a hostile tree): walked to the
    bottom, not a crash."""
    import sys

    deep = nested(tmp_path, sys.getrecursionlimit() + 200)
    (deep / "usage.xml").write_bytes(b"<x/>")
    try:
        (found,) = inputs.walk([str(tmp_path)])
        assert isinstance(found, inputs.Item) and found.path == str(deep / "usage.xml")
    finally:
        unnested(tmp_path)


def test_a_file_name_is_the_last_part_of_its_path_as_a_posix_path_names_it() -> None:
    for length in range(1, 6):  # every short path of these pieces, "\\" read as "/"
        for pieces in itertools.product(["a", "/", ".", "\\", "..", ""], repeat=length):
            path = "".join(pieces)
            assert inputs.file_name((path,)) == PurePosixPath(path.replace("\\", "/")).name


def test_a_small_file_is_read_whole_by_the_walk_and_a_large_one_only_at_its_head(
    tmp_path: Path,
) -> None:
    small = b"<smartLicense>" + b" " * inputs.PROLOG_BYTES * 2 + b"</smartLicense>"
    large = b"<smartLicense>" + b" " * inputs.HEAD_BYTES + b"</smartLicense>"
    found = entries(tmp_path / "d", {"small.xml": small, "large.xml": large})
    read_whole, read_later = found["small.xml"], found["large.xml"]
    assert isinstance(read_whole, inputs.Item) and isinstance(read_later, inputs.Item)
    assert read_whole.data == small  # carried to the worker, not read there again
    assert read_later.data is None
    assert read_whole.read() == small and read_later.read() == large
