"""Build CSLU-style upload archives and (for the simulated CSSM) ACK archives: reproducible
bytes, usage files byte for byte, every name and manifest value checked."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from airgap import archive, formats
from airgap.errors import FindingsError, InputError, UnknownKindError, why
from airgap.formats.common import Udi
from airgap.formats.cslu.layout import (
    MANIFEST,
    UPLOAD,
    Content,
    Manifest,
    ManifestEntry,
    classify,
    timestamp,
)
from airgap.fsutil import read_small

Input = Path | tuple[str, bytes]
ACCOUNTS_BYTES = 1 << 26  # a file,virtual_account row per usage file: 100,000 rows fit


def _epoch(when: datetime) -> int:
    """Seconds since 1970 for tar headers; a naive time is read as UTC, so hosts agree."""
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


@dataclass(frozen=True)
class PackedFile:
    """A usage file in an upload archive: where it came from and where it is now."""

    source: str
    member: str  # "UD_VA_<ts>.tar.gz/dev_<n>_<ts>.txt"
    virtual_account: str
    size: int
    sha256: str
    udis: tuple[Udi, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "source": self.source,
            "member": self.member,
            "virtual_account": self.virtual_account,
            "size": self.size,
            "sha256": self.sha256,
            "udis": [u.to_dict() for u in self.udis],
        }


@dataclass(frozen=True)
class Packed:
    """An upload archive built by :func:`build`: its CSLU name, bytes, manifest and files."""

    name: str
    data: bytes
    manifest: Manifest
    files: tuple[PackedFile, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the archive's bytes as size and SHA-256)."""
        return {
            "name": self.name,
            "kind": UPLOAD,
            "size": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "manifest": self.manifest.to_dict(),
            "files": [f.to_dict() for f in self.files],
        }


def build(
    usage_files: Sequence[Input],
    accounts: Mapping[str, str] | str,
    *,
    when: datetime,
    smart_account: str = "",
    smart_account_id: str = "",
    account_ids: Mapping[str, str] | None = None,
    names: Literal["cslu", "keep"] = "cslu",
    instance: str | None = None,
) -> Packed:
    """Build an upload archive from usage files (paths, or ``(name, bytes)`` pairs).

    ``accounts`` maps each input's name (``str(path)`` for a path) to its virtual account, or
    is one virtual account for all. Anything that is not a whole usage file is refused, naming
    it: a file of another kind or of no kind (exit 3), XML that does not parse (exit 1).
    """
    for label, value in [
        ("smart account", smart_account),
        ("smart account id", smart_account_id),
        ("instance", instance or ""),
        *(("virtual account", va) for va in _accounts_named(accounts)),
    ]:
        _check_value(label, value)
    loaded = sorted(_load(item) for item in usage_files)
    if not loaded:
        raise InputError("nothing to pack", None, "no usage file given")
    seen: set[str] = set()
    groups: dict[str, list[tuple[str, bytes, Content]]] = {}
    for name, data in loaded:
        if name in seen:
            raise InputError("cannot pack", name, "named twice")
        seen.add(name)
        va = accounts if isinstance(accounts, str) else accounts.get(name)
        if va is None:
            raise InputError(
                "cannot pack",
                name,
                "no virtual account given for this file",
                "add a row for it to the accounts map",
            )
        groups.setdefault(va, []).append((name, data, _usage_only(name, data)))
    va_archives: list[tuple[str, bytes]] = []
    entries, packed, number = [], [], 0
    for k, va in enumerate(sorted(groups)):
        stamp = timestamp(when + timedelta(milliseconds=k))
        va_name = f"UD_VA_{stamp}.tar.gz"
        members: list[tuple[str, bytes]] = []
        for name, data, content in groups[va]:
            number += 1
            member = f"dev_{number}_{stamp}.txt" if names == "cslu" else _own_name(name)
            if any(m == member for m, _ in members):
                raise InputError(
                    "cannot pack", name, f"another file for {va or 'the VA'} has the name {member}"
                )
            members.append((member, data))
            packed.append(
                PackedFile(
                    name,
                    f"{va_name}/{member}",
                    va,
                    len(data),
                    hashlib.sha256(data).hexdigest(),
                    content.udis,
                )
            )
        va_archives.append((va_name, tar_gz(members, when)))
        entries.append(ManifestEntry(va_name, va, (account_ids or {}).get(va, "")))
    instance = instance or str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"airgap:cslu:{smart_account}:{smart_account_id}")
    )
    created_by = '"' + json.dumps({"uuid": instance}).replace('"', '\\"') + '"'
    manifest = Manifest(smart_account, smart_account_id, created_by, entries=tuple(entries))
    data = tar_gz([(MANIFEST, manifest.render()), *va_archives], when)
    return Packed(f"UD_SA_{timestamp(when)}.tar.gz", data, manifest, tuple(packed))


