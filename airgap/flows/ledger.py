"""The ledger as the workflows use it: the configured ledger, the recorder of the steps airgap
performs, this host's own check of its ledger before it vouches for it, and the checkpoint a
bundle carries for its receiver.

Every command that records (bundle, media, validate, diff, the device commands) goes through
:class:`Recorder`, so an entry is written the same way whoever calls it. Nothing here prints:
what the person running airgap must read goes to the ``notify`` callable the caller gives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airgap.errors import ConfigError, ExitCode, InputError, TrustError
from airgap.ledger.store import Result
from airgap.names import escaped

if TYPE_CHECKING:
    from airgap.ledger.store import Ledger
    from airgap.ledger.verify import LedgerReport
    from airgap.signing.minisign import PublicKey, SecretKey

Notify = Callable[[str], None]
"""Where a workflow's notes go (the CLI writes them on stderr)."""


def quiet(_: Any) -> None:
    """A ``Notify`` or an announcer that drops what it is given."""


def configured(path: Path | None = None) -> Ledger | None:
    """The ledger from ``path`` (the ``--ledger`` flag), else AIRGAP_LEDGER or the user
    config; None when none is configured (then nothing is recorded)."""
    from airgap import config
    from airgap.ledger.store import Ledger

    setting = config.load({"ledger": str(path) if path else None})["ledger"]
    return Ledger(Path(setting)) if setting else None


def open_ledger(path: Path | None) -> Ledger:
    """The configured ledger; exit 3 when none is configured."""
    store = configured(path)
    if store is None:
        raise ConfigError(
            "no ledger configured",
            None,
            "give --ledger FILE, set AIRGAP_LEDGER or 'ledger' in your user config",
        )
    return store


@dataclass
class Recorder:
    """Records the steps airgap performs in ``store`` (nothing when it is None), each signed
    by the key given for it, else this host's key, which is made only when the first entry is
    written. ``announce`` is handed each entry written."""

    store: Ledger | None
    announce: Callable[[dict[str, Any]], None] = quiet
    _host: SecretKey | None = field(default=None, init=False, repr=False)

    def __call__(
        self,
        step: str,
        *,
        key: SecretKey | None = None,
        device: str | None = None,
        materials: Mapping[str, str] | None = None,
        products: Mapping[str, str] | None = None,
        note: str = "",
        result: Result = Result.OK,
    ) -> dict[str, Any] | None:
        """Append one entry (names escaped: a name that is not UTF-8 is recorded, not lost);
        the entry, or None when no ledger is configured."""
        if self.store is None:
            return None
        entry = self.store.append(
            step,
            key or self.host(),
            device=device and escaped(device),
            materials=named(materials),
            products=named(products),
            note=escaped(note),
            result=result,
        )
        self.announce(entry)
        return entry

    def host(self) -> SecretKey:
        """This host's key, made on first use."""
        from airgap.signing.trust import host_key

        if self._host is None:
            self._host = host_key()
        return self._host


