"""Read untrusted tar, tar.gz and 7z archives, nested ones too, without extracting anything;
write reproducible tars. Every package that reads an archive walks it here, once.

Every archive reaching the jump host is untrusted. Members are read into memory one at a time
within a budget (total bytes, member count, compression ratio, nesting depth). Only regular
files and folders are accepted: ``..``, absolute names, links, devices, duplicate names and
anything beyond the budget are refused as unsafe (exit 4), naming the member.
A member's place is a tuple of names (the archive, each nested archive, the member): the
``outer!inner!member`` string is made only to show it, never split again.
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
from typing import IO, Any, BinaryIO, Self, cast

from airgap.errors import AirgapError, FindingsError, InputError, TrustError, why
from airgap.findings import SEP as SEP  # outer!inner!member, for display only
from airgap.findings import joined

GZIP_MAGIC = b"\x1f\x8b"
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
CHUNK = 1 << 20
MEMBER_FRAMING = 8 << 10  # a header, a PAX header for a long name, padding to 512


@dataclass(frozen=True)
class Limits:
    """The budget for reading one archive, everything nested in it included."""

    total_bytes: int = 1 << 30
    members: int = 100_000
    ratio: int = 100  # uncompressed bytes per compressed byte, beyond the first ratio_floor
    ratio_floor: int = 1 << 20  # compressed bytes under which the ratio is not applied
    depth: int = 3  # archives inside archives

    @classmethod
    def signed(cls, payload: int, members: int) -> Limits:
        """The budget for a bundle whose signature vouches for ``payload`` bytes in ``members``
        files: those, and the tar framing around them (headers, padding, end of archive)."""
        framing = members * MEMBER_FRAMING + MAX_PADDING + tarfile.RECORDSIZE
        return cls(total_bytes=payload + framing, members=members, depth=1)


class UnsafeArchiveError(TrustError):
    """An archive member that must not be read: refused, never extracted (exit 4)."""

    default_hint = "do not use this archive; ask its sender for a clean one"


class CorruptArchiveError(FindingsError):
    """An archive that cannot be decoded: truncated or damaged (exit 1)."""

    default_hint = "copy the archive again from its source"


Where = tuple[str, ...]  # the archive's name, then each nested archive's member name


def shown(where: Where, name: str | None = None) -> str:
    """``outer!inner!name``: a member's place as the user reads it."""
    return joined(where if name is None else (*where, name))


@dataclass(frozen=True)
class Member:
    """A regular file read from an archive: its place (the archive's name, each nested
    archive's member name, its own normalised name) and its bytes."""

    parts: Where
    data: bytes

    @property
    def path(self) -> str:
        """The place to show: ``outer!inner!name``."""
        return shown(self.parts)

    @property
    def name(self) -> str:
        """The member's name inside the archive that holds it."""
        return self.parts[-1]


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
    names: set[Where] = field(default_factory=set)  # a name is a duplicate in its own archive

    def member(self, where: Where, name: str, size: int) -> str:
        """Check one member's name and declared size; return its normalised name."""
        clean = safe_name(where, name)
        if (*where, clean) in self.names:
            raise UnsafeArchiveError("unsafe archive member", shown(where, name), "duplicate name")
        self.names.add((*where, clean))
        self.members += 1
        if self.members > self.limits.members:
            raise UnsafeArchiveError(
                "unsafe archive member",
                shown(where, name),
                f"more than {self.limits.members} members",
            )
        if size > self.limits.total_bytes - self.read:
            raise UnsafeArchiveError(
                "unsafe archive member",
                shown(where, name),
                f"declares {size} bytes, beyond the {self.limits.total_bytes}-byte budget",
            )
        return clean

    def allowed(self, compressed: int) -> int:
        """Uncompressed bytes the ratio allows for this many compressed bytes."""
        return self.limits.ratio * max(compressed, self.limits.ratio_floor)

    def take(self, where: str, amount: int, expanded: int, compressed: int) -> None:
        """Count ``amount`` more bytes decompressed from a stream that has now given
        ``expanded`` bytes for ``compressed``: refuse beyond the total or the stream's ratio."""
        self.read += amount
        if self.read > self.limits.total_bytes:
            raise UnsafeArchiveError(
                "unsafe archive member",
                where,
                f"more than {self.limits.total_bytes} bytes uncompressed",
            )
        if expanded > self.allowed(compressed):
            raise UnsafeArchiveError(
                "unsafe archive member",
                where,
                f"expands more than {self.limits.ratio}:1 (a compression bomb?)",
            )