def pack(
    usage_files: Sequence[Input],
    accounts: Mapping[str, str] | str,
    *,
    when: datetime,
    smart_account: str = "",
    smart_account_id: str = "",
    account_ids: Mapping[str, str] | None = None,
    names: Literal["cslu", "keep"] = "cslu",
    instance: str | None = None,
) -> bytes:
    """The bytes of an upload archive; :func:`build` tells what went where."""
    return build(
        usage_files,
        accounts,
        when=when,
        smart_account=smart_account,
        smart_account_id=smart_account_id,
        account_ids=account_ids,
        names=names,
        instance=instance,
    ).data


def _accounts_named(accounts: Mapping[str, str] | str) -> list[str]:
    return [accounts] if isinstance(accounts, str) else sorted(set(accounts.values()))


def _check_value(label: str, value: str) -> None:
    """Manifest values are one line: a newline would forge manifest entries."""
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise InputError(
            f"invalid {label}",
            value.encode("unicode_escape").decode(),
            "control characters or line breaks",
        )


def _load(item: Input) -> tuple[str, bytes]:
    if isinstance(item, tuple):
        return item
    try:
        return str(item), item.read_bytes()
    except OSError as exc:
        raise InputError("cannot read", item, exc.strerror or str(exc)) from None


def _usage_only(name: str, data: bytes) -> Content:
    content = classify(data)
    if content.error and content.kind is None and data.strip():
        raise FindingsError(
            "cannot pack",
            name,
            f"not well-formed XML: {content.error}",
            f"run 'airgap validate {name}'",
        )
    if content.kind is None:
        raise UnknownKindError("cannot pack", name, content.error or "no kind airgap knows")
    if content.kind != formats.USAGE:
        hint = (
            "wrap it in <smartLicense> as a whole usage file"
            if content.kind == formats.RUM_FRAGMENT
            else "only usage (RUM) files go to CSSM"
        )
        article = "an" if content.kind[0] in "aeiou" else "a"
        raise InputError(
            "cannot pack", name, f"{article} {content.kind} file, not a usage file", hint
        )
    return content


def _own_name(name: str) -> str:
    own = name.replace("\\", "/").rsplit("/", 1)[-1]
    if own in ("", ".", "..") or any(ord(c) < 32 or c == "\x7f" for c in own):
        raise InputError(
            "cannot pack",
            name.encode("unicode_escape").decode(),
            "its name cannot be an archive member name",
        )
    return own


def tar_gz(members: Sequence[tuple[str, bytes]], when: datetime) -> bytes:
    """A reproducible tar.gz of ``(name, bytes)`` members, in the order given."""
    buffer = io.BytesIO()
    archive.write_tar(
        buffer,
        ((name, len(data), io.BytesIO(data)) for name, data in members),
        _epoch(when),
        compress=True,
    )
    return buffer.getvalue()


def ack_archive(acks: Mapping[str, Sequence[tuple[str, bytes]]], *, when: datetime) -> bytes:
    """CSSM's answer: for each uploaded VA archive name (``UD_VA_<ts>.tar.gz``), an inner
    ``ACK_<that name>`` holding ``ACK_<uploaded name>`` for each ``(uploaded name, ACK bytes)``
    pair (an ``ACK_`` prefix already there is kept). For the simulated CSSM."""
    inner = []
    for va_name, files in acks.items():
        members = sorted((n if n.startswith("ACK_") else f"ACK_{n}", data) for n, data in files)
        for name in [va_name, *(n for n, _ in members)]:
            if "/" in name or name in ("", ".", "..") or any(ord(c) < 32 for c in name):
                raise InputError("cannot build ACK archive", name, "not a plain file name")
        inner.append(
            (va_name if va_name.startswith("ACK_") else f"ACK_{va_name}", tar_gz(members, when))
        )
    return tar_gz(sorted(inner), when)


def ack_archive_name(upload_name: str) -> str:
    """The name airgap gives CSSM's answer to ``upload_name``: ``ACK_<upload name>``."""
    return f"ACK_{Path(upload_name).name}"


def read_accounts(path: Path) -> dict[str, str]:
    """A ``file,virtual_account`` CSV (header row optional, ``#`` comments and blank lines
    skipped): file name as written -> virtual account."""
    try:
        text = read_small(path, ACCOUNTS_BYTES).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("cannot read accounts map", path, why(exc)) from None
    result: dict[str, str] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in row]
        if number == 1 and [c.lower() for c in cells] == ["file", "virtual_account"]:
            continue
        if len(cells) != 2 or not cells[0]:
            raise InputError(
                "invalid accounts map", f"{path}:{number}", "expected a row 'file,virtual_account'"
            )
        if cells[0] in result and result[cells[0]] != cells[1]:
            raise InputError(
                "invalid accounts map",
                f"{path}:{number}",
                f"{cells[0]} is given two virtual accounts",
            )
        result[cells[0]] = cells[1]
    return result
