"""CSLU-style upload archives and CSSM ACK archives: build them, read them, unpack them.

No real CSLU archive is public. The layout follows Cisco's published sample code
(CiscoDevNet/xe-sip-api-code, ``slp_api_sample.py``; FORMATS.md section 3, and
``field/ack/DERIVED_cslu_style_archive_layout.txt``)::

    UD_SA_<ts>.tar.gz                  upload: manifest.mf + one archive per virtual account
      manifest.mf                      JAR-manifest style "Key: value" lines
      UD_VA_<ts>.tar.gz
        dev_<n>_<ts>.txt               a usage file, byte for byte
    <answer>.tar.gz                    CSSM's answer
      ACK_UD_VA_<ts>.tar.gz
        ACK_dev_<n>_<ts>.txt           the ACK (import file) for that upload

``<ts>`` is ``YYMonDD_HH_MM_SS_mmm`` (English month, as the sample's ``%y%b%d_%H_%M_%S_%f``
writes it). Usage files are renamed ``dev_<n>_<ts>.txt`` as the sample names them (``n``
counts from 1 over the whole upload, virtual accounts in name order, files in name order; the
k-th virtual account's archive is stamped k milliseconds after the first so every name keeps
the pattern), or keep their own names with ``names="keep"``; their bytes never change. The
same inputs and time give the same bytes: fixed tar owner, mode and mtime, gzip mtime 0,
members in a fixed order (``manifest.mf`` first, then VA archives, then files as numbered).

Archives are read with :func:`airgap.bundle.archive.read_members`: in memory, within a budget,
regular files only; nothing is extracted until :func:`write_unpacked` is asked to.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from airgap import formats, xml
from airgap.bundle import archive
from airgap.errors import AirgapError, FindingsError, InputError, UnknownKindError, why
from airgap.formats.common import Udi, dig, find_key
from airgap.formats.imports import ImportFile
from airgap.formats.usage import UsageFile
from airgap.fsutil import write_atomic

UPLOAD = "cslu-upload-archive"
ACK = "cssm-ack-archive"
MANIFEST = "manifest.mf"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".7z")
Input = Path | tuple[str, bytes]


def timestamp(when: datetime) -> str:
    """``YYMonDD_HH_MM_SS_mmm`` as Cisco's sample writes it, whatever the locale."""
    return (f"{when:%y}{_MONTHS[when.month - 1]}{when:%d_%H_%M_%S}_"
            f"{when.microsecond // 1000:03d}")


def _epoch(when: datetime) -> int:
    """Seconds since 1970 for tar headers; a naive time is read as UTC, so hosts agree."""
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


# ---------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class ManifestEntry:
    """One per-VA section of ``manifest.mf``: the VA archive and its virtual account."""

    name: str
    virtual_account: str
    virtual_account_id: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"name": self.name, "virtual_account": self.virtual_account,
                "virtual_account_id": self.virtual_account_id}


