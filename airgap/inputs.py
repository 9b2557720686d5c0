"""Turn the paths a user names into the files to look at: folders are walked, kinds sniffed.

Files named on the command line are always examined. Files met while walking a folder are
examined only when their content is of a kind airgap knows; the others are skipped with a
note, as are symbolic links, hidden folders and paths matching an exclude pattern.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from airgap import formats

HEAD_BYTES = 64 * 1024
MAX_FILE_BYTES = 1 << 30


@dataclass(frozen=True)
class Item:
    """A file to examine: its bytes and what a look at them says it is."""

    path: str
    data: bytes
    sniff: formats.Sniff
    named: bool


@dataclass(frozen=True)
class Skipped:
    """A file met while walking that is not examined, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Unreadable:
    """A named path that is missing or cannot be read (exit 3)."""

    path: str
    reason: str


Entry = Item | Skipped | Unreadable


def walk(paths: Iterable[str], exclude: Iterable[str] = ()) -> Iterator[Entry]:
    """Every file under ``paths``, in a stable order, with its bytes and sniffed kind."""
    patterns = tuple(exclude)
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from _walk_folder(path, patterns)
        elif path.exists() or path.is_symlink():
            yield _read(path, named=True)
        else:
            yield Unreadable(name, "no such file or folder")


def _walk_folder(top: Path, patterns: tuple[str, ...]) -> Iterator[Entry]:
    errors: list[OSError] = []
    for folder, subfolders, files in os.walk(top, onerror=errors.append):
        yield from (Unreadable(e.filename or str(top), e.strerror or str(e)) for e in errors)
        errors.clear()
        base = Path(folder)
        keep = []
        for name in sorted(subfolders):
            path = base / name
            if _excluded(path, top, patterns):
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
            if _excluded(path, top, patterns):
                continue
            if path.is_symlink():
                yield Skipped(str(path), "symbolic link")
                continue
            yield _read(path, named=False)
    yield from (Unreadable(e.filename or str(top), e.strerror or str(e)) for e in errors)


def _excluded(path: Path, top: Path, patterns: tuple[str, ...]) -> bool:
    relative = path.relative_to(top).as_posix()
    return any(fnmatch(relative, p) or fnmatch(path.as_posix(), p) for p in patterns)


def _read(path: Path, *, named: bool) -> Entry:
    """Read a file's head, sniff it, and read the rest only when it is worth examining."""
    if not path.is_file():  # checked before opening: a FIFO would block the open
        if named:
            return Unreadable(str(path), "not a regular file")
        return Skipped(str(path), "not a regular file")
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                return Unreadable(str(path), f"{size} bytes, over the {MAX_FILE_BYTES} limit")
            data = handle.read(HEAD_BYTES)
            sniff = formats.sniff(data)
            if sniff.family is None and not named:
                return Skipped(str(path), "no known kind")
            data += handle.read()
    except OSError as exc:
        return Unreadable(str(path), exc.strerror or str(exc))
    return Item(str(path), data, sniff, named)
