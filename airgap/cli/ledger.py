"""``airgap ledger ...``: the tamper-evident audit ledger of every manual transfer step."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from airgap.cli.keys import (
    InsecureKeyOption,
    LedgerOption,
    PassphraseStdinOption,
    TrustedKeyOption,
    TrustedKeysOption,
    load_secret,
)
from airgap.cli.output import (
    Format,
    FormatOption,
    ReportFormat,
    ReportFormatOption,
    begin,
    emit_json,
    err,
    out,
    plural,
)
from airgap.errors import ExitCode, InputError, why
from airgap.flows import ledger as steps
from airgap.flows.ledger import open_ledger, unchecked_text
from airgap.ledger.export import Kind as ExportKind
from airgap.ledger.store import Step

if TYPE_CHECKING:
    from airgap.cli.reporters import Report
    from airgap.ledger.store import Ledger
    from airgap.ledger.verify import LedgerReport
    from airgap.signing.minisign import PublicKey, SecretKey

__all__ = ["LedgerOption", "open_ledger"]  # for the commands that record

app = typer.Typer(
    help="The audit ledger: record, show, verify, checkpoint, prove, export, repair.",
    no_args_is_help=True,
)

KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key", help="Sign with this operator key (default: this host's key).", show_default=False
    ),
]


def signing_key(
    key: Path | None, insecure: bool = False, passphrase_stdin: bool = False
) -> SecretKey:
    """The operator's key when given, else this host's key (:func:`say_host_signed` tells the
    user, once the entry is written)."""
    from airgap import config
    from airgap.signing.trust import host_key

    key = config.key_setting(key)
    if key is None:
        return host_key()
    return load_secret(key, insecure_permissions=insecure, passphrase_stdin=passphrase_stdin)


def say_host_signed(key: Path | None, signer: SecretKey) -> None:
    """On stderr: no --key was given nor a 'key' setting, so this host's key signed the entry."""
    from airgap import config

    if config.key_setting(key) is None:
        err().print(
            f"no --key given: this host's key {signer.public.id} signed the entry", markup=False
        )


def verify_own(
    store: Ledger,
    *also: PublicKey,
    trusted_key: list[Path] | None = None,
    folder: Path | None = None,
) -> LedgerReport:
    """:func:`airgap.flows.ledger.verify_own`, its notes and findings on stderr."""
    return steps.verify_own(store, *also, trusted_key=trusted_key, folder=folder, notify=on_stderr)


def on_stderr(line: str) -> None:
    err().print(line, markup=False)


@app.command(
    "record",
    epilog="Example: airgap ledger record --step cssm.upload --material "
    "usage-2026-11.tar.gz --note 'uploaded from the internet PC'",
)
def record(
    step: Annotated[Step, typer.Option("--step", help="The step, one of those listed.")],
    device: Annotated[
        str | None, typer.Option(help="The device concerned (PID:SN or name).", show_default=False)
    ] = None,
    material: Annotated[
        list[Path] | None,
        typer.Option("--material", help="A file the step used (repeatable).", show_default=False),
    ] = None,
    product: Annotated[
        list[Path] | None,
        typer.Option("--product", help="A file the step made (repeatable).", show_default=False),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="What happened, for the auditor.")] = "",
    key: KeyOption = None,
    insecure: InsecureKeyOption = False,
    ledger: LedgerOption = None,
    passphrase_stdin: PassphraseStdinOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Record a manual step, signed, with the SHA-256 of its materials and products."""
    begin("ledger record", fmt)
    store = open_ledger(ledger)
    signer = signing_key(key, insecure, passphrase_stdin)
    entry = steps.Recorder(store)(
        step,
        key=signer,
        device=device,
        materials={str(p): steps.file_digest(p) for p in material or []},
        products={str(p): steps.file_digest(p) for p in product or []},
        note=note,
    )
    assert entry is not None  # the ledger is configured
    say_host_signed(key, signer)
    if fmt is Format.JSON:
        emit_json(True, [entry])
    else:
        out().print(
            f"recorded entry {entry['seq']}: {step} by key {entry['operator']} at {entry['time']}",
            markup=False,
        )


@app.command("show", epilog="Example: airgap ledger show --step bundle.create --since 2026-11-01")
def show(
    since: Annotated[
        str | None,
        typer.Option(help="Entries at or after this time (ISO 8601).", show_default=False),
    ] = None,
    step: Annotated[Step | None, typer.Option(help="Only this step.", show_default=False)] = None,
    device: Annotated[
        str | None, typer.Option(help="Only this device.", show_default=False)
    ] = None,
    seq: Annotated[int | None, typer.Option(help="Only this entry.", show_default=False)] = None,
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Show the ledger as a timeline (read only: run 'ledger verify' to check it).

    Lines that are not ledger entries are named on stderr and left out (exit 4).
    """
    begin("ledger show", fmt)
    store = open_ledger(ledger)
    entries, read = [], Entries(store)
    for _, entry in read:
        if (
            (since and entry["time"] < since)
            or (step and entry["step"] != step)
            or (device and entry["device"] != device)
            or (seq is not None and entry["seq"] != seq)
        ):
            continue
        entries.append(entry)
    if fmt is Format.JSON:
        emit_json(not read.bad, entries)
    else:
        for e in entries:
            moved = ", ".join(f"{Path(p).name}" for p in {**e["materials"], **e["products"]})
            out().print(
                f"{e['seq']:>6}  {e['time']}  {e['step']:<15} {e['operator']}@{e['host']}"
                + (f"  device {e['device']}" if e["device"] else "")
                + (f"  [{moved}]" if moved else "")
                + (f"  {e['note']}" if e["note"] else ""),
                markup=False,
            )
    read.refuse_bad()


