"""``audit report`` as a workflow: verify this host's ledger, sign a checkpoint of it, build the
report of a time window (with the devices' deadlines when captures are given), write it as
HTML, JSON or CSV, and sign it when asked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from airgap.flows import ledger as steps
from airgap.flows.keys import Passphrase, load_secret, trust_folder

if TYPE_CHECKING:
    from airgap.ledger.audit import AuditReport

FORMATS = ("html", "json", "csv")


@dataclass(frozen=True)
class ReportOptions:
    """What ``audit report`` was asked for."""

    out: Path
    start: datetime
    end: datetime
    format: str = "html"  # one of FORMATS
    captures: tuple[Path, ...] = ()
    sign: Path | None = None
    trusted_folder: Path | None = None
    insecure_key: bool = False
    ledger: Path | None = None


@dataclass(frozen=True)
class Reported:
    """The report written, and how many entries the checkpoint under it covers."""

    report: AuditReport
    entries: int


def write_report(
    options: ReportOptions,
    passphrase: Passphrase,
    notify: Callable[[str], None] = steps.quiet,
) -> Reported:
    """Verify the ledger (what it cannot check is named to ``notify``), checkpoint it with
    this host's key, and write the report (and ``OUT.minisig`` with ``sign``)."""
    import orjson

    from airgap.fsutil import write_atomic
    from airgap.ledger import audit, audit_html, checkpoint
    from airgap.names import escaped
    from airgap.signing.minisign import Signature, blake2b_file
    from airgap.signing.trust import TrustStore, host_key

    store = steps.open_ledger(options.ledger)
    verified = steps.verify_own(store, folder=options.trusted_folder, notify=notify)
    _, note, _ = checkpoint.make(store, host_key(), verified)
    chosen = trust_folder(options.trusted_folder)
    roster = {e.key_id: e for e in TrustStore(chosen).entries()} if chosen else {}
    deadlines = _deadlines(options.captures) if options.captures else ()
    built = audit.build(
        store, note, verified.entries, options.start, options.end, roster, deadlines,
        host_key().public.id,
    )  # fmt: skip
    generated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if options.format == "json":
        document = {**built.to_dict(), "generated": generated}
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    elif options.format == "csv":
        data = audit_html.csv_text(built).encode()
    else:
        data = audit_html.html(built, generated).encode()
    write_atomic(options.out, data)
    if options.sign is not None:
        key = load_secret(options.sign, passphrase, insecure_permissions=options.insecure_key)
        signature = Signature.create(
            key,
            blake2b_file([data]),
            f"file:{escaped(options.out.name)}\tctx:airgap-report/v1",
            f"signature from airgap key {key.public.id}",
        )
        write_atomic(Path(f"{options.out}.minisig"), signature.text().encode())
    return Reported(built, verified.entries)


def _deadlines(paths: tuple[Path, ...]) -> tuple[dict[str, object], ...]:
    from airgap import config
    from airgap.state import deadlines, evidence

    found = evidence.load([str(p) for p in paths], None, config.load()["exclude"])
    return tuple(
        d.to_dict() for d in deadlines.deadlines(found.states, date.today(), imports=found.acks)
    )