def safe_name(where: Where, name: str) -> str:
    """A member name that stays inside the archive, normalised; anything else is refused."""
    place = shown(where, name)
    if not name or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise UnsafeArchiveError(
            "unsafe archive member",
            place.encode("unicode_escape").decode(),
            "empty name or control characters",
        )
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError("unsafe archive member", place, "absolute name")
    if ".." in name.replace("\\", "/").split("/"):
        raise UnsafeArchiveError("unsafe archive member", place, "'..' in the name")
    return posixpath.normpath(name).removeprefix("./")


class _Counting(io.RawIOBase):
    """Counts the bytes read through it: what a decompressor pulls from the archive."""

    def __init__(self, raw: IO[bytes] | io.BufferedIOBase) -> None:
        self.raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class _Metered(_Counting):
    """The decompressed stream the tar parser reads: every byte it takes, headers and padding
    included, counts against the budget and the ratio to the compressed bytes beneath."""

    def __init__(
        self, raw: io.BufferedIOBase, budget: _Budget, compressed: _Counting, where: str
    ) -> None:
        super().__init__(raw)
        self.budget, self.compressed, self.where = budget, compressed, where

    def readinto(self, buffer: Any) -> int:
        amount = super().readinto(buffer)
        self.budget.take(self.where, amount, self.count, self.compressed.count)
        return amount


def read_members(
    source: Path | bytes, name: str, limits: Limits | None = None, *, levels: int | None = None
) -> Iterator[Member]:
    """Every regular file in an archive (a path on disk, or bytes), nested archives opened
    ``levels`` deep (the archive itself is level 1) within one budget for the whole walk.

    With ``levels`` None nested archives are opened as deep as ``limits.depth`` allows and a
    deeper one is refused; below the last level asked for, an archive is a member like any
    other (a bundle, ``levels=1``, carries archives as payload files; a CSLU upload archive,
    ``levels=2``, holds one archive per virtual account)."""
    limits = limits or Limits()
    budget = _Budget(limits)
    if isinstance(source, bytes):
        yield from _members(io.BytesIO(source), (name,), budget, levels)
        return
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise InputError("cannot read", source, exc.strerror or str(exc)) from None
    with handle:
        yield from _members(handle, (name,), budget, levels)


def _members(
    handle: IO[bytes], where: Where, budget: _Budget, levels: int | None
) -> Iterator[Member]:
    """The members of the archive at ``where`` and, above level ``levels``, of the archives
    in it."""
    head = handle.read(512)
    handle.seek(0)
    kind = archive_type(head)
    if kind == "7z":
        members = _seven_zip(handle, where, budget)
    elif kind in ("tar", "tar.gz"):
        members = _tar(handle, where, budget, gzipped=kind == "tar.gz")
    else:
        raise CorruptArchiveError("not an archive", shown(where))
    for member in members:
        if archive_type(member.data[:512]) is None or (levels is not None and len(where) >= levels):
            yield member
            continue
        if len(where) >= budget.limits.depth:
            raise UnsafeArchiveError(
                "unsafe archive member",
                member.path,
                f"archives nested deeper than {budget.limits.depth}",
            )
        yield from _members(io.BytesIO(member.data), member.parts, budget, levels)


TAR_BUFFER = 64 << 10  # tarfile reads 10 KiB at a time by default: 64 KiB is a fifth quicker
MAX_PADDING = 1 << 20  # tar pads to its record size: 10 KiB by default, 1 MiB at GNU tar -b 2048
MAX_HEADER = 1 << 20  # a PAX header or GNU long name: tarfile reads one whole before using it
MAX_CHAIN = 8  # extended headers before one member (a writer puts at most 2 to 4 there)
MAX_PAX_RECORDS = 64  # a member's PAX records, global ones included (tarfile keeps each)
EXTENDED = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


def _tar(handle: IO[bytes], where: Where, budget: _Budget, *, gzipped: bool) -> Iterator[Member]:
    compressed = _Counting(handle)
    raw = io.BufferedReader(compressed)
    # gzip.GzipFile, unlike tarfile's own stream, checks each gzip member's CRC-32 and length.
    unpacked: io.BufferedIOBase = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
    archive = shown(where)
    stream = _Metered(unpacked, budget, compressed, archive)
    try:
        with tarfile.open(
            fileobj=stream, mode="r|", bufsize=TAR_BUFFER, tarinfo=_checked_headers(archive)
        ) as tar:
            while (info := tar.next()) is not None:
                tar.members.clear()  # type: ignore[attr-defined]  # read once: keep no TarInfo
                place = shown(where, info.name)
                _check_member(info, place)
                clean = budget.member(where, info.name, info.size)
                if info.isdir():
                    continue
                extracted = tar.extractfile(info)
                assert extracted is not None  # a regular file always has content
                stream.where = place
                data = extracted.read()
                stream.where = archive
                yield Member((*where, clean), data)
        # tar stops at its end marker; read the record padding so the gzip trailer is
        # checked too, but no more than a tar writer pads with
        padding = 0
        while chunk := stream.read(CHUNK):
            padding += len(chunk)
            if padding > MAX_PADDING:
                raise CorruptArchiveError(
                    "corrupt archive", archive, "more than 1 MiB of data after the end of the tar"
                )
    except (tarfile.TarError, EOFError, OSError, zlib.error, ValueError, OverflowError) as exc:
        # tarfile lets a malformed PAX number through as ValueError or OverflowError
        raise CorruptArchiveError("corrupt archive", archive, why(exc)) from None


