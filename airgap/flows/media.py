"""The media workflows: write a bundle to a medium (with the approvals the policy requires)
and scan a medium (signatures, unexpected files, malware), each recorded in the ledger.

Options in, typed result out, as in :mod:`airgap.flows.bundle`; nothing here prints."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airgap.errors import ExitCode, InputError, worst
from airgap.flows import ledger as steps
from airgap.flows.bundle import SILENT, Hooks
from airgap.flows.keys import trusted_keys
from airgap.flows.verify import VerifyOptions, verify_bundles
from airgap.ledger.store import Result, Step

if TYPE_CHECKING:
    from airgap.bundle.malware import AvScan
    from airgap.bundle.media import Scan, Written
    from airgap.bundle.verify import Verified


@dataclass(frozen=True)
class WriteOptions:
    """What ``media write`` was asked for."""

    bundle: Path
    destination: Path
    overwrite: bool = False
    ledger: Path | None = None


@dataclass(frozen=True)
class MediaWritten:
    """The files written and read back, and the medium's identity; or, when the policy's
    approvals are missing, the verification that refused the bundle (nothing written)."""

    written: tuple[Written, ...] = ()
    medium: dict[str, str | None] | None = None
    refused: tuple[Verified, ...] = ()


def write_media(options: WriteOptions, hooks: Hooks = SILENT) -> MediaWritten:
    """Copy the bundle and its signature to the medium with read-back; when the policy
    requires approvals, verify the bundle has them first and carry them along; record."""
    from airgap import config
    from airgap.bundle import media

    bundle, destination = options.bundle, options.destination
    required = config.load()["policy"]["approvals"]
    if required:
        checked = verify_bundles(
            VerifyOptions((bundle,), approvals=required, ledger=options.ledger), hooks
        )
        if checked[0].exit_code != ExitCode.OK:
            return MediaWritten(refused=tuple(checked))
    total = 2 * sum(p.stat().st_size for p in (bundle, Path(f"{bundle}.minisig")) if p.is_file())
    with hooks.progress(total, "writing, syncing, reading back") as advance:
        written = media.write(bundle, destination, overwrite=options.overwrite, progress=advance)
    if required:
        for approval in sorted(bundle.parent.glob(f"{bundle.name}.approved-*.minisig")):
            shutil.copyfile(approval, destination / approval.name)
    medium = media.identity(destination)
    steps.Recorder(steps.configured(options.ledger), hooks.announce)(
        Step.MEDIA_WRITE,
        materials={str(w.source): f"sha256:{w.sha256}" for w in written},
        products={str(w.target): f"sha256:{w.sha256}" for w in written},
        note="medium: " + (known_identity(medium) or "unknown"),
    )
    return MediaWritten(tuple(written), medium)


def known_identity(medium: dict[str, str | None]) -> str:
    """What the system exposes of a medium's identity, in one line (empty when nothing)."""
    return ", ".join(f"{k} {v}" for k, v in medium.items() if v)


@dataclass(frozen=True)
class ScanOptions:
    """What ``media scan`` was asked for: trusted keys verify signatures when given; ``av``
    names the malware scanner to run, ``av_db`` its databases."""

    folder: Path
    trusted_key: tuple[Path, ...] = ()
    trusted_folder: Path | None = None
    av: str | None = None
    av_db: Path | None = None
    ledger: Path | None = None


@dataclass(frozen=True)
class Scanned:
    """What a medium holds that it should not, and the malware scan when one ran."""

    scan: Scan
    malware: AvScan | None = None

    @property
    def exit_code(self) -> ExitCode:
        """1 for anything unexpected or incomplete (or a file not scanned), 4 for a bad
        signature or a detection."""
        scan, malware = self.scan, self.malware
        return worst(
            ExitCode.FINDINGS if scan.unexpected or scan.incomplete else ExitCode.OK,
            ExitCode.TRUST if scan.bad_signatures else ExitCode.OK,
            ExitCode.TRUST if malware and malware.detections else ExitCode.OK,
            ExitCode.FINDINGS if malware and malware.errors else ExitCode.OK,
        )


def scan_media(options: ScanOptions, hooks: Hooks = SILENT) -> Scanned:
    """Scan the medium (signatures verified only when trusted keys are given), then run the
    malware scanner when asked and record its verdicts (ledger step media.scan)."""
    from airgap.bundle import media

    given = options.trusted_key or options.trusted_folder
    trusted = trusted_keys(list(options.trusted_key), options.trusted_folder) if given else None
    result = media.scan(options.folder, trusted)
    if options.av is None:
        return Scanned(result)
    return Scanned(result, _malware(options, options.av, hooks))


def _malware(options: ScanOptions, av: str, hooks: Hooks) -> AvScan:
    """Run the scanner and record the scan in the ledger (when one is configured)."""
    from airgap.bundle import malware, media

    if av != "clamscan":
        raise InputError("unknown malware scanner", av, "the scanner airgap runs is clamscan")
    found = malware.scan(options.folder, options.av_db)
    identity = known_identity(media.identity(options.folder)) or "not exposed"
    steps.Recorder(steps.configured(options.ledger), hooks.announce)(
        Step.MEDIA_SCAN,
        materials={f.path: f.sha256 for f in found.files},
        note=(
            f"{found.engine}; databases: {'; '.join(found.databases)}; medium: {identity}; "
            f"{len(found.files)} files, {len(found.detections)} detected"
            + "".join(f"; {f.path}: {f.verdict}" for f in found.detections + found.errors)
        ),
        result=Result.FAILED if found.detections or found.errors else Result.OK,
    )
    return found
