"""The workflows that verify a bundle before anything uses it: ``bundle verify`` (and list),
``bundle extract`` and ``bundle approve``, each with its ledger recording and the check of
the sender's checkpoint. Options in, typed result out; nothing here prints."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airgap import config
from airgap.errors import ExitCode, InputError, TrustError
from airgap.flows import ledger as steps
from airgap.flows.bundle import SILENT, Hooks, validator
from airgap.flows.keys import load_secret, trusted_keys
from airgap.ledger.store import Result, Step

if TYPE_CHECKING:
    from airgap.bundle.verify import Verified
    from airgap.ledger.store import Ledger
    from airgap.signing.trust import Trusted


@dataclass(frozen=True)
class VerifyOptions:
    """What ``bundle verify`` (and list, approve, media write) verify, and against what."""

    bundles: tuple[Path, ...]
    trusted_key: tuple[Path, ...] = ()
    trusted_folder: Path | None = None
    signature: Path | None = None
    accept_renamed: bool = False
    approvals: int = 0
    approver_role: str | None = None
    policy: bool = True  # also require the approvals the [policy] setting asks for
    ledger: Path | None = None


def verify_bundles(options: VerifyOptions, hooks: Hooks = SILENT) -> list[Verified]:
    """Verify each bundle (an archive, or a folder: an extracted bag at rest), then split
    bundles as groups, each sender's checkpoint, and record each verify."""
    from airgap import config
    from airgap.bundle.at_rest import verify_folder
    from airgap.bundle.parts import check_groups

    for bundle in options.bundles:
        if not bundle.is_dir():
            named_file(bundle)
    trusted = trusted_keys(list(options.trusted_key) or None, options.trusted_folder)
    required = max(options.approvals, config.load()["policy"]["approvals"] if options.policy else 0)
    one = len(options.bundles) == 1
    results = []
    for bundle in options.bundles:
        if bundle.is_dir():
            results.append(verify_folder(bundle, trusted, validator()))
            continue
        results.append(_verify_archive(bundle, trusted, options, required, one, hooks))
    check_groups(results)
    store = steps.configured(options.ledger)
    record = steps.Recorder(store, hooks.announce)
    for result in results:
        check_sender(result, store)
        _record(record, result, Step.BUNDLE_VERIFY)
    return results


def _verify_archive(
    bundle: Path, trusted: Trusted, options: VerifyOptions, required: int, one: bool, hooks: Hooks
) -> Verified:
    """One archive verified in a private staging folder (removed afterwards), with at least
    ``required`` approvals when any are required."""
    from airgap.bundle.verify import verify

    staging = Path(tempfile.mkdtemp(prefix="airgap-staging-"))
    try:
        with hooks.progress(_size(bundle), "verifying") as advance:
            result = verify(
                bundle,
                trusted,
                staging,
                validator(),
                options.signature if one else None,
                advance,
                accept_renamed=options.accept_renamed,
            )
        if required or options.approver_role:
            from airgap.bundle import approval

            approval.check(result, trusted, required, options.approver_role)
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class ExtractOptions:
    """What ``bundle extract`` was asked for."""

    bundle: Path
    destination: Path
    trusted_key: tuple[Path, ...] = ()
    trusted_folder: Path | None = None
    signature: Path | None = None
    force: bool = False
    accept_renamed: bool = False
    scan_required: bool = True
    ledger: Path | None = None


@dataclass(frozen=True)
class Extracted:
    """A bundle verified and, when it verified, written to ``destination``."""

    verified: Verified
    destination: Path
    extracted: bool = False
    moved_aside: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``bundle extract``."""
        aside = str(self.moved_aside) if self.moved_aside else None
        return {
            **self.verified.to_dict(),
            "extracted_to": str(self.destination),
            "moved_aside": aside,
        }


def extract_bundle(options: ExtractOptions, hooks: Hooks = SILENT) -> Extracted:
    """Verify a bundle fully (its sender's checkpoint and, unless not required, a clean
    malware scan of its bytes recorded in the ledger), then write its bag to the destination
    atomically; record the step either way."""
    from airgap.bundle.verify import extract, verify

    named_file(options.bundle)
    destination = options.destination
    if destination.exists() and not options.force:
        raise InputError("refusing to extract", destination, "it exists (use --force)")
    trusted = trusted_keys(list(options.trusted_key) or None, options.trusted_folder)
    store = steps.configured(options.ledger)
    record = steps.Recorder(store, hooks.announce)
    staging = Path(tempfile.mkdtemp(prefix="airgap-staging-"))
    try:
        with hooks.progress(_size(options.bundle), "verifying") as advance:
            result = verify(
                options.bundle,
                trusted,
                staging,
                validator(),
                options.signature,
                advance,
                accept_renamed=options.accept_renamed,
            )
        check_sender(result, store)
        if result.exit_code == ExitCode.OK and options.scan_required:
            _scanned(result, store)
        if result.exit_code != ExitCode.OK:
            _record(record, result, Step.BUNDLE_EXTRACT)
            return Extracted(result, destination)
        done = extract(result, destination, force=options.force)
        products = {
            str(destination / name): f"sha256:{digest}"
            for name, (_, digest) in sorted(result.payload.items())
        }
        _record(record, result, Step.BUNDLE_EXTRACT, products, done.moved_aside)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Extracted(result, destination, True, done.moved_aside)


@dataclass(frozen=True)
class ApproveOptions:
    """What ``bundle approve`` was asked for."""

    bundle: Path
    key: Path | None  # None: the 'key' setting
    role: str = "approver"
    note: str = ""
    trusted_key: tuple[Path, ...] = ()
    trusted_folder: Path | None = None
    insecure_key: bool = False
    ledger: Path | None = None


@dataclass(frozen=True)
class Approved:
    """A bundle verified and, when it verified, approved: the approval file written."""

    verified: Verified
    role: str
    approval: Path | None = None
    bundle_id: str = ""
    key_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``bundle approve``."""
        return {
            "bundle": str(self.verified.bundle),
            "bundle_id": self.bundle_id,
            "approval": str(self.approval),
            "key_id": self.key_id,
            "role": self.role,
        }