def _check_member(info: tarfile.TarInfo, shown: str) -> None:
    """Refuse what tarfile accepts but GNU tar does not, and members that are no regular file
    or folder."""
    size = info.pax_headers.get("size")
    if size is not None and not (size.isascii() and size.isdigit()):
        raise CorruptArchiveError("corrupt archive", shown, f"PAX size {size!r} is not a size")
    if len(info.pax_headers) > MAX_PAX_RECORDS:
        raise UnsafeArchiveError(
            "unsafe archive member", shown, f"more than {MAX_PAX_RECORDS} PAX records"
        )
    if info.issparse() or not (info.isreg() or info.isdir()):
        raise UnsafeArchiveError(
            "unsafe archive member", shown, f"a {_tar_type(info)}, not a regular file"
        )


def _checked_headers(where: str) -> type[tarfile.TarInfo]:
    """A TarInfo class for one archive whose headers are checked as tarfile reads them.

    tarfile ends the archive quietly at a damaged header after the first, reads a PAX header
    or GNU long name whole before looking at it, chains them by recursion, and reads a GNU
    sparse map into a list of any length: refuse each of these before it happens."""
    chain = 0

    class Checked(tarfile.TarInfo):
        @classmethod
        def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
            nonlocal chain
            try:
                info = super().frombuf(buf, encoding, errors)
            except tarfile.HeaderError as exc:
                if not buf or buf.count(0) == tarfile.BLOCKSIZE:
                    raise  # the end of the archive, with or without its end marker
                raise CorruptArchiveError(
                    "corrupt archive", where, f"a damaged tar header ({exc})"
                ) from None
            if info.size < 0:
                raise CorruptArchiveError(
                    "corrupt archive", where, f"a tar header with the size {info.size}"
                )
            chain = chain + 1 if info.type in EXTENDED else 0
            if (
                info.type == tarfile.GNUTYPE_SPARSE
                or chain > MAX_CHAIN
                or (chain and info.size > MAX_HEADER)
            ):
                raise UnsafeArchiveError("unsafe archive member", where, _header_why(info, chain))
            return info

        def _proc_gnusparse_10(self, *_: object) -> None:
            raise UnsafeArchiveError("unsafe archive member", where, "a GNU sparse file")

    return Checked


def _header_why(info: tarfile.TarInfo, chain: int) -> str:
    if info.type == tarfile.GNUTYPE_SPARSE:
        return "a GNU sparse file"
    if chain > MAX_CHAIN:
        return f"more than {MAX_CHAIN} extended headers in a row"
    return f"an extended header of {info.size} bytes (at most {MAX_HEADER})"


def write_tar(
    raw: IO[bytes], members: Iterable[tuple[str, int, IO[bytes]]], epoch: int, *, compress: bool
) -> None:
    """A reproducible tar (or tar.gz) of ``(name, size, reader)`` members in the order given:
    owner root, mode 0644, mtime ``epoch``, a gzip header with no name or time."""
    stream: Any = (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
        if compress
        else raw
    )
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
    if info.issparse():
        return "GNU sparse file"
    return "special member"


# 7z coders whose decoders are the standard library's (lzma, zlib, bz2), and branch filters:
# others (PPMd first: a damaged stream crashes its decoder) are refused before any decoding.
TRUSTED_CODERS = frozenset(
    bytes.fromhex(h)
    for h in (
        "00",
        "21",
        "030101",
        "040108",
        "040202",  # Copy, LZMA2, LZMA, Deflate, BZip2
        "03030103",
        "03030205",
        "03030401",
        "03030501",
        "03030701",
        "03030805",
    )
)  # BCJ filters
CRYPTO = bytes.fromhex("06f1")  # 7z method ids of ciphers: AES, ZipCrypto, RAR AES
SIGNATURE_HEADER = 32  # 7z's fixed start: magic, version, where the header is
MAX_7Z_HEADER = 64 << 20  # a packed 7z header is decoded whole as the archive is opened


