"""``airgap ledger ...``: the tamper-evident audit ledger of every manual transfer step."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airgap.cli.keys import TrustedKeyOption, TrustedKeysOption, load_secret
from airgap.cli.output import Format, FormatOption, begin, emit_json, err, out, plural
from airgap.errors import ConfigError, ExitCode, InputError, why
from airgap.names import escaped

if TYPE_CHECKING:
    from airgap.ledger.store import Ledger
    from airgap.signing.minisign import PublicKey, SecretKey

app = typer.Typer(help="The audit ledger: record, show, verify, checkpoint, prove, export, "
                       "repair.", no_args_is_help=True)

LedgerOption = Annotated[Path | None, typer.Option(
    "--ledger", help="The ledger file (default: the 'ledger' setting).", show_default=False)]
KeyOption = Annotated[Path | None, typer.Option(
    "--key", help="Sign with this operator key (default: this host's key).",
    show_default=False)]


def open_ledger(path: Path | None) -> Ledger:
    """The ledger from the flag or the settings; exit 3 when none is configured."""
    from airgap import config
    from airgap.ledger.store import Ledger

    setting = config.load({"ledger": str(path) if path else None})["ledger"]
    if not setting:
        raise ConfigError("no ledger configured", None, "give --ledger FILE, set AIRGAP_LEDGER "
                          "or 'ledger' in your user config")
    return Ledger(Path(setting))


def signing_key(key: Path | None) -> SecretKey:
    """The operator's key when given, else this host's key."""
    from airgap.signing.trust import host_key

    return load_secret(key) if key else host_key()


def verifying_keys(files: list[Path] | None, folder: Path | None) -> dict[str, PublicKey]:
    """This host's key plus the trusted keys (revoked ones left out)."""
    from airgap.cli.keys import trust_folder
    from airgap.signing.trust import TrustStore, host_key

    keys = {host_key().public.id: host_key().public}
    folder = folder if files else trust_folder(folder)
    if folder:
        store = TrustStore(folder).load()
        keys.update({k: v for k, v in store.keys.items()
                     if not (store.roster.get(k) and store.roster[k].revoked)})
    from airgap.signing.minisign import PublicKey

    for path in files or []:
        key = PublicKey.load(path)
        keys[key.id] = key
    return keys


def configured() -> Ledger | None:
    """The ledger when one is configured (flag, AIRGAP_LEDGER or the user config), else None."""
    from airgap import config
    from airgap.ledger.store import Ledger

    setting = config.load()["ledger"]
    return Ledger(Path(setting)) if setting else None


def record_step(step: str, *, key: SecretKey | None = None,
                materials: dict[str, str] | None = None, products: dict[str, str] | None = None,
                note: str = "", result: str = "ok") -> dict[str, Any] | None:
    """Record a step airgap itself performed, when a ledger is configured (else nothing)."""
    from airgap.signing.trust import host_key

    store = configured()
    if store is None:
        return None
    entry = store.append(step, key or host_key(), materials=_named(materials),
                         products=_named(products), note=escaped(note), result=result)
    err().print(f"recorded ledger entry {entry['seq']}: {step}", markup=False, style="dim")
    return entry


def _named(files: dict[str, str] | None) -> dict[str, str]:
    """Materials or products by escaped name: a name that is not UTF-8 is recorded, not lost."""
    return {escaped(name): digest for name, digest in (files or {}).items()}


def sender_checkpoint(store: Ledger) -> bytes:
    """``airgap-checkpoint.txt`` for a bundle: this host's ledger, verified and checkpointed."""
    from airgap.errors import TrustError
    from airgap.ledger import checkpoint, witness
    from airgap.ledger.verify import verify
    from airgap.signing.trust import host_key

    if store.tail().count in (0, None):
        return b""
    keys = verifying_keys(None, None)
    last = checkpoint.latest(store)
    since = checkpoint.open_checkpoint(last, list(keys.values()), store.path) if last else None
    report = verify(store, keys, since=since)
    if report.exit_code != ExitCode.OK:
        raise TrustError("own ledger does not verify", store.path,
                         plural(len(report.findings), "finding"), "run 'airgap ledger verify'")
    host = host_key()
    point, note, _ = checkpoint.make(store, host, report)
    return witness.export(store, note, point, host.public)


def witnessed_dir(store: Ledger | None) -> Path:
    """Where a receiver keeps the last checkpoint seen from each sender."""
    from airgap.signing.trust import data_home

    return (store.path.with_name(f"{store.path.name}.witnessed") if store
            else data_home() / "witnessed")


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file, for materials and products."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InputError("cannot read", path, exc.strerror or str(exc)) from None
    return f"sha256:{digest.hexdigest()}"


@app.command("record", epilog="Example: airgap ledger record --step cssm.upload --material "
             "usage-2026-11.tar.gz --note 'uploaded from the internet PC'")
