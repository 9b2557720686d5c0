"""Build transfer bundles: bag the payload, sign the tag manifest, archive reproducibly, sign
the archive.

Same inputs, same key and same ``SOURCE_DATE_EPOCH`` give the same bytes (tar and tar.gz;
Ed25519 signatures are deterministic). The archives and their signatures appear at their
names only when all of them are complete, together (:func:`airgap.fsutil.place`): each archive
first, then its signature, so a signature never names a missing archive; if one rename fails,
every file placed is put back as it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from airgap import __version__
from airgap.archive import write_tar
from airgap.bundle import bag
from airgap.errors import InputError
from airgap.fsutil import place, staged_file, tree
from airgap.names import escaped
from airgap.signing.minisign import SecretKey, Signature, blake2b_file, read_chunks


class Archive(StrEnum):
    """How a bundle is serialised."""

    TAR_GZ = "tar.gz"
    TAR = "tar"
    SEVEN_Z = "7z"


CHUNK = 1 << 20
Progress = Callable[[int], None]  # called with each count of payload bytes done


def no_progress(_: int) -> None:
    return None


@dataclass(frozen=True)
class PayloadFile:
    """A file to carry: its name under ``data/``, where it is, its size and SHA-256."""

    name: str
    source: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Created:
    """One bundle written: where, its id, and what its signature's trusted comment says."""

    archive: Path
    signature: Path
    bundle_id: str
    group_id: str
    part: int
    parts: int
    files: int
    payload_bytes: int
    trusted_comment: str
    removed: tuple[Path, ...] = ()  # files an earlier bundle of OUT left, removed (--force)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``bundle create``."""
        return {
            "archive": str(self.archive),
            "signature": str(self.signature),
            "bundle_id": self.bundle_id,
            "group_id": self.group_id,
            "part": self.part,
            "parts": self.parts,
            "files": self.files,
            "payload_bytes": self.payload_bytes,
            "trusted_comment": self.trusted_comment,
            "removed": [str(p) for p in self.removed],
        }


def payload_names(paths: Sequence[Path]) -> list[tuple[str, Path]]:
    """(name under data/, file) for every file named or found in a named folder. A link or
    anything else that is not a regular file in a folder is refused, never silently left out:
    a bundle carries every file it was given, or none."""
    found: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in tree(path) if not p.is_dir() or p.is_symlink())
            for p in files:
                if p.is_symlink() or not p.is_file():
                    raise InputError(
                        "cannot bundle",
                        p,
                        "a symbolic link" if p.is_symlink() else "not a regular file",
                        "a bundle carries regular files only: put the file "
                        "itself there, or move it out of the folder",
                    )
            pairs = [(f"{path.name}/{p.relative_to(path).as_posix()}", p) for p in files]
        elif path.is_file():
            pairs = [(path.name, path)]
        else:
            raise InputError("cannot read", path, "no such file or folder")
        for name, source in pairs:
            if why := bag.bad_name(name):
                raise InputError("cannot bundle", source, why)
            if name in found:
                raise InputError("cannot bundle", source, f"two files would be data/{name}")
            found[name] = source
    return sorted(found.items())


def split(files: Sequence[PayloadFile], max_bytes: int | None) -> list[list[PayloadFile]]:
    """Whole files into groups of at most ``max_bytes`` payload each (a bigger file alone)."""
    if not max_bytes:
        return [list(files)]
    groups: list[list[PayloadFile]] = [[]]
    size = 0
    for item in files:
        if groups[-1] and size + item.size > max_bytes:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += item.size
    return groups


def bundle_ids(
    groups: Sequence[Sequence[PayloadFile]],
    key: SecretKey,
    epoch: int,
    direction: str,
    answers: str | None,
) -> tuple[str, list[str]]:
    """The group id and each part's bundle id: derived from the content, so reproducible."""
    digest = hashlib.sha256(f"{key.public.id}\n{epoch}\n{direction}\n{answers}\n".encode())
    for group in groups:
        digest.update(bag.manifest_text({f.name: f.sha256 for f in group}).encode())
    day = datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d")
    group_id = f"AG{day}-{digest.hexdigest()[:12].upper()}"
    return group_id, [bag.part_id(group_id, k, len(groups)) for k in range(1, len(groups) + 1)]