@dataclass(frozen=True)
class Manifest:
    """``manifest.mf``: who made the upload, for which Smart Account, and one entry per VA.
    Reading never fails: keys airgap does not know and lines it cannot read are kept."""

    smart_account: str = ""
    smart_account_id: str = ""
    created_by: str = ""
    version: str = "1.0"
    entries: tuple[ManifestEntry, ...] = ()
    other: tuple[tuple[str, str], ...] = ()
    unreadable_lines: tuple[int, ...] = ()

    def render(self) -> bytes:
        """The file's bytes, as the sample writes them: main section, then a blank line and a
        section per VA archive (``Name: /<archive>``); no line wrapping."""
        lines = [f"Manifest-Version: {self.version}", f"Created-By: {self.created_by}",
                 f"Smart-Account: {self.smart_account}",
                 f"Smart-Account-ID: {self.smart_account_id}"]
        for entry in self.entries:
            lines += ["", f"Name: /{entry.name}", f"Specification-VA: {entry.virtual_account}",
                      f"Specification-VA-ID: {entry.virtual_account_id}"]
        return ("\n".join(lines) + "\n").encode()

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        """Read JAR-manifest style sections (continuation lines start with a space)."""
        sections: list[list[tuple[str, str]]] = [[]]
        bad: list[int] = []
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                if sections[-1]:
                    sections.append([])
            elif line.startswith(" ") and sections[-1]:
                key, value = sections[-1][-1]
                sections[-1][-1] = (key, value + line[1:])
            elif ":" in line:
                key, _, value = line.partition(":")
                sections[-1].append((key.strip(), value.strip()))
            else:
                bad.append(number)
        main = dict(sections[0])
        entries: list[ManifestEntry] = []
        other: list[tuple[str, str]] = []
        for section in sections[1:]:
            fields = dict(section)
            if "Name" in fields:
                entries.append(ManifestEntry(fields.pop("Name").lstrip("/"),
                                             fields.pop("Specification-VA", ""),
                                             fields.pop("Specification-VA-ID", "")))
            other += list(fields.items())
        known = ("Manifest-Version", "Created-By", "Smart-Account", "Smart-Account-ID")
        other = [(k, v) for k, v in sections[0] if k not in known] + other
        return cls(main.get("Smart-Account", ""), main.get("Smart-Account-ID", ""),
                   main.get("Created-By", ""), main.get("Manifest-Version", ""),
                   tuple(entries), tuple(other), tuple(bad))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"version": self.version, "created_by": self.created_by,
                "smart_account": self.smart_account, "smart_account_id": self.smart_account_id,
                "entries": [e.to_dict() for e in self.entries],
                "other": [{"key": k, "value": v} for k, v in self.other],
                "unreadable_lines": list(self.unreadable_lines)}


# ---------------------------------------------------------------------------- content


@dataclass(frozen=True)
class Content:
    """What a file's bytes are: kind, the devices they name, and why they could not be read."""

    kind: str | None
    udis: tuple[Udi, ...] = ()  # SEEN evidence: usage reports, system info, SLAC <udi>
    inferred_udis: tuple[Udi, ...] = ()  # from RUM ACK data, whose keys are not public
    report_ids: tuple[int, ...] = ()
    error: str | None = None


def classify(data: bytes) -> Content:
    """Kind and UDIs of one file, from its content; never raises for bad content."""
    sniffed = formats.sniff(data[:1 << 16])
    if sniffed.family == "capture":
        return Content(sniffed.kind)
    if sniffed.family is None:
        return Content(None, error="empty file" if not data.strip() else None)
    try:
        doc = formats.read_xml(xml.parse(data))
    except xml.XmlSyntaxError as exc:
        return Content(None, error=f"line {exc.line}: {exc}" if exc.line else str(exc))
    if doc is None:
        return Content(None)
    if isinstance(doc.model, UsageFile):
        system = doc.model.system_info.value if doc.model.system_info else None
        reports = [(r.udi, r.report_id) for r in doc.model.iter_reports()]
        udis = {udi for udi, _ in reports} | {Udi.from_sudi(dig(system, "sudi"))}
        ids = {rid for _, rid in reports if rid is not None}
        return Content(doc.kind, _udis(udis), report_ids=tuple(sorted(ids)))
    if isinstance(doc.model, ImportFile):
        seen = _udis({a.udi for a in doc.model.authorizations})
        inferred = _udis({Udi.from_sudi(u) for ack in doc.model.rum_acks if ack.ok
                          for u in find_key(ack.value, "udi")})
        ids = {i for ack in doc.model.rum_acks if ack.ok for i in find_key(ack.value, "report_id")
               if isinstance(i, int) and not isinstance(i, bool)}
        return Content(doc.kind, seen, inferred, tuple(sorted(ids)))
    return Content(doc.kind)


def _udis(found: Iterable[Udi | None]) -> tuple[Udi, ...]:
    return tuple(sorted({u for u in found if u is not None}))