class Entries:
    """A ledger's entries, read once. A line that is not one is named on stderr and counted,
    so that the command shows what it could and then ends with exit 4 (a tampered ledger)."""

    def __init__(self, store: Ledger) -> None:
        self.store = store
        self.bad = 0

    def __iter__(self) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """(line, entry) for each line that is an entry."""
        from airgap.ledger.store import EntryError, parse_entry

        for number, line in self.store.lines():
            try:
                yield line, parse_entry(line)
            except EntryError as exc:
                self.bad += 1
                err().print(
                    f"{self.store.path}: error: line {number} is not a ledger entry: {exc}",
                    markup=False,
                )

    def refuse_bad(self) -> None:
        """Exit 4 when some lines were not entries (the output so far stands)."""
        if self.bad:
            err().print(
                f"error: tampered ledger: {self.store.path} - "
                f"{plural(self.bad, 'line is', 'lines are')} not ledger entries "
                "(above); run 'airgap ledger verify'",
                markup=False,
            )
            raise typer.Exit(ExitCode.TRUST)


@app.command(
    "verify", epilog="Example: airgap ledger verify --since-checkpoint checkpoint-1000.txt"
)
def verify_cmd(
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    since_checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--since-checkpoint",
            help="A signed checkpoint: the ledger must extend it; only "
            "entries after it are read when its state was saved here.",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="0: every core.")] = 0,
    ledger: LedgerOption = None,
    report_format: ReportFormatOption = ReportFormat.TEXT,
) -> None:
    """Verify every entry's form, signature and chain link, and the checkpoint's history.

    Exit 4 naming each altered, deleted, moved or forged entry, a rollback or a rewrite, or
    an entry signed by a key not among the trusted keys; exit 3 naming the keys when entries
    are signed by keys of which no trusted copy is held because no trusted keys are given or
    configured; exit 1 for a torn tail alone (earlier entries still verified).
    """
    fmt = report_format.common
    begin("ledger verify", fmt)
    options = steps.VerifyLedgerOptions(
        ledger, tuple(trusted_key or ()), folder, since_checkpoint, jobs
    )
    store, report = steps.verify_ledger(options)
    if report_format.ci:
        from airgap.cli import reporters

        reporters.write(report_format, _ci_report(store, report))
    elif fmt is Format.TEXT:
        from airgap.ledger.verify import told

        for finding in report.findings:
            out().print(
                f"{store.path}: {finding.level}: {told(finding)}", markup=False, style="red"
            )
    if report.exit_code == ExitCode.CANNOT_RUN:
        raise steps.unchecked_error(store, report)
    if fmt is Format.JSON:
        emit_json(report.exit_code == ExitCode.OK, [report.to_dict()])
    elif not report_format.ci:
        _show_verified(store, report)
    raise typer.Exit(report.exit_code)


