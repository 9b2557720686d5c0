"""``airgap bundle create/verify/list/extract``: signed transfer bundles."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from airgap.bundle.bag import Direction
from airgap.bundle.create import Archive
from airgap.cli.keys import (
    InsecureKeyOption,
    LedgerOption,
    PassphraseStdinOption,
    TrustedKeyOption,
    TrustedKeysOption,
    hooks,
)
from airgap.cli.options import (
    LabOption,
    NoProgressOption,
    PrivacyOption,
    QuietOption,
    VerboseOption,
    moved_out,
    out_or_positional,
    speak,
)
from airgap.cli.output import (
    Format,
    FormatOption,
    ReportFormat,
    ReportFormatOption,
    begin,
    emit_json,
    note,
    out,
    plural,
    this_run,
)
from airgap.errors import ExitCode, worst

if TYPE_CHECKING:
    from airgap.bundle.verify import Verified
    from airgap.cli.reporters import Report
    from airgap.flows.bundle import Created

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
BUNDLE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".7z")  # what the older spelling took for OUT
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
    epilog="Example: airgap bundle create usage/ --out usage-2026-11.tar.gz "
    "--key ~/keys/operator.key",
)
def create(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Files and folders.")],
    out_file: Annotated[
        Path | None,
        moved_out("The bundle to write", "first"),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Your secret key file (default: the 'key' setting)."),
    ] = None,
    direction: Annotated[
        Direction, typer.Option(help="outbound (usage to CSSM) or inbound (ACKs back).")
    ] = Direction.OUTBOUND,
    answers: Annotated[
        str | None,
        typer.Option(
            "--answers", help="Inbound: the outbound bundle id this answers.", show_default=False
        ),
    ] = None,
    archive: Annotated[
        Archive,
        typer.Option("--archive", help="How to serialise it (7z output is not byte-reproducible)."),
    ] = Archive.TAR_GZ,
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
    privacy: PrivacyOption = None,
    lab: LabOption = False,
    insecure: InsecureKeyOption = False,
    ledger: LedgerOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    no_progress: NoProgressOption = False,
    passphrase_stdin: PassphraseStdinOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Validate the files, bag them (BagIt 1.0), sign, and write OUT and OUT.minisig.

    Invalid files are refused unless --allow-invalid (--lab and --privacy validate as
    'airgap validate' does); files of no known kind in a folder are left out with a note.
    With a ledger configured, usage reports already sent in an earlier bundle are refused
    unless --allow-resend, and the step is recorded. Same inputs, key and SOURCE_DATE_EPOCH
    give the same bytes (tar, tar.gz; 7z output is not reproducible).
    """
    from airgap.flows import bundle as flows

    begin("bundle create", fmt)
    speak(quiet=quiet, verbose=verbose, no_progress=no_progress)
    out_path, paths = out_or_positional(
        out_file, paths, first=True, command="bundle create", suffixes=BUNDLE_SUFFIXES
    )
    if answers and direction != "inbound":
        raise typer.BadParameter("only an inbound bundle answers", param_hint="--answers")
    options = flows.CreateOptions(
        out_path,
        tuple(paths),
        key,
        direction,
        answers,
        archive,
        parse_size(max_size) if max_size else None,
        allow_invalid,
        allow_resend,
        force,
        insecure,
        privacy,
        lab,
        ledger,
    )
    _show_created(
        flows.create_bundle(options, hooks(passphrase_stdin=passphrase_stdin)), out_path, fmt
    )


def _show_created(created: Created, out_path: Path, fmt: Format) -> None:
    for removed in created.removed:
        note(f"removed {removed}: left by an earlier bundle {out_path}")
    if fmt is Format.JSON:
        emit_json(True, [c.to_dict() for c in created.bundles])
        return
    for c in () if this_run().quiet else created.bundles:
        part = f" part {c.part} of {c.parts}," if c.parts > 1 else ""
        out().print(
            f"{c.archive}: bundle {c.bundle_id} ({created.direction},{part} "
            f"{plural(c.files, 'file')}, {c.payload_bytes} bytes) and {c.signature}",
            markup=False,
        )


def show_verified(results: list[Verified], fmt: Format, *, listing: bool = False) -> int:
    """Render verify results (``listing`` or ``-v``: each payload file too; ``-q``: only what
    failed); the exit code they call for."""
    code = worst(*(r.exit_code for r in results))
    if fmt is Format.JSON:
        emit_json(code == ExitCode.OK, [r.to_dict() for r in results])
        return code
    run = this_run()
    for r in results:
        for problem in r.problems:
            out().print(
                f"{r.bundle}: {problem.level}: {problem.message}", markup=False, style="red"
            )
        for finding in r.findings:
            out().print(str(finding), markup=False)
        if run.quiet and r.exit_code == ExitCode.OK:  # -q: what failed, nothing else
            continue
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
        if listing or run.verbose:  # -v: every file checked
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
    ledger: LedgerOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    no_progress: NoProgressOption = False,
    report_format: ReportFormatOption = ReportFormat.TEXT,
) -> None:
    """Verify bundles: signature, trusted signer, the name signed, safe members, bag,
    manifests, payload, and the approvals --require-approvals asks for. A folder is an
    extracted bag, verified at rest: its inner signature against the trusted keys, both
    manifests, the exact file list, payload.

    Exit 4 on any trust failure, 1 when a payload file is invalid. A bundle whose name is not
    the one it was signed as is refused (exit 4) unless --accept-renamed. Split bundles given
    together are checked as groups: every part once, one key, no parts of two split bundles.
    """
    from airgap.flows import verify as verify_flows

    begin("bundle verify", report_format.common)
    speak(quiet=quiet, verbose=verbose, no_progress=no_progress)
    options = verify_flows.VerifyOptions(
        _bundles(bundles, sig, bool(approvals or approver_role)),
        tuple(trusted_key or ()),
        folder,
        sig,
        accept_renamed,
        approvals,
        approver_role,
        ledger=ledger,
    )
    results = verify_flows.verify_bundles(options, hooks())
    if not report_format.ci:
        raise typer.Exit(show_verified(results, report_format.common))
    from airgap.cli import reporters

    reporters.write(report_format, _report(results))
    raise typer.Exit(worst(*(r.exit_code for r in results)))


