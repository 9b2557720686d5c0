"""CSLU-style upload archives and CSSM ACK archives: the layout of Cisco's sample code, byte-exact
usage files, reproducible bytes, and reading them back safely."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airgap import archive
from airgap.errors import ExitCode, InputError
from airgap.formats import cslu
from airgap.formats.common import Udi
from airgap.formats.cslu import unpacker
from tests.bundle import hostile
from tests.conftest import SAMPLES
from tests.formats import helpers

WHEN = datetime(2026, 11, 3, 14, 5, 9, 123456, tzinfo=UTC)
STAMP = "26Nov03_14_05_09_123"
USAGE = sorted(SAMPLES.glob("usage-*.xml"))
ACK = SAMPLES / "ack-c8000v.xml"
Members = list[tarfile.TarInfo | tuple[str, bytes]]


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getmembers()


def contents(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isreg()
        }


def test_timestamp_is_the_sample_codes_and_ignores_the_locale() -> None:
    assert cslu.timestamp(WHEN) == STAMP
    assert cslu.timestamp(datetime(2027, 1, 9, 3, 4, 5)) == "27Jan09_03_04_05_000"


def test_layout_follows_the_sample_code() -> None:
    packed = cslu.build(USAGE, "WAN-EDGE", when=WHEN, smart_account="Example Industrial Inc")
    assert packed.name == f"UD_SA_{STAMP}.tar.gz"
    outer = contents(packed.data)
    assert list(outer) == ["manifest.mf", f"UD_VA_{STAMP}.tar.gz"]
    inner = contents(outer[f"UD_VA_{STAMP}.tar.gz"])
    assert list(inner) == [f"dev_{n}_{STAMP}.txt" for n in range(1, len(USAGE) + 1)]
    assert list(inner.values()) == [p.read_bytes() for p in USAGE]  # byte for byte, name order


def test_manifest_content() -> None:
    packed = cslu.build(
        USAGE[:1],
        "WAN-EDGE",
        when=WHEN,
        smart_account="Example Industrial Inc",
        smart_account_id="1204871",
        account_ids={"WAN-EDGE": "388215"},
        instance="foofoo",
    )
    assert contents(packed.data)["manifest.mf"].decode() == (
        "Manifest-Version: 1.0\n"
        'Created-By: "{\\"uuid\\": \\"foofoo\\"}"\n'
        "Smart-Account: Example Industrial Inc\n"
        "Smart-Account-ID: 1204871\n"
        "\n"
        f"Name: /UD_VA_{STAMP}.tar.gz\n"
        "Specification-VA: WAN-EDGE\n"
        "Specification-VA-ID: 388215\n"
    )


def test_pack_then_unpack_gives_the_same_usage_files() -> None:
    packed = cslu.build(USAGE, "WAN-EDGE", when=WHEN)
    unpacked = cslu.unpack(packed.data, packed.name)
    assert unpacked.kind == cslu.UPLOAD
    assert unpacked.notes == ()
    usage = [f for f in unpacked.files if f.content.kind == "usage"]
    by_member = {f.path: f for f in usage}
    for item in packed.files:
        got = by_member[item.member]
        assert got.data == Path(item.source).read_bytes()
        assert got.virtual_account == "WAN-EDGE"
        assert got.content.udis == item.udis and len(item.udis) == 1
    assert {u for f in usage for u in f.content.udis} >= {Udi("C8000V", "9KQW3TZ7R2M")}


def test_same_inputs_and_time_give_the_same_bytes() -> None:
    first = cslu.pack(USAGE, "VA", when=WHEN, smart_account="SA")
    assert cslu.pack(list(reversed(USAGE)), "VA", when=WHEN, smart_account="SA") == first
    assert cslu.pack(USAGE, "VA", when=WHEN.replace(second=10), smart_account="SA") != first
    assert first[4:8] == b"\0\0\0\0"  # gzip mtime
    for info in members(first) + members(contents(first)[f"UD_VA_{STAMP}.tar.gz"]):
        assert (info.uid, info.gid, info.uname, info.gname, info.mode) == (0, 0, "", "", 0o644)
        assert info.mtime == int(WHEN.timestamp())


def test_accounts_map_with_two_virtual_accounts_gives_two_inner_archives() -> None:
    accounts = {str(p): ("CAMPUS" if "c9" in p.name else "WAN") for p in USAGE}
    packed = cslu.build(USAGE, accounts, when=WHEN)
    names = [e.name for e in packed.manifest.entries]
    assert names == [f"UD_VA_{STAMP}.tar.gz", "UD_VA_26Nov03_14_05_09_124.tar.gz"]
    assert [e.virtual_account for e in packed.manifest.entries] == ["CAMPUS", "WAN"]
    assert list(contents(packed.data)) == ["manifest.mf", *names]
    unpacked = cslu.unpack(packed.data, packed.name)
    seen = {
        f.parts[-1]: (f.parts[0], f.virtual_account) for f in unpacked.files if len(f.parts) == 2
    }
    for item in packed.files:
        va_archive, member = item.member.split("/")
        assert seen[member] == (va_archive, accounts[item.source])
    numbers = sorted(int(f.member.split("/")[1].split("_")[1]) for f in packed.files)
    assert numbers == list(range(1, len(USAGE) + 1))  # unique over the whole upload


def test_a_file_without_a_virtual_account_is_refused() -> None:
    with pytest.raises(InputError, match="no virtual account") as caught:
        cslu.build(USAGE, {str(USAGE[0]): "VA"}, when=WHEN)
    assert caught.value.path == str(USAGE[1])


def test_keep_names_keeps_the_files_own_names() -> None:
    packed = cslu.build(USAGE, "VA", when=WHEN, names="keep")
    inner = contents(contents(packed.data)[f"UD_VA_{STAMP}.tar.gz"])
    assert inner == {p.name: p.read_bytes() for p in USAGE}
    with pytest.raises(InputError, match="has the name"):
        cslu.build(
            [("a/x.xml", USAGE[0].read_bytes()), ("b/x.xml", USAGE[1].read_bytes())],
            "VA",
            when=WHEN,
            names="keep",
        )


@pytest.mark.parametrize(
    ("path", "code", "why"),
    [
        (ACK, ExitCode.CANNOT_RUN, "an import file, not a usage file"),
        (SAMPLES / "warnings" / "rum-fragment.xml", ExitCode.CANNOT_RUN, "rum-fragment"),
        (SAMPLES / "slac-request-c9300.xml", ExitCode.CANNOT_RUN, "slac-request"),
        (SAMPLES / "invalid" / "not-xml.xml", ExitCode.FINDINGS, "not well-formed XML"),
        (SAMPLES / "invalid" / "doctype.xml", ExitCode.FINDINGS, "DOCTYPE"),
        (SAMPLES / "invalid" / "empty-file.xml", ExitCode.CANNOT_RUN, "empty file"),
        (SAMPLES / "invalid" / "unknown-root.xml", ExitCode.CANNOT_RUN, "no kind airgap knows"),
    ],
)
def test_anything_but_a_usage_file_is_refused_naming_it(path: Path, code: int, why: str) -> None:
    with pytest.raises(Exception) as caught:
        cslu.build([USAGE[0], path], "VA", when=WHEN)
    error = caught.value
    assert getattr(error, "exit_code", None) == code, error
    assert getattr(error, "path", None) == str(path)
    assert why in str(error)


def test_a_missing_file_is_exit_3(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        cslu.build([tmp_path / "nothing.xml"], "VA", when=WHEN)
    with pytest.raises(InputError, match="nothing to pack"):
        cslu.build([], "VA", when=WHEN)


def test_a_line_break_cannot_forge_manifest_lines() -> None:
    with pytest.raises(InputError, match="control characters"):
        cslu.build(USAGE[:1], "VA", when=WHEN, smart_account="x\nName: /evil")
    with pytest.raises(InputError, match="control characters"):
        cslu.build(USAGE[:1], "VA", when=WHEN, smart_account_id="1\rName: /evil")
    with pytest.raises(InputError, match="control characters"):
        cslu.build(USAGE[:1], "VA\nName: /evil", when=WHEN)


def test_ack_archive_unpacks_with_udis_and_answers() -> None:
    packed = cslu.build(USAGE, "VA", when=WHEN)
    uploaded = {f.member.split("/")[1] for f in packed.files}
    ack = ACK.read_bytes()
    data = cslu.ack_archive(
        {f"UD_VA_{STAMP}.tar.gz": [(n, ack) for n in sorted(uploaded)]}, when=WHEN
    )
    assert cslu.detect(data) == cslu.ACK
    outer = contents(data)
    assert list(outer) == [f"ACK_UD_VA_{STAMP}.tar.gz"]
    assert set(contents(outer[f"ACK_UD_VA_{STAMP}.tar.gz"])) == {f"ACK_{n}" for n in uploaded}
    unpacked = cslu.unpack(data, "answer.tar.gz")
    assert unpacked.kind == cslu.ACK and unpacked.manifest is None
    assert {f.answers for f in unpacked.files} == uploaded
    for f in unpacked.files:
        assert f.content.kind == "import"
        assert f.content.udis == (Udi("C8000V", "9KQW3TZ7R2M"),)  # the SLAC <udi>: SEEN
        assert f.content.inferred_udis == (Udi("C8000V", "9KQW3TZ7R2M"),)  # RUM ACK keys
        assert f.content.report_ids == (1696420871, 1696420872)
        assert f.data == ack
    assert cslu.ack_archive(
        {"UD_VA_1.tar.gz": [("ACK_dev_1.txt", ack)]}, when=WHEN
    ) == cslu.ack_archive({"UD_VA_1.tar.gz": [("dev_1.txt", ack)]}, when=WHEN)


def test_ack_archive_refuses_names_that_are_not_plain() -> None:
    with pytest.raises(InputError, match="not a plain file name"):
        cslu.ack_archive({"UD_VA_1.tar.gz": [("../dev_1.txt", b"")]}, when=WHEN)


def test_detect(tmp_path: Path) -> None:
    assert cslu.detect(cslu.pack(USAGE[:1], "VA", when=WHEN)) == cslu.UPLOAD
    (tmp_path / "up.tar.gz").write_bytes(cslu.pack(USAGE[:1], "VA", when=WHEN))
    assert cslu.detect(tmp_path / "up.tar.gz") == cslu.UPLOAD
    assert cslu.detect(tmp_path / "missing.tar.gz") is None
    assert cslu.detect(USAGE[0]) is None
    assert cslu.detect(USAGE[0].read_bytes()) is None
    assert cslu.detect(hostile.tar_bytes([("a.xml", USAGE[0].read_bytes())])) is None
    assert cslu.detect(hostile.tar_bytes([("../a", b"")])) is None
    assert cslu.detect(b"\x1f\x8b broken") is None


def test_an_archive_of_another_kind_is_exit_3() -> None:
    with pytest.raises(InputError, match="neither a CSLU upload archive nor") as caught:
        cslu.unpack(hostile.tar_bytes([("a.xml", b"x")]), "other.tar.gz")
    assert caught.value.exit_code == ExitCode.CANNOT_RUN
    with pytest.raises(InputError, match="not an archive"):
        cslu.unpack(b"<smartLicense/>", "plain.xml")


SAMPLE_MANIFEST = (
    'Manifest-Version: 1.0\nCreated-By: "{\\"uuid\\": \\"foofoo\\"}"\n'
    "Smart-Account:\nSmart-Account-ID:\n\nName: /UD_VA_23Nov02_13_27_05_123.ta.gz"
    "\nSpecification-VA: \nSpecification-VA-ID: \n"
)


def test_the_sample_codes_own_manifest_is_read() -> None:
    manifest = cslu.Manifest.parse(SAMPLE_MANIFEST.encode())
    assert manifest.version == "1.0"
    assert json.loads(json.loads(manifest.created_by)) == {"uuid": "foofoo"}
    assert (manifest.smart_account, manifest.smart_account_id) == ("", "")
    assert manifest.entries == (cslu.ManifestEntry("UD_VA_23Nov02_13_27_05_123.ta.gz", "", ""),)
    assert manifest.other == () and manifest.unreadable_lines == ()


def test_a_manifest_with_continuations_unknown_keys_and_junk_is_read() -> None:
    text = (
        "Manifest-Version: 1.0\r\nSmart-Account: Example Ind\r\n ustrial Inc\r\n"
        "X-Extra: 1\r\nno colon here\r\n\r\n\r\nName: UD_VA_1.tar.gz\r\n"
        "Specification-VA: WAN\r\nOther: 2\r\n"
    )
    manifest = cslu.Manifest.parse(text.encode())
    assert manifest.smart_account == "Example Industrial Inc"
    assert manifest.entries == (cslu.ManifestEntry("UD_VA_1.tar.gz", "WAN", ""),)
    assert manifest.other == (("X-Extra", "1"), ("Other", "2"))
    assert manifest.unreadable_lines == (5,)
    assert cslu.Manifest.parse(
        cslu.Manifest("SA", "7", entries=manifest.entries).render()
    ) == cslu.Manifest("SA", "7", entries=manifest.entries)


def test_the_sample_codes_mismatched_va_name_is_matched_with_a_note() -> None:
    usage = USAGE[0].read_bytes()
    va = cslu.tar_gz([("dev_1_23Nov02_13_27_05_123.txt", usage)], WHEN)
    data = cslu.tar_gz(
        [
            (
                "manifest.mf",
                SAMPLE_MANIFEST.replace("Specification-VA: ", "Specification-VA: WAN").encode(),
            ),
            ("UD_VA_23Nov02_13_27_05_123_py.tar.gz", va),
        ],
        WHEN,
    )
    unpacked = cslu.unpack(data, "UD_SA_23Nov02_13_27_05_123_py.tar.gz")
    assert unpacked.kind == cslu.UPLOAD
    assert [f.virtual_account for f in unpacked.files if f.content.kind] == ["WAN"]
    assert unpacked.notes == (
        "manifest.mf names UD_VA_23Nov02_13_27_05_123.ta.gz for "
        "UD_VA_23Nov02_13_27_05_123_py.tar.gz",
    )


def test_unpack_never_expands_a_third_level() -> None:
    third = cslu.tar_gz([("x.xml", USAGE[0].read_bytes())], WHEN)
    va = cslu.tar_gz([("dev_1.txt", USAGE[0].read_bytes()), ("deeper.tar.gz", third)], WHEN)
    unpacked = cslu.unpack(cslu.tar_gz([("UD_VA_1.tar.gz", va)], WHEN), "up.tar.gz")
    assert [(f.path, f.data == third) for f in unpacked.files][1] == (
        "UD_VA_1.tar.gz/deeper.tar.gz",
        True,
    )
    assert unpacked.notes == ("no manifest.mf",)


@pytest.mark.parametrize(
    ("inner", "why"),
    [
        ([("../evil.txt", b"x")], "'..'"),
        ([("/etc/evil.txt", b"x")], "absolute"),
        ([hostile.special("link.txt", tarfile.SYMTYPE, "/etc/passwd")], "symbolic link"),
        ([hostile.special("dev.txt", tarfile.CHRTYPE)], "device"),
    ],
)
def test_unsafe_inner_members_are_refused(inner: Members, why: str) -> None:
    data = hostile.tar_bytes(
        [("manifest.mf", b"Manifest-Version: 1.0\n"), ("UD_VA_1.tar.gz", hostile.tar_bytes(inner))]
    )
    with pytest.raises(archive.UnsafeArchiveError, match=why) as caught:
        cslu.unpack(data, "up.tar.gz")
    assert caught.value.exit_code == ExitCode.TRUST
    assert str(caught.value.path).startswith("up.tar.gz!UD_VA_1.tar.gz!")


def test_an_inner_gzip_bomb_is_refused() -> None:
    data = hostile.tar_bytes([("UD_VA_1.tar.gz", hostile.gzip_bomb(256 << 20))])
    with pytest.raises(archive.UnsafeArchiveError, match="compression bomb"):
        cslu.unpack(data, "up.tar.gz")


def test_the_budget_covers_the_whole_archive() -> None:
    va = cslu.tar_gz([(f"dev_{n}.txt", bytes(1000)) for n in range(5)], WHEN)
    data = cslu.tar_gz([("UD_VA_1.tar.gz", va), ("UD_VA_2.tar.gz", va)], WHEN)
    with pytest.raises(archive.UnsafeArchiveError, match="members"):
        cslu.unpack(data, "up.tar.gz", archive.Limits(members=8))
    with pytest.raises(archive.UnsafeArchiveError, match=r"budget|bytes"):
        cslu.unpack(data, "up.tar.gz", archive.Limits(total_bytes=8000))
    assert len(cslu.unpack(data, "up.tar.gz", archive.Limits(members=12)).files) == 10


def test_write_unpacked_writes_under_dest_and_never_overwrites(tmp_path: Path) -> None:
    packed = cslu.build(USAGE, "VA", when=WHEN)
    unpacked = cslu.unpack(packed.data, packed.name)
    dest = tmp_path / "dest"
    written = cslu.write_unpacked(unpacked.files, dest)
    assert written[0] == dest / "manifest.mf"
    assert {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()} == {
        "manifest.mf",
        *(f.member.replace(".tar.gz", "") for f in packed.files),
    }
    for item in packed.files:
        assert (dest / item.member.replace(".tar.gz", "")).read_bytes() == Path(
            item.source
        ).read_bytes()
    (dest / "manifest.mf").write_bytes(b"mine")
    with pytest.raises(InputError, match="refusing to overwrite"):
        cslu.write_unpacked(unpacked.files, dest)
    assert (dest / "manifest.mf").read_bytes() == b"mine"
    cslu.write_unpacked(unpacked.files, dest, force=True)
    assert (dest / "manifest.mf").read_bytes() == packed.manifest.render()
    assert not list(dest.rglob(".*"))


def test_write_unpacked_refuses_a_folder_that_leads_outside(tmp_path: Path) -> None:
    packed = cslu.build(USAGE[:1], "VA", when=WHEN)
    unpacked = cslu.unpack(packed.data, packed.name)
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / f"UD_VA_{STAMP}").symlink_to(outside)
    with pytest.raises(archive.UnsafeArchiveError, match="outside DEST"):
        cslu.write_unpacked(unpacked.files, dest)
    assert list(outside.iterdir()) == [] and {p.name for p in dest.iterdir()} == {f"UD_VA_{STAMP}"}


@pytest.mark.parametrize(
    "parts", [("a", ".."), ("..", "x"), ("a.tar.gz", "b/../c"), ("x\\y",), ("a\nb",), ("",)]
)
def test_target_path_refuses_names_that_leave_dest(parts: tuple[str, ...]) -> None:
    with pytest.raises(archive.UnsafeArchiveError):
        cslu.target_path(parts)


def test_two_members_for_one_file_are_refused(tmp_path: Path) -> None:
    files = [
        cslu.UnpackedFile(("UD_VA_1.tar.gz", "a.txt"), b"1", cslu.Content(None)),
        cslu.UnpackedFile(("UD_VA_1.tgz", "a.txt"), b"2", cslu.Content(None)),
    ]
    with pytest.raises(archive.UnsafeArchiveError, match="also written"):
        cslu.write_unpacked(files, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_a_failed_write_removes_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = cslu.build(USAGE, "VA", when=WHEN)
    files = cslu.unpack(packed.data, packed.name).files
    calls: list[Path] = []

    def failing(path: Path, data: bytes, mode: int = 0o644, *, replace: bool = True) -> None:
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        calls.append(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    monkeypatch.setattr(unpacker, "write_atomic", failing)
    with pytest.raises(InputError, match="No space left"):
        cslu.write_unpacked(files, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_read_accounts(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_text('file,virtual_account\n# a comment\n\na.xml,WAN\n"b c.xml", CAMPUS \n')
    assert cslu.read_accounts(path) == {"a.xml": "WAN", "b c.xml": "CAMPUS"}
    path.write_text("a.xml,WAN\n")
    assert cslu.read_accounts(path) == {"a.xml": "WAN"}
    path.write_text("a.xml,WAN\na.xml,LAB\n")
    with pytest.raises(InputError, match="two virtual accounts"):
        cslu.read_accounts(path)
    path.write_text("a.xml\n")
    with pytest.raises(InputError, match=r"map.csv:1"):
        cslu.read_accounts(path)


NAME = st.text(st.sampled_from("abcXYZ019-_."), min_size=1, max_size=12).filter(
    lambda n: n not in (".", "..")
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        NAME,
        st.tuples(st.integers(1, 2**40), st.text("ABC123", min_size=1), st.booleans()),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["cslu", "keep"]),
)
def test_round_trip_keeps_every_byte(files: dict[str, tuple[int, str, bool]], names: str) -> None:
    inputs = []
    for name, (report_id, sn, pretty) in files.items():
        data = helpers.report_xml(helpers.payload(report_id, sn=sn), pretty=pretty)
        inputs.append((f"{name}.xml", data))
    accounts = {n: f"VA{len(n) % 2}" for n, _ in inputs}
    packed = cslu.build(inputs, accounts, when=WHEN, names=names)  # type: ignore[arg-type]
    assert cslu.build(list(reversed(inputs)), accounts, when=WHEN, names=names).data == packed.data  # type: ignore[arg-type]
    unpacked = {f.path: f for f in cslu.unpack(packed.data, packed.name).files}
    given_data = dict(inputs)
    for item in packed.files:
        got = unpacked[item.member]
        assert got.data == given_data[item.source]
        assert got.virtual_account == accounts[item.source]
        assert got.content.udis == (Udi("C9300-24UX", files[item.source[:-4]][1]),)
        if names == "keep":
            assert item.member.endswith("/" + item.source)


def test_gzip_of_the_archive_is_plain() -> None:
    data = cslu.pack(USAGE[:1], "VA", when=WHEN)
    assert gzip.decompress(data)[257:262] == b"ustar"