def part_path(out: Path, part: int, parts: int, archive: str) -> Path:
    """``OUT`` itself for one bag; ``name.part2of3.tar.gz`` beside it for several."""
    if parts == 1:
        return out
    stem = out.name.removesuffix(f".{archive}")
    return out.with_name(f"{stem}.part{part}of{parts}.{archive}")


_PART_NAME = re.compile(r"(?P<stem>.+)\.part[1-9][0-9]*of[1-9][0-9]*\.(?P<archive>[^/]+)")


def sibling_part(name: str, part: int, parts: int) -> str | None:
    """The file name part ``part`` of ``parts`` has beside a part named ``name``, as
    :func:`part_path` names them; None when ``name`` is not named like a part."""
    match = _PART_NAME.fullmatch(name)
    if match is None:
        return None
    return f"{match['stem']}.part{part}of{parts}.{match['archive']}"


def earlier_outputs(out: Path, archive: str) -> list[Path]:
    """What an earlier ``create`` of ``out`` left: ``OUT``, its parts of any earlier split,
    and their signatures."""
    stem = re.escape(out.name.removesuffix(f".{archive}"))
    pattern = re.compile(
        rf"(?:{re.escape(out.name)}|{stem}\.part[1-9][0-9]*of[1-9][0-9]*"
        rf"\.{re.escape(archive)})(?:\.minisig)?"
    )
    if not out.parent.is_dir():
        return []
    return sorted(p for p in out.parent.iterdir() if pattern.fullmatch(p.name))


def create(
    out: Path,
    files: Sequence[PayloadFile],
    key: SecretKey,
    *,
    direction: str,
    answers: str | None,
    epoch: int,
    archive: str = "tar.gz",
    max_bytes: int | None = None,
    contents: str = "",
    overwrite: bool = False,
    progress: Progress = no_progress,
    checkpoint: bytes = b"",
) -> list[Created]:
    """Write the bundle (several whole bags when ``max_bytes`` splits the payload).

    Every part is written and signed under a temporary name first; only then do all of them
    take their names. With ``overwrite``, what an earlier run left under OUT's names (an
    earlier split into another number of parts, say) is removed once the new parts are in
    place, so that no old part is mistaken for one of the new bundle."""
    groups = split(files, max_bytes)
    group_id, ids = bundle_ids(groups, key, epoch, direction, answers)
    targets = [part_path(out, k, len(groups), archive) for k in range(1, len(groups) + 1)]
    earlier = earlier_outputs(out, archive)
    for path in earlier:
        if path.is_dir() and not path.is_symlink():
            raise InputError("refusing to overwrite", path, "a folder is there")
        if not overwrite:
            raise InputError("refusing to overwrite", path, "it exists (use --force)")
    pending: list[tuple[Path, Path, Created]] = []
    try:
        for number, (group, bundle_id, target) in enumerate(
            zip(groups, ids, targets, strict=True), start=1
        ):
            info = bag.BagInfo(
                bundle_id,
                group_id,
                number,
                len(groups),
                direction,
                answers,
                datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d"),
                sum(f.size for f in group),
                len(group),
                contents,
            )
            pending.append(_write(target, group, info, key, epoch, archive, progress, checkpoint))
        place(
            [
                move
                for archive_temporary, signature_temporary, made in pending
                for move in (
                    (archive_temporary, made.archive),
                    (signature_temporary, made.signature),
                )
            ]
        )
    except BaseException:
        for archive_temporary, signature_temporary, _ in pending:
            archive_temporary.unlink(missing_ok=True)
            signature_temporary.unlink(missing_ok=True)
        raise
    new = {p for m in pending for p in (m[2].archive, m[2].signature)}
    removed = tuple(p for p in earlier if p not in new)
    for path in removed:
        path.unlink(missing_ok=True)
    created = [made for _, _, made in pending]
    if removed:
        created[0] = dataclasses.replace(created[0], removed=removed)
    return created


def _tag_files(
    files: Sequence[PayloadFile],
    info: bag.BagInfo,
    key: SecretKey,
    epoch: int,
    archive_name: str,
    checkpoint: bytes,
) -> dict[str, bytes]:
    tags = {
        bag.BAGIT: bag.BAGIT_TEXT.encode(),
        bag.BAG_INFO: info.text(__version__).encode(),
        bag.MANIFEST: bag.manifest_text({bag.DATA + f.name: f.sha256 for f in files}).encode(),
        bag.VERIFY: bag.verify_text(info.bundle_id, archive_name).encode(),
        bag.CHECKPOINT: checkpoint,  # the sender's ledger checkpoint, when it keeps a ledger
    }
    tagmanifest = bag.manifest_text({name: bag.sha256(data) for name, data in tags.items()})
    tags[bag.TAG_MANIFEST] = tagmanifest.encode()
    inner = Signature.create(
        key,
        blake2b_file([tags[bag.TAG_MANIFEST]]),
        f"timestamp:{epoch}\tfile:{bag.TAG_MANIFEST}\tctx:{bag.BAG_CTX}\tbundle:{info.bundle_id}",
    )
    tags[bag.INNER_SIGNATURE] = inner.text().encode()
    return tags


