"""The bundle workflows, and first ``bundle create``: validate, refuse what went out before,
checkpoint the sender's ledger, sign, record (verify, extract and approve are in
:mod:`airgap.flows.verify`, media in :mod:`airgap.flows.media`).

Each workflow takes frozen options and returns a typed result, so that a command only parses
its flags and renders what comes back, and the device commands, tests and other workflows call
the same code. What the person running airgap must see on the way (findings, notes, a
passphrase prompt, progress) goes through :class:`Hooks`, which the CLI fills in; nothing here
prints.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airgap import config
from airgap.bundle.create import Progress, no_progress
from airgap.errors import ConfigError, FindingsError, InputError
from airgap.flows import ledger as steps
from airgap.flows.keys import Passphrase, load_secret, signing_time
from airgap.flows.ledger import Notify, quiet
from airgap.fsutil import refuse_link
from airgap.ledger.store import Result, Step

if TYPE_CHECKING:
    from airgap.bundle import create
    from airgap.formats.common import ReportKey
    from airgap.ledger.store import Ledger
    from airgap.validate.engine import Validator


def _no_passphrase(prompt: str) -> bytes:
    """Where no one can be asked: an encrypted key cannot be opened."""
    raise ConfigError("no passphrase", None, f"nobody to ask: {prompt}")


@contextmanager
def _no_bar(_: int, __: str) -> Iterator[Progress]:
    yield no_progress


@dataclass(frozen=True)
class Hooks:
    """How a workflow reaches the person running it: ``say`` a line (stderr), ``note`` a
    note, ``announce`` each ledger entry written, ``passphrase`` for an encrypted key, and a
    ``progress`` bar over a byte count."""

    say: Notify = quiet
    note: Notify = quiet
    announce: Callable[[dict[str, Any]], None] = quiet
    passphrase: Passphrase = _no_passphrase
    progress: Callable[[int, str], AbstractContextManager[Progress]] = _no_bar


SILENT = Hooks()


def validator(privacy: str | None = None, lab: bool = False) -> Validator:
    """The validator the settings call for, as ``airgap validate`` builds it."""
    from airgap import config
    from airgap.flows.validate import validator_for

    return validator_for(config.load({"privacy": privacy}), lab)


@dataclass(frozen=True)
class CreateOptions:
    """What ``bundle create`` was asked for (flags already checked for form)."""

    out: Path
    paths: tuple[Path, ...]
    key: Path | None  # None: the 'key' setting
    direction: str = "outbound"
    answers: str | None = None
    archive: str = "tar.gz"
    max_bytes: int | None = None
    allow_invalid: bool = False
    allow_resend: bool = False
    overwrite: bool = False
    insecure_key: bool = False
    privacy: str | None = None
    lab: bool = False
    ledger: Path | None = None


@dataclass(frozen=True)
class Created:
    """The bundles written (one, or each part of a split) and what they replaced."""

    bundles: tuple[create.Created, ...]
    direction: str

    @property
    def removed(self) -> list[Path]:
        """Parts of an earlier split of the same OUT that were removed (``--force``)."""
        return [path for c in self.bundles for path in c.removed]


def create_bundle(options: CreateOptions, hooks: Hooks = SILENT) -> Created:
    """Validate the files, refuse reports the ledger says went out already, checkpoint the
    sender's ledger, bag, sign and write the bundle, and record it."""
    from airgap.bundle.create import create
    from airgap.ledger.sent import remember

    refuse_link(options.out)
    check = validator(options.privacy, options.lab)
    payload, kinds, invalid = _payload(options, check, hooks)
    contents = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    store = steps.configured(options.ledger)
    report_keys = check.reports_seen()
    if store:
        _refuse_resent(store, report_keys, options.allow_resend, hooks)
    secret = load_secret(
        config.key_file(options.key), hooks.passphrase, insecure_permissions=options.insecure_key
    )
    checkpoint = steps.sender_checkpoint(store, secret.public, hooks.say) if store else b""
    with hooks.progress(sum(p.size for p in payload), "bundling") as advance:
        created = create(
            options.out,
            payload,
            secret,
            direction=options.direction,
            answers=options.answers,
            epoch=signing_time(),
            archive=options.archive,
            max_bytes=options.max_bytes,
            contents=contents,
            overwrite=options.overwrite,
            progress=advance,
            checkpoint=checkpoint,
        )
    if store:
        remember(store, report_keys, created[0].group_id)
    record = steps.Recorder(store, hooks.announce)
    answers = f", answers {options.answers}" if options.answers else ""
    for c in created:
        record(
            Step.BUNDLE_CREATE,
            key=secret,
            materials={str(p.source): f"sha256:{p.sha256}" for p in payload},
            products={
                str(c.archive): steps.file_digest(c.archive),
                str(c.signature): steps.file_digest(c.signature),
            },
            note=f"bundle {c.bundle_id} ({options.direction}{answers}): {contents}",
            result=Result.INVALID if invalid or kinds["unknown"] else Result.OK,  # --allow-invalid
        )
    return Created(tuple(created), options.direction)