def _report(results: list[Verified]) -> Report:
    """The verification for a CI reporter: each bundle with its problems (on the bundle)
    and its payload files' findings (on the member)."""
    from airgap.cli.reporters import Checked, Described, Report, Rule
    from airgap.findings import PROBLEM, Level
    from airgap.validate.rules import RULES

    problem = Rule(PROBLEM, Level.ERROR, "the bundle does not verify")
    rules: list[Described] = [problem, *RULES.values()]
    checked = [Checked(str(r.bundle), [*r.problems, *r.findings]) for r in results]
    return Report("airgap bundle verify", rules, checked)


def _bundles(bundles: list[Path], sig: Path | None, approvals: bool = False) -> tuple[Path, ...]:
    """The bundles named. With a folder (an extracted bag at rest) --sig is refused, since the
    bag carries its own signature, and so are approvals, which sign the archive's bytes: a
    check that cannot run is refused rather than passed over."""
    if any(bundle.is_dir() for bundle in bundles):
        if sig:
            raise typer.BadParameter("a bag at rest carries its own signature", param_hint="--sig")
        if approvals:
            raise typer.BadParameter(
                "approvals sign a bundle's archive: verify the archive, not a bag at rest",
                param_hint="--require-approvals/--approver-role",
            )
    return tuple(bundles)


@app.command(
    "approve",
    epilog="Example: airgap bundle approve usage-2026-11.tar.gz --key "
    "~/keys/approver.key --trusted-keys ~/trusted --note 'checked the device list'",
)
def approve_cmd(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE")],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="The approver's secret key file (default: the 'key' setting)."),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Why it may leave, in a few words.")] = "",
    role: Annotated[
        str, typer.Option("--role", help="The approver's role, written into the approval.")
    ] = "approver",
    trusted_key: TrustedKeyOption = None,
    folder: TrustedKeysOption = None,
    insecure: InsecureKeyOption = False,
    ledger: LedgerOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    no_progress: NoProgressOption = False,
    passphrase_stdin: PassphraseStdinOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """A second person's approval of a signed bundle: BUNDLE.approved-<keyid>.minisig, a
    detached minisign signature over the archive whose trusted comment binds it to this bundle
    (ctx:airgap-approval/v1, bundle id, SHA-256, role). Stock minisign verifies it alone:
    minisign -Vm BUNDLE -x BUNDLE.approved-<keyid>.minisig -p approver.pub. The bundle is
    verified first; approving with the key that signed it is refused (exit 4). Ledger step
    bundle.approve."""
    from airgap.flows import verify as verify_flows

    begin("bundle approve", fmt)
    speak(quiet=quiet, verbose=verbose, no_progress=no_progress)
    options = verify_flows.ApproveOptions(
        bundle, key, role, note, tuple(trusted_key or ()), folder, insecure, ledger
    )
    approved = verify_flows.approve_bundle(options, hooks(passphrase_stdin=passphrase_stdin))
    if approved.approval is None:
        raise typer.Exit(show_verified([approved.verified], fmt))
    if fmt is Format.JSON:
        emit_json(True, [approved.to_dict()])
    else:
        out().print(
            f"{approved.approval}: approval of {approved.bundle_id} by key "
            f"{approved.key_id} ({role})",
            markup=False,
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
    ledger: LedgerOption = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Show a bundle's signer and files (after verifying it)."""
    from airgap.flows import verify as verify_flows

    begin("bundle list", fmt)
    options = verify_flows.VerifyOptions(
        _bundles([bundle], sig),
        tuple(trusted_key or ()),
        folder,
        sig,
        accept_renamed,
        ledger=ledger,
    )
    raise typer.Exit(
        show_verified(verify_flows.verify_bundles(options, hooks()), fmt, listing=True)
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
    ledger: LedgerOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    no_progress: NoProgressOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Verify a bundle fully, then write its bag to DEST atomically (all or nothing).

    The bundle's bytes must have been scanned clean for malware on the medium ('airgap media
    scan DIR --av clamscan', recorded in the ledger) unless --no-scan-required (exit 4). An
    existing DEST is refused; with --force it is renamed aside, never deleted, and the new
    name is printed."""
    from airgap.flows import verify as verify_flows

    begin("bundle extract", fmt)
    speak(quiet=quiet, verbose=verbose, no_progress=no_progress)
    options = verify_flows.ExtractOptions(
        bundle,
        destination,
        tuple(trusted_key or ()),
        folder,
        sig,
        force,
        accept_renamed,
        not no_scan_required,
        ledger,
    )
    done = verify_flows.extract_bundle(options, hooks())
    if not done.extracted:
        raise typer.Exit(show_verified([done.verified], fmt))
    if no_scan_required:
        note("--no-scan-required: extracted without a recorded malware scan")
    if fmt is Format.JSON:
        emit_json(True, [done.to_dict()])
        return
    if done.moved_aside:
        out().print(
            f"{destination}: the folder that was there is now {done.moved_aside}", markup=False
        )
    out().print(
        f"{bundle}: verified bundle {done.verified.bundle_id}; extracted to {destination}",
        markup=False,
    )
