"""``airgap key ...``, ``airgap sign`` and ``airgap verify``: minisign-compatible keys and
detached signatures, and the trusted keys with their roster."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airgap.cli.output import Format, FormatOption, begin, emit_json, err, note, out, progress
from airgap.errors import ConfigError, InputError, why
from airgap.flows.keys import signing_time, trust_folder, trusted_keys
from airgap.names import escaped

if TYPE_CHECKING:
    from airgap.flows.bundle import Hooks
    from airgap.signing.minisign import SecretKey

__all__ = ["signing_time", "trust_folder", "trusted_keys"]  # loaded in core, used by commands

app = typer.Typer(
    help="Keys: generate, list, export, trust and revoke (minisign formats).", no_args_is_help=True
)

FILE_CTX = "airgap-file/v1"

TrustedKeyOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--trusted-key", help="A trusted public key file (repeatable).", show_default=False
    ),
]
TrustedKeysOption = Annotated[
    Path | None,
    typer.Option(
        "--trusted-keys", help="A trusted-keys folder with its roster.", show_default=False
    ),
]
InsecureKeyOption = Annotated[
    bool,
    typer.Option("--insecure-key-permissions", help="Use a secret key file that others may read."),
]
LedgerOption = Annotated[
    Path | None,
    typer.Option(
        "--ledger", help="The ledger file (default: the 'ledger' setting).", show_default=False
    ),
]
PASSPHRASE_BYTES = 4096


def passphrase(prompt: str, *, confirm: bool = False) -> bytes:
    """From AIRGAP_PASSPHRASE_FILE (first line), else asked on the terminal."""
    from airgap.fsutil import read_small

    source = os.environ.get("AIRGAP_PASSPHRASE_FILE")
    if source:
        try:
            lines = read_small(Path(source), PASSPHRASE_BYTES).decode("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError("cannot read passphrase", source, why(exc)) from None
        if not lines or not lines[0]:
            raise ConfigError("empty passphrase", source, "the first line is the passphrase")
        return lines[0].encode()
    if not sys.stdin.isatty():
        raise ConfigError(
            "no passphrase", None, "not on a terminal and AIRGAP_PASSPHRASE_FILE is not set"
        )
    text: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return text.encode()


def load_secret(path: Path, *, insecure_permissions: bool = False) -> SecretKey:
    """A secret key file, asking for its passphrase only when it is encrypted; one that
    others may read is refused unless ``insecure_permissions``."""
    from airgap.flows import keys

    return keys.load_secret(path, passphrase, insecure_permissions=insecure_permissions)


def announce(entry: dict[str, Any]) -> None:
    """On stderr: a ledger entry airgap recorded by itself."""
    err().print(f"recorded ledger entry {entry['seq']}: {entry['step']}", markup=False, style="dim")


def hooks() -> Hooks:
    """How a workflow reaches the person at this terminal: lines and notes on stderr, each
    recorded ledger entry named, the passphrase prompt, progress bars."""
    from airgap.flows.bundle import Hooks

    return Hooks(
        say=lambda line: err().print(line, markup=False),
        note=note,
        announce=announce,
        passphrase=passphrase,
        progress=progress,
    )


@app.command("generate", epilog="Example: airgap key generate --out ~/keys/operator")
def generate(
    prefix: Annotated[Path, typer.Option("--out", help="Writes PREFIX.key and PREFIX.pub.")],
    no_passphrase: Annotated[
        bool,
        typer.Option("--no-passphrase", help="Leave the secret key unencrypted (not recommended)."),
    ] = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Generate a key pair in minisign's formats; the secret key is encrypted with scrypt."""
    from airgap.fsutil import write_atomic
    from airgap.signing.minisign import SecretKey

    begin("key generate", fmt)
    secret_path, public_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for path in (secret_path, public_path):
        if path.exists():
            raise InputError("refusing to overwrite", path, "the file exists")
    secret = None if no_passphrase else passphrase("Passphrase", confirm=True)
    key = SecretKey.generate()
    write_atomic(secret_path, key.text(secret).encode(), 0o600, replace=False)
    write_atomic(public_path, key.public.text().encode(), replace=False)
    result = {
        "key_id": key.public.id,
        "secret_key": str(secret_path),
        "public_key": str(public_path),
        "encrypted": secret is not None,
    }
    if fmt is Format.JSON:
        emit_json(True, [result])
    else:
        out().print(
            f"key {key.public.id}: {secret_path} (secret, "
            f"{'encrypted' if secret else 'NOT encrypted'}), {public_path} (public)",
            markup=False,
        )


