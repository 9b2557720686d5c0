"""Verify transfer bundles, always in the same order (DESIGN.md "Transfer bundle"):

1. copy the archive from the medium into a private staging folder;
2. check the outer signature against the trusted keys (and its ``ctx:``);
3. only then read members, within the size and count the signature vouches for, accepting
   regular files only (the archive reader refuses ``..``, absolute names, links, devices,
   duplicates and bombs);
4. check the bag: exactly the expected files, the inner signature, both manifests;
5. validate every payload file.

Every problem is reported, not only the first. :func:`extract` writes a verified bag into a
temporary folder beside the destination and renames it into place.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airgap import archive
from airgap.bundle import bag
from airgap.bundle.create import Progress, no_progress
from airgap.errors import AirgapError, ExitCode, InputError, why, worst
from airgap.findings import PROBLEM, Finding, Level, Location, shown
from airgap.fsutil import StagedFolder, open_regular, refuse_replacing_above, write_atomic
from airgap.signing.minisign import SIG_PREHASHED, Signature, SignatureError, blake2b_file
from airgap.signing.trust import Trusted

if TYPE_CHECKING:  # validation is loaded by whoever validates, not by a signature check
    from airgap.validate.engine import FileReport, Validator

CHUNK = 1 << 20
SIGNATURE_LIMIT = 64 << 10  # a minisign signature is about 300 bytes
_BAG_COUNT = re.compile(r"([1-9][0-9]*) of ([1-9][0-9]*)")


def problem_dict(problem: Finding) -> dict[str, Any]:
    """A bundle's problem in JSON: its exit code and message."""
    return {"exit_code": int(problem.exit_code or ExitCode.TRUST), "message": problem.message}


