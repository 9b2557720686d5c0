"""Builders for hostile archives, made fresh in a temp folder by each test."""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

GOOD = b"<smartLicense></smartLicense>"


def tar_bytes(members: Sequence[tarfile.TarInfo | tuple[str, bytes]], *, gz: bool = True) -> bytes:
    """A tar (gzip-compressed unless ``gz`` is false) of the given members."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gz else "w") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def gzip_bomb(size: int = 2 << 30) -> bytes:
    """A tar.gz holding one member of ``size`` zero bytes, compressed as it streams."""
    header = tarfile.TarInfo("zeros.xml")
    header.size = size
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    parts = [compressor.compress(header.tobuf(format=tarfile.GNU_FORMAT))]
    chunk = bytes(1 << 24)
    for _ in range(size // len(chunk)):
        parts.append(compressor.compress(chunk))
    parts.append(compressor.compress(bytes(1024)))  # end-of-archive blocks
    parts.append(compressor.flush())
    return b"".join(parts)


def gzip_bomb_undeclared(size: int = 512 << 20) -> bytes:
    """Many small-looking members whose total blows the ratio: 4 MiB members of zeros."""
    members = [(f"m{i}.xml", bytes(4 << 20)) for i in range(size // (4 << 20))]
    return tar_bytes(members)


def nested(depth: int, leaf: bytes = GOOD) -> bytes:
    """A tar.gz holding a tar.gz holding ... ``depth`` archives deep, then a file."""
    data = tar_bytes([("leaf.xml", leaf)])
    for level in range(depth - 1):
        data = tar_bytes([(f"level{level}.tar.gz", data)])
    return data


def plain_gzip(data: bytes) -> bytes:
    return gzip.compress(data)


def _stream_gz(parts: Iterator[bytes]) -> bytes:
    """Gzip-compress the byte pieces as they come, so a bomb is never whole in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [compressor.compress(part) for part in parts]
    out.append(compressor.flush())
    return b"".join(out)


