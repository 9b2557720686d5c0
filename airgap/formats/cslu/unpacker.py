"""Read CSLU-style upload archives and CSSM ACK archives in memory, within the archive
budget, and write their files out only when asked (each atomically, all or nothing)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airgap import archive
from airgap.errors import AirgapError, InputError, UnknownKindError
from airgap.formats.cslu.layout import ACK, MANIFEST, UPLOAD, Content, Manifest, classify
from airgap.fsutil import write_atomic

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".7z")


@dataclass(frozen=True)
class UnpackedFile:
    """A file inside a CSLU or ACK archive: its place (one part per nesting level), bytes, and
    what its content is."""

    parts: tuple[str, ...]
    data: bytes
    content: Content
    virtual_account: str | None = None  # from the manifest, for files in an upload archive
    answers: str | None = None  # for ACK_<name>: the uploaded file it answers (SEEN naming)

    @property
    def path(self) -> str:
        """``UD_VA_<ts>.tar.gz/dev_1_<ts>.txt``: nesting kept."""
        return "/".join(self.parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (bytes as size and SHA-256)."""
        c = self.content
        return {
            "member": self.path,
            "kind": c.kind,
            "size": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "udis": [u.to_dict() for u in c.udis],
            "udis_inferred": [u.to_dict() for u in c.inferred_udis],
            "report_ids": list(c.report_ids),
            "virtual_account": self.virtual_account,
            "answers": self.answers,
            "error": c.error,
        }


@dataclass(frozen=True)
class Unpacked:
    """An archive read by :func:`unpack`: its kind, manifest (uploads) and files."""

    name: str
    kind: str
    manifest: Manifest | None
    files: tuple[UnpackedFile, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "archive": self.name,
            "kind": self.kind,
            "manifest": self.manifest.to_dict() if self.manifest else None,
            "notes": list(self.notes),
            "files": [f.to_dict() for f in self.files],
        }


def _kind(files: Iterable[str], archives: Iterable[str]) -> str | None:
    """The archive kind from its top-level members, by the names Cisco's sample relies on."""
    inner = [a.rsplit("/", 1)[-1] for a in archives]
    if any("ACK_UD_VA" in a for a in inner):
        return ACK
    if any(a.startswith("UD_VA") for a in inner) or MANIFEST in set(files):
        return UPLOAD
    return None


def detect(data: bytes | Path, limits: archive.Limits | None = None) -> str | None:
    """``"cslu-upload-archive"``, ``"cssm-ack-archive"`` or None, from an archive's top-level
    members (bytes, or a file read within ``limits``); unsafe, broken or unreadable archives
    are None (reading them reports why)."""
    try:
        if archive.archive_type(_head(data)) is None:
            return None
        members = list(archive.read_members(data, "", limits, levels=1))
    except (AirgapError, OSError):
        return None
    tops = [(m.name, archive.archive_type(m.data[:512]) is not None) for m in members]
    return _kind([n for n, a in tops if not a], [n for n, a in tops if a])


def unpack(source: Path | bytes, name: str, limits: archive.Limits | None = None) -> Unpacked:
    """Read an upload or ACK archive in memory within ``limits`` (the whole archive, the
    archives in it included, in one walk); nothing is written. Unsafe members raise
    :class:`~airgap.archive.UnsafeArchiveError` (exit 4), broken archives
    :class:`~airgap.archive.CorruptArchiveError` (exit 1), anything else
    :class:`~airgap.errors.UnknownKindError` (exit 3)."""
    try:
        head = _head(source)
    except OSError as exc:
        raise InputError(
            "cannot read", source if isinstance(source, Path) else name, exc.strerror or str(exc)
        ) from None
    if archive.archive_type(head) is None:
        raise UnknownKindError("cannot unpack", name, "not an archive")
    return from_members(name, archive.read_members(source, name, limits, levels=2))


def from_members(name: str, members: Iterable[archive.Member]) -> Unpacked:
    """An upload or ACK archive from its members as the archive walker read them (the
    archive ``name`` itself, then each nested archive); :class:`UnknownKindError` when it
    is neither."""
    raw = [(m.parts[1:], m.data) for m in members]
    kind = _kind([p[0] for p, _ in raw if len(p) == 1], {p[0] for p, _ in raw if len(p) > 1})
    if kind is None:
        raise UnknownKindError(
            "cannot unpack", name, "neither a CSLU upload archive nor a CSSM ACK archive"
        )
    manifest_data = next((d for p, d in raw if p == (MANIFEST,)), None)
    manifest = Manifest.parse(manifest_data) if manifest_data is not None else None
    accounts, notes = _match_manifest(manifest, sorted({p[0] for p, _ in raw if len(p) > 1}))
    files = tuple(
        UnpackedFile(
            parts,
            data,
            classify(data),
            accounts.get(parts[0]),
            _answers(parts[-1]) if kind == ACK else None,
        )
        for parts, data in raw
    )
    return Unpacked(name, kind, manifest, files, tuple(notes))


