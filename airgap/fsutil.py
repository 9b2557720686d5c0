"""Files and folders that appear whole or not at all: write beside the target, fsync, rename,
fsync the folder. A crash leaves the old file (or nothing) at the target name, never half a
file; a folder that was there is moved aside, never deleted. The outputs airgap writes for
the user (bundles, media copies, extracted bags, keys, reports) are written here, and files
finished elsewhere (a bundle's parts and signatures, a copy a device sent) take their names
here too (:func:`place`).

And files read safely: only regular files are opened for reading (a FIFO would hang, a device
such as ``/dev/zero`` never ends), and small files (keys, passphrases, checkpoints, proofs,
rosters) are read with a size cap.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO

from airgap.errors import InputError, why

SMALL_FILE = 1 << 20  # keys, passphrases, checkpoints, proofs, rosters: far below this


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, in a word."""
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a link"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def walk_tree(top: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    """``os.walk(top)``, top down, links to folders listed but not followed, each folder's
    subfolders walked in the order its list holds once the caller has seen (and maybe
    pruned) it; the folders still to walk wait on a list, not on the stack, so a tree of
    any depth is walked (a hostile medium or bundle folder), not a crash. A folder that
    cannot be listed is passed over, as ``os.walk`` does."""
    waiting = [top]
    while waiting:
        folder = waiting.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue
        folders: list[str] = []
        files: list[str] = []
        links: set[str] = set()  # folders listed that are links to one: not followed
        for entry in entries:
            try:
                is_folder = entry.is_dir()
            except OSError:
                is_folder = False
            (folders if is_folder else files).append(entry.name)
            if is_folder and entry.is_symlink():
                links.add(entry.name)
        yield folder, folders, files
        waiting += reversed([folder / name for name in folders if name not in links])


def tree(top: Path) -> Iterator[Path]:
    """Every path under ``top`` (as ``top.rglob("*")``, links to folders not followed), at
    any depth."""
    for folder, folders, files in walk_tree(top):
        yield from (folder / name for name in (*folders, *files))


def open_regular(path: Path, *, follow: bool = True) -> BinaryIO:
    """``path`` opened for reading, refused (OSError) unless it is a regular file; looked at
    before it is opened (opening a FIFO blocks, a device may act) and again once open.
    With ``follow=False`` a symbolic link is refused too."""
    info = path.stat(follow_symlinks=follow)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, f"not a regular file: {_kind(info.st_mode)}")
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the look and the open
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file: it changed while opened")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_small(path: Path, limit: int = SMALL_FILE, *, follow: bool = True) -> bytes:
    """The whole of a small regular file, refused (OSError) when longer than ``limit``."""
    with open_regular(path, follow=follow) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EOVERFLOW, f"larger than the {limit:,} bytes such a file can be")
    return data


def refuse_link(path: Path) -> None:
    """Refuse to write where a symbolic link is (dangling or not): the write would replace
    the link the user had, or a link planted on a medium would send it elsewhere."""
    if path.is_symlink():
        raise InputError(
            "refusing to write",
            path,
            "a symbolic link is there",
            "name its target, or another path",
        )


def refuse_replacing_above(destination: Path) -> None:
    """Refuse a destination folder that is the root, the working folder or a folder above it
    (``.``, ``/``, ``..``): replacing it would take what the user had with it."""
    resolved = destination.resolve()
    if resolved == Path(resolved.anchor) or resolved in (Path.cwd(), *Path.cwd().parents):
        raise InputError(
            "refusing to replace",
            destination,
            "the root, the working folder or a folder above it",
            "name a new folder below it",
        )


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def staged_file(path: Path, mode: int = 0o644) -> Iterator[tuple[IO[bytes], Path]]:
    """A new temporary file beside ``path`` and its name, synced when the block ends, for the
    caller to rename into place: at once (:func:`atomic_file`), or once every file that must
    appear together is written (a bundle's parts and signatures). Removed if the block fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle, temporary
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_file(path: Path, mode: int = 0o644, *, replace: bool = True) -> Iterator[IO[bytes]]:
    """Write ``path`` through a temporary file beside it; it appears only when the block ends
    without an error. With ``replace=False`` an existing ``path`` is never overwritten."""
    refuse_link(path)
    with staged_file(path, mode) as (handle, temporary):
        yield handle
    try:
        _rename(temporary, path, replace=replace)
        fsync_dir(path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def place(moves: Sequence[tuple[Path, Path]], *, replace: bool = True) -> None:
    """Put finished files at their names, all or none: each ``(temporary, target)`` in order,
    the file synced before its rename and the folders after. A target that is there is
    replaced only with ``replace`` (else FileExistsError); if a later rename fails, every
    target placed so far is put back as it was (the earlier file, or no file), so a failure
    leaves the user's files untouched and never half a set (an archive and its signature)."""
    placed: list[tuple[Path, Path | None]] = []  # each target placed, and its earlier file
    try:
        for temporary, target in moves:
            fd = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            earlier = _keep_earlier(target) if replace else None
            try:
                _rename(temporary, target, replace=replace)
            except BaseException:
                if earlier is not None:
                    earlier.unlink(missing_ok=True)
                raise
            placed.append((target, earlier))
        for folder in dict.fromkeys(target.parent for _, target in moves):
            fsync_dir(folder)
    except BaseException:
        for target, earlier in reversed(placed):
            if earlier is not None:
                earlier.replace(target)
            else:
                target.unlink(missing_ok=True)
        raise
    for _, earlier in placed:
        if earlier is not None:
            earlier.unlink(missing_ok=True)


def _keep_earlier(target: Path) -> Path | None:
    """A second name, hidden beside ``target``, for the file there (None when there is none),
    for :func:`place` to put back: a hard link, else a copy where links are not supported."""
    if not target.exists():
        return None
    earlier = target.with_name(f".{target.name}.{secrets.token_hex(8)}.before")
    try:
        os.link(target, earlier)  # never over anything
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        shutil.copy2(target, earlier)  # a file system without hard links (FAT, exFAT)
    return earlier


def _rename(temporary: Path, target: Path, *, replace: bool) -> None:
    """``temporary`` at ``target``: over what is there with ``replace``, else FileExistsError."""
    if replace:
        temporary.replace(target)
    else:
        os.link(temporary, target)  # fails with FileExistsError rather than overwrite
        temporary.unlink()


def write_atomic(path: Path, data: bytes, mode: int = 0o644, *, replace: bool = True) -> None:
    """``data`` at ``path``, whole or not at all."""
    with atomic_file(path, mode, replace=replace) as handle:
        handle.write(data)


class StagedFolder:
    """A private folder beside ``destination`` that becomes it, whole, when the ``with`` block
    ends without an error; on an error it is removed and ``destination`` is left as it was.

    An existing ``destination`` is refused (FileExistsError) unless ``force``; with ``force``
    it is moved aside to ``NAME.before-<UTC time>`` just before the rename and kept, never
    deleted: :attr:`moved_aside` says where. Never the root, the working folder or a folder
    above it. ``doing`` names the operation in the errors (``refusing to extract``).
    """

    def __init__(self, destination: Path, *, force: bool = False, doing: str = "write") -> None:
        self.destination = destination
        self.force = force
        self.doing = doing
        self.moved_aside: Path | None = None
        self._work: Path | None = None

    def __enter__(self) -> Path:
        destination = self.destination
        refuse_link(destination)
        if destination.exists() and not self.force:
            raise FileExistsError(destination)
        refuse_replacing_above(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        self._work = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
        return self._work

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        work = self._work
        assert work is not None, "entered first"
        if kind is not None:
            shutil.rmtree(work, ignore_errors=True)
            return
        try:
            work.chmod(0o755)
            if self.force and self.destination.exists():
                self.moved_aside = self._move_aside()
            work.rename(self.destination)  # fails, rather than replace, if a folder came back
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            if self.moved_aside is not None:
                self._put_back()
            raise
        fsync_dir(self.destination.parent)

    def _move_aside(self) -> Path:
        """Rename the destination to ``NAME.before-<UTC time>`` beside it, never over
        anything: that name is made first as an empty folder, which the rename replaces."""
        folder = self.destination
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for number in range(1000):
            aside = folder.with_name(
                f"{folder.name}.before-{stamp}" + (f".{number}" if number else "")
            )
            try:
                aside.mkdir()
            except FileExistsError:
                continue
            try:
                folder.rename(aside)
            except OSError as exc:
                aside.rmdir()
                raise InputError(
                    f"refusing to {self.doing}",
                    folder,
                    f"cannot move it aside to {aside}: {why(exc)}",
                ) from None
            return aside
        raise InputError(f"refusing to {self.doing}", folder, "no free name to move it aside to")

    def _put_back(self) -> None:
        """After a failed rename, the old folder back at its name; said, if that fails too."""
        aside = self.moved_aside
        assert aside is not None
        try:
            aside.rename(self.destination)
        except OSError as exc:
            raise InputError(
                f"{self.doing} failed",
                self.destination,
                f"the folder that was there is now {aside}: {why(exc)}",
            ) from exc
        self.moved_aside = None