def _payload(
    options: CreateOptions, check: Validator, hooks: Hooks
) -> tuple[list[create.PayloadFile], Counter[str], bool]:
    """The files to carry, each read once (hashed and validated from the same bytes), how
    many of each kind, and whether any is invalid; findings go to ``hooks.say``. Invalid
    files are refused unless ``allow_invalid``, and so is a named file of no known kind (one
    met in a folder is left out with a note)."""
    from airgap.bundle.create import PayloadFile, payload_names
    from airgap.bundle.verify import validate_payload
    from airgap.findings import Level

    payload, kinds, rules, invalid = [], Counter[str](), set[str](), False
    for name, source in payload_names(options.paths):
        data = source.read_bytes()
        kind, reports = validate_payload(data, str(source), check)
        if kind is None and not options.allow_invalid:
            if source in options.paths:
                raise InputError("cannot bundle", source, "no kind airgap knows")
            hooks.note(f"left out {source}: no kind airgap knows")
            continue
        for report in reports:
            for finding in report.findings:
                hooks.say(str(finding))
            if not report.ok:
                invalid = True
                rules.update(f.code for f in report.findings if f.level is Level.ERROR)
        kinds[kind or "unknown"] += 1
        payload.append(PayloadFile(name, source, len(data), hashlib.sha256(data).hexdigest()))
    if invalid and not options.allow_invalid:
        raise FindingsError(
            "refusing to bundle invalid files", None, "see the findings above", _fix_hint(rules)
        )
    if not payload:
        raise InputError("nothing to bundle", None, "no file of a known kind")
    return payload, kinds, invalid


def _fix_hint(rules: set[str]) -> str:
    """What the operator can do about the findings, naming the flags that fit them first:
    ``--allow-invalid`` carries every invalid file, so it comes last."""
    fits = []
    if "simulated-ack" in rules:
        fits.append("--lab for simulated ACKs from 'airgap lab cssm'")
    if "hostname-present" in rules:
        fits.append("--privacy normal if hostnames may leave")
    flags = "; ".join(fits) if fits else "--lab and --privacy work as for 'airgap validate'"
    return f"fix them ({flags}), or --allow-invalid to carry every invalid file anyway"


def _refuse_resent(
    store: Ledger, reports: list[ReportKey], allow_resend: bool, hooks: Hooks
) -> None:
    """Name the usage reports that went out in earlier bundles; refuse unless allowed."""
    from airgap.ledger.sent import already_sent

    resent = already_sent(store, reports)
    if not resent:
        return
    for (udi, report_id), bundle_id in sorted(resent.items())[:20]:
        hooks.say(f"report {report_id} of {udi} went out in bundle {bundle_id}")
    if not allow_resend:
        count = len(resent)
        raise FindingsError(
            "refusing to send reports again",
            store.path,
            f"{count} {'report was' if count == 1 else 'reports were'} in earlier bundles (above)",
            "CSSM refuses a report it has; --allow-resend to send anyway",
        )