def approve_bundle(options: ApproveOptions, hooks: Hooks = SILENT) -> Approved:
    """Verify the bundle, then sign the approver's approval of it and record the step."""
    from airgap.bundle import approval

    verified = verify_bundles(
        VerifyOptions(
            (options.bundle,),
            options.trusted_key,
            options.trusted_folder,
            policy=False,
            ledger=options.ledger,
        ),
        hooks,
    )[0]
    if verified.exit_code != ExitCode.OK:
        return Approved(verified, options.role)
    secret = load_secret(
        config.key_file(options.key), hooks.passphrase, insecure_permissions=options.insecure_key
    )
    target, bundle_id = approval.approve(options.bundle, secret, options.role, options.note)
    steps.Recorder(steps.configured(options.ledger), hooks.announce)(
        Step.BUNDLE_APPROVE,
        key=secret,
        materials={str(options.bundle): f"sha256:{verified.sha256}"},
        products={str(target): steps.file_digest(target)},
        note=f"{bundle_id} approved as {options.role}"
        + (f": {options.note}" if options.note else ""),
    )
    return Approved(verified, options.role, target, bundle_id, secret.public.id)


def named_file(bundle: Path) -> None:
    """A bundle that is not there, or not a regular file, is a path problem (exit 3), not a
    trust failure; nothing is opened (a FIFO would block)."""
    if not bundle.exists():
        raise InputError("cannot read bundle", bundle, "no such file")
    if not bundle.is_file():
        raise InputError("cannot read bundle", bundle, "not a regular file")


def check_sender(result: Verified, store: Ledger | None) -> None:
    """Check a verified bundle's sender checkpoint against the last one seen from that sender
    (only once everything else verified); a rollback or fork is a problem (exit 4)."""
    from airgap.bundle import bag
    from airgap.ledger import witness

    content = result.tags.get(bag.CHECKPOINT, b"")
    if result.exit_code != ExitCode.OK or not content.strip():
        return
    try:
        seen = witness.witness(content, steps.witnessed_dir(store), str(result.bundle))
    except TrustError as exc:
        result.problem(ExitCode.TRUST, exc.message)
        return
    result.witnessed = seen.to_dict()


def _scanned(result: Verified, store: Ledger | None) -> None:
    """A problem (exit 4) on the result unless the newest ``media.scan`` entry that names its
    exact bytes ended ok (bundle and ledger do not import each other: the workflow joins them)."""
    from airgap.bundle.malware import ScanRequiredError
    from airgap.ledger.store import EntryError, parse_entry

    digest, record = f"sha256:{result.sha256}", None
    if store is not None and store.path.exists():
        for _, line in store.lines():
            try:
                entry = parse_entry(line)
            except EntryError:
                continue
            if entry["step"] == Step.MEDIA_SCAN and digest in entry["materials"].values():
                record = entry
    if record is None:
        error = ScanRequiredError(
            "no malware scan recorded",
            result.bundle,
            "no media.scan entry in the ledger scanned these bytes",
            "run 'airgap media scan DIR --av clamscan' on the medium, or --no-scan-required",
        )
    elif record["result"] != Result.OK:
        error = ScanRequiredError(
            "the malware scan was not clean",
            result.bundle,
            f"ledger entry {record['seq']}: {record['note']}"[:300],
        )
    else:
        return
    result.problem(error.exit_code, f"{error.message} ({error.hint})")


def _record(
    record: steps.Recorder,
    result: Verified,
    step: Step,
    products: dict[str, str] | None = None,
    moved_aside: Path | None = None,
) -> None:
    """Record a verify or extract (when a ledger is configured)."""
    answers = result.info.get("Airgap-Answers")  # the audit report's receipt of an outbound bundle
    said = [v for v in (result.info.get("Airgap-Direction"), answers and f"answers {answers}") if v]
    note = f"bundle {result.bundle_id}" + (f" ({', '.join(said)})" if said else "")
    note += f" signed by {result.signer.get('key_id')}"
    if result.witnessed:
        note += f"; sender checkpoint {result.witnessed['origin']} at {result.witnessed['size']}"
    if moved_aside:
        note += f"; the folder that was there moved to {moved_aside}"
    problems = "; ".join(p.message for p in result.problems)
    record(
        step,
        materials=_materials(result),
        products=products,
        note=note + (f": {problems}" if problems else ""),
        result=Result.OK if result.exit_code == ExitCode.OK else Result.REFUSED,
    )


def _materials(result: Verified) -> dict[str, str]:
    """What the ledger records was verified: the archive's SHA-256 as staged, or for a bag at
    rest its tag manifest's (which the inner signature covers and which names every file)."""
    from airgap.bundle import bag

    if result.at_rest:
        manifest = result.tags.get(bag.TAG_MANIFEST)
        return {
            str(result.bundle / bag.TAG_MANIFEST): f"sha256:{bag.sha256(manifest)}"
            if manifest is not None
            else "unreadable"
        }
    if result.sha256:
        return {str(result.bundle): f"sha256:{result.sha256}"}
    return {
        str(result.bundle): steps.file_digest(result.bundle)
        if result.bundle.is_file()
        else "unreadable"
    }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # verify reports the missing bundle
