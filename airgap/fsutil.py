"""Files that appear whole or not at all: write beside the target, fsync, rename, fsync the
folder. A crash leaves the old file (or nothing) at the target name, never half a file."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from airgap.errors import InputError


def refuse_link(path: Path) -> None:
    """Refuse to write where a symbolic link is (dangling or not): the write would replace
    the link the user had, or a link planted on a medium would send it elsewhere."""
    if path.is_symlink():
        raise InputError("refusing to write", path, "a symbolic link is there",
                         "name its target, or another path")


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path, mode: int = 0o644, *, replace: bool = True) -> Iterator[IO[bytes]]:
    """Write ``path`` through a temporary file beside it; it appears only when the block ends
    without an error. With ``replace=False`` an existing ``path`` is never overwritten."""
    refuse_link(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            temporary.replace(path)
        else:
            os.link(temporary, path)  # fails with FileExistsError rather than overwrite
            temporary.unlink()
        fsync_dir(path.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes, mode: int = 0o644, *, replace: bool = True) -> None:
    """``data`` at ``path``, whole or not at all."""
    with atomic_file(path, mode, replace=replace) as handle:
        handle.write(data)


@contextlib.contextmanager
def staged_folder(destination: Path, *, force: bool = False) -> Iterator[Path]:
    """A private folder beside ``destination`` that becomes it, whole, when the block ends
    without an error; on an error it is removed and ``destination`` is left as it was.
    An existing ``destination`` is replaced only with ``force`` (FileExistsError otherwise);
    never the root, the working folder or a folder above it."""
    refuse_link(destination)
    if destination.exists() and not force:
        raise FileExistsError(destination)
    resolved = destination.resolve()
    if resolved == Path(resolved.anchor) or resolved in (Path.cwd(), *Path.cwd().parents):
        raise InputError("refusing to replace", destination, "the root, the working folder or "
                         "a folder above it", "name a new folder below it")
    destination.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        yield work
        work.chmod(0o755)
        _replace(work, destination)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _replace(work: Path, destination: Path) -> None:
    old = None
    if destination.exists():
        old = destination.with_name(f".{destination.name}.old.{os.getpid()}")
        destination.rename(old)
    try:
        work.rename(destination)
    except OSError:
        if old is not None:
            old.rename(destination)
        raise
    fsync_dir(destination.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
