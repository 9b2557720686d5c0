"""Read untrusted tar, tar.gz and 7z archives, nested ones too, without extracting anything.

Every archive reaching the jump host is untrusted. Members are read into memory one at a time
within a budget (total bytes, member count, compression ratio, nesting depth). Only regular
files and folders are accepted: ``..``, absolute names, links, devices, duplicate names and
anything beyond the budget are refused as unsafe (exit 4), naming the member.
"""

from __future__ import annotations

import gzip
import io
import posixpath
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from airgap.errors import FindingsError, InputError, TrustError

SEP = "!"  # outer!inner!member
GZIP_MAGIC = b"\x1f\x8b"
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """The budget for reading one archive, everything nested in it included."""

    total_bytes: int = 1 << 30
    members: int = 100_000
    ratio: int = 100  # uncompressed bytes per compressed byte, beyond the first ratio_floor
    ratio_floor: int = 1 << 20  # compressed bytes under which the ratio is not applied
    depth: int = 3  # archives inside archives


class UnsafeArchiveError(TrustError):
    """An archive member that must not be read: refused, never extracted (exit 4)."""

    default_hint = "do not use this archive; ask its sender for a clean one"


class CorruptArchiveError(FindingsError):
    """An archive that cannot be decoded: truncated or damaged (exit 1)."""

    default_hint = "copy the archive again from its source"


@dataclass(frozen=True)
class Member:
    """A regular file read from an archive: its display path and its bytes."""

    path: str
    data: bytes


def archive_type(head: bytes) -> str | None:
    """``"tar.gz"``, ``"tar"`` or ``"7z"`` from the first bytes, or None."""
    if head.startswith(GZIP_MAGIC):
        return "tar.gz"
    if head.startswith(SEVEN_ZIP_MAGIC):
        return "7z"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


@dataclass
class _Budget:
    limits: Limits
    read: int = 0
    members: int = 0
    names: set[str] = field(default_factory=set)

    def member(self, where: str, name: str, size: int) -> str:
        """Check one member's name and declared size; return its normalised name."""
        clean = safe_name(where, name)
        if clean in self.names:
            raise UnsafeArchiveError("unsafe archive member", f"{where}{SEP}{name}",
                                     "duplicate name")
        self.names.add(clean)
        self.members += 1
        if self.members > self.limits.members:
            raise UnsafeArchiveError("unsafe archive member", f"{where}{SEP}{name}",
                                     f"more than {self.limits.members} members")
        if size > self.limits.total_bytes - self.read:
            raise UnsafeArchiveError("unsafe archive member", f"{where}{SEP}{name}",
                                     f"declares {size} bytes, beyond the "
                                     f"{self.limits.total_bytes}-byte budget")
        return clean

    def allowed(self, compressed: int) -> int:
        """Uncompressed bytes the ratio allows for this many compressed bytes."""
        return self.limits.ratio * max(compressed, self.limits.ratio_floor)

    def grow(self, where: str, amount: int, compressed: int) -> None:
        """Count bytes read; refuse beyond the total or the compression ratio."""
        self.read += amount
        if self.read > self.limits.total_bytes:
            raise UnsafeArchiveError("unsafe archive member", where,
                                     f"more than {self.limits.total_bytes} bytes uncompressed")
        if self.read > self.allowed(compressed):
            raise UnsafeArchiveError("unsafe archive member", where,
                                     f"expands more than {self.limits.ratio}:1 (a compression "
                                     "bomb?)")


def safe_name(where: str, name: str) -> str:
    """A member name that stays inside the archive, normalised; anything else is refused."""
    shown = f"{where}{SEP}{name}"
    if not name or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise UnsafeArchiveError("unsafe archive member", shown.encode("unicode_escape")
                                 .decode(), "empty name or control characters")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError("unsafe archive member", shown, "absolute name")
    if ".." in name.replace("\\", "/").split("/"):
        raise UnsafeArchiveError("unsafe archive member", shown, "'..' in the name")
    return posixpath.normpath(name).removeprefix("./")


