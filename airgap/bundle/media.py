"""The USB step: write a bundle and its signature to removable media and read them back; scan a
medium for anything that is not a bundle with its signature.

Read-back asks the kernel to drop its cached copy first (``posix_fadvise``), so that the
comparison reads what reached the medium where the system allows it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airgap.bundle.archive import archive_type
from airgap.errors import InputError, TrustError
from airgap.fsutil import atomic_file

CHUNK = 1 << 20
SIGNATURE_SUFFIX = ".minisig"


def sha256_file(path: Path, *, uncached: bool = False) -> str:
    """Hex SHA-256 of a file; ``uncached`` drops the page cache first where possible."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        if uncached and hasattr(os, "posix_fadvise"):
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Written:
    """One file copied to the medium and read back."""

    source: Path
    target: Path
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"source": str(self.source), "target": str(self.target), "size": self.size,
                "sha256": self.sha256}


def write(bundle: Path, destination: Path) -> list[Written]:
    """Copy the bundle and its signature (atomically, synced), then compare what reads back."""
    signature = Path(f"{bundle}{SIGNATURE_SUFFIX}")
    for path in (bundle, signature):
        if not path.is_file():
            raise InputError("cannot write to media", path, "no such file")
    if not destination.is_dir():
        raise InputError("cannot write to media", destination, "not a folder")
    written = []
    for source in (signature, bundle):  # signature first: a bundle on the medium has one
        target = destination / source.name
        digest = hashlib.sha256()
        with source.open("rb") as reader, atomic_file(target) as writer:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                writer.write(chunk)
        expected = digest.hexdigest()
        if sha256_file(target, uncached=True) != expected:
            raise TrustError("read-back mismatch", target,
                             "the medium returned other bytes than were written",
                             "use another medium")
        written.append(Written(source, target, source.stat().st_size, expected))
    return written[::-1]


def identity(path: Path) -> dict[str, str | None]:
    """What the system says about the medium holding ``path``: device, mount point,
    filesystem UUID and label, and the disk's serial, each None when not exposed."""
    result: dict[str, str | None] = {"device": None, "mount_point": None, "fs_uuid": None,
                                     "label": None, "serial": None}
    try:
        device = path.stat().st_dev
        numbers = f"{os.major(device)}:{os.minor(device)}"
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            parts = line.split()
            if parts[2] == numbers:
                result["mount_point"] = parts[4]
                result["device"] = parts[parts.index("-") + 2]
        block = Path(f"/sys/dev/block/{numbers}").resolve()
        for folder, key in (("by-uuid", "fs_uuid"), ("by-label", "label")):
            for link in sorted(Path(f"/dev/disk/{folder}").glob("*")):
                if link.resolve().name == block.name:
                    result[key] = link.name
        for candidate in (block / "device" / "serial", block.parent / "device" / "serial"):
            if candidate.is_file():
                result["serial"] = candidate.read_text().strip() or None
                break
    except (OSError, ValueError, IndexError):
        pass  # best effort: not every system exposes these
    return result


@dataclass
class Scan:
    """What a medium holds: bundles with their signatures, and everything else."""

    bundles: list[str] = field(default_factory=list)
    unexpected: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``media scan``."""
        return {"bundles": self.bundles,
                "unexpected": [{"path": p, "why": w} for p, w in self.unexpected]}


def scan(top: Path) -> Scan:
    """Everything on a medium that is not a known bundle beside its signature."""
    if not top.is_dir():
        raise InputError("cannot scan", top, "not a folder")
    result = Scan()
    for folder, subfolders, files in os.walk(top):
        base = Path(folder)
        for name in sorted(subfolders):
            path = base / name
            if path.is_symlink():
                result.unexpected.append((str(path), "symbolic link"))
            elif name.startswith("."):
                result.unexpected.append((str(path), "hidden folder"))
        subfolders[:] = sorted(d for d in subfolders if not (base / d).is_symlink())
        names = set(files)
        for name in sorted(files):
            path = base / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                result.unexpected.append((str(path), "symbolic link"))
            elif not stat.S_ISREG(mode):
                result.unexpected.append((str(path), "not a regular file"))
            elif name.startswith("."):
                result.unexpected.append((str(path), "hidden file"))
            elif name.endswith(SIGNATURE_SUFFIX):
                if name.removesuffix(SIGNATURE_SUFFIX) not in names:
                    result.unexpected.append((str(path), "signature without its bundle"))
            elif f"{name}{SIGNATURE_SUFFIX}" not in names:
                result.unexpected.append((str(path), "no signature beside it"))
            elif not _is_archive(path):
                result.unexpected.append((str(path), "signed, but not an archive"))
            else:
                result.bundles.append(str(path))
    return result


def _is_archive(path: Path) -> bool:
    with path.open("rb") as handle:
        return archive_type(handle.read(512)) is not None
