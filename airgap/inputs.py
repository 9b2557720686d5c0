"""Turn the paths a user names into the files to look at: folders and archives are walked,
kinds sniffed.

Files named on the command line are examined, or refused (exit 3) when they are plainly no
licensing file; an empty one is examined whatever its name. Files met while walking a folder or
an archive are examined when they are, or are meant to be, of a kind airgap knows: XML of any
root (in UTF-8, UTF-16 or UTF-32), a capture, or a file named like a licensing file (so an
empty or broken one is a finding, never hidden). Only what is plainly something else (text
that is not XML, images, an empty file of another name) is skipped with a note, as are
symbolic links, hidden folders and paths matching an exclude pattern.
Archive members are read in memory (``airgap.archive``), never extracted, and shown as
``archive!member``.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import partial
from pathlib import Path, PurePosixPath
from typing import cast

from airgap import archive, formats
from airgap.errors import AirgapError
from airgap.findings import SEP, Finding, problem
from airgap.fsutil import open_regular

PROLOG_BYTES = 4096  # the prolog and root element of a licensing file; a longer one reads on
HEAD_BYTES = 64 * 1024  # a capture can take this long to show what it is
MAX_FILE_BYTES = 1 << 30
_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO swapped in does not block


@dataclass(frozen=True)
class Item:
    """A file to examine and what a look at its head says it is.

    A file on disk is read when :meth:`read` is called (in a worker process, when there are
    many), unless the look at its head read all of it; an archive member comes with its bytes.
    """

    parts: archive.Where  # the file's path; for a member, each archive's name, then its own
    sniff: formats.Sniff
    named: bool
    data: bytes | None = None

    @property
    def path(self) -> str:
        """Where the file is, as the user reads it (``archive!member`` for a member)."""
        return archive.shown(self.parts)

    @property
    def name(self) -> str:
        """The file's own name, without its folders or the archives holding it."""
        return file_name(self.parts)

    @property
    def carried(self) -> int:
        """The bytes the item carries with it (to a worker), none when it is read there."""
        return len(self.data) if self.data is not None else 0

    def read(self) -> bytes:
        """The whole file; OSError when it went away, became unreadable or stopped being a
        regular file since the walk (a FIFO swapped in is refused, not waited on)."""
        if self.data is not None:
            return self.data
        with open_regular(Path(self.parts[0])) as handle:
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
class Archive:
    """An archive read whole, before the entries of its members (when asked for, as
    ``inspect`` does to tell what the archive is as a whole without reading it again)."""

    path: str
    members: tuple[archive.Member, ...]


Entry = Item | Skipped | Finding  # a Finding: a path that could not be examined (a problem)


def carried(entry: Entry) -> int:
    """The bytes an entry carries with it to a worker (an item's, when it holds them)."""
    return entry.carried if isinstance(entry, Item) else 0


def file_name(parts: archive.Where) -> str:
    """The own name of a file on disk (``(path,)``) or of an archive member (the archive's
    path, each nested archive's name, the member's name): the last part without its folders.
    Taken from the parts, never from the shown path: ``!`` may be in a file's own name."""
    text = parts[-1].replace("\\", "/")
    name = text.rsplit("/", 1)[-1]
    return name if name not in ("", ".") else PurePosixPath(text).name  # "a/", "a/.", ""


def walk(
    paths: Iterable[str],
    exclude: Iterable[str] = (),
    limits: archive.Limits | None = None,
    *,
    strict: bool = True,
) -> Iterator[Entry]:
    """Every file under ``paths``, in a stable order, with its sniffed kind; archive members
    one at a time. With ``strict`` false (a hook naming every file that changed), named files
    are taken like walked ones: exclude patterns apply, and what is plainly no licensing file
    is skipped."""
    walking = _Walking(tuple(exclude), limits, whole=False)  # so no Archive comes
    return cast(Iterator[Entry], _walk(paths, walking, strict))


def walk_whole(
    paths: Iterable[str], exclude: Iterable[str] = (), limits: archive.Limits | None = None
) -> Iterator[Entry | Archive]:
    """As :func:`walk`, and each archive read without a refusal comes first as an
    :class:`Archive` holding all its members (in memory at once, within the archive budget),
    then its members' entries: the archive is decompressed once for both."""
    return _walk(paths, _Walking(tuple(exclude), limits, True), strict=True)


def _walk(paths: Iterable[str], walking: _Walking, strict: bool) -> Iterator[Entry | Archive]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from _walk_folder(path, walking)
        elif not strict and _matches(path.as_posix(), walking.patterns):
            continue
        elif path.exists() or path.is_symlink():
            yield from _entries(str(path), named=strict, walking=walking)
        else:
            yield problem(name, "no such file or folder")


@dataclass(frozen=True)
class _Walking:
    """How one walk goes: exclude patterns, the archive budget, archives read whole."""

    patterns: tuple[str, ...]
    limits: archive.Limits | None
    whole: bool


def _walk_folder(top: Path, walking: _Walking) -> Iterator[Entry | Archive]:
    """Each folder's subfolders that are not walked (hidden, linked) and its files, then each
    other subfolder in turn, all by name; exclude patterns match paths from ``top`` (the
    folder named). The kinds come from the listing itself (no call per file to tell a link
    or a folder), and folders wait on a list, not on the stack (any depth is walked)."""
    waiting = [top]
    while waiting:
        folder = waiting.pop()
        try:
            with os.scandir(folder) as listing:
                found = sorted(map(_listed, listing))  # by name; a few bytes a file held
        except OSError as exc:
            yield problem(exc.filename or str(folder), exc.strerror or str(exc))
            continue
        keep = []
        for name, is_folder, is_link, _ in found:
            if not is_folder:
                continue
            path = folder / name
            if walking.patterns and _excluded(path, top, walking.patterns):
                continue
            if name.startswith("."):
                yield Skipped(str(path), "hidden folder")
            elif is_link:
                yield Skipped(str(path), "symbolic link")
            else:
                keep.append(path)
        within = _prefix(folder)
        for name, is_folder, is_link, regular in found:
            if is_folder or (walking.patterns and _excluded(folder / name, top, walking.patterns)):
                continue
            if is_link:
                yield Skipped(within + name, "symbolic link")
            else:
                yield from _entries(within + name, named=False, walking=walking, regular=regular)
        waiting += reversed(keep)  # the first by name is walked next