def _ci_report(store: Ledger, report: LedgerReport) -> Report:
    """The verification for a CI reporter: the ledger and its findings, each on its line;
    entries whose signatures could not be checked, a problem (the command then exits 3)."""
    from airgap.cli.reporters import Checked, Report, Rule
    from airgap.findings import Level, problem
    from airgap.ledger import verify as codes

    rules = [
        Rule(codes.ENTRY, Level.ERROR, "a malformed line, or a bad signature"),
        Rule(codes.UNTRUSTED, Level.ERROR, "an entry signed by a key not among the trusted keys"),
        Rule(codes.ORDER, Level.ERROR, "an entry out of sequence: moved, deleted or repeated"),
        Rule(codes.CHAIN, Level.ERROR, "an entry that does not link to the one before it"),
        Rule(codes.REWRITTEN, Level.ERROR, "history a checkpoint vouches for was rewritten"),
        Rule(codes.ROLLED_BACK, Level.ERROR, "the ledger is shorter than a checkpoint says"),
        Rule(codes.TORN, Level.WARNING, "a torn last line (an append cut short)"),
    ]
    unchecked = [problem(str(store.path), f"could not check {unchecked_text(report)}")]
    checked = [Checked(str(store.path), report.findings)]
    return Report("airgap ledger verify", rules, checked, unchecked if report.unchecked else [])


def _show_verified(store: Ledger, report: LedgerReport) -> None:
    if report.unchecked:
        out().print(f"{store.path}: note: could not check {unchecked_text(report)}", markup=False)
    how = (
        f" (from the checkpoint at {report.incremental_from})"
        if report.incremental_from is not None
        else ""
    )
    state = "verified" if report.exit_code == ExitCode.OK else "NOT verified"
    out().print(f"{store.path}: {state}: {report.entries} entries{how}", markup=False)