@app.command("list", epilog="Example: airgap key list --trusted-keys /etc/airgap/trusted")
def list_keys(folder: TrustedKeysOption = None, fmt: FormatOption = Format.TEXT) -> None:
    """List the trusted keys with their holder, role and state, and this host's key."""
    from airgap.signing.trust import TrustStore, host_key

    begin("key list", fmt)
    folder = trust_folder(folder)
    if folder is not None and not folder.is_dir():
        raise ConfigError("no such trusted-keys folder", folder, "not a folder")
    store = TrustStore(folder).load() if folder else None
    rows = (
        [
            entry.to_dict() if (entry := store.roster.get(key_id)) else {"key_id": key_id}
            for key_id in sorted(store.keys)
        ]
        if store
        else []
    )
    host = host_key().public.id
    if fmt is Format.JSON:
        emit_json(True, rows, host_key=host, trusted_keys=str(folder) if folder else None)
        return
    out().print(f"host key: {host}", markup=False)
    if not rows:
        out().print(
            "no trusted keys" + (f" in {folder}" if folder else " (no folder set)"), markup=False
        )
    for row in rows:
        state = f"REVOKED {row['revoked']}" if row.get("revoked") else "trusted"
        out().print(
            f"{row['key_id']}  {row.get('name', '?')} ({row.get('role', '?')})  {state}",
            markup=False,
        )