class _Counting(io.RawIOBase):
    """Counts the compressed bytes a decompressor pulls through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def read_members(source: Path | bytes, name: str, limits: Limits | None = None, *,
                 expand: bool = True) -> Iterator[Member]:
    """Every regular file in an archive (a path on disk, or bytes); nested archives are
    expanded unless ``expand`` is false (a bundle carries archives as payload files)."""
    limits = limits or Limits()
    budget = _Budget(limits)
    if isinstance(source, bytes):
        yield from _members(io.BytesIO(source), name, budget, 0, expand)
        return
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise InputError("cannot read", source, exc.strerror or str(exc)) from None
    with handle:
        yield from _members(handle, name, budget, 0, expand)


def _members(handle: IO[bytes], where: str, budget: _Budget, depth: int,
             expand: bool = True) -> Iterator[Member]:
    head = handle.read(512)
    handle.seek(0)
    kind = archive_type(head)
    if kind == "7z":
        members = _seven_zip(handle, where, budget)
    elif kind in ("tar", "tar.gz"):
        members = _tar(handle, where, budget, gzipped=kind == "tar.gz")
    else:
        raise CorruptArchiveError("not an archive", where)
    for member in members:
        if not expand or archive_type(member.data[:512]) is None:
            yield member
            continue
        if depth + 1 >= budget.limits.depth:
            raise UnsafeArchiveError("unsafe archive member", member.path,
                                     f"archives nested deeper than {budget.limits.depth}")
        yield from _members(io.BytesIO(member.data), member.path, budget, depth + 1)


TAR_BUFFER = 64 << 10  # tarfile reads 10 KiB at a time by default: 64 KiB is a fifth quicker
MAX_PADDING = 1 << 20  # tar pads to its record size: 10 KiB by default, 1 MiB at GNU tar -b 2048


def _tar(handle: IO[bytes], where: str, budget: _Budget, *, gzipped: bool) -> Iterator[Member]:
    counting = _Counting(handle)
    raw = io.BufferedReader(counting)
    # gzip.GzipFile, unlike tarfile's own stream, checks each gzip member's CRC-32 and length.
    stream: io.BufferedIOBase = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
    try:
        with tarfile.open(fileobj=stream, mode="r|", bufsize=TAR_BUFFER) as tar:
            for info in tar:
                shown = f"{where}{SEP}{info.name}"
                if not (info.isreg() or info.isdir()):
                    raise UnsafeArchiveError("unsafe archive member", shown,
                                             f"a {_tar_type(info)}, not a regular file")
                clean = budget.member(where, info.name, info.size)
                if info.isdir():
                    continue
                extracted = tar.extractfile(info)
                assert extracted is not None  # a regular file always has content
                chunks = []
                while chunk := extracted.read(CHUNK):
                    budget.grow(shown, len(chunk), counting.count)
                    chunks.append(chunk)
                yield Member(f"{where}{SEP}{clean}", b"".join(chunks))
        # tar stops at its end marker; read the record padding so the gzip trailer is
        # checked too, but no more than a tar writer pads with
        padding = 0
        while chunk := stream.read(CHUNK):
            padding += len(chunk)
            if padding > MAX_PADDING:
                raise CorruptArchiveError("corrupt archive", where,
                                          "more than 1 MiB of data after the end of the tar")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise CorruptArchiveError("corrupt archive", where, str(exc) or type(exc).__name__
                                  ) from None


def write_tar(raw: IO[bytes], members: Iterable[tuple[str, int, IO[bytes]]], epoch: int, *,
              compress: bool) -> None:
    """A reproducible tar (or tar.gz) of ``(name, size, reader)`` members in the order given:
    owner root, mode 0644, mtime ``epoch``, a gzip header with no name or time."""
    stream: Any = (gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
                   if compress else raw)
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, size, handle in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = size, epoch, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, handle)
    if compress:
        stream.close()


def _tar_type(info: tarfile.TarInfo) -> str:
    if info.issym():
        return "symbolic link"
    if info.islnk():
        return "hard link"
    if info.ischr() or info.isblk():
        return "device"
    if info.isfifo():
        return "FIFO"
    return "special member"


def _seven_zip(handle: IO[bytes], where: str, budget: _Budget) -> Iterator[Member]:
    try:
        import py7zr
        import py7zr.exceptions
        from py7zr.io import BytesIOFactory
    except ImportError:
        raise InputError("cannot read 7z archive", where, "7z support is not installed",
                         "pip install 'airgap[7z]'") from None
    try:
        with py7zr.SevenZipFile(handle, mode="r") as archive:
            if archive.needs_password():
                raise UnsafeArchiveError("unsafe archive", where, "encrypted 7z archive")
            files = []
            for info in archive.list():
                shown = f"{where}{SEP}{info.filename}"
                if not (info.is_file or info.is_directory):
                    raise UnsafeArchiveError("unsafe archive member", shown,
                                             "a link or special file, not a regular file")
                clean = budget.member(where, info.filename, info.uncompressed)
                if info.is_file:
                    files.append((info.filename, clean))
            compressed = handle.seek(0, io.SEEK_END)
            handle.seek(0)
            allowed = min(budget.limits.total_bytes - budget.read, budget.allowed(compressed))
            declared = sum(info.uncompressed for info in archive.list())
            if declared > allowed:
                raise UnsafeArchiveError("unsafe archive", where,
                                         f"declares {declared} bytes uncompressed from "
                                         f"{compressed}, beyond the budget (a compression bomb?)")
            archive.max_extract_size = allowed
            factory = BytesIOFactory(allowed + 1)
            archive.extract(factory=factory)
        for original, clean in files:
            product = factory.products.get(original)
            data = b""
            if product is not None:
                product.seek(0)
                data = product.read()
            budget.grow(f"{where}{SEP}{clean}", len(data), compressed)
            yield Member(f"{where}{SEP}{clean}", data)
    except py7zr.exceptions.DecompressionBombError:
        raise UnsafeArchiveError("unsafe archive", where,
                                 "expands beyond its budget (a compression bomb?)") from None
    except (py7zr.exceptions.ArchiveError, EOFError, OSError, ValueError) as exc:
        raise CorruptArchiveError("corrupt archive", where, str(exc) or type(exc).__name__
                                  ) from None