def record(
    step: Annotated[str, typer.Option("--step", help="One of the fixed steps (DESIGN.md).")],
    device: Annotated[str | None, typer.Option(help="The device concerned (PID:SN or name).",
                                               show_default=False)] = None,
    material: Annotated[list[Path] | None, typer.Option(
        "--material", help="A file the step used (repeatable).", show_default=False)] = None,
    product: Annotated[list[Path] | None, typer.Option(
        "--product", help="A file the step made (repeatable).", show_default=False)] = None,
    note: Annotated[str, typer.Option("--note", help="What happened, for the auditor.")] = "",
    key: KeyOption = None,
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Record a manual step, signed, with the SHA-256 of its materials and products."""
    begin("ledger record", fmt)
    store = open_ledger(ledger)
    entry = store.append(step, signing_key(key), device=device and escaped(device),
                         materials=_named({str(p): file_digest(p) for p in material or []}),
                         products=_named({str(p): file_digest(p) for p in product or []}),
                         note=escaped(note))
    if fmt is Format.JSON:
        emit_json(True, [entry])
    else:
        out().print(f"recorded entry {entry['seq']}: {step} by key {entry['operator']} at "
                    f"{entry['time']}", markup=False)


@app.command("show", epilog="Example: airgap ledger show --step bundle.create --since 2026-11-01")
def show(
    since: Annotated[str | None, typer.Option(help="Entries at or after this time (ISO 8601).",
                                              show_default=False)] = None,
    step: Annotated[str | None, typer.Option(help="Only this step.", show_default=False)]
    = None,
    device: Annotated[str | None, typer.Option(help="Only this device.", show_default=False)]
    = None,
    seq: Annotated[int | None, typer.Option(help="Only this entry.", show_default=False)]
    = None,
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Show the ledger as a timeline (read only: run 'ledger verify' to check it)."""
    begin("ledger show", fmt)
    store = open_ledger(ledger)
    entries = []
    for _, line in store.lines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # 'ledger verify' reports it
        if ((since and str(entry.get("time", "")) < since) or (step and entry.get("step") != step)
                or (device and entry.get("device") != device)
                or (seq is not None and entry.get("seq") != seq)):
            continue
        entries.append(entry)
    if fmt is Format.JSON:
        emit_json(True, entries)
        return
    for e in entries:
        moved = ", ".join(f"{Path(p).name}" for p in {**e.get("materials", {}),
                                                       **e.get("products", {})})
        out().print(f"{e.get('seq'):>6}  {e.get('time')}  {e.get('step'):<15} "
                    f"{e.get('operator')}@{e.get('host')}"
                    + (f"  device {e['device']}" if e.get("device") else "")
                    + (f"  [{moved}]" if moved else "")
                    + (f"  {e['note']}" if e.get("note") else ""), markup=False)


@app.command("verify", epilog="Example: airgap ledger verify --since-checkpoint "
             "checkpoint-1000.txt")
def verify_cmd(
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    since_checkpoint: Annotated[Path | None, typer.Option(
        "--since-checkpoint", help="A signed checkpoint: the ledger must extend it; only "
        "entries after it are read when its state was saved here.", show_default=False)]
    = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="0: every core.")] = 0,
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Verify every entry's form, signature and chain link, and the checkpoint's history.

    Exit 4 naming each altered, deleted, moved or forged entry, a rollback or a rewrite;
    exit 1 for a torn tail alone (earlier entries still verified).
    """
    from airgap.ledger.checkpoint import open_checkpoint
    from airgap.ledger.verify import verify

    begin("ledger verify", fmt)
    store = open_ledger(ledger)
    keys = verifying_keys(trusted_key, folder)
    checkpoint = None
    if since_checkpoint:
        try:
            note = since_checkpoint.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError("cannot read", since_checkpoint, why(exc)) from None
        checkpoint = open_checkpoint(note, list(keys.values()), since_checkpoint)
    report = verify(store, keys, since=checkpoint, jobs=jobs)
    if fmt is Format.JSON:
        emit_json(report.exit_code == ExitCode.OK, [report.to_dict()])
    else:
        for finding in report.findings:
            out().print(f"{store.path}: {'error' if finding.code == 4 else 'warning'}: "
                        f"{finding}", markup=False, style="red")
        how = (f" (from the checkpoint at {report.incremental_from})"
               if report.incremental_from is not None else "")
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
    this host's key; kept beside the ledger for incremental verifies."""
    from airgap.ledger import checkpoint
    from airgap.ledger.verify import verify
    from airgap.signing.trust import host_key

    begin("ledger checkpoint", Format.TEXT)
    store = open_ledger(ledger)
    keys = verifying_keys(trusted_key, folder)
    last = checkpoint.latest(store)
    since = checkpoint.open_checkpoint(last, list(keys.values()), store.path) if last else None
    report = verify(store, keys, since=since)
    if report.exit_code != ExitCode.OK:
        for finding in report.findings:
            err().print(f"{store.path}: error: {finding}", markup=False)
        raise typer.Exit(report.exit_code)
    _, note, _ = checkpoint.make(store, host_key(), report)
    sys.stdout.write(note)


@app.command("prove", epilog="Example: airgap ledger prove 42 --out entry42.proof "
             "--entry-out entry42.json")
