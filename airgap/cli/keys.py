"""``airgap key ...``, ``airgap sign`` and ``airgap verify``: minisign-compatible keys and
detached signatures, and the trusted keys with their roster."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airgap.cli.options import LedgerOption as LedgerOption  # shared by every recorder
from airgap.cli.output import Format, FormatOption, begin, emit_json, err, note, out, progress
from airgap.errors import AirgapError, ConfigError, ExitCode, InputError, why
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
PassphraseStdinOption = Annotated[
    bool,
    typer.Option(
        "--passphrase-stdin",
        help="Read the passphrase from the first line of stdin (as minisign can), not a prompt.",
    ),
]
PASSPHRASE_BYTES = 4096
PASSPHRASE_TRIES = 3
WHY_NOT_EMPTY = "an empty passphrase would leave the secret key as good as unencrypted"


class NoTerminalError(AirgapError):
    """A question for a person with no terminal to ask it on (exit 2: the flag that answers
    it was not given), said at once instead of hanging or printing ``Aborted!``."""

    exit_code = ExitCode.USAGE


def passphrase(prompt: str, *, confirm: bool = False, from_stdin: bool = False) -> bytes:
    """The passphrase: the first line of stdin with ``from_stdin``, else the first line of
    the file AIRGAP_PASSPHRASE_FILE names, else asked on the terminal (stderr); an empty one
    is refused, saying why."""
    from airgap.fsutil import read_small

    if from_stdin:
        return _first_line(sys.stdin.buffer.readline(PASSPHRASE_BYTES + 1), "<stdin>")
    source = os.environ.get("AIRGAP_PASSPHRASE_FILE")
    if source:
        try:
            return _first_line(read_small(Path(source), PASSPHRASE_BYTES), source)
        except OSError as exc:
            raise ConfigError("cannot read passphrase", source, why(exc)) from None
    if not sys.stdin.isatty():
        raise NoTerminalError(
            "no passphrase",
            None,
            "not on a terminal to ask for it",
            "pass --passphrase-stdin or set AIRGAP_PASSPHRASE_FILE",
        )
    return _ask(prompt, confirm=confirm)


def _first_line(data: bytes, source: str) -> bytes:
    """A passphrase given as text: its first line, without the line ending."""
    if len(data) > PASSPHRASE_BYTES:
        raise ConfigError("passphrase too long", source, f"over {PASSPHRASE_BYTES} bytes")
    try:
        line = data.decode("utf-8").splitlines()[0] if data.strip(b"\r\n") else ""
    except UnicodeDecodeError as exc:
        raise ConfigError("cannot read passphrase", source, why(exc)) from None
    if not line:
        raise ConfigError("empty passphrase", source, WHY_NOT_EMPTY)
    return line.encode()


def _ask(prompt: str, *, confirm: bool) -> bytes:
    """Ask on the terminal, not echoed (the prompt on the terminal or stderr, never stdout):
    an empty answer is refused with the reason, two that differ are asked again, three tries."""
    for _ in range(PASSPHRASE_TRIES):
        text = _hidden(f"{prompt}: ")
        if not text:
            err().print(f"empty passphrase refused: {WHY_NOT_EMPTY}", markup=False)
            continue
        if confirm and text != _hidden("Repeat it: "):
            err().print("the two passphrases differ: again", markup=False)
            continue
        return text.encode()
    raise ConfigError("no passphrase", None, f"{PASSPHRASE_TRIES} tries, none accepted")


def _hidden(prompt: str) -> str:
    """One answer typed without echo; end of input (Ctrl-D) counts as empty."""
    import getpass

    try:
        return getpass.getpass(prompt, stream=sys.stderr)
    except EOFError:
        return ""


def confirm(question: str, flag: str) -> bool:
    """A yes/no question on the terminal (asked on stderr; stdout keeps only the result);
    with no terminal, exit 2 naming the ``flag`` that answers it."""
    if not sys.stdin.isatty():
        raise NoTerminalError(
            "cannot ask to confirm", None, "not on a terminal", f"pass {flag} to go ahead"
        )
    sys.stderr.write(f"{question} [y/N]: ")
    sys.stderr.flush()
    return sys.stdin.readline(64).strip().lower() in ("y", "yes")


def load_secret(
    path: Path, *, insecure_permissions: bool = False, passphrase_stdin: bool = False
) -> SecretKey:
    """A secret key file, asking for its passphrase only when it is encrypted; one that
    others may read is refused unless ``insecure_permissions``."""
    from airgap.flows import keys

    def asked(prompt: str) -> bytes:
        return passphrase(prompt, from_stdin=passphrase_stdin)

    return keys.load_secret(path, asked, insecure_permissions=insecure_permissions)


def announce(entry: dict[str, Any]) -> None:
    """On stderr: a ledger entry airgap recorded by itself."""
    err().print(f"recorded ledger entry {entry['seq']}: {entry['step']}", markup=False, style="dim")


def hooks(*, passphrase_stdin: bool = False) -> Hooks:
    """How a workflow reaches the person at this terminal: lines and notes on stderr, each
    recorded ledger entry named, the passphrase (asked, or stdin's first line with
    ``passphrase_stdin``), progress bars."""
    from airgap.flows.bundle import Hooks

    def asked(prompt: str) -> bytes:
        return passphrase(prompt, from_stdin=passphrase_stdin)

    return Hooks(
        say=lambda line: err().print(line, markup=False),
        note=note,
        announce=announce,
        passphrase=asked,
        progress=progress,
    )


@app.command("generate", epilog="Example: airgap key generate --out ~/keys/operator")
def generate(
    prefix: Annotated[Path, typer.Option("--out", help="Writes PREFIX.key and PREFIX.pub.")],
    no_passphrase: Annotated[
        bool,
        typer.Option("--no-passphrase", help="Leave the secret key unencrypted (not recommended)."),
    ] = False,
    passphrase_stdin: PassphraseStdinOption = False,
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
    secret = (
        None
        if no_passphrase
        else passphrase("Passphrase", confirm=True, from_stdin=passphrase_stdin)
    )
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


@app.command("list", epilog="Example: airgap key list --trusted-keys ~/trusted")
def list_keys(folder: TrustedKeysOption = None, fmt: FormatOption = Format.TEXT) -> None:
    """List the trusted keys with their holder, role and state, and this host's key."""
    from airgap.signing.trust import TrustStore, host_key

    begin("key list", fmt)
    folder = trust_folder(folder)
    if folder is not None and not folder.exists():
        raise ConfigError("no such trusted-keys folder", folder, "nothing is there")
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
    passphrase_stdin: PassphraseStdinOption = False,
) -> None:
    """Print a public key (this host's by default) for others to trust: the one the secret
    key holds, refused when the .pub beside it is another key's."""
    from airgap.errors import TrustError
    from airgap.fsutil import write_atomic
    from airgap.signing.minisign import PublicKey
    from airgap.signing.trust import host_key

    begin("key export", fmt)
    public = (
        host_key().public
        if key is None
        else load_secret(
            key, insecure_permissions=insecure, passphrase_stdin=passphrase_stdin
        ).public
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
    "--role operator --trusted-keys ~/trusted",
)
def trust(
    public_file: Annotated[Path, typer.Argument(help="The public key file to trust.")],
    name: Annotated[str, typer.Option("--name", help="Who holds the key.")],
    role: Annotated[str, typer.Option("--role", help="Their role, e.g. operator, auditor.")],
    folder: TrustedKeysOption = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", help="Do not ask to confirm (needed with no terminal): you checked the key id."
        ),
    ] = False,
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Trust a public key: shows its key id and asks to confirm it with its holder."""
    from airgap.flows import ledger as steps
    from airgap.ledger.store import Step
    from airgap.signing.minisign import PublicKey
    from airgap.signing.trust import TrustStore

    begin("key trust", fmt)
    folder = trust_folder(folder, required=True)
    assert folder is not None
    key = PublicKey.load(public_file)
    err().print(f"key id {key.id} from {public_file}, for {name} ({role})", markup=False)
    if not yes and not confirm("Is this the key id its holder reads out to you?", "--yes"):
        err().print(f"not trusted: {key.id}", markup=False)
        raise typer.Exit(1)
    entry = TrustStore(folder).trust(key, name, role)
    steps.Recorder(steps.configured(ledger), announce)(
        Step.KEY_TRUST, note=f"trusted key {entry.key_id} for {name} ({role})"
    )
    if fmt is Format.JSON:
        emit_json(True, [entry.to_dict()])
    else:
        out().print(f"trusted {entry.key_id} for {name} ({role}) in {folder}", markup=False)


@app.command("passphrase", epilog="Example: airgap key passphrase ~/keys/operator.key")
def change_passphrase(
    key: Annotated[Path, typer.Argument(help="The secret key file, rewritten in place.")],
    passphrase_stdin: Annotated[
        bool,
        typer.Option(
            "--passphrase-stdin",
            help="Read the current passphrase (when the key has one) from stdin's first line "
            "and the new one from the next.",
        ),
    ] = False,
    insecure: InsecureKeyOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Change a secret key's passphrase: the same key and key id, the file rewritten whole
    (atomically) and readable by its owner only."""
    from airgap.signing.minisign import rewrite_secret

    begin("key passphrase", fmt)
    secret = load_secret(key, insecure_permissions=insecure, passphrase_stdin=passphrase_stdin)
    new = passphrase("New passphrase", confirm=True, from_stdin=passphrase_stdin)
    rewrite_secret(key, secret, new)
    if fmt is Format.JSON:
        emit_json(True, [{"key_id": secret.public.id, "secret_key": str(key), "encrypted": True}])
    else:
        out().print(f"key {secret.public.id}: new passphrase for {key}", markup=False)


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
    from airgap.ledger.store import Step
    from airgap.signing.trust import TrustStore

    begin("key revoke", fmt)
    folder = trust_folder(folder, required=True)
    assert folder is not None
    entry = TrustStore(folder).revoke(key_id, reason)
    steps.Recorder(steps.configured(ledger), announce)(
        Step.KEY_REVOKE,
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
    passphrase_stdin: PassphraseStdinOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Sign a file (minisign's prehashed ED signature, trusted comment with ctx and time)."""
    from airgap import config
    from airgap.fsutil import write_atomic
    from airgap.signing.minisign import Signature, blake2b_file, read_chunks

    begin("sign", fmt)
    if not file.is_file():
        raise InputError("cannot read", file, "no such file")
    secret = load_secret(
        config.key_file(key), insecure_permissions=insecure, passphrase_stdin=passphrase_stdin
    )
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
    if file.is_dir():  # a folder is no signed file: could not run, not a trust failure
        raise InputError("cannot verify", file, "a folder, not a file")
    if not file.is_file():
        raise InputError("cannot read", file, "no such file")
    sig = sig or Path(f"{file}.minisig")
    try:
        text = read_small(sig).decode("utf-8")
    except OSError as exc:
        raise SignatureError("missing signature", sig, why(exc)) from None
    except UnicodeDecodeError as exc:
        raise SignatureError("not a signature", sig, why(exc)) from None
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
