"""``airgap ledger ...``: the tamper-evident audit ledger of every manual transfer step."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from airgap.cli.keys import InsecureKeyOption, TrustedKeyOption, TrustedKeysOption, load_secret
from airgap.cli.output import Format, FormatOption, begin, emit_json, err, out, plural
from airgap.errors import ConfigError, ExitCode, InputError, TrustError, why
from airgap.ledger.store import STEPS
from airgap.names import escaped

if TYPE_CHECKING:
    from airgap.ledger.store import Ledger
    from airgap.ledger.verify import LedgerReport
    from airgap.signing.minisign import PublicKey, SecretKey

app = typer.Typer(
    help="The audit ledger: record, show, verify, checkpoint, prove, export, repair.",
    no_args_is_help=True,
)

LedgerOption = Annotated[
    Path | None,
    typer.Option(
        "--ledger", help="The ledger file (default: the 'ledger' setting).", show_default=False
    ),
]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key", help="Sign with this operator key (default: this host's key).", show_default=False
    ),
]


def open_ledger(path: Path | None) -> Ledger:
    """The ledger from the flag or the settings; exit 3 when none is configured."""
    from airgap import config
    from airgap.ledger.store import Ledger

    setting = config.load({"ledger": str(path) if path else None})["ledger"]
    if not setting:
        raise ConfigError(
            "no ledger configured",
            None,
            "give --ledger FILE, set AIRGAP_LEDGER or 'ledger' in your user config",
        )
    return Ledger(Path(setting))


def signing_key(key: Path | None, insecure: bool = False) -> SecretKey:
    """The operator's key when given, else this host's key (:func:`say_host_signed` tells the
    user, once the entry is written)."""
    from airgap.signing.trust import host_key

    return load_secret(key, insecure_permissions=insecure) if key else host_key()


def say_host_signed(key: Path | None, signer: SecretKey) -> None:
    """On stderr: no --key was given, so this host's key signed the entry."""
    if key is None:
        err().print(
            f"no --key given: this host's key {signer.public.id} signed the entry", markup=False
        )


def verifying_keys(
    files: list[Path] | None, folder: Path | None, *also: PublicKey
) -> tuple[dict[str, PublicKey], bool]:
    """This host's key, ``also``, and the trusted keys (revoked ones left out); and whether
    any trusted key was given or configured at all (else an entry by another key could not be
    checked, rather than was refused)."""
    from airgap.cli.keys import trust_folder
    from airgap.signing.minisign import PublicKey
    from airgap.signing.trust import TrustStore, host_key

    host = host_key().public
    keys = {host.id: host, **{key.id: key for key in also}}
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
    return (
        f"{plural(sum(u.entries for u in report.unchecked.values()), 'entry', 'entries')} "
        f"signed by {', '.join(map(str, report.unchecked.values()))}, of which no trusted "
        "copy is held"
    )


def verify_own(
    store: Ledger,
    *also: PublicKey,
    trusted_key: list[Path] | None = None,
    folder: Path | None = None,
) -> LedgerReport:
    """This host's ledger checked before it signs a checkpoint of it: the chain and every
    signature it can check (the host key, ``also``, trusted keys when given or configured).
    Entries signed by other keys are named on stderr, not refused: a checkpoint vouches for
    the lines, and 'ledger verify' judges the signers. Only a real break (an edited, moved or
    deleted line, a bad signature) fails, exit 4; a torn tail is exit 1."""
    from airgap.ledger import checkpoint
    from airgap.ledger.store import TornTailError
    from airgap.ledger.verify import verify

    keys, _ = verifying_keys(trusted_key, folder, *also)
    last = checkpoint.latest(store)
    since = checkpoint.open_checkpoint(last, list(keys.values()), store.path) if last else None
    report = verify(store, keys, since=since, trust_given=False)
    if report.unchecked:
        err().print(f"{store.path}: note: could not check {unchecked_text(report)}", markup=False)
    for finding in report.findings:
        err().print(f"{store.path}: error: {finding}", markup=False)
    if any(f.code == ExitCode.TRUST for f in report.findings):
        raise TrustError(
            "own ledger does not verify",
            store.path,
            plural(len(report.findings), "finding"),
            "run 'airgap ledger verify'",
        )
    if report.findings:
        raise TornTailError("torn tail", store.path, "the last line was cut mid-write")
    return report


def configured() -> Ledger | None:
    """The ledger when one is configured (flag, AIRGAP_LEDGER or the user config), else None."""
    from airgap import config
    from airgap.ledger.store import Ledger

    setting = config.load()["ledger"]
    return Ledger(Path(setting)) if setting else None


