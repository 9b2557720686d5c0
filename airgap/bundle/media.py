"""The USB step: write a bundle and its signature to removable media and read them back; scan a
medium for anything that is not a bundle with its signature.

Read-back asks the kernel to drop its cached copy first (``posix_fadvise``), so that the
comparison reads what reached the medium where the system allows it.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airgap.archive import archive_type
from airgap.bundle import bag
from airgap.bundle.create import Progress, no_progress
from airgap.bundle.parts import Missing, missing_parts
from airgap.bundle.verify import check_signature, read_signature, renamed, signed_message
from airgap.errors import InputError, TrustError, why
from airgap.fsutil import fsync_dir, staged_file, walk_tree
from airgap.signing.minisign import Signature, SignatureError
from airgap.signing.trust import Trusted

CHUNK = 1 << 20
SIGNATURE_SUFFIX = ".minisig"


def sha256_file(path: Path, *, uncached: bool = False, progress: Progress = no_progress) -> str:
    """Hex SHA-256 of a file; ``uncached`` drops the page cache first where possible."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        if uncached and hasattr(os, "posix_fadvise"):
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            progress(len(chunk))
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
        return {
            "source": str(self.source),
            "target": str(self.target),
            "size": self.size,
            "sha256": self.sha256,
        }


def write(
    bundle: Path, destination: Path, *, overwrite: bool = False, progress: Progress = no_progress
) -> list[Written]:
    """Copy the bundle and its signature to the medium and compare what reads back.

    Both are written under temporary names, synced and read back first; only then does the
    signature take its name, then the bundle. A failure at any point leaves neither file
    (no signature without its bundle), and a file already on the medium is replaced only
    with ``overwrite``. ``progress`` is told each byte written and each byte read back."""
    signature = Path(f"{bundle}{SIGNATURE_SUFFIX}")
    for path in (bundle, signature):
        if not path.is_file():
            raise InputError("cannot write to media", path, "no such file")
    if not destination.is_dir():
        raise InputError("cannot write to media", destination, "not a folder")
    for source in (signature, bundle):
        target = destination / source.name
        if not overwrite and (target.exists() or target.is_symlink()):
            raise InputError(
                "refusing to overwrite", target, "it is on the medium already (use --force)"
            )
    staged: list[tuple[Path, Written]] = []
    placed: list[Path] = []
    try:
        for source in (signature, bundle):
            staged.append(_copy(source, destination / source.name, progress))
        for temporary, written in staged:  # signature first: a bundle on the medium has one
            temporary.replace(written.target)
            placed.append(written.target)
        fsync_dir(destination)
    except BaseException as exc:
        for path in [t for t, _ in staged] + placed:
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError("cannot write to media", destination, why(exc)) from None
        raise
    return [w for _, w in staged][::-1]


def _copy(source: Path, target: Path, progress: Progress) -> tuple[Path, Written]:
    """``source`` in a synced temporary file beside ``target``, read back from the medium."""
    digest = hashlib.sha256()
    size = 0
    try:
        with source.open("rb") as reader, staged_file(target) as (writer, temporary):
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                writer.write(chunk)
                progress(len(chunk))
    except OSError as exc:
        raise InputError("cannot write to media", target, why(exc)) from None
    expected = digest.hexdigest()
    try:
        if sha256_file(temporary, uncached=True, progress=progress) != expected:
            raise TrustError(
                "read-back mismatch",
                target,
                "the medium returned other bytes than were written",
                "use another medium",
            )
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError("cannot write to media", target, why(exc)) from None
        raise
    return temporary, Written(source, target, size, expected)


def identity(path: Path) -> dict[str, str | None]:
    """What the system says about the medium holding ``path``: device, mount point,
    filesystem UUID and label, and the disk's serial, each None when not exposed."""
    result: dict[str, str | None] = {
        "device": None,
        "mount_point": None,
        "fs_uuid": None,
        "label": None,
        "serial": None,
    }
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


@dataclass(frozen=True)
class Incomplete:
    """A split bundle of which the medium holds some parts only."""

    group_id: str
    parts: int
    present: list[str]  # paths of the parts that are there
    missing: list[Missing]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "group_id": self.group_id,
            "parts": self.parts,
            "present": self.present,
            "missing": [m._asdict() for m in self.missing],
        }

    def text(self) -> str:
        """One line naming what is missing."""
        missing = "; ".join(f"part {m.part} ({m.text()})" for m in self.missing)
        return (
            f"incomplete split bundle {self.group_id}: {len(self.present)} of "
            f"{self.parts} parts here, missing {missing}"
        )


