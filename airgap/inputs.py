"""Turn the paths a user names into the files to look at: folders and archives are walked,
kinds sniffed.

Files named on the command line are examined, or refused (exit 3) when they are plainly no
licensing file; an empty one is examined whatever its name. Files met while walking a folder or
an archive are examined when they are, or are meant to be, of a kind airgap knows: XML of any
root (in UTF-8, UTF-16 or UTF-32), a capture, or a file named like a licensing file (so an
empty or broken one is a finding, never hidden). Only what is plainly something else (text
that is not XML, images, an empty file of another name) is skipped with a note, as are
symbolic links, hidden folders and paths matching an exclude pattern.
Archive members are read in memory (``airgap.bundle.archive``), never extracted, and shown as
``archive!member``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import IO

from airgap import formats
from airgap.bundle import archive
from airgap.errors import AirgapError, ExitCode

PROLOG_BYTES = 4096  # the prolog and root element of a licensing file; a longer one reads on
HEAD_BYTES = 64 * 1024  # a capture can take this long to show what it is
MAX_FILE_BYTES = 1 << 30


@dataclass(frozen=True)
class Item:
    """A file to examine and what a look at its head says it is.

    A file on disk is read when :meth:`read` is called (in a worker process, when there are
    many); an archive member comes with its bytes.
    """

    path: str
    sniff: formats.Sniff
    named: bool
    data: bytes | None = None

    def read(self) -> bytes:
        """The whole file; OSError when it went away or became unreadable since the walk."""
        if self.data is not None:
            return self.data
        with Path(self.path).open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise OSError(f"{size} bytes, over the {MAX_FILE_BYTES} limit")
            return handle.read()


@dataclass(frozen=True)
class Skipped:
    """A file met while walking that is not examined, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Problem:
    """A path that could not be examined: missing or unreadable (exit 3), a corrupt archive
    (exit 1), or an unsafe archive member (exit 4)."""

    path: str
    reason: str
    code: ExitCode = ExitCode.CANNOT_RUN
    hint: str = ""


Entry = Item | Skipped | Problem


def file_name(path: str) -> str:
    """The name of a file on disk or of an archive member (``archive!folder/name``)."""
    return PurePosixPath(path.rsplit(archive.SEP, 1)[-1].replace("\\", "/")).name


def walk(
    paths: Iterable[str],
    exclude: Iterable[str] = (),
    limits: archive.Limits | None = None,
    *,
    strict: bool = True,
) -> Iterator[Entry]:
    """Every file under ``paths``, in a stable order, with its sniffed kind. With ``strict``
    false (a hook naming every file that changed), named files are taken like walked ones:
    exclude patterns apply, and what is plainly no licensing file is skipped."""
    patterns = tuple(exclude)
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from _walk_folder(path, patterns, limits)
        elif not strict and _matches(path.as_posix(), patterns):
            continue
        elif path.exists() or path.is_symlink():
            yield from _entries(path, named=strict, limits=limits)
        else:
            yield Problem(name, "no such file or folder")


def _walk_folder(
    top: Path, patterns: tuple[str, ...], limits: archive.Limits | None
) -> Iterator[Entry]:
    errors: list[OSError] = []
    for folder, subfolders, files in os.walk(top, onerror=errors.append):
        yield from (Problem(e.filename or str(top), e.strerror or str(e)) for e in errors)
        errors.clear()
        base = Path(folder)
        keep = []
        for name in sorted(subfolders):
            path = base / name
            if patterns and _excluded(path, top, patterns):
                continue
            if name.startswith("."):
                yield Skipped(str(path), "hidden folder")
            elif path.is_symlink():
                yield Skipped(str(path), "symbolic link")
            else:
                keep.append(name)
        subfolders[:] = keep
        for name in sorted(files):
            path = base / name
            if patterns and _excluded(path, top, patterns):
                continue
            if path.is_symlink():
                yield Skipped(str(path), "symbolic link")
                continue
            yield from _entries(path, named=False, limits=limits)
    yield from (Problem(e.filename or str(top), e.strerror or str(e)) for e in errors)


def _excluded(path: Path, top: Path, patterns: tuple[str, ...]) -> bool:
    return _matches(path.relative_to(top).as_posix(), patterns) or _matches(
        path.as_posix(), patterns
    )


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch(name, p) for p in patterns)


def _entries(path: Path, *, named: bool, limits: archive.Limits | None) -> Iterator[Entry]:
    """One file, or every member when it is an archive."""
    if not path.is_file():  # checked before opening: a FIFO would block the open
        if named:
            yield Problem(str(path), "not a regular file")
        else:
            yield Skipped(str(path), "not a regular file")
        return
    try:
        with path.open("rb") as handle:
            head, sniff = _sniff(handle, path.name)
    except OSError as exc:
        yield Problem(str(path), exc.strerror or str(exc))
        return
    if archive.archive_type(head):
        yield from _members(path, limits)
    elif sniff.family is not None:
        yield Item(str(path), sniff, named)
    elif not named:
        yield Skipped(str(path), f"not a licensing file ({formats.plainly(head)})")
    elif formats.blank(head):  # named: an empty file is a finding whatever its name
        yield Item(str(path), formats.Sniff("xml"), named)
    else:
        yield Problem(str(path), f"no kind airgap knows ({formats.plainly(head)})")


def _sniff(stream: IO[bytes], name: str) -> tuple[bytes, formats.Sniff]:
    """The start of a file and what it and its name say the file is. 4 KiB tell an archive or
    an XML root; anything else gets up to 64 KiB, which a capture may need (reading less of
    each of thousands of XML files keeps the walk quick)."""
    head = stream.read(PROLOG_BYTES)
    sniff = formats.sniff(head)
    if sniff.family != "xml" and len(head) == PROLOG_BYTES and not archive.archive_type(head):
        head += stream.read(HEAD_BYTES - PROLOG_BYTES)
        sniff = formats.sniff(head)
    if sniff.family is None and formats.licensing_name(name):
        sniff = formats.Sniff("xml")  # as formats.sniff(head, name): no second look at the bytes
    return head, sniff


def _members(path: Path, limits: archive.Limits | None) -> Iterator[Entry]:
    """The members of an archive, each sniffed; a refusal ends the archive."""
    try:
        for member in archive.read_members(path, str(path), limits):
            head, sniff = _sniff(io.BytesIO(member.data), file_name(member.path))
            if sniff.family is None:
                yield Skipped(member.path, f"not a licensing file ({formats.plainly(head)})")
            else:
                yield Item(member.path, sniff, named=False, data=member.data)
    except AirgapError as exc:
        reason = f"{exc.what}: {exc.why}" if exc.why else exc.what
        yield Problem(exc.path or str(path), reason, exc.exit_code, exc.hint)