def record_step(
    step: str,
    *,
    key: SecretKey | None = None,
    materials: dict[str, str] | None = None,
    products: dict[str, str] | None = None,
    note: str = "",
    result: str = "ok",
) -> dict[str, Any] | None:
    """Record a step airgap itself performed, when a ledger is configured (else nothing)."""
    from airgap.signing.trust import host_key

    store = configured()
    if store is None:
        return None
    entry = store.append(
        step,
        key or host_key(),
        materials=_named(materials),
        products=_named(products),
        note=escaped(note),
        result=result,
    )
    err().print(f"recorded ledger entry {entry['seq']}: {step}", markup=False, style="dim")
    return entry


def _named(files: dict[str, str] | None) -> dict[str, str]:
    """Materials or products by escaped name: a name that is not UTF-8 is recorded, not lost."""
    return {escaped(name): digest for name, digest in (files or {}).items()}


def sender_checkpoint(store: Ledger, signer: PublicKey) -> bytes:
    """``airgap-checkpoint.txt`` for a bundle: this host's ledger, checked as far as it can
    be (:func:`verify_own`, with the key that signs the bundle) and checkpointed."""
    from airgap.ledger import checkpoint, witness
    from airgap.signing.trust import host_key

    tail = store.tail()
    if tail.count == 0 and not tail.torn:
        return b""  # nothing recorded yet
    report = verify_own(store, signer)
    host = host_key()
    point, note, _ = checkpoint.make(store, host, report)
    return witness.export(store, note, point, host.public)


def witnessed_dir(store: Ledger | None) -> Path:
    """Where a receiver keeps the last checkpoint seen from each sender."""
    from airgap.signing.trust import data_home

    return (
        store.path.with_name(f"{store.path.name}.witnessed") if store else data_home() / "witnessed"
    )


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


@app.command(
    "record",
    epilog="Example: airgap ledger record --step cssm.upload --material "
    "usage-2026-11.tar.gz --note 'uploaded from the internet PC'",
)
def record(
    step: Annotated[str, typer.Option("--step", help=f"The step, one of: {', '.join(STEPS)}.")],
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
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Record a manual step, signed, with the SHA-256 of its materials and products."""
    begin("ledger record", fmt)
    store = open_ledger(ledger)
    signer = signing_key(key, insecure)
    entry = store.append(
        step,
        signer,
        device=device and escaped(device),
        materials=_named({str(p): file_digest(p) for p in material or []}),
        products=_named({str(p): file_digest(p) for p in product or []}),
        note=escaped(note),
    )
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
    step: Annotated[str | None, typer.Option(help="Only this step.", show_default=False)] = None,
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
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Verify every entry's form, signature and chain link, and the checkpoint's history.

    Exit 4 naming each altered, deleted, moved or forged entry, a rollback or a rewrite, or
    an entry signed by a key not among the trusted keys; exit 3 naming the keys when entries
    are signed by keys of which no trusted copy is held because no trusted keys are given or
    configured; exit 1 for a torn tail alone (earlier entries still verified).
    """
    from airgap.ledger.checkpoint import open_checkpoint, read_note
    from airgap.ledger.verify import verify

    begin("ledger verify", fmt)
    store = open_ledger(ledger)
    keys, given = verifying_keys(trusted_key, folder)
    checkpoint = None
    if since_checkpoint:
        checkpoint = open_checkpoint(
            read_note(since_checkpoint), list(keys.values()), since_checkpoint
        )
    report = verify(store, keys, since=checkpoint, jobs=jobs, trust_given=given)
    if fmt is Format.TEXT:
        for finding in report.findings:
            out().print(
                f"{store.path}: {'error' if finding.code == 4 else 'warning'}: {finding}",
                markup=False,
                style="red",
            )
    if report.exit_code == ExitCode.CANNOT_RUN:
        raise InputError(
            "cannot check the signatures",
            store.path,
            unchecked_text(report) + ": no trusted keys are given or configured",
            "give --trusted-key FILE or --trusted-keys DIR with the keys of the "
            "operators who recorded them",
        )
    if fmt is Format.JSON:
        emit_json(report.exit_code == ExitCode.OK, [report.to_dict()])
    else:
        if report.unchecked:
            out().print(
                f"{store.path}: note: could not check {unchecked_text(report)}", markup=False
            )
        how = (
            f" (from the checkpoint at {report.incremental_from})"
            if report.incremental_from is not None
            else ""
        )
        state = "verified" if report.exit_code == ExitCode.OK else "NOT verified"
        out().print(f"{store.path}: {state}: {report.entries} entries{how}", markup=False)
    raise typer.Exit(report.exit_code)


@app.command("checkpoint", epilog="Example: airgap ledger checkpoint > checkpoint.txt")
def checkpoint_cmd(
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    ledger: LedgerOption = None,
) -> None:
    """Verify the ledger, then sign and print a checkpoint (C2SP tlog-checkpoint) of it with
    this host's key; kept beside the ledger for incremental verifies. Entries whose signers
    have no trusted copy here are named on stderr; only a real break stops it (exit 4)."""
    from airgap.ledger import checkpoint
    from airgap.signing.trust import host_key

    begin("ledger checkpoint", Format.TEXT)
    store = open_ledger(ledger)
    report = verify_own(store, trusted_key=trusted_key, folder=folder)
    _, note, _ = checkpoint.make(store, host_key(), report)
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
) -> None:
    """An inclusion proof (C2SP tlog-proof style) of one entry against the latest checkpoint;
    anyone with the host's public key can check it offline with 'ledger verify-proof'."""
    from airgap.fsutil import write_atomic
    from airgap.ledger import checkpoint
    from airgap.signing.trust import host_key

    begin("ledger prove", Format.TEXT)
    store = open_ledger(ledger)
    note = checkpoint.latest(store)
    if note is None:
        raise InputError("no checkpoint", store.path, "run 'airgap ledger checkpoint' first")
    proof = checkpoint.prove(store, seq, note, host_key().public)
    if entry_out:
        line = next((line for number, line in store.lines() if number == seq), b"")
        write_atomic(entry_out, line + b"\n")
    if out_file:
        write_atomic(out_file, proof.encode())
    else:
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
    from airgap.cli.keys import trusted_keys
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