def _write(
    target: Path,
    files: Sequence[PayloadFile],
    info: bag.BagInfo,
    key: SecretKey,
    epoch: int,
    archive: str,
    progress: Progress,
    checkpoint: bytes,
) -> tuple[Path, Path, Created]:
    """One part, archive and signature, under temporary names beside ``target``."""
    tags = _tag_files(files, info, key, epoch, escaped(target.name), checkpoint)
    members: list[tuple[str, int, Any]] = [(name, len(data), data) for name, data in tags.items()]
    members += [(bag.DATA + f.name, f.size, f) for f in files]
    members.sort(key=lambda m: m[0])
    prefix = info.bundle_id + "/"
    total = sum(size for _, size, _ in members)
    signature_path = Path(f"{target}.minisig")
    # owner-only, as bundle archives have always been written (mkstemp's mode)
    with staged_file(target, 0o600) as (raw, temporary):
        if archive == "7z":
            _write_7z(raw, prefix, _contents(members, progress))
        else:
            write_tar(
                raw, _contents(members, progress, prefix), epoch, compress=archive == "tar.gz"
            )
    try:
        comment = (
            f"timestamp:{epoch}\tfile:{escaped(target.name)}\tctx:{bag.BUNDLE_CTX}"
            f"\tbundle:{info.bundle_id}\tsize:{total}\tfiles:{len(members)}"
        )
        signature = Signature.create(
            key,
            blake2b_file(read_chunks(temporary)),
            comment,
            f"signature from airgap key {key.public.id}",
        )
        with staged_file(signature_path) as (handle, signature_temporary):
            handle.write(signature.text().encode())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return (
        temporary,
        signature_temporary,
        Created(
            target,
            signature_path,
            info.bundle_id,
            info.group_id,
            info.part,
            info.parts,
            info.payload_files,
            info.payload_bytes,
            comment,
        ),
    )


class _Verified(io.RawIOBase):
    """Reads a payload file while hashing it; the hash must still be the one validated."""

    def __init__(self, item: PayloadFile, progress: Progress) -> None:
        self.item = item
        self.progress = progress
        self.handle = item.source.open("rb")
        self.digest = hashlib.sha256()
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.handle.read(len(buffer))
        buffer[: len(data)] = data
        self.digest.update(data)
        self.read_bytes += len(data)
        self.progress(len(data))
        return len(data)

    def check(self) -> None:
        self.handle.close()
        if self.read_bytes != self.item.size or self.digest.hexdigest() != self.item.sha256:
            raise InputError(
                "cannot bundle", self.item.source, "the file changed after it was validated"
            )


Contents = Iterator[tuple[str, int, Any]]


def _contents(
    members: list[tuple[str, int, Any]], progress: Progress, prefix: str = ""
) -> Contents:
    """Each member's name, size and a reader; payload files are re-hashed as they are read."""
    for name, size, body in members:
        if isinstance(body, PayloadFile):
            reader = _Verified(body, progress)
            yield prefix + name, size, reader
            reader.check()
        else:
            yield prefix + name, size, io.BytesIO(body)


def _write_7z(raw: IO[bytes], prefix: str, members: Contents) -> None:
    try:
        import py7zr
    except ImportError:
        raise InputError(
            "cannot write 7z", None, "7z support is not installed", "pip install 'airgap[7z]'"
        ) from None
    with py7zr.SevenZipFile(raw, "w") as archive:
        for name, _, handle in members:
            # py7zr takes a seekable reader: one payload file is held in memory at a time
            archive.writef(io.BytesIO(handle.read()), prefix + name)


def read_payload(name: str, source: Path) -> PayloadFile:
    """Size and SHA-256 of a payload file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    for chunk in read_chunks(source):
        digest.update(chunk)
        size += len(chunk)
    return PayloadFile(name, source, size, digest.hexdigest())
