"""Files that appear whole or not at all: write beside the target, fsync, rename, fsync the
folder. A crash leaves the old file (or nothing) at the target name, never half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


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