# ---------------------------------------------------------------------------- pack


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
        return {"source": self.source, "member": self.member,
                "virtual_account": self.virtual_account, "size": self.size,
                "sha256": self.sha256, "udis": [u.to_dict() for u in self.udis]}


@dataclass(frozen=True)
class Packed:
    """An upload archive built by :func:`build`: its CSLU name, bytes, manifest and files."""

    name: str
    data: bytes
    manifest: Manifest
    files: tuple[PackedFile, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the archive's bytes as size and SHA-256)."""
        return {"name": self.name, "kind": UPLOAD, "size": len(self.data),
                "sha256": hashlib.sha256(self.data).hexdigest(),
                "manifest": self.manifest.to_dict(), "files": [f.to_dict() for f in self.files]}


def build(usage_files: Sequence[Input], accounts: Mapping[str, str] | str, *, when: datetime,
          smart_account: str = "", smart_account_id: str = "",
          account_ids: Mapping[str, str] | None = None, names: Literal["cslu", "keep"] = "cslu",
          instance: str | None = None) -> Packed:
    """Build an upload archive from usage files (paths, or ``(name, bytes)`` pairs).

    ``accounts`` maps each input's name (``str(path)`` for a path) to its virtual account, or
    is one virtual account for all. Anything that is not a whole usage file is refused, naming
    it: a file of another kind or of no kind (exit 3), XML that does not parse (exit 1).
    """
    for label, value in [("smart account", smart_account),
                         ("smart account id", smart_account_id), ("instance", instance or ""),
                         *(("virtual account", va) for va in _accounts_named(accounts))]:
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
            raise InputError("cannot pack", name, "no virtual account given for this file",
                             "add a row for it to the accounts map")
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
                raise InputError("cannot pack", name,
                                 f"another file for {va or 'the VA'} has the name {member}")
            members.append((member, data))
            packed.append(PackedFile(name, f"{va_name}/{member}", va, len(data),
                                     hashlib.sha256(data).hexdigest(), content.udis))
        va_archives.append((va_name, tar_gz(members, when)))
        entries.append(ManifestEntry(va_name, va, (account_ids or {}).get(va, "")))
    instance = instance or str(uuid.uuid5(uuid.NAMESPACE_URL,
                                          f"airgap:cslu:{smart_account}:{smart_account_id}"))
    created_by = '"' + json.dumps({"uuid": instance}).replace('"', '\\"') + '"'
    manifest = Manifest(smart_account, smart_account_id, created_by, entries=tuple(entries))
    data = tar_gz([(MANIFEST, manifest.render()), *va_archives], when)
    return Packed(f"UD_SA_{timestamp(when)}.tar.gz", data, manifest, tuple(packed))


def pack(usage_files: Sequence[Input], accounts: Mapping[str, str] | str, *, when: datetime,
         smart_account: str = "", smart_account_id: str = "",
         account_ids: Mapping[str, str] | None = None, names: Literal["cslu", "keep"] = "cslu",
         instance: str | None = None) -> bytes:
    """The bytes of an upload archive; :func:`build` tells what went where."""
    return build(usage_files, accounts, when=when, smart_account=smart_account,
                 smart_account_id=smart_account_id, account_ids=account_ids, names=names,
                 instance=instance).data


def _accounts_named(accounts: Mapping[str, str] | str) -> list[str]:
    return [accounts] if isinstance(accounts, str) else sorted(set(accounts.values()))


def _check_value(label: str, value: str) -> None:
    """Manifest values are one line: a newline would forge manifest entries."""
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise InputError(f"invalid {label}", value.encode("unicode_escape").decode(),
                         "control characters or line breaks")


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
        raise FindingsError("cannot pack", name, f"not well-formed XML: {content.error}",
                            f"run 'airgap validate {name}'")
    if content.kind is None:
        raise UnknownKindError("cannot pack", name, content.error or "no kind airgap knows")
    if content.kind != formats.USAGE:
        hint = ("wrap it in <smartLicense> as a whole usage file"
                if content.kind == formats.RUM_FRAGMENT else "only usage (RUM) files go to CSSM")
        article = "an" if content.kind[0] in "aeiou" else "a"
        raise InputError("cannot pack", name, f"{article} {content.kind} file, not a usage file",
                         hint)
    return content


def _own_name(name: str) -> str:
    own = name.replace("\\", "/").rsplit("/", 1)[-1]
    if own in ("", ".", "..") or any(ord(c) < 32 or c == "\x7f" for c in own):
        raise InputError("cannot pack", name.encode("unicode_escape").decode(),
                         "its name cannot be an archive member name")
    return own


def tar_gz(members: Sequence[tuple[str, bytes]], when: datetime) -> bytes:
    """A reproducible tar.gz of ``(name, bytes)`` members, in the order given."""
    buffer = io.BytesIO()
    archive.write_tar(buffer, ((name, len(data), io.BytesIO(data)) for name, data in members),
                      _epoch(when), compress=True)
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
        inner.append((va_name if va_name.startswith("ACK_") else f"ACK_{va_name}",
                      tar_gz(members, when)))
    return tar_gz(sorted(inner), when)


def ack_archive_name(upload_name: str) -> str:
    """The name airgap gives CSSM's answer to ``upload_name``: ``ACK_<upload name>``."""
    return f"ACK_{Path(upload_name).name}"


def read_accounts(path: Path) -> dict[str, str]:
    """A ``file,virtual_account`` CSV (header row optional, ``#`` comments and blank lines
    skipped): file name as written -> virtual account."""
    try:
        text = path.read_text(encoding="utf-8-sig")
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
            raise InputError("invalid accounts map", f"{path}:{number}",
                             "expected a row 'file,virtual_account'")
        if cells[0] in result and result[cells[0]] != cells[1]:
            raise InputError("invalid accounts map", f"{path}:{number}",
                             f"{cells[0]} is given two virtual accounts")
        result[cells[0]] = cells[1]
    return result


# ---------------------------------------------------------------------------- unpack


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
        return {"member": self.path, "kind": c.kind, "size": len(self.data),
                "sha256": hashlib.sha256(self.data).hexdigest(),
                "udis": [u.to_dict() for u in c.udis],
                "udis_inferred": [u.to_dict() for u in c.inferred_udis],
                "report_ids": list(c.report_ids), "virtual_account": self.virtual_account,
                "answers": self.answers, "error": c.error}


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
        return {"archive": self.name, "kind": self.kind,
                "manifest": self.manifest.to_dict() if self.manifest else None,
                "notes": list(self.notes), "files": [f.to_dict() for f in self.files]}


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
        members = list(archive.read_members(data, "", limits, expand=False))
    except (AirgapError, OSError):
        return None
    tops = [(m.path[1:], archive.archive_type(m.data[:512]) is not None) for m in members]
    return _kind([n for n, a in tops if not a], [n for n, a in tops if a])


def unpack(source: Path | bytes, name: str, limits: archive.Limits | None = None) -> Unpacked:
    """Read an upload or ACK archive in memory within ``limits`` (the whole archive, nested
    ones included); nothing is written. Unsafe members raise
    :class:`~airgap.bundle.archive.UnsafeArchiveError` (exit 4), broken archives
    :class:`~airgap.bundle.archive.CorruptArchiveError` (exit 1), anything else
    :class:`~airgap.errors.UnknownKindError` (exit 3)."""
    limits = limits or archive.Limits()
    try:
        head = _head(source)
    except OSError as exc:
        raise InputError("cannot read", source if isinstance(source, Path) else name,
                         exc.strerror or str(exc)) from None
    if archive.archive_type(head) is None:
        raise UnknownKindError("cannot unpack", name, "not an archive")
    raw: list[tuple[tuple[str, ...], bytes]] = []
    used, count = 0, 0
    for outer in archive.read_members(source, name, limits, expand=False):
        top = outer.path[len(name) + 1:]
        used, count = used + len(outer.data), count + 1
        if archive.archive_type(outer.data[:512]) is None:
            raw.append(((top,), outer.data))
            continue
        budget = replace(limits, total_bytes=max(limits.total_bytes - used, 0),
                         members=max(limits.members - count, 0), depth=1)
        for inner in archive.read_members(outer.data, outer.path, budget, expand=False):
            used, count = used + len(inner.data), count + 1
            raw.append(((top, inner.path[len(outer.path) + 1:]), inner.data))
    kind = _kind([p[0] for p, _ in raw if len(p) == 1], {p[0] for p, _ in raw if len(p) > 1})
    if kind is None:
        raise UnknownKindError("cannot unpack", name,
                               "neither a CSLU upload archive nor a CSSM ACK archive")
    manifest_data = next((d for p, d in raw if p == (MANIFEST,)), None)
    manifest = Manifest.parse(manifest_data) if manifest_data is not None else None
    accounts, notes = _match_manifest(manifest, sorted({p[0] for p, _ in raw if len(p) > 1}))
    files = tuple(UnpackedFile(parts, data, classify(data), accounts.get(parts[0]),
                               _answers(parts[-1]) if kind == ACK else None)
                  for parts, data in raw)
    return Unpacked(name, kind, manifest, files, tuple(notes))


def _head(source: Path | bytes) -> bytes:
    if isinstance(source, bytes):
        return source[:512]
    with source.open("rb") as handle:
        return handle.read(512)


def _answers(member: str) -> str | None:
    own = member.rsplit("/", 1)[-1]
    return own.removeprefix("ACK_") if own.startswith("ACK_") else None


def _match_manifest(manifest: Manifest | None,
                    va_archives: list[str]) -> tuple[dict[str, str], list[str]]:
    """VA archive -> virtual account, and notes on names the manifest and archive disagree on
    (Cisco's sample itself names ``.ta.gz`` in the manifest for a ``_py.tar.gz`` file)."""
    if manifest is None:
        return {}, [f"no {MANIFEST}"] if va_archives and any(
            a.startswith("UD_VA") for a in va_archives) else []
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


# ---------------------------------------------------------------------------- write


def target_path(parts: Sequence[str]) -> Path:
    """Where a member goes under DEST: each nested archive becomes a folder named without its
    ``.tar.gz`` (``UD_VA_x.tar.gz/dev_1.txt`` -> ``UD_VA_x/dev_1.txt``)."""
    folders = [_folder(p) for p in parts[:-1]]
    pieces = [*folders, *parts[-1].split("/")]
    shown = "/".join(parts)
    for piece in pieces:
        if piece in ("", ".", "..") or "\\" in piece or any(
                ord(c) < 32 or c == "\x7f" for c in piece):
            raise archive.UnsafeArchiveError("unsafe archive member",
                                             shown.encode("unicode_escape").decode(),
                                             "its name cannot be a path inside DEST")
    return Path(*pieces)


def _folder(name: str) -> str:
    for suffix in _ARCHIVE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def write_unpacked(files: Sequence[UnpackedFile], dest: Path, *,
                   force: bool = False) -> list[Path]:
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
            raise archive.UnsafeArchiveError("refusing to write outside DEST", target,
                                             f"{file.path} resolves to {target.resolve()}")
        if targets.count(target) > 1 or target in folders:
            raise archive.UnsafeArchiveError("unsafe archive member", file.path,
                                             f"another member is also written to {target}")
        if target.is_dir() or ((target.exists() or target.is_symlink()) and not force):
            raise InputError("refusing to overwrite", target, "it exists (use --force)")
    new_folders = sorted((f for f in folders | {dest} if not f.exists()),
                         key=lambda p: len(p.parts))
    written: list[Path] = []
    try:
        for file, target in zip(files, targets, strict=True):
            existed = target.exists()
            try:
                write_atomic(target, file.data, replace=force)
            except FileExistsError:
                raise InputError("refusing to overwrite", target, "it exists (use --force)"
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