@app.command("checkpoint", epilog="Example: airgap ledger checkpoint > checkpoint.txt")
def checkpoint_cmd(
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Verify the ledger, then sign and print a checkpoint (C2SP tlog-checkpoint) of it with
    this host's key; kept beside the ledger for incremental verifies. Entries whose signers
    have no trusted copy here are named on stderr; only a real break stops it (exit 4)."""
    from airgap.ledger import checkpoint
    from airgap.signing.trust import host_key

    begin("ledger checkpoint", fmt)
    store = open_ledger(ledger)
    report = verify_own(store, trusted_key=trusted_key, folder=folder)
    made, note, path = checkpoint.make(store, host_key(), report)
    if fmt is Format.JSON:
        found = {"origin": made.origin, "size": made.size, "checkpoint": note, "kept": str(path)}
        emit_json(True, [found])
    else:
        sys.stdout.write(note)


@app.command(
    "prove", epilog="Example: airgap ledger prove 2 --out entry2.proof --entry-out entry2.json"
)
def prove(
    seq: Annotated[int, typer.Argument(help="The entry's seq.")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the proof here.", show_default=False)
    ] = None,
    entry_out: Annotated[
        Path | None,
        typer.Option("--entry-out", help="Write the entry's exact line here.", show_default=False),
    ] = None,
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """An inclusion proof (C2SP tlog-proof style) of one entry against the latest checkpoint;
    anyone with the host's public key can check it offline with 'ledger verify-proof'."""
    from airgap.flows.keys import host_public
    from airgap.fsutil import write_atomic
    from airgap.ledger import checkpoint

    begin("ledger prove", fmt)
    store = open_ledger(ledger)
    note = checkpoint.latest(store)
    host = host_public()
    if note is None or host is None:
        raise InputError("no checkpoint", store.path, "run 'airgap ledger checkpoint' first")
    proof = checkpoint.prove(store, seq, note, host)
    if entry_out:
        line = next((line for number, line in store.lines() if number == seq), b"")
        write_atomic(entry_out, line + b"\n")
    if out_file:
        write_atomic(out_file, proof.encode())
    if fmt is Format.JSON:
        written = {"written_to": str(out_file) if out_file else None}
        emit_json(True, [{"seq": seq, "proof": proof, **written}])
    elif not out_file:
        sys.stdout.write(proof)


@app.command(
    "verify-proof",
    epilog="Example: airgap ledger verify-proof entry2.proof "
    "entry2.json --trusted-key jumphost.pub",
)
def verify_proof(
    proof: Annotated[Path, typer.Argument(metavar="PROOF")],
    entry: Annotated[Path, typer.Argument(metavar="ENTRY", help="The entry's line.")],
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Check, offline, that an entry is in the ledger a signed checkpoint vouches for."""
    from airgap.flows.keys import trusted_keys
    from airgap.fsutil import read_small
    from airgap.ledger.checkpoint import read_note
    from airgap.ledger.checkpoint import verify_proof as check
    from airgap.ledger.store import MAX_LINE

    begin("ledger verify-proof", fmt)
    keys = list(trusted_keys(trusted_key, folder).keys.values())
    text = read_note(proof)
    try:
        line = read_small(entry, MAX_LINE + 1)
    except OSError as exc:
        raise InputError("cannot read", entry, why(exc)) from None
    checkpoint, seq = check(text, line, keys, proof)
    if fmt is Format.JSON:
        emit_json(True, [{"seq": seq, "origin": checkpoint.origin, "size": checkpoint.size}])
    else:
        out().print(
            f"entry {seq} is in {checkpoint.origin} at size {checkpoint.size}", markup=False
        )


@app.command("export", epilog="Example: airgap ledger export --as csv --out audit.csv")
def export(
    kind: Annotated[ExportKind, typer.Option("--as", help="What to write.")] = ExportKind.JSONL,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here, not to stdout.", show_default=False)
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="in-toto: sign each link with this key.", show_default=False),
    ] = None,
    insecure: InsecureKeyOption = False,
    ledger: LedgerOption = None,
    passphrase_stdin: PassphraseStdinOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Export the ledger for auditors: JSON Lines (exact copies), CSV, or in-toto links (one
    JSON metablock per line; each link's environment keeps the entry's seq, chain and sig).

    Lines that are not ledger entries are named on stderr and left out (exit 4).
    """
    import io

    from airgap.fsutil import atomic_file
    from airgap.ledger import export as exporting

    begin("ledger export", fmt)
    store = open_ledger(ledger)
    signer = (
        load_secret(key, insecure_permissions=insecure, passphrase_stdin=passphrase_stdin)
        if key
        else None
    )
    read = Entries(store)
    if out_file is None and fmt is Format.JSON:  # the export itself is the result
        held = io.StringIO(newline="")
        exporting.write(kind, read, cast(io.TextIOBase, held), signer)
        read.refuse_bad()
        emit_json(True, [{"as": str(kind), "written_to": None, "content": held.getvalue()}])
        return
    if out_file is None:
        exporting.write(kind, read, cast(io.TextIOBase, sys.stdout), signer)
    else:
        with atomic_file(out_file) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            exporting.write(kind, read, text, signer)
            text.flush()
            text.detach()
    read.refuse_bad()
    if fmt is Format.JSON:
        emit_json(True, [{"as": str(kind), "written_to": str(out_file), "content": None}])


@app.command("repair", epilog="Example: airgap ledger repair")
def repair(
    key: KeyOption = None,
    insecure: InsecureKeyOption = False,
    ledger: LedgerOption = None,
    passphrase_stdin: PassphraseStdinOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Move a torn last line (a crash mid-append) to a side file and record that it did."""
    begin("ledger repair", fmt)
    store = open_ledger(ledger)
    if not store.path.exists():  # a mistyped path is not a ledger in good order
        with store.reading():
            pass
    signer = signing_key(key, insecure, passphrase_stdin)
    side = store.repair(signer)
    if side:
        say_host_signed(key, signer)
    if fmt is Format.JSON:
        emit_json(True, [{"moved_to": str(side) if side else None}])
    else:
        out().print(
            f"moved the torn tail to {side} and recorded it" if side else "nothing to repair",
            markup=False,
        )
