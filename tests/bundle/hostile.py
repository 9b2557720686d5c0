"""Builders for hostile archives, made fresh in a temp folder by each test."""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Sequence
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


def seven_zip(path: Path, members: dict[str, bytes]) -> Path:
    import py7zr

    with py7zr.SevenZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(data, name)
    return path


def nested(depth: int, leaf: bytes = GOOD) -> bytes:
    """A tar.gz holding a tar.gz holding ... ``depth`` archives deep, then a file."""
    data = tar_bytes([("leaf.xml", leaf)])
    for level in range(depth - 1):
        data = tar_bytes([(f"level{level}.tar.gz", data)])
    return data


def plain_gzip(data: bytes) -> bytes:
    return gzip.compress(data)