def named(files: Mapping[str, str] | None) -> dict[str, str]:
    """Materials or products by escaped name."""
    return {escaped(name): digest for name, digest in (files or {}).items()}


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file, for materials and products."""
    from airgap.fsutil import open_regular

    digest = hashlib.sha256()
    try:
        with open_regular(path) as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InputError("cannot read", path, exc.strerror or str(exc)) from None
    return f"sha256:{digest.hexdigest()}"


def witnessed_dir(store: Ledger | None) -> Path:
    """Where a receiver keeps the last checkpoint seen from each sender."""
    from airgap.signing.trust import data_home

    return (
        store.path.with_name(f"{store.path.name}.witnessed") if store else data_home() / "witnessed"
    )


def verifying_keys(
    files: list[Path] | None, folder: Path | None, *also: PublicKey
) -> tuple[dict[str, PublicKey], bool]:
    """This host's key (when it exists), ``also``, and the trusted keys (revoked ones left
    out); and whether any trusted key was given or configured at all (else an entry by
    another key could not be checked, rather than was refused)."""
    from airgap.flows.keys import host_public, trust_folder
    from airgap.signing.minisign import PublicKey
    from airgap.signing.trust import TrustStore

    host = host_public()
    keys = {**({host.id: host} if host else {}), **{key.id: key for key in also}}
    folder = folder if files else trust_folder(folder)
    given = bool(files)
    if folder:
        store = TrustStore(folder).load()
        keys.update(
            {
                k: v
                for k, v in store.keys.items()
                if not (store.roster.get(k) and store.roster[k].revoked)
            }
        )
        given = given or bool(store.keys or store.roster)
    for path in files or []:
        key = PublicKey.load(path)
        keys[key.id] = key
    return keys, given


def unchecked_text(report: LedgerReport) -> str:
    """The entries whose signatures could not be checked, by key, in one line."""
    count = sum(u.entries for u in report.unchecked.values())
    return (
        f"{count} {'entry' if count == 1 else 'entries'} "
        f"signed by {', '.join(map(str, report.unchecked.values()))}, of which no trusted "
        "copy is held"
    )


@dataclass(frozen=True)
class VerifyLedgerOptions:
    """What ``ledger verify`` checks: the ledger, the keys its entries may be signed by, the
    checkpoint it must extend, and how many worker processes to use (0: every core)."""

    ledger: Path | None = None
    trusted_key: tuple[Path, ...] = ()
    trusted_folder: Path | None = None
    since_checkpoint: Path | None = None
    jobs: int = 0


def verify_ledger(options: VerifyLedgerOptions) -> tuple[Ledger, LedgerReport]:
    """Every entry's form, signature and chain link, and the checkpoint's history: the
    ledger verified and the report (exit 3 in it when no trusted keys were given or
    configured to check some entries, see :func:`unchecked_error`)."""
    from airgap.ledger.checkpoint import open_checkpoint, read_note
    from airgap.ledger.verify import verify

    store = open_ledger(options.ledger)
    keys, given = verifying_keys(list(options.trusted_key) or None, options.trusted_folder)
    since = options.since_checkpoint
    checkpoint = open_checkpoint(read_note(since), list(keys.values()), since) if since else None
    report = verify(store, keys, since=checkpoint, jobs=options.jobs, trust_given=given)
    return store, report


def unchecked_error(store: Ledger, report: LedgerReport) -> InputError:
    """Exit 3: entries signed by keys of which no trusted copy is held, none being given."""
    return InputError(
        "cannot check the signatures",
        store.path,
        unchecked_text(report) + ": no trusted keys are given or configured",
        "give --trusted-key FILE or --trusted-keys DIR with the keys of the "
        "operators who recorded them",
    )


def verify_own(
    store: Ledger,
    *also: PublicKey,
    trusted_key: list[Path] | None = None,
    folder: Path | None = None,
    notify: Notify = quiet,
) -> LedgerReport:
    """This host's ledger checked before it signs a checkpoint of it: the chain and every
    signature it can check (the host key, ``also``, trusted keys when given or configured).
    Entries signed by other keys are named to ``notify``, not refused: a checkpoint vouches
    for the lines, and 'ledger verify' judges the signers. Only a real break (an edited, moved
    or deleted line, a bad signature) fails, exit 4; a torn tail is exit 1."""
    from airgap.ledger import checkpoint
    from airgap.ledger.store import TornTailError
    from airgap.ledger.verify import told, verify

    keys, _ = verifying_keys(trusted_key, folder, *also)
    last = checkpoint.latest(store)
    since = checkpoint.open_checkpoint(last, list(keys.values()), store.path) if last else None
    report = verify(store, keys, since=since, trust_given=False)
    if report.unchecked:
        notify(f"{store.path}: note: could not check {unchecked_text(report)}")
    for finding in report.findings:
        notify(f"{store.path}: error: {told(finding)}")
    if any(f.exit_code == ExitCode.TRUST for f in report.findings):
        count = len(report.findings)
        raise TrustError(
            "own ledger does not verify",
            store.path,
            f"{count} finding{'' if count == 1 else 's'}",
            "run 'airgap ledger verify'",
        )
    if report.findings:
        raise TornTailError("torn tail", store.path, "the last line was cut mid-write")
    return report


def sender_checkpoint(store: Ledger, signer: PublicKey, notify: Notify = quiet) -> bytes:
    """``airgap-checkpoint.txt`` for a bundle: this host's ledger, checked as far as it can
    be (:func:`verify_own`, with the key that signs the bundle) and checkpointed."""
    from airgap.ledger import checkpoint, witness
    from airgap.signing.trust import host_key

    tail = store.tail()
    if tail.count == 0 and not tail.torn:
        return b""  # nothing recorded yet
    report = verify_own(store, signer, notify=notify)
    host = host_key()
    point, note, _ = checkpoint.make(store, host, report)
    return witness.export(store, note, point, host.public)