EXPORT_COLUMNS = (
    "seq",
    "time",
    "step",
    "operator",
    "host",
    "device",
    "result",
    "note",
    "materials",
    "products",
    "prev",
    "sig",
)


def in_toto_link(entry: dict[str, Any], key: SecretKey | None) -> dict[str, Any]:
    """An entry as an in-toto link metablock (v0.9 layout), signed when given a key."""
    from airgap.ledger.store import canonical

    def artifacts(paths: dict[str, str]) -> dict[str, dict[str, str]]:
        return {
            path: {"sha256": str(digest).removeprefix("sha256:")} for path, digest in paths.items()
        }

    signed: dict[str, Any] = {
        "_type": "link",
        "name": entry.get("step"),
        "command": [],
        "materials": artifacts(entry.get("materials") or {}),
        "products": artifacts(entry.get("products") or {}),
        "byproducts": {"note": entry.get("note"), "result": entry.get("result")},
        "environment": {
            k: entry.get(k) for k in ("seq", "time", "host", "device", "operator", "prev", "sig")
        },
    }
    signatures = []
    if key is not None:
        signatures.append({"keyid": key.public.id, "sig": key.sign_digest(canonical(signed)).hex()})
    return {"signed": signed, "signatures": signatures}


@app.command("export", epilog="Example: airgap ledger export --as csv --out audit.csv")
def export(
    kind: Annotated[str, typer.Option("--as", help="jsonl, csv or in-toto.")] = "jsonl",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here, not to stdout.", show_default=False)
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="in-toto: sign each link with this key.", show_default=False),
    ] = None,
    insecure: InsecureKeyOption = False,
    ledger: LedgerOption = None,
) -> None:
    """Export the ledger for auditors: JSON Lines (exact copies), CSV, or in-toto links (one
    JSON metablock per line; each link's environment keeps the entry's seq, chain and sig).

    Lines that are not ledger entries are named on stderr and left out (exit 4).
    """
    import io

    from airgap.fsutil import atomic_file

    begin("ledger export", Format.TEXT)
    if kind not in ("jsonl", "csv", "in-toto"):
        raise typer.BadParameter("jsonl, csv or in-toto", param_hint="--as")
    store = open_ledger(ledger)
    signer = load_secret(key, insecure_permissions=insecure) if key else None
    read = Entries(store)

    def write(handle: io.TextIOBase) -> None:
        writer = csv.writer(handle)
        if kind == "csv":
            writer.writerow(EXPORT_COLUMNS)
        for line, entry in read:
            if kind == "jsonl":
                handle.write(line.decode() + "\n")
            elif kind == "in-toto":
                handle.write(json.dumps(in_toto_link(entry, signer), sort_keys=True) + "\n")
            else:
                writer.writerow(
                    [
                        json.dumps(entry[c]) if isinstance(entry[c], dict) else entry[c]
                        for c in EXPORT_COLUMNS
                    ]
                )

    if out_file is None:
        write(cast(io.TextIOBase, sys.stdout))
    else:
        with atomic_file(out_file) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            write(text)
            text.flush()
            text.detach()
    read.refuse_bad()


@app.command("repair", epilog="Example: airgap ledger repair")
def repair(
    key: KeyOption = None,
    insecure: InsecureKeyOption = False,
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Move a torn last line (a crash mid-append) to a side file and record that it did."""
    begin("ledger repair", fmt)
    store = open_ledger(ledger)
    signer = signing_key(key, insecure)
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
