"""``airgap bundle create/verify/list/extract``: signed transfer bundles."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from airgap.cli import ledger as ledger_cmd
from airgap.cli.keys import (
    InsecureKeyOption,
    TrustedKeyOption,
    TrustedKeysOption,
    load_secret,
    signing_time,
)
from airgap.cli.keys import trusted_keys as load_trusted
from airgap.cli.output import (
    Format,
    FormatOption,
    begin,
    emit_json,
    err,
    note,
    out,
    plural,
    progress,
)
from airgap.errors import ExitCode, FindingsError, InputError, worst
from airgap.fsutil import refuse_link

if TYPE_CHECKING:
    from airgap.bundle.verify import Verified

app = typer.Typer(
    help="Signed transfer bundles: BagIt bags in reproducible archives.", no_args_is_help=True
)

SignatureOption = Annotated[
    Path | None,
    typer.Option("--sig", help="Signature file; BUNDLE.minisig by default.", show_default=False),
]
AcceptRenamedOption = Annotated[
    bool,
    typer.Option(
        "--accept-renamed",
        help="Accept a bundle named otherwise than the file it was signed as "
        "(after checking it is not an older bundle under a new name).",
    ),
]
_SIZE = re.compile(r"(?i)(\d+)\s*([kmgt]?)i?b?")


def parse_size(text: str) -> int:
    """``700M``, ``4G``, ``1500000``: bytes (powers of 1024)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise typer.BadParameter(f"{text!r} is not a size like 700M or 4G")
    power = " kmgt".index(match[2].lower() or " ")
    return int(match[1]) * (1 << (10 * power))