@dataclass
class Scan:
    """What a medium holds: bundles with their signatures, and everything else.

    Without trusted keys no signature is verified (``signatures_verified`` is false): which
    parts belong together is then read from the signatures' trusted comments unchecked."""

    bundles: list[str] = field(default_factory=list)
    unexpected: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    incomplete: list[Incomplete] = field(default_factory=list)
    signatures_verified: bool = False
    bad_signatures: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``media scan``."""
        return {
            "bundles": self.bundles,
            "unexpected": [{"path": p, "why": w} for p, w in self.unexpected],
            "incomplete": [i.to_dict() for i in self.incomplete],
            "signatures_verified": self.signatures_verified,
            "bad_signatures": [{"path": p, "why": w} for p, w in self.bad_signatures],
        }


def scan(top: Path, trusted: Trusted | None = None) -> Scan:
    """Everything on a medium that is not a known bundle beside its signature, and every split
    bundle of which parts are missing; with ``trusted``, every bundle's signature checked
    (against the trusted keys, and the name it was signed as)."""
    if not top.is_dir():
        raise InputError("cannot scan", top, "not a folder")
    result = Scan(signatures_verified=trusted is not None)
    signed: list[tuple[Path, Signature]] = []
    for base, subfolders, files in walk_tree(top):
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
            why_unexpected = _unexpected(path, names)
            if why_unexpected:
                result.unexpected.append((str(path), why_unexpected))
                continue
            if name.endswith(SIGNATURE_SUFFIX):
                continue  # a bundle's signature: read with its bundle
            sig_path = Path(f"{path}{SIGNATURE_SUFFIX}")
            try:
                signed.append((path, read_signature(sig_path)))
            except SignatureError as exc:
                result.unexpected.append((str(sig_path), exc.why or exc.what))
                continue
            result.bundles.append(str(path))
    if trusted is not None:
        for path, signature in signed:
            if problem := _signature_problem(path, signature, trusted):
                result.bad_signatures.append((str(path), problem))
    result.incomplete = _incomplete(signed)
    return result


_APPROVAL = re.compile(r"^(?P<bundle>.+)\.approved-[0-9A-F]{16}$")


def _unexpected(path: Path, names: set[str]) -> str | None:
    """Why a file on the medium is neither a bundle nor a bundle's signature, or None."""
    name = path.name
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    if name.startswith("."):
        return "hidden file"
    if name.endswith(SIGNATURE_SUFFIX):
        signed = name.removesuffix(SIGNATURE_SUFFIX)
        approved = _APPROVAL.match(signed)  # a second person's approval: BUNDLE.approved-ID
        if approved:
            signed = approved["bundle"]
        return (
            None
            if signed in names
            else ("approval without its bundle" if approved else "signature without its bundle")
        )
    if f"{name}{SIGNATURE_SUFFIX}" not in names:
        return "no signature beside it"
    if not _is_archive(path):
        return "signed, but not an archive"
    return None


def _signature_problem(path: Path, signature: Signature, trusted: Trusted) -> str | None:
    """Why a bundle's signature does not verify, or None when it does."""
    sig_path = Path(f"{path}{SIGNATURE_SUFFIX}")
    try:
        check_signature(signature, sig_path, signed_message(signature, path), trusted, path)
    except SignatureError as exc:
        return exc.message
    except OSError as exc:
        return f"cannot read: {why(exc)}"
    other_name = renamed(signature.fields(), path.name)
    return f"renamed or replayed bundle: {other_name}" if other_name else None


def _incomplete(signed: list[tuple[Path, Signature]]) -> list[Incomplete]:
    """Split bundles with parts missing, grouped by the bundle ids the signatures name."""
    groups: dict[tuple[str, int], dict[int, tuple[Path, str]]] = {}
    for path, signature in signed:
        fields = signature.fields()
        group, part, parts = bag.part_of(fields.get("bundle", ""))
        if parts > 1:
            groups.setdefault((group, parts), {})[part] = (path, fields.get("file", path.name))
    found = []
    for (group, parts), present in sorted(groups.items()):
        missing = missing_parts(group, parts, present, next(iter(present.values()))[1])
        if missing:
            found.append(Incomplete(group, parts, [str(p) for p, _ in present.values()], missing))
    return found


def _is_archive(path: Path) -> bool:
    with path.open("rb") as handle:
        return archive_type(handle.read(512)) is not None