def _head(source: Path | bytes) -> bytes:
    if isinstance(source, bytes):
        return source[:512]
    with source.open("rb") as handle:
        return handle.read(512)


def _answers(member: str) -> str | None:
    own = member.rsplit("/", 1)[-1]
    return own.removeprefix("ACK_") if own.startswith("ACK_") else None


def _match_manifest(
    manifest: Manifest | None, va_archives: list[str]
) -> tuple[dict[str, str], list[str]]:
    """VA archive -> virtual account, and notes on names the manifest and archive disagree on
    (Cisco's sample itself names ``.ta.gz`` in the manifest for a ``_py.tar.gz`` file)."""
    if manifest is None:
        return {}, [f"no {MANIFEST}"] if va_archives and any(
            a.startswith("UD_VA") for a in va_archives
        ) else []
    named = {e.name: e.virtual_account for e in manifest.entries}
    accounts = {a: named.pop(a) for a in va_archives if a in named}
    left = [a for a in va_archives if a not in accounts]
    notes = []
    if len(left) == 1 and len(named) == 1:
        [(entry, va)] = list(named.items())
        accounts[left[0]] = va
        notes.append(f"{MANIFEST} names {entry} for {left[0]}")
    else:
        notes += [f"{MANIFEST} names {n}, which the archive does not hold" for n in named]
        notes += [f"{a} is not named in {MANIFEST}" for a in left]
    return accounts, notes


def target_path(parts: Sequence[str]) -> Path:
    """Where a member goes under DEST: each nested archive becomes a folder named without its
    ``.tar.gz`` (``UD_VA_x.tar.gz/dev_1.txt`` -> ``UD_VA_x/dev_1.txt``)."""
    folders = [_folder(p) for p in parts[:-1]]
    pieces = [*folders, *parts[-1].split("/")]
    shown = "/".join(parts)
    for piece in pieces:
        if (
            piece in ("", ".", "..")
            or "\\" in piece
            or any(ord(c) < 32 or c == "\x7f" for c in piece)
        ):
            raise archive.UnsafeArchiveError(
                "unsafe archive member",
                shown.encode("unicode_escape").decode(),
                "its name cannot be a path inside DEST",
            )
    return Path(*pieces)


def _folder(name: str) -> str:
    for suffix in _ARCHIVE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def write_unpacked(files: Sequence[UnpackedFile], dest: Path, *, force: bool = False) -> list[Path]:
    """Write files under ``dest`` (see :func:`target_path`), each atomically. Every target is
    checked first: inside ``dest`` once resolved, no two the same, none existing unless
    ``force``. If writing fails, what this call wrote is removed again."""
    if dest.exists() and not dest.is_dir():
        raise InputError("cannot unpack", dest, "not a folder")
    root = dest.resolve()
    targets = [dest / target_path(f.parts) for f in files]
    folders = {parent for t in targets for parent in t.parents if dest in parent.parents}
    for file, target in zip(files, targets, strict=True):
        if not target.resolve().is_relative_to(root) or target.resolve() == root:
            raise archive.UnsafeArchiveError(
                "refusing to write outside DEST",
                target,
                f"{file.path} resolves to {target.resolve()}",
            )
        if targets.count(target) > 1 or target in folders:
            raise archive.UnsafeArchiveError(
                "unsafe archive member", file.path, f"another member is also written to {target}"
            )
        if target.is_dir() or ((target.exists() or target.is_symlink()) and not force):
            raise InputError("refusing to overwrite", target, "it exists (use --force)")
    new_folders = sorted(
        (f for f in folders | {dest} if not f.exists()), key=lambda p: len(p.parts)
    )
    written: list[Path] = []
    try:
        for file, target in zip(files, targets, strict=True):
            existed = target.exists()
            try:
                write_atomic(target, file.data, replace=force)
            except FileExistsError:
                raise InputError(
                    "refusing to overwrite", target, "it exists (use --force)"
                ) from None
            except OSError as exc:
                raise InputError("cannot write", target, exc.strerror or str(exc)) from None
            if not existed:
                written.append(target)
    except BaseException:
        _undo(written, new_folders)
        raise
    return targets


def _undo(written: list[Path], new_folders: list[Path]) -> None:
    """Remove what a failed write left: the files it created, then the folders, deepest first."""
    for path in written:
        path.unlink(missing_ok=True)
    for folder in reversed(new_folders):
        with contextlib.suppress(OSError):
            folder.rmdir()