@app.command(
    "create",
    epilog="Example: airgap bundle create usage-2026-11.tar.gz usage/ --key ~/keys/operator.key",
)
def create(
    out_path: Annotated[Path, typer.Argument(metavar="OUT", help="The bundle to write.")],
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Files and folders.")],
    key: Annotated[Path, typer.Option("--key", help="Your secret key file.")],
    direction: Annotated[
        str, typer.Option(help="outbound (usage to CSSM) or inbound (ACKs back).")
    ] = "outbound",
    answers: Annotated[
        str | None,
        typer.Option(
            "--answers", help="Inbound: the outbound bundle id this answers.", show_default=False
        ),
    ] = None,
    archive: Annotated[
        str,
        typer.Option("--archive", help="tar.gz, tar or 7z (7z output is not byte-reproducible)."),
    ] = "tar.gz",
    max_size: Annotated[
        str | None,
        typer.Option(
            "--max-size",
            help="Split into whole bags of at most this much payload (e.g. 700M).",
            show_default=False,
        ),
    ] = None,
    allow_invalid: Annotated[
        bool, typer.Option("--allow-invalid", help="Bundle files that fail validation.")
    ] = False,
    allow_resend: Annotated[
        bool,
        typer.Option(
            "--allow-resend", help="Bundle usage reports the ledger says went out before."
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Overwrite OUT, and remove the parts of an earlier split of OUT."
        ),
    ] = False,
    insecure: InsecureKeyOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Validate the files, bag them (BagIt 1.0), sign, and write OUT and OUT.minisig.

    Invalid files are refused unless --allow-invalid; files of no known kind in a folder are
    left out with a note. With a ledger configured, usage reports already sent in an earlier
    bundle are refused unless --allow-resend, and the step is recorded. Same inputs, key and
    SOURCE_DATE_EPOCH give the same bytes (tar, tar.gz; 7z output is not reproducible).
    """
    from airgap import config
    from airgap.bundle import bag
    from airgap.bundle.create import ARCHIVES, PayloadFile, payload_names
    from airgap.bundle.create import create as create_bundle
    from airgap.bundle.verify import validate_payload
    from airgap.ledger.sent import already_sent, remember
    from airgap.validate.engine import Validator

    begin("bundle create", fmt)
    refuse_link(out_path)
    if direction not in bag.DIRECTIONS:
        raise typer.BadParameter("outbound or inbound", param_hint="--direction")
    if archive not in ARCHIVES:
        raise typer.BadParameter(", ".join(ARCHIVES), param_hint="--archive")
    if answers and direction != "inbound":
        raise typer.BadParameter("only an inbound bundle answers", param_hint="--answers")
    limit = parse_size(max_size) if max_size else None
    settings = config.load()
    validator = Validator(privacy=settings["privacy"], levels=settings["rules"])
    payload, kinds, code = [], Counter[str](), ExitCode.OK
    for name, source in payload_names(paths):
        data = source.read_bytes()  # read once: hashed and validated from the same bytes
        item = PayloadFile(name, source, len(data), hashlib.sha256(data).hexdigest())
        kind, reports = validate_payload(data, str(source), validator)
        if kind is None and not allow_invalid:
            if source in paths:
                raise InputError("cannot bundle", source, "no kind airgap knows")
            note(f"left out {source}: no kind airgap knows")
            continue
        for report in reports:
            for finding in report.findings:
                err().print(str(finding), markup=False)
            if not report.ok:
                code = ExitCode.FINDINGS
        kinds[kind or "unknown"] += 1
        payload.append(item)
    if code and not allow_invalid:
        raise FindingsError(
            "refusing to bundle invalid files",
            None,
            "see the findings above",
            "fix them, or --allow-invalid to carry them anyway",
        )
    if not payload:
        raise InputError("nothing to bundle", None, "no file of a known kind")
    contents = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    store = ledger_cmd.configured()
    report_keys = validator.reports_seen()
    if store and (resent := already_sent(store, report_keys)):
        for (pid, sn, report_id), bundle_id in sorted(resent.items())[:20]:
            err().print(
                f"report {report_id} of PID:{pid},SN:{sn} went out in bundle {bundle_id}",
                markup=False,
            )
        if not allow_resend:
            raise FindingsError(
                "refusing to send reports again",
                store.path,
                f"{plural(len(resent), 'report was', 'reports were')} in earlier bundles (above)",
                "CSSM refuses a report it has; --allow-resend to send anyway",
            )
    secret = load_secret(key, insecure_permissions=insecure)
    checkpoint = ledger_cmd.sender_checkpoint(store, secret.public) if store else b""
    with progress(sum(p.size for p in payload), "bundling") as advance:
        created = create_bundle(
            out_path,
            payload,
            secret,
            direction=direction,
            answers=answers,
            epoch=signing_time(),
            archive=archive,
            max_bytes=limit,
            contents=contents,
            overwrite=force,
            progress=advance,
            checkpoint=checkpoint,
        )
    if store:
        remember(store, report_keys, created[0].group_id)
    for c in created:
        ledger_cmd.record_step(
            "bundle.create",
            key=secret,
            materials={str(p.source): f"sha256:{p.sha256}" for p in payload},
            products={
                str(c.archive): ledger_cmd.file_digest(c.archive),
                str(c.signature): ledger_cmd.file_digest(c.signature),
            },
            note=f"bundle {c.bundle_id} ({direction}"
            + (f", answers {answers}" if answers else "")
            + f"): {contents}",
        )
    for removed in (path for c in created for path in c.removed):
        note(f"removed {removed}: left by an earlier bundle {out_path}")
    if fmt is Format.JSON:
        emit_json(True, [c.to_dict() for c in created])
    else:
        for c in created:
            part = f" part {c.part} of {c.parts}," if c.parts > 1 else ""
            out().print(
                f"{c.archive}: bundle {c.bundle_id} ({direction},{part} "
                f"{plural(c.files, 'file')}, {c.payload_bytes} bytes) and {c.signature}",
                markup=False,
            )


def _verify_all(
    bundles: list[Path],
    trusted_key: list[Path] | None,
    folder: Path | None,
    sig: Path | None,
    accept_renamed: bool,
    approvals: int = 0,
    approver_role: str | None = None,
    *,
    policy: bool = True,
) -> list[Verified]:
    """Verify each bundle (approvals: at least ``approvals`` and, with ``policy``, what the
    ``[policy]`` setting requires)."""
    from airgap import config
    from airgap.bundle.at_rest import verify_folder
    from airgap.bundle.parts import check_groups
    from airgap.bundle.verify import verify
    from airgap.validate.engine import Validator

    for bundle in bundles:
        if not bundle.is_dir():  # a folder is an extracted bag, verified at rest
            _named_file(bundle)
    trusted = load_trusted(trusted_key, folder)
    settings = config.load()
    results = []
    for bundle in bundles:
        if bundle.is_dir():
            if sig:
                raise typer.BadParameter(
                    "a bag at rest carries its own signature", param_hint="--sig"
                )
            results.append(
                verify_folder(
                    bundle,
                    trusted,
                    Validator(privacy=settings["privacy"], levels=settings["rules"]),
                )
            )
            continue
        staging = Path(tempfile.mkdtemp(prefix="airgap-staging-"))
        try:
            validator = Validator(privacy=settings["privacy"], levels=settings["rules"])
            with progress(_size(bundle), "verifying") as advance:
                results.append(
                    verify(
                        bundle,
                        trusted,
                        staging,
                        validator,
                        sig if len(bundles) == 1 else None,
                        advance,
                        accept_renamed=accept_renamed,
                    )
                )
            required = max(approvals, settings["policy"]["approvals"] if policy else 0)
            if required or approver_role:
                from airgap.bundle import approval

                approval.check(results[-1], trusted, required, approver_role)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    check_groups(results)
    for result in results:
        _check_sender(result)
        _record(result, "bundle.verify")
    return results


def _scanned(result: Verified) -> None:
    """A problem (exit 4) on the result unless the ledger records a clean scan of its bytes."""
    from airgap.bundle.malware import require_clean_scan
    from airgap.errors import AirgapError
    from airgap.ledger.store import EntryError, parse_entry

    store = ledger_cmd.configured()
    entries = []
    if store is not None and store.path.exists():
        for _, line in store.lines():
            try:
                entries.append(parse_entry(line))
            except EntryError:
                continue
    try:
        require_clean_scan(entries, result.bundle, f"sha256:{result.sha256}")
    except AirgapError as exc:
        result.problem(exc.exit_code, f"{exc.message} ({exc.hint})")


def _named_file(bundle: Path) -> None:
    """A bundle that is not there, or not a regular file, is a path problem (exit 3), not a
    trust failure; nothing is opened (a FIFO would block)."""
    if not bundle.exists():
        raise InputError("cannot read bundle", bundle, "no such file")
    if not bundle.is_file():
        raise InputError("cannot read bundle", bundle, "not a regular file")


def _check_sender(result: Verified) -> None:
    """Check a verified bundle's sender checkpoint against the last one seen from that sender
    (only once everything else verified); a rollback or fork is a problem (exit 4)."""
    from airgap.bundle import bag
    from airgap.errors import TrustError
    from airgap.ledger import witness

    content = result.tags.get(bag.CHECKPOINT, b"")
    if result.exit_code != ExitCode.OK or not content.strip():
        return
    try:
        seen = witness.witness(
            content, ledger_cmd.witnessed_dir(ledger_cmd.configured()), str(result.bundle)
        )
    except TrustError as exc:
        result.problem(ExitCode.TRUST, exc.message)
        return
    result.witnessed = seen.to_dict()


def _record(
    result: Verified,
    step: str,
    products: dict[str, str] | None = None,
    moved_aside: Path | None = None,
) -> None:
    """Record a verify or extract in this host's ledger, when one is configured."""
    note = f"bundle {result.bundle_id} signed by {result.signer.get('key_id')}"
    if result.witnessed:
        note += f"; sender checkpoint {result.witnessed['origin']} at {result.witnessed['size']}"
    if moved_aside:
        note += f"; the folder that was there moved to {moved_aside}"
    problems = "; ".join(p.message for p in result.problems)
    ledger_cmd.record_step(
        step,
        materials=_materials(result),
        products=products,
        note=note + (f": {problems}" if problems else ""),
        result="ok" if result.exit_code == ExitCode.OK else "refused",
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
        str(result.bundle): ledger_cmd.file_digest(result.bundle)
        if result.bundle.is_file()
        else "unreadable"
    }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # verify reports the missing bundle


def _report(results: list[Verified], fmt: Format, *, listing: bool = False) -> int:
    code = worst(*(r.exit_code for r in results))
    if fmt is Format.JSON:
        emit_json(code == ExitCode.OK, [r.to_dict() for r in results])
        return code
    for r in results:
        for problem in r.problems:
            out().print(f"{r.bundle}: error: {problem.message}", markup=False, style="red")
        for finding in r.findings:
            out().print(str(finding), markup=False)
        signer = r.signer
        who = (
            f" signed by key {signer['key_id']}"
            + (f" ({signer['name']}, {signer['role']})" if signer.get("name") else "")
            if signer
            else ""
        )
        if r.renamed_from:
            out().print(
                f"{r.bundle}: accepted under another name: signed as {r.renamed_from}", markup=False
            )
        state = "verified" if r.exit_code == ExitCode.OK else "NOT verified"
        out().print(
            f"{r.bundle}: {state}: bundle {r.bundle_id or '?'}"
            f" ({r.info.get('Airgap-Direction', '?')}, "
            f"{r.info.get('Bag-Count', '?')}, {plural(len(r.payload), 'file')}){who}",
            markup=False,
        )
        if listing:
            for name, (size, digest) in sorted(r.payload.items()):
                out().print(f"  {name}  {size}  sha256:{digest}", markup=False)
    return code


@app.command(
    "verify",
    epilog="Example: airgap bundle verify usb/usage-2026-11.tar.gz --trusted-keys ~/trusted",
)
def verify_cmd(
    bundles: Annotated[list[Path], typer.Argument(metavar="BUNDLE...")],
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    sig: SignatureOption = None,
    accept_renamed: AcceptRenamedOption = False,
    approvals: Annotated[
        int,
        typer.Option(
            "--require-approvals",
            min=0,
            help="Refuse (exit 4) unless this many other people "
            "than the signer approved the bundle ('airgap bundle approve').",
        ),
    ] = 0,
    approver_role: Annotated[
        str | None,
        typer.Option(
            "--approver-role",
            help="Count only approvals by keys of this roster role.",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Verify bundles: signature, trusted signer, the name signed, safe members, bag,
    manifests, payload, and the approvals --require-approvals asks for. A folder is an
    extracted bag, verified at rest: its inner signature against the trusted keys, both
    manifests, the exact file list, payload.

    Exit 4 on any trust failure, 1 when a payload file is invalid. A bundle whose name is not
    the one it was signed as is refused (exit 4) unless --accept-renamed. Split bundles given
    together are checked as groups: every part once, one key, no parts of two split bundles.
    """
    begin("bundle verify", fmt)
    raise typer.Exit(
        _report(
            _verify_all(
                bundles, trusted_key, folder, sig, accept_renamed, approvals, approver_role
            ),
            fmt,
        )
    )


@app.command(
    "approve",
    epilog="Example: airgap bundle approve usage-2026-11.tar.gz --key "
    "~/keys/approver.key --trusted-keys ~/trusted --note 'checked the device list'",
)
def approve_cmd(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE")],
    key: Annotated[Path, typer.Option("--key", help="The approver's secret key file.")],
    note: Annotated[str, typer.Option("--note", help="Why it may leave, in a few words.")] = "",
    role: Annotated[
        str, typer.Option("--role", help="The approver's role, written into the approval.")
    ] = "approver",
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    insecure: InsecureKeyOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """A second person's approval of a signed bundle: BUNDLE.approved-<keyid>.minisig, a
    detached minisign signature over the archive whose trusted comment binds it to this bundle
    (ctx:airgap-approval/v1, bundle id, SHA-256, role). Stock minisign verifies it alone:
    minisign -Vm BUNDLE -x BUNDLE.approved-<keyid>.minisig -p approver.pub. The bundle is
    verified first; approving with the key that signed it is refused (exit 4). Ledger step
    bundle.approve."""
    from airgap.bundle import approval
    from airgap.cli.keys import load_secret

    begin("bundle approve", fmt)
    results = _verify_all([bundle], trusted_key, folder, None, False, policy=False)
    if results[0].exit_code != ExitCode.OK:
        raise typer.Exit(_report(results, fmt))
    secret = load_secret(key, insecure_permissions=insecure)
    target, bundle_id = approval.approve(bundle, secret, role, note)
    ledger_cmd.record_step(
        "bundle.approve",
        key=secret,
        materials={str(bundle): f"sha256:{results[0].sha256}"},
        products={str(target): ledger_cmd.file_digest(target)},
        note=f"{bundle_id} approved as {role}" + (f": {note}" if note else ""),
    )
    if fmt is Format.JSON:
        emit_json(
            True,
            [
                {
                    "bundle": str(bundle),
                    "bundle_id": bundle_id,
                    "approval": str(target),
                    "key_id": secret.public.id,
                    "role": role,
                }
            ],
        )
    else:
        out().print(
            f"{target}: approval of {bundle_id} by key {secret.public.id} ({role})", markup=False
        )
    raise typer.Exit(ExitCode.OK)


@app.command(
    "list", epilog="Example: airgap bundle list usage-2026-11.tar.gz --trusted-key alice.pub"
)
def list_cmd(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE")],
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    sig: SignatureOption = None,
    accept_renamed: AcceptRenamedOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Show a bundle's signer and files (after verifying it)."""
    begin("bundle list", fmt)
    raise typer.Exit(
        _report(_verify_all([bundle], trusted_key, folder, sig, accept_renamed), fmt, listing=True)
    )


@app.command(
    "extract",
    epilog="Example: airgap bundle extract usage-2026-11.tar.gz ./incoming "
    "--trusted-keys ~/trusted",
)
def extract_cmd(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE")],
    destination: Annotated[Path, typer.Argument(metavar="DEST")],
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    sig: SignatureOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="If DEST exists, move it aside (to DEST.before-TIME, printed) first."
        ),
    ] = False,
    accept_renamed: AcceptRenamedOption = False,
    no_scan_required: Annotated[
        bool,
        typer.Option(
            "--no-scan-required",
            help="Extract even though no clean malware scan of these bytes "
            "is recorded ('airgap media scan --av clamscan').",
        ),
    ] = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Verify a bundle fully, then write its bag to DEST atomically (all or nothing).

    The bundle's bytes must have been scanned clean for malware on the medium ('airgap media
    scan DIR --av clamscan', recorded in the ledger) unless --no-scan-required (exit 4). An
    existing DEST is refused; with --force it is renamed aside, never deleted, and the new
    name is printed."""
    from airgap import config
    from airgap.bundle.verify import extract, verify
    from airgap.validate.engine import Validator

    begin("bundle extract", fmt)
    _named_file(bundle)
    if destination.exists() and not force:
        raise InputError("refusing to extract", destination, "it exists (use --force)")
    trusted = load_trusted(trusted_key, folder)
    settings = config.load()
    staging = Path(tempfile.mkdtemp(prefix="airgap-staging-"))
    try:
        with progress(_size(bundle), "verifying") as advance:
            result = verify(
                bundle,
                trusted,
                staging,
                Validator(privacy=settings["privacy"], levels=settings["rules"]),
                sig,
                advance,
                accept_renamed=accept_renamed,
            )
        _check_sender(result)
        if result.exit_code == ExitCode.OK and not no_scan_required:
            _scanned(result)
        if result.exit_code != ExitCode.OK:
            _record(result, "bundle.extract")
            raise typer.Exit(_report([result], fmt))
        done = extract(result, destination, force=force)
        _record(
            result,
            "bundle.extract",
            {
                str(destination / name): f"sha256:{digest}"
                for name, (_, digest) in sorted(result.payload.items())
            },
            done.moved_aside,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if no_scan_required:
        note("--no-scan-required: extracted without a recorded malware scan")
    aside = str(done.moved_aside) if done.moved_aside else None
    if fmt is Format.JSON:
        emit_json(
            True, [{**result.to_dict(), "extracted_to": str(destination), "moved_aside": aside}]
        )
        return
    if aside:
        out().print(f"{destination}: the folder that was there is now {aside}", markup=False)
    out().print(
        f"{bundle}: verified bundle {result.bundle_id}; extracted to {destination}", markup=False
    )