def _prefix(folder: Path) -> str:
    """What a file's name in ``folder`` follows in its path, as ``folder / name`` shows it
    (made once a folder, not a path object a file)."""
    shown = str(folder)
    return "" if shown == "." else shown if shown.endswith("/") else shown + "/"


def _listed(entry: os.DirEntry[str]) -> tuple[str, bool, bool, bool]:
    """What the walk needs of a folder's entry: its name, whether it is a folder (or a link
    to one), a link, a regular file (the listing says, mostly without a call per file)."""
    return entry.name, _is_folder(entry), entry.is_symlink(), entry.is_file(follow_symlinks=False)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    """A folder, or a link to one (as ``os.walk`` tells them: one it cannot tell is a file)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _excluded(path: Path, top: Path, patterns: tuple[str, ...]) -> bool:
    return _matches(path.relative_to(top).as_posix(), patterns) or _matches(
        path.as_posix(), patterns
    )


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch(name, p) for p in patterns)


def _entries(
    shown: str, *, named: bool, walking: _Walking, regular: bool | None = None
) -> Iterator[Entry | Archive]:
    """One file, or every member when it is an archive. ``regular`` is what the folder's
    listing says of the file, else it is looked at first (opening a FIFO blocks, a device
    may act); it is opened without blocking and looked at again once open."""
    if not (Path(shown).is_file() if regular is None else regular):
        yield (problem if named else Skipped)(shown, "not a regular file")
        return
    name = shown.rsplit("/", 1)[-1]  # as Path(shown).name: the path is as a Path shows it
    try:
        descriptor = os.open(shown, _READ)
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):  # swapped since the look
                yield (problem if named else Skipped)(shown, "not a regular file")
                return
            whole = None  # read again where it is examined
            if info.st_size < HEAD_BYTES:  # most licensing files: read whole, at one call
                data = os.read(descriptor, HEAD_BYTES)
                head, sniff = _sniff(io.BytesIO(data).read, name)
                if len(data) == info.st_size:  # else it grew or shrank since
                    whole = data
            else:
                head, sniff = _sniff(partial(os.read, descriptor), name)
        finally:
            os.close(descriptor)
    except OSError as exc:
        yield problem(shown, exc.strerror or str(exc))
        return
    if archive.archive_type(head):
        yield from _members(Path(shown), walking)
    elif sniff.family is not None:
        yield Item((shown,), sniff, named, whole)  # when read whole, not read a second time
    elif not named:
        yield Skipped(shown, f"not a licensing file ({formats.plainly(head)})")
    elif formats.blank(head):  # named: an empty file is a finding whatever its name
        yield Item((shown,), formats.Sniff("xml"), named)
    else:
        yield problem(shown, f"no kind airgap knows ({formats.plainly(head)})")


def _sniff(read: Callable[[int], bytes], name: str) -> tuple[bytes, formats.Sniff]:
    """The start of a file (given by ``read``) and what it and its name say the file is.
    4 KiB tell an archive or an XML root; anything else gets up to 64 KiB, which a capture
    may need (reading less of each of thousands of XML files keeps the walk quick)."""
    head = read(PROLOG_BYTES)
    sniff = formats.sniff(head)
    if sniff.family != "xml" and len(head) == PROLOG_BYTES and not archive.archive_type(head):
        head += read(HEAD_BYTES - PROLOG_BYTES)
        sniff = formats.sniff(head)
    if sniff.family is None and formats.licensing_name(name):
        sniff = formats.Sniff("xml")  # as formats.sniff(head, name): no second look at the bytes
    return head, sniff


def _members(path: Path, walking: _Walking) -> Iterator[Entry | Archive]:
    """The members of an archive, each sniffed; a refusal ends the archive."""
    members = archive.read_members(path, str(path), walking.limits)
    refused: AirgapError | None = None
    if walking.whole:
        read: list[archive.Member] = []
        try:
            read.extend(members)
        except AirgapError as exc:
            refused = exc
        else:
            yield Archive(str(path), tuple(read))
        members = iter(read)
    try:
        for member in members:
            head, sniff = _sniff(io.BytesIO(member.data).read, file_name(member.parts))
            if sniff.family is None:
                yield Skipped(member.path, f"not a licensing file ({formats.plainly(head)})")
            else:
                yield Item(member.parts, sniff, named=False, data=member.data)
    except AirgapError as exc:
        refused = exc
    if refused is not None:
        yield _refusal(str(path), refused)


def _refusal(path: str, refused: AirgapError) -> Finding:
    """The problem of an archive the reader refused. Its file is the archive on disk; the
    place inside it is kept as the reader names it, whole (the reader gives the place in
    words, not its parts)."""
    reason = f"{refused.what}: {refused.why}" if refused.why else refused.what
    shown = refused.path or path
    prefix = path + SEP
    if shown.startswith(prefix):
        return problem(path, reason, refused.exit_code, refused.hint, (shown.removeprefix(prefix),))
    return problem(shown, reason, refused.exit_code, refused.hint)