def _seven_zip(handle: IO[bytes], parts: Where, budget: _Budget) -> Iterator[Member]:
    where = shown(parts)
    try:
        import py7zr
        from py7zr.exceptions import CrcError, DecompressionBombError
        from py7zr.io import BytesIOFactory
    except ImportError:
        raise InputError(
            "cannot read 7z archive",
            where,
            "7z support is not installed",
            "pip install 'airgap[7z]'",
        ) from None
    try:
        _check_packed_header(handle, where)
        with py7zr.SevenZipFile(handle, mode="r") as archive:
            streams = getattr(archive.header, "main_streams", None)  # None when empty
            for folder in streams.unpackinfo.folders if streams else []:
                _check_coders(folder.coders, where, "data")
            infos = archive.list()
            files = _seven_zip_files(infos, parts, budget)
            compressed = handle.seek(0, io.SEEK_END)
            handle.seek(0)
            allowed = min(budget.limits.total_bytes - budget.read, budget.allowed(compressed))
            declared = sum(info.uncompressed for info in infos)
            if declared > allowed:
                raise UnsafeArchiveError(
                    "unsafe archive",
                    where,
                    f"declares {declared} bytes uncompressed from "
                    f"{compressed}, beyond the budget (a compression bomb?)",
                )
            archive.max_extract_size = allowed
            factory = BytesIOFactory(allowed + 1)
            archive.extract(factory=factory)
    except AirgapError:
        raise
    except DecompressionBombError:
        raise UnsafeArchiveError(
            "unsafe archive", where, "expands beyond its budget (a compression bomb?)"
        ) from None
    except CrcError as exc:
        raise CorruptArchiveError(
            "corrupt archive", where, f"{exc.args[-1]} does not match its CRC"
        ) from None
    except Exception as exc:  # py7zr and its decoders raise anything on a damaged archive
        raise CorruptArchiveError("corrupt archive", where, why(exc)) from None
    expanded = 0
    for original, clean in files:
        product = factory.products.get(original)
        data = b""
        if product is not None:
            product.seek(0)
            data = product.read()
        expanded += len(data)
        budget.take(shown(parts, clean), len(data), expanded, compressed)
        yield Member((*parts, clean), data)


def _seven_zip_files(infos: list[Any], where: Where, budget: _Budget) -> list[tuple[str, str]]:
    """(name in the archive, normalised name) of each regular file listed; folders are
    counted, links and special files refused."""
    files = []
    for info in infos:
        if not (info.is_file or info.is_directory):
            raise UnsafeArchiveError(
                "unsafe archive member",
                shown(where, info.filename),
                "a link or special file, not a regular file",
            )
        clean = budget.member(where, info.filename, info.uncompressed)
        if info.is_file:
            files.append((info.filename, clean))
    return files


def _check_packed_header(handle: IO[bytes], where: str) -> None:
    """Refuse a 7z whose header is packed with a coder airgap does not trust, encrypted, or
    larger than MAX_7Z_HEADER unpacked: py7zr decodes it as soon as it opens the archive."""
    from py7zr.archiveinfo import HeaderStreamsInfo, SignatureHeader
    from py7zr.properties import PROPERTY

    binary = cast(BinaryIO, handle)
    signature = SignatureHeader.retrieve(binary)
    handle.seek(SIGNATURE_HEADER + signature.nextheaderofs)
    if handle.read(1) == PROPERTY.ENCODED_HEADER:
        folders = HeaderStreamsInfo.retrieve(binary).unpackinfo.folders
        for folder in folders:
            _check_coders(folder.coders, where, "header")
        size = sum(folder.get_unpack_size() for folder in folders)
        if size > MAX_7Z_HEADER:
            raise UnsafeArchiveError(
                "unsafe archive", where, f"a 7z header of {size} bytes (at most {MAX_7Z_HEADER})"
            )
    handle.seek(0)


def _check_coders(coders: list[dict[str, Any]], where: str, part: str) -> None:
    """Refuse encrypted 7z data and coders outside TRUSTED_CODERS, before decoding."""
    from py7zr.properties import COMPRESSION_METHOD

    for coder in coders:
        method = coder["method"]
        if method.startswith(CRYPTO):
            raise UnsafeArchiveError("unsafe archive", where, f"encrypted 7z {part}")
        if method not in TRUSTED_CODERS:
            names = {
                v: k for k, v in vars(type(COMPRESSION_METHOD)).items() if isinstance(v, bytes)
            }
            raise UnsafeArchiveError(
                "unsafe archive",
                where,
                f"7z {part} packed with {names.get(method, method.hex())}"
                ", a coder airgap does not decode",
            )