@app.command("export", epilog="Example: airgap key export > jumphost.pub")
def export(
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", help="A secret key file; by default this host's key.", show_default=False
        ),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of stdout.", show_default=False)
    ] = None,
    insecure: InsecureKeyOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Print a public key (this host's by default) for others to trust: the one the secret
    key holds, refused when the .pub beside it is another key's."""
    from airgap.errors import TrustError
    from airgap.fsutil import write_atomic
    from airgap.signing.minisign import PublicKey
    from airgap.signing.trust import host_key

    begin("key export", fmt)
    public = (
        host_key().public if key is None else load_secret(key, insecure_permissions=insecure).public
    )
    beside = key.with_suffix(".pub") if key else None
    if beside and beside.exists() and (found := PublicKey.load(beside)) != public:
        raise TrustError(
            "public key does not belong to the secret key",
            beside,
            f"it is key {found.id}; {key} is key {public.id}",
            f"replace {beside} with this command's output (--out)",
        )
    if out_file:
        write_atomic(out_file, public.text().encode())
    if fmt is Format.JSON:
        written = str(out_file) if out_file else None
        emit_json(True, [{"key_id": public.id, "public_key": public.text(), "written_to": written}])
    elif not out_file:
        sys.stdout.write(public.text())


@app.command(
    "trust",
    epilog="Example: airgap key trust alice.pub --name 'Alice Ng' "
    "--role operator --trusted-keys /etc/airgap/trusted",
)
def trust(
    public_file: Annotated[Path, typer.Argument(help="The public key file to trust.")],
    name: Annotated[str, typer.Option("--name", help="Who holds the key.")],
    role: Annotated[str, typer.Option("--role", help="Their role, e.g. operator, auditor.")],
    folder: TrustedKeysOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Trust a public key: shows its key id and asks to confirm it with its holder."""
    from airgap.flows import ledger as steps
    from airgap.signing.minisign import PublicKey
    from airgap.signing.trust import TrustStore

    begin("key trust", fmt)
    folder = trust_folder(folder, required=True)
    assert folder is not None
    key = PublicKey.load(public_file)
    err().print(f"key id {key.id} from {public_file}, for {name} ({role})", markup=False)
    if not yes and not typer.confirm("Is this the key id its holder reads out to you?"):
        raise typer.Exit(1)
    entry = TrustStore(folder).trust(key, name, role)
    steps.Recorder(steps.configured(ledger), announce)(
        "key.trust", note=f"trusted key {entry.key_id} for {name} ({role})"
    )
    if fmt is Format.JSON:
        emit_json(True, [entry.to_dict()])
    else:
        out().print(f"trusted {entry.key_id} for {name} ({role}) in {folder}", markup=False)


@app.command("revoke", epilog="Example: airgap key revoke 0496AD7AE84080FD --reason 'lost laptop'")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id, as 'airgap key list' shows it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the auditors.")] = "",
    folder: TrustedKeysOption = None,
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Revoke a trusted key: its signatures are refused from now on."""
    from airgap.flows import ledger as steps
    from airgap.signing.trust import TrustStore

    begin("key revoke", fmt)
    folder = trust_folder(folder, required=True)
    assert folder is not None
    entry = TrustStore(folder).revoke(key_id, reason)
    steps.Recorder(steps.configured(ledger), announce)(
        "key.revoke",
        note=f"revoked key {entry.key_id} ({entry.name}, {entry.role})"
        + (f": {reason}" if reason else ""),
    )
    if fmt is Format.JSON:
        emit_json(True, [entry.to_dict()])
    else:
        out().print(
            f"revoked {entry.key_id} ({entry.name}, {entry.role}) at {entry.revoked}", markup=False
        )


def sign(
    file: Annotated[Path, typer.Argument(help="The file to sign.")],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Your secret key file (default: the 'key' setting)."),
    ] = None,
    sig: Annotated[
        Path | None,
        typer.Option("--out", help="Signature file; FILE.minisig by default.", show_default=False),
    ] = None,
    insecure: InsecureKeyOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Sign a file (minisign's prehashed ED signature, trusted comment with ctx and time)."""
    from airgap import config
    from airgap.fsutil import write_atomic
    from airgap.signing.minisign import Signature, blake2b_file, read_chunks

    begin("sign", fmt)
    if not file.is_file():
        raise InputError("cannot read", file, "no such file")
    secret = load_secret(config.key_file(key), insecure_permissions=insecure)
    comment = f"timestamp:{signing_time()}\tfile:{escaped(file.name)}\tctx:{FILE_CTX}"
    signature = Signature.create(secret, blake2b_file(read_chunks(file)), comment)
    target = sig or Path(f"{file}.minisig")
    write_atomic(target, signature.text().encode())
    if fmt is Format.JSON:
        emit_json(
            True,
            [
                {
                    "file": str(file),
                    "signature": str(target),
                    "key_id": secret.public.id,
                    "trusted_comment": comment,
                }
            ],
        )
    else:
        out().print(f"signed {file} with key {secret.public.id}: {target}", markup=False)


def verify(
    file: Annotated[Path, typer.Argument(help="The signed file.")],
    sig: Annotated[
        Path | None,
        typer.Option("--sig", help="Signature file; FILE.minisig by default.", show_default=False),
    ] = None,
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Verify a file's detached signature against the trusted keys (exit 4 when it fails).

    Signatures from stock minisign verify too; one made for another purpose (another ctx:,
    such as a transfer bundle's) is refused.
    """
    from airgap.fsutil import read_small
    from airgap.signing.minisign import Signature, SignatureError, read_chunks

    begin("verify", fmt)
    sig = sig or Path(f"{file}.minisig")
    try:
        text = read_small(sig).decode("utf-8")
    except OSError as exc:
        raise SignatureError("missing signature", sig, why(exc)) from None
    except UnicodeDecodeError as exc:
        raise SignatureError("not a signature", sig, why(exc)) from None
    if not file.is_file():
        raise InputError("cannot read", file, "no such file")
    signature = Signature.parse(text, sig)
    ctx = signature.fields().get("ctx")
    if ctx not in (None, FILE_CTX):
        raise SignatureError(
            "signature for another purpose", sig, f"made for ctx:{ctx}, not for a plain file"
        )
    key, entry = trusted_keys(trusted_key, folder).signer(signature, sig)
    signature.verify(key, read_chunks(file), file)
    result = {
        "file": str(file),
        "signature": str(sig),
        "key_id": key.id,
        "name": entry.name if entry else None,
        "role": entry.role if entry else None,
        "trusted_comment": signature.trusted_comment,
    }
    if fmt is Format.JSON:
        emit_json(True, [result])
    else:
        who = f" ({entry.name}, {entry.role})" if entry else ""
        out().print(f"verified {file}: signed by key {key.id}{who}", markup=False)
        out().print(f"trusted comment: {signature.trusted_comment}", markup=False)
