"""Build transfer bundles: bag the payload, sign the tag manifest, archive reproducibly, sign
the archive.

Same inputs, same key and same ``SOURCE_DATE_EPOCH`` give the same bytes (tar and tar.gz;
Ed25519 signatures are deterministic). The archive and its signature appear at their names
only when both are complete: the signature is renamed into place first, then the archive.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from airgap import __version__
from airgap.bundle import bag
from airgap.bundle.archive import write_tar
from airgap.errors import InputError
from airgap.fsutil import fsync_dir, write_atomic
from airgap.names import escaped
from airgap.signing.minisign import SecretKey, Signature, blake2b_file, read_chunks

ARCHIVES = ("tar.gz", "tar", "7z")
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

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``bundle create``."""
        return {"archive": str(self.archive), "signature": str(self.signature),
                "bundle_id": self.bundle_id, "group_id": self.group_id,
                "part": self.part, "parts": self.parts, "files": self.files,
                "payload_bytes": self.payload_bytes, "trusted_comment": self.trusted_comment}


def payload_names(paths: Sequence[Path]) -> list[tuple[str, Path]]:
    """(name under data/, file) for every file named or found in a named folder."""
    found: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
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


def bundle_ids(groups: Sequence[Sequence[PayloadFile]], key: SecretKey, epoch: int,
               direction: str, answers: str | None) -> tuple[str, list[str]]:
    """The group id and each part's bundle id: derived from the content, so reproducible."""
    digest = hashlib.sha256(f"{key.public.id}\n{epoch}\n{direction}\n{answers}\n".encode())
    for group in groups:
        digest.update(bag.manifest_text({f.name: f.sha256 for f in group}).encode())
    day = datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d")
    group_id = f"AG{day}-{digest.hexdigest()[:12].upper()}"
    if len(groups) == 1:
        return group_id, [group_id]
    return group_id, [f"{group_id}-{k}of{len(groups)}" for k in range(1, len(groups) + 1)]


def part_path(out: Path, part: int, parts: int, archive: str) -> Path:
    """``OUT`` itself for one bag; ``name.part2of3.tar.gz`` beside it for several."""
    if parts == 1:
        return out
    stem = out.name.removesuffix(f".{archive}")
    return out.with_name(f"{stem}.part{part}of{parts}.{archive}")


def create(out: Path, files: Sequence[PayloadFile], key: SecretKey, *, direction: str,
           answers: str | None, epoch: int, archive: str = "tar.gz",
           max_bytes: int | None = None, contents: str = "", overwrite: bool = False,
           progress: Progress = no_progress, checkpoint: bytes = b"") -> list[Created]:
    """Write the bundle (several whole bags when ``max_bytes`` splits the payload)."""
    groups = split(files, max_bytes)
    group_id, ids = bundle_ids(groups, key, epoch, direction, answers)
    targets = [part_path(out, k, len(groups), archive) for k in range(1, len(groups) + 1)]
    for target in targets:
        for path in (target, Path(f"{target}.minisig")):
            if path.exists() and not overwrite:
                raise InputError("refusing to overwrite", path, "it exists (use --force)")
    created = []
    for number, (group, bundle_id, target) in enumerate(zip(groups, ids, targets, strict=True),
                                                        start=1):
        info = bag.BagInfo(bundle_id, group_id, number, len(groups), direction, answers,
                           datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d"),
                           sum(f.size for f in group), len(group), contents)
        created.append(_write(target, group, info, key, epoch, archive, progress, checkpoint))
    return created


def _tag_files(files: Sequence[PayloadFile], info: bag.BagInfo, key: SecretKey, epoch: int,
               archive_name: str, checkpoint: bytes) -> dict[str, bytes]:
    tags = {
        bag.BAGIT: bag.BAGIT_TEXT.encode(),
        bag.BAG_INFO: info.text(__version__).encode(),
        bag.MANIFEST: bag.manifest_text({bag.DATA + f.name: f.sha256 for f in files}).encode(),
        bag.VERIFY: bag.verify_text(info.bundle_id, archive_name).encode(),
        bag.CHECKPOINT: checkpoint,  # the sender's ledger checkpoint, when it keeps a ledger
    }
    tagmanifest = bag.manifest_text({name: bag.sha256(data) for name, data in tags.items()})
    tags[bag.TAG_MANIFEST] = tagmanifest.encode()
    inner = Signature.create(key, blake2b_file([tags[bag.TAG_MANIFEST]]),
                             f"timestamp:{epoch}\tfile:{bag.TAG_MANIFEST}\tctx:{bag.BAG_CTX}"
                             f"\tbundle:{info.bundle_id}")
    tags[bag.INNER_SIGNATURE] = inner.text().encode()
    return tags


def _write(target: Path, files: Sequence[PayloadFile], info: bag.BagInfo, key: SecretKey,
           epoch: int, archive: str, progress: Progress, checkpoint: bytes) -> Created:
    tags = _tag_files(files, info, key, epoch, escaped(target.name), checkpoint)
    members: list[tuple[str, int, Any]] = [(name, len(data), data) for name, data in tags.items()]
    members += [(bag.DATA + f.name, f.size, f) for f in files]
    members.sort(key=lambda m: m[0])
    prefix = info.bundle_id + "/"
    total = sum(size for _, size, _ in members)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                          dir=target.parent)
    temporary = Path(temporary_name)
    signature_path = Path(f"{target}.minisig")
    try:
        with os.fdopen(fd, "wb") as raw:
            if archive == "7z":
                _write_7z(raw, prefix, _contents(members, progress))
            else:
                write_tar(raw, _contents(members, progress, prefix), epoch,
                          compress=archive == "tar.gz")
            raw.flush()
            os.fsync(raw.fileno())
        comment = (f"timestamp:{epoch}\tfile:{escaped(target.name)}\tctx:{bag.BUNDLE_CTX}"
                   f"\tbundle:{info.bundle_id}\tsize:{total}\tfiles:{len(members)}")
        signature = Signature.create(key, blake2b_file(read_chunks(temporary)), comment,
                                     f"signature from airgap key {key.public.id}")
        write_atomic(signature_path, signature.text().encode())
        temporary.replace(target)
        fsync_dir(target.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return Created(target, signature_path, info.bundle_id, info.group_id, info.part,
                   info.parts, info.payload_files, info.payload_bytes, comment)


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
            raise InputError("cannot bundle", self.item.source,
                             "the file changed after it was validated")


Contents = Iterator[tuple[str, int, Any]]


def _contents(members: list[tuple[str, int, Any]], progress: Progress, prefix: str = ""
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
        raise InputError("cannot write 7z", None, "7z support is not installed",
                         "pip install 'airgap[7z]'") from None
    with py7zr.SevenZipFile(raw, "w") as archive:
        for name, _, handle in members:
            archive.writef(handle, prefix + name)


def read_payload(name: str, source: Path) -> PayloadFile:
    """Size and SHA-256 of a payload file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    for chunk in read_chunks(source):
        digest.update(chunk)
        size += len(chunk)
    return PayloadFile(name, source, size, digest.hexdigest())