def prove(
    seq: Annotated[int, typer.Argument(help="The entry's seq.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the proof here.",
                                                  show_default=False)] = None,
    entry_out: Annotated[Path | None, typer.Option(
        "--entry-out", help="Write the entry's exact line here.", show_default=False)] = None,
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


@app.command("verify-proof", epilog="Example: airgap ledger verify-proof entry42.proof "
             "entry42.json --trusted-key jumphost.pub")
def verify_proof(
    proof: Annotated[Path, typer.Argument(metavar="PROOF")],
    entry: Annotated[Path, typer.Argument(metavar="ENTRY", help="The entry's line.")],
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Check, offline, that an entry is in the ledger a signed checkpoint vouches for."""
    from airgap.cli.keys import trusted_keys
    from airgap.ledger.checkpoint import verify_proof as check

    begin("ledger verify-proof", fmt)
    keys = list(trusted_keys(trusted_key, folder).keys.values())
    try:
        text, line = proof.read_text(encoding="utf-8"), entry.read_bytes()
    except OSError as exc:
        raise InputError("cannot read", exc.filename, exc.strerror or str(exc)) from None
    checkpoint, seq = check(text, line, keys, proof)
    if fmt is Format.JSON:
        emit_json(True, [{"seq": seq, "origin": checkpoint.origin, "size": checkpoint.size}])
    else:
        out().print(f"entry {seq} is in {checkpoint.origin} at size {checkpoint.size}",
                    markup=False)


EXPORT_COLUMNS = ("seq", "time", "step", "operator", "host", "device", "result", "note",
                  "materials", "products", "prev", "sig")


def in_toto_link(entry: dict[str, Any], key: SecretKey | None) -> dict[str, Any]:
    """An entry as an in-toto link metablock (v0.9 layout), signed when given a key."""
    from airgap.ledger.store import canonical

    def artifacts(paths: dict[str, str]) -> dict[str, dict[str, str]]:
        return {path: {"sha256": str(digest).removeprefix("sha256:")}
                for path, digest in paths.items()}

    signed: dict[str, Any] = {
        "_type": "link", "name": entry.get("step"), "command": [],
        "materials": artifacts(entry.get("materials") or {}),
        "products": artifacts(entry.get("products") or {}),
        "byproducts": {"note": entry.get("note"), "result": entry.get("result")},
        "environment": {k: entry.get(k) for k in ("seq", "time", "host", "device",
                                                  "operator", "prev", "sig")},
    }
    signatures = []
    if key is not None:
        signatures.append({"keyid": key.public.id,
                           "sig": key.sign_digest(canonical(signed)).hex()})
    return {"signed": signed, "signatures": signatures}


@app.command("export", epilog="Example: airgap ledger export --as csv --out audit.csv")
def export(
    kind: Annotated[str, typer.Option("--as", help="jsonl, csv or in-toto.")] = "jsonl",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write here, not to stdout.",
                                                  show_default=False)] = None,
    key: Annotated[Path | None, typer.Option(
        "--key", help="in-toto: sign each link with this key.", show_default=False)] = None,
    ledger: LedgerOption = None,
) -> None:
    """Export the ledger for auditors: JSON Lines (exact copies), CSV, or in-toto links (one
    JSON metablock per line; each link's environment keeps the entry's seq, chain and sig)."""
    from airgap.fsutil import atomic_file

    begin("ledger export", Format.TEXT)
    if kind not in ("jsonl", "csv", "in-toto"):
        raise typer.BadParameter("jsonl, csv or in-toto", param_hint="--as")
    store = open_ledger(ledger)
    signer = load_secret(key) if key else None

    def write(handle: Any) -> None:
        if kind == "jsonl":
            for _, line in store.lines():
                handle.write(line.decode() + "\n")
            return
        if kind == "in-toto":
            for _, line in store.lines():
                link = in_toto_link(json.loads(line), signer)
                handle.write(json.dumps(link, sort_keys=True) + "\n")
            return
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for _, line in store.lines():
            entry = json.loads(line)
            writer.writerow([json.dumps(entry.get(c)) if isinstance(entry.get(c), dict)
                             else entry.get(c) for c in EXPORT_COLUMNS])

    if out_file is None:
        write(sys.stdout)
        return
    import io

    buffer = io.StringIO()
    write(buffer)
    with atomic_file(out_file) as handle:
        handle.write(buffer.getvalue().encode())


@app.command("repair", epilog="Example: airgap ledger repair")
def repair(key: KeyOption = None, ledger: LedgerOption = None,
           fmt: FormatOption = Format.TEXT) -> None:
    """Move a torn last line (a crash mid-append) to a side file and record that it did."""
    begin("ledger repair", fmt)
    store = open_ledger(ledger)
    side = store.repair(signing_key(key))
    if fmt is Format.JSON:
        emit_json(True, [{"moved_to": str(side) if side else None}])
    else:
        out().print(f"moved the torn tail to {side} and recorded it" if side
                    else "nothing to repair", markup=False)