def _header(name: str, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, size
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _padded(size: int) -> bytes:
    return bytes(-size % tarfile.BLOCKSIZE)


def _filler(size: int, byte: bytes = b"a") -> Iterator[bytes]:
    chunk = byte * (1 << 20)
    for start in range(0, size, len(chunk)):
        yield chunk[: size - start]


def _good_member() -> Iterator[bytes]:
    yield _header("good.xml", tarfile.REGTYPE, len(GOOD))
    yield GOOD + _padded(len(GOOD))
    yield bytes(2 * tarfile.BLOCKSIZE)  # end of archive


def _pax_prefix(keyword: str, size: int) -> bytes:
    """What comes before a PAX record's value of ``size`` bytes: ``"<length> <keyword>="``,
    the length counting the whole record, its own digits included."""
    body = len(f" {keyword}=") + size + 1
    digits = len(str(body))
    while len(str(body + digits)) != digits:
        digits = len(str(body + digits))
    return f"{body + digits} {keyword}=".encode()


def pax_record(keyword: str, value: bytes) -> bytes:
    """One PAX record, ``"<length> <keyword>=<value>\\n"``."""
    return _pax_prefix(keyword, len(value)) + value + b"\n"


def pax_bomb(size: int = 180 << 20) -> bytes:
    """A tar.gz whose first header is a PAX extended header of about ``size`` bytes (one
    comment record), then a good member: a few hundred KB that tarfile reads whole."""
    prefix = _pax_prefix("comment", size)
    record = len(prefix) + size + 1

    def parts() -> Iterator[bytes]:
        yield _header("././@PaxHeader", tarfile.XHDTYPE, record)
        yield prefix
        yield from _filler(size)
        yield b"\n" + _padded(record)
        yield from _good_member()

    return _stream_gz(parts())


def gnu_long_name_bomb(size: int = 180 << 20) -> bytes:
    """A tar.gz whose first header is a GNU long name of ``size`` bytes, then a good member."""

    def parts() -> Iterator[bytes]:
        yield _header("././@LongLink", tarfile.GNUTYPE_LONGNAME, size)
        yield from _filler(size)
        yield _padded(size)
        yield from _good_member()

    return _stream_gz(parts())


def extended_chain(count: int) -> bytes:
    """A tar.gz whose good member follows ``count`` PAX extended headers in a row."""
    record = pax_record("comment", b"x")

    def parts() -> Iterator[bytes]:
        for _ in range(count):
            yield _header("././@PaxHeader", tarfile.XHDTYPE, len(record))
            yield record + _padded(len(record))
        yield from _good_member()

    return _stream_gz(parts())


def pax_headers_bomb(count: int, size: int = 1 << 20, prefix: str = "") -> bytes:
    """A tar.gz of ``count`` members (named under ``prefix``) each under a PAX header just
    below ``size`` bytes: the headers alone pass the ratio."""
    value = size - 64

    def parts() -> Iterator[bytes]:
        record = pax_record("comment", b"a" * value)
        for n in range(count):
            yield _header("././@PaxHeader", tarfile.XHDTYPE, len(record))
            yield record + _padded(len(record))
            yield _header(f"{prefix}m{n}.xml", tarfile.REGTYPE, len(GOOD))
            yield GOOD + _padded(len(GOOD))
        yield bytes(2 * tarfile.BLOCKSIZE)

    return _stream_gz(parts())


def corrupt_second_header(*, gz: bool = True, prefix: str = "") -> bytes:
    """Two members (named under ``prefix``), the second header's checksum field damaged:
    tarfile stops quietly after the first member, GNU tar refuses the archive."""
    raw = bytearray(tar_bytes([(f"{prefix}a.xml", GOOD), (f"{prefix}b.xml", GOOD)], gz=False))
    second = tarfile.BLOCKSIZE + len(GOOD) + len(_padded(len(GOOD)))
    raw[second + 148 : second + 156] = b"0000000\0"  # the checksum of no header
    return gzip.compress(bytes(raw)) if gz else bytes(raw)


def pax_member(keyword: str, value: str, *, gz: bool = True) -> bytes:
    """A member whose PAX header sets ``keyword`` to ``value``, then another member: with a
    negative or non-numeric ``size`` tarfile reads the size as 0 or below (GNU tar refuses
    it); with a non-numeric ``GNU.sparse.size`` tarfile raises ValueError."""
    return pax_records(pax_record(keyword, value.encode()), gz=gz)


def pax_records(record: bytes, *, gz: bool = True) -> bytes:
    """A member under a PAX header of the given records, then another member."""
    raw = b"".join(
        [
            _header("././@PaxHeader", tarfile.XHDTYPE, len(record)),
            record,
            _padded(len(record)),
            _header("a.xml", tarfile.REGTYPE, len(GOOD)),
            GOOD,
            _padded(len(GOOD)),
            *_good_member(),
        ]
    )
    return gzip.compress(raw) if gz else raw


def gnu_sparse(*, pax: bool) -> bytes:
    """A GNU sparse member: old-style (type ``S``) or PAX 1.0, whose map in the data claims
    a billion regions."""
    if not pax:
        return b"".join([_header("sparse.xml", tarfile.GNUTYPE_SPARSE, 0), *_good_member()])
    records = pax_record("GNU.sparse.major", b"1") + pax_record("GNU.sparse.minor", b"0")
    sparse_map = b"1000000000\n" + b"0\n" * 200
    return b"".join(
        [
            _header("././@PaxHeader", tarfile.XHDTYPE, len(records)),
            records,
            _padded(len(records)),
            _header("sparse.xml", tarfile.REGTYPE, len(sparse_map)),
            sparse_map,
            _padded(len(sparse_map)),
            *_good_member(),
        ]
    )


def seven_zip(
    path: Path,
    members: dict[str, bytes],
    *,
    filters: list[dict[str, int]] | None = None,
    header_filters: list[dict[str, int]] | None = None,
    password: str | None = None,
    header_encryption: bool = False,
) -> Path:
    """A 7z packed with ``filters`` (py7zr's default, BCJ and LZMA2, when None), its header
    packed with ``header_filters`` when given, encrypted with ``password`` when given."""
    import py7zr
    from py7zr.properties import DefaultFilters  # its instance ignores attribute writes

    default = DefaultFilters.ENCODED_HEADER_FILTER
    if header_filters is not None:
        DefaultFilters.ENCODED_HEADER_FILTER = header_filters
    try:
        with py7zr.SevenZipFile(
            path, "w", filters=filters, password=password, header_encryption=header_encryption
        ) as archive:
            for name, data in members.items():
                archive.writestr(data, name)
    finally:
        DefaultFilters.ENCODED_HEADER_FILTER = default
    return path


def damaged(path: Path, offset: int, count: int = 16) -> Path:
    """Flip ``count`` bytes of ``path`` from ``offset`` (negative: from the end)."""
    data = bytearray(path.read_bytes())
    start = offset % len(data)
    for i in range(start, min(start + count, len(data))):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path