@dataclass
class Verified:
    """What verifying one bundle found."""

    bundle: Path
    staged: Path | None = None
    sha256: str | None = None  # of the archive as copied off the medium
    signer: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    payload: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> (size, sha256)
    tags: dict[str, bytes] = field(default_factory=dict)
    reports: list[FileReport] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)  # each with its exit code
    witnessed: dict[str, Any] | None = None  # the sender checkpoint, once checked
    renamed_from: str | None = None  # the name it was signed as, when --accept-renamed took it
    at_rest: bool = False  # an extracted bag (a folder), not an archive

    def place(self, name: str) -> Location:
        """Where a file of the bag is: in the archive, under ``<id>/``; in a bag at rest, in
        its folder."""
        if self.at_rest:
            return Location(f"{self.bundle}/{name}")
        return Location(str(self.bundle), (f"{self.bundle_id}/{name}",))

    def where(self, name: str) -> str:
        """How a file of the bag is named in messages: ``bundle!<id>/name`` inside an archive,
        ``folder/name`` in a bag at rest."""
        return shown(self.place(name))

    def problem(self, code: ExitCode, message: str) -> None:
        """Record a problem, with the exit code it calls for."""
        where = Location(str(self.bundle))
        self.problems.append(Finding(PROBLEM, Level.ERROR, message, where, exit_code=code))

    @property
    def findings(self) -> list[Finding]:
        """Validation findings of the payload files."""
        return [f for r in self.reports for f in r.findings]

    @property
    def exit_code(self) -> ExitCode:
        """The worst of the problems and payload validation."""
        invalid = ExitCode.FINDINGS if any(not r.ok for r in self.reports) else ExitCode.OK
        return worst(invalid, *(p.exit_code or ExitCode.TRUST for p in self.problems))

    @property
    def bundle_id(self) -> str | None:
        """The bundle id the signature vouches for."""
        return self.fields.get("bundle")

    @property
    def part(self) -> tuple[str, int, int] | None:
        """(group id, part, parts) as bag-info says, None when it says no such thing."""
        match = _BAG_COUNT.fullmatch(self.info.get("Bag-Count", ""))
        group = self.info.get("Bag-Group-Identifier")
        if match is None or not group:
            return None
        return group, int(match[1]), int(match[2])

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``bundle verify`` and ``bundle list``."""
        from airgap.validate.engine import finding_dict

        return {
            "bundle": str(self.bundle),
            "ok": self.exit_code == ExitCode.OK,
            "bundle_id": self.bundle_id,
            "signer": self.signer,
            "group_id": self.info.get("Bag-Group-Identifier"),
            "bag_count": self.info.get("Bag-Count"),
            "direction": self.info.get("Airgap-Direction"),
            "answers": self.info.get("Airgap-Answers"),
            "contents": self.info.get("Airgap-Contents"),
            "files": [
                {"name": name, "size": size, "sha256": digest}
                for name, (size, digest) in sorted(self.payload.items())
            ],
            "witnessed": self.witnessed,
            "signed_as": self.fields.get("file"),
            "renamed_from": self.renamed_from,
            "at_rest": self.at_rest,
            "problems": [problem_dict(p) for p in self.problems],
            "findings": [finding_dict(f) for f in self.findings],
        }


def read_signature(path: Path) -> Signature:
    """A ``.minisig`` file, read within :data:`SIGNATURE_LIMIT` bytes; a SignatureError
    (exit 4) when it is missing, unreadable, too large, or not a minisign signature."""
    try:
        with open_regular(path) as handle:
            data = handle.read(SIGNATURE_LIMIT + 1)
    except OSError as exc:
        raise SignatureError("missing signature", path, why(exc)) from None
    if len(data) > SIGNATURE_LIMIT:
        raise SignatureError("malformed signature", path, f"larger than {SIGNATURE_LIMIT} bytes")
    try:
        return Signature.parse(data.decode("utf-8"), path)
    except UnicodeDecodeError as exc:
        raise SignatureError("malformed signature", path, why(exc)) from None


def signed_message(signature: Signature, path: Path) -> bytes:
    """What ``signature`` signs of the file at ``path``: its BLAKE2b-512 (read in chunks),
    or the whole file for a legacy signature."""
    with open_regular(path) as handle:
        if signature.algorithm == SIG_PREHASHED:
            return blake2b_file(iter(lambda: handle.read(CHUNK), b""))
        return handle.read()


def check_signature(
    signature: Signature, sig_path: Path, signed: bytes, trusted: Trusted, bundle: Path
) -> dict[str, Any]:
    """Check a bundle's outer signature over ``signed`` (see :func:`signed_message`): made
    for a bundle, by a trusted, unrevoked key. The signer, as ``Verified.signer`` shows it;
    a SignatureError (exit 4) otherwise."""
    ctx = signature.fields().get("ctx")
    if ctx != bag.BUNDLE_CTX:
        raise SignatureError(
            "signature for another purpose", sig_path, f"made for ctx:{ctx}, not for a bundle"
        )
    key, entry = trusted.signer(signature, sig_path)
    signature.verify_signed(key, signed, bundle)
    return {
        "key_id": key.id,
        "name": entry.name if entry else None,
        "role": entry.role if entry else None,
        "trusted_comment": signature.trusted_comment,
    }


def renamed(fields: Mapping[str, str], name: str) -> str | None:
    """Why an archive named ``name`` is not the file its signature was made for (renamed, or
    an older bundle copied under a new name), or None when it is."""
    from airgap.names import escaped

    signed = fields.get("file")
    if signed in (name, escaped(name)):  # the name is signed escaped (airgap.names)
        return None
    if not signed:
        return f"its signature names no file, the archive is named {name}"
    return f"signed as {signed}, named {name}"


def stage(bundle: Path, staging: Path, progress: Progress = no_progress) -> tuple[Path, bytes, str]:
    """Copy the archive into the private staging folder; the BLAKE2b-512 (what a prehashed
    signature signs) and the SHA-256 (what the ledger records) of what was copied."""
    staged = staging / "bundle"
    digest, sha256 = hashlib.blake2b(), hashlib.sha256()
    try:
        with open_regular(bundle) as source, staged.open("xb") as target:
            os.fchmod(target.fileno(), 0o600)
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                sha256.update(chunk)
                target.write(chunk)
                progress(len(chunk))
    except OSError as exc:
        raise InputError("cannot read bundle", bundle, why(exc)) from None
    return staged, digest.digest(), sha256.hexdigest()


def verify(
    bundle: Path,
    trusted: Trusted,
    staging: Path,
    validator: Validator,
    signature: Path | None = None,
    progress: Progress = no_progress,
    *,
    accept_renamed: bool = False,
) -> Verified:
    """Verify one bundle into ``staging`` (a private folder the caller removes).

    An archive whose name is not the one its signature was made for is refused (exit 4)
    unless ``accept_renamed``: a renamed file, or an older bundle replayed under a new name."""
    result = Verified(bundle)
    try:
        open_regular(bundle).close()  # a FIFO or a device is refused before anything else
    except OSError as exc:
        raise InputError("cannot read bundle", bundle, why(exc)) from None
    sig_path = signature or Path(f"{bundle}.minisig")
    try:
        sig = read_signature(sig_path)
    except SignatureError as exc:
        result.problem(ExitCode.TRUST, exc.message)
        return result
    result.staged, digest, result.sha256 = stage(bundle, staging, progress)
    result.fields = sig.fields()
    try:
        result.signer = check_signature(
            sig,
            sig_path,
            digest if sig.algorithm == SIG_PREHASHED else result.staged.read_bytes(),
            trusted,
            bundle,
        )
    except SignatureError as exc:
        result.problem(ExitCode.TRUST, exc.message)
        return result
    if (why_renamed := renamed(result.fields, bundle.name)) is not None:
        if accept_renamed:
            result.renamed_from = result.fields.get("file") or "(no name)"
        else:
            result.problem(
                ExitCode.TRUST,
                f"renamed or replayed bundle: {why_renamed} "
                "(--accept-renamed if you renamed it yourself)",
            )
    budget = _budget(result)
    if budget is None:
        return result
    try:
        for name, data in _bag_members(result, budget):
            take_member(result, name, data, validator)
    except AirgapError as exc:
        result.problem(exc.exit_code, exc.message)
        return result
    check_bag(result, trusted)
    return result


def _budget(result: Verified) -> archive.Limits | None:
    try:
        size, files = int(result.fields["size"]), int(result.fields["files"])
        if not result.bundle_id:
            raise KeyError("bundle")
    except (KeyError, ValueError):
        result.problem(
            ExitCode.TRUST,
            "the signature's trusted comment lacks bundle, size or "
            "files: not an airgap bundle signature",
        )
        return None
    return archive.Limits.signed(size, files)


def _bag_members(result: Verified, limits: archive.Limits) -> Iterator[tuple[str, bytes]]:
    """(name inside the bag, bytes) for every member, all inside ``<bundle id>/``."""
    assert result.staged is not None
    prefix = f"{result.bundle_id}/"
    for member in archive.read_members(result.staged, str(result.bundle), limits, levels=1):
        name = member.name
        if not name.startswith(prefix):
            result.problem(
                ExitCode.TRUST, f"unexpected file outside the bag folder {prefix}: {name}"
            )
            continue
        yield name.removeprefix(prefix), member.data


def take_member(result: Verified, name: str, data: bytes, validator: Validator) -> None:
    """One file of the bag, by its name inside it: payload is hashed and validated, a tag file
    kept for :func:`check_bag`, anything else a problem."""
    if name.startswith(bag.DATA):
        result.payload[name] = (len(data), bag.sha256(data))
        where = result.place(name)
        kind, reports = validate_payload(data, where.file or "", validator, where.member)
        result.reports.extend(reports)
        if kind is None:
            result.problem(ExitCode.FINDINGS, f"{shown(where)}: a payload file of no known kind")
    elif name in bag.ALL_TAG_FILES:
        result.tags[name] = data
    else:
        result.problem(ExitCode.TRUST, f"unexpected file in the bag: {name}")


def validate_payload(
    data: bytes, path: str, validator: Validator, member: tuple[str, ...] = ()
) -> tuple[str | None, list[FileReport]]:
    """A payload file's kind and validation reports (``member``: its names inside the
    archive ``path``): an archive's members are each validated, a capture has nothing to
    validate, None is a file of no known kind."""
    from airgap import formats

    display = shown(Location(path, member))
    if archive.archive_type(data[:512]):
        reports = [
            validator.validate(m.data, path, (*member, *m.parts[1:]))
            for m in archive.read_members(data, display)
            if formats.sniff(m.data[:65536], m.path).family == "xml"
        ]
        return "archive", reports
    sniff = formats.sniff(data[:65536], display)
    if sniff.family == "capture":
        return sniff.kind, []
    if sniff.family is None:
        return None, []
    report = validator.validate(data, path, member)
    return report.kind or "xml", [report]


def check_bag(result: Verified, trusted: Trusted) -> None:
    """The checks on a bag whose files are read: every tag file there, both manifests, the
    inner signature, the BagIt declaration and bag-info."""
    tags = result.tags
    for name in bag.ALL_TAG_FILES:
        if name not in tags:
            result.problem(ExitCode.TRUST, f"missing from the bag: {name}")
    if bag.TAG_MANIFEST in tags:
        check_manifest(
            result,
            bag.TAG_MANIFEST,
            {n: (len(d), bag.sha256(d)) for n, d in tags.items() if n in bag.TAG_FILES},
        )
        _check_inner_signature(result, trusted)
    if bag.MANIFEST in tags:
        check_manifest(result, bag.MANIFEST, result.payload)
    if tags.get(bag.BAGIT, bag.BAGIT_TEXT.encode()) != bag.BAGIT_TEXT.encode():
        result.problem(ExitCode.TRUST, f"{bag.BAGIT} is not the BagIt 1.0 declaration")
    result.info = bag.parse_info(tags.get(bag.BAG_INFO, b"").decode("utf-8", "replace"))
    if bag.BAG_INFO in tags:
        info = result.info
        oxum = f"{sum(s for s, _ in result.payload.values())}.{len(result.payload)}"
        if info.get("Payload-Oxum") != oxum:
            result.problem(
                ExitCode.TRUST, f"Payload-Oxum {info.get('Payload-Oxum')} but the payload is {oxum}"
            )
        if info.get("Airgap-Bundle-Id") != result.bundle_id:
            result.problem(
                ExitCode.TRUST,
                f"bag-info names bundle {info.get('Airgap-Bundle-Id')}"
                f", the signature {result.bundle_id}",
            )
        if info.get("Airgap-Direction") not in bag.DIRECTIONS:
            result.problem(ExitCode.TRUST, "bag-info has no valid Airgap-Direction")
        if result.bundle_id and result.part != bag.part_of(result.bundle_id):
            result.problem(
                ExitCode.TRUST,
                f"bag-info's Bag-Group-Identifier "
                f"{info.get('Bag-Group-Identifier')} and Bag-Count "
                f"{info.get('Bag-Count')} do not fit bundle "
                f"{result.bundle_id}",
            )


def check_manifest(result: Verified, name: str, present: dict[str, tuple[int, str]]) -> None:
    """A manifest against the files ``present`` (name -> size, SHA-256): every line well
    formed, every file listed, once, with its digest, and nothing listed that is not there."""
    digests, bad = bag.parse_manifest(result.tags[name].decode("utf-8", "replace"))
    for line in bad:
        result.problem(ExitCode.TRUST, f"{name}: malformed or repeated line {line!r}")
    for path, digest in sorted(digests.items()):
        if path not in present:
            result.problem(ExitCode.TRUST, f"{name} lists {path}, which is not in the bag")
        elif present[path][1] != digest:
            result.problem(
                ExitCode.TRUST, f"manifest mismatch: {path} does not have the SHA-256 {name} lists"
            )
    for path in sorted(set(present) - set(digests)):
        result.problem(ExitCode.TRUST, f"{path} is in the bag but not in {name}")


def _check_inner_signature(result: Verified, trusted: Trusted) -> None:
    where = shown(Location(str(result.bundle), (bag.INNER_SIGNATURE,)))
    try:
        text = result.tags.get(bag.INNER_SIGNATURE, b"").decode("utf-8")
        inner = Signature.parse(text, where)
        fields = inner.fields()
        if fields.get("ctx") != bag.BAG_CTX or fields.get("bundle") != result.bundle_id:
            raise SignatureError(
                "inner signature for another purpose",
                where,
                f"made for ctx:{fields.get('ctx')} bundle:{fields.get('bundle')}",
            )
        if inner.key_hex != result.signer.get("key_id"):
            raise SignatureError(
                "inner signature by another key",
                where,
                f"{inner.key_hex}, the archive by {result.signer.get('key_id')}",
            )
        key, _ = trusted.signer(inner, where)
        inner.verify(key, [result.tags[bag.TAG_MANIFEST]], where)
    except (SignatureError, UnicodeDecodeError) as exc:
        message = exc.message if isinstance(exc, SignatureError) else f"{where}: not text"
        result.problem(ExitCode.TRUST, message)


@dataclass(frozen=True)
class Extracted:
    """Where a verified bag was written, and where the old DEST went (``--force``)."""

    destination: Path
    moved_aside: Path | None


def extract(result: Verified, destination: Path, *, force: bool = False) -> Extracted:
    """Write a verified bag to ``destination`` atomically: all of it, or nothing.

    The bag is written into a private folder beside ``destination`` and renamed into place.
    An existing ``destination`` is refused, or with ``force`` renamed aside (never deleted)
    just before: a folder only, since a file or link there is not what an extract made."""
    if result.exit_code != ExitCode.OK or result.staged is None:
        raise InputError("refusing to extract", result.bundle, "it did not verify")
    refuse_replacing_above(destination)
    exists = destination.exists() or destination.is_symlink()
    if exists and not force:
        raise InputError("refusing to extract", destination, "it exists (use --force)")
    if exists and (destination.is_symlink() or not destination.is_dir()):
        raise InputError(
            "refusing to extract",
            destination,
            "it exists and is not a folder",
            "move it away yourself",
        )
    staged = StagedFolder(destination, force=force, doing="extract")
    with staged as work:
        _write_bag(result, work)
    return Extracted(destination, staged.moved_aside)


def _write_bag(result: Verified, work: Path) -> None:
    expected = {**result.payload, **{n: (len(d), bag.sha256(d)) for n, d in result.tags.items()}}
    limits = archive.Limits.signed(int(result.fields["size"]), int(result.fields["files"]))
    written = set()
    for name, data in _bag_members(result, limits):
        if expected.get(name) != (len(data), bag.sha256(data)):
            raise InputError(
                "refusing to extract", result.bundle, f"{name} differs from what was verified"
            )
        write_atomic(work / name, data, replace=False)
        written.add(name)
    if written != set(expected):
        raise InputError(
            "refusing to extract", result.bundle, "members changed since they were verified"
        )
