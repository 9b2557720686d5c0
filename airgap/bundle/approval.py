"""Two-person release (NIST SP 800-53 AC-3(2), AU-9(5)): a second person's signature on a
bundle, and the policy that requires N of them.

An approval is a detached minisign signature over the archive, beside it as
``<bundle>.approved-<keyid>.minisig``, whose trusted comment binds it to this bundle
(``ctx:airgap-approval/v1``, the bundle id, the archive's SHA-256, the approver's role), so
stock ``minisign -Vm <bundle> -x <approval> -p approver.pub`` verifies it alone. An approval
counts only when its key is trusted and unrevoked, is not the key that signed the bundle, and
belongs to another person than the signer (by the roster's names); one made for another
bundle, or for other bytes, is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from airgap.bundle.verify import Verified, read_signature, signed_message
from airgap.errors import AirgapError, ExitCode, TrustError
from airgap.fsutil import open_regular, write_atomic
from airgap.names import escaped
from airgap.signing.minisign import SecretKey, Signature, SignatureError
from airgap.signing.trust import Trusted, now_utc

CTX = "airgap-approval/v1"
SUFFIX = ".approved-"
CHUNK = 1 << 20


class ApprovalError(TrustError):
    """An approval that cannot be given or does not count (exit 4)."""


@dataclass(frozen=True)
class Approval:
    """One approval that counts: who gave it and in which role."""

    path: Path
    key_id: str
    name: str | None
    role: str | None


def approval_path(bundle: Path, key_id: str) -> Path:
    """Where the approval by ``key_id`` of ``bundle`` goes."""
    return bundle.with_name(f"{bundle.name}{SUFFIX}{key_id}.minisig")


def _digests(bundle: Path) -> tuple[bytes, str]:
    """The archive's BLAKE2b-512 (what minisign signs) and SHA-256 (what the comment binds)."""
    blake, sha = hashlib.blake2b(), hashlib.sha256()
    try:
        with open_regular(bundle) as handle:
            while chunk := handle.read(CHUNK):
                blake.update(chunk)
                sha.update(chunk)
    except OSError as exc:
        raise AirgapError("cannot read bundle", bundle, exc.strerror or str(exc)) from None
    return blake.digest(), sha.hexdigest()


def approve(bundle: Path, key: SecretKey, role: str, note: str = "") -> tuple[Path, str]:
    """Write this key's approval beside ``bundle``; the path and the bundle id. Refused when
    the key is the one that signed the bundle (exit 4)."""
    signature = read_signature(Path(f"{bundle}.minisig"))
    fields = signature.fields()
    bundle_id = fields.get("bundle")
    if fields.get("ctx") != "airgap-bundle/v1" or not bundle_id:
        raise ApprovalError(
            "not a bundle signature",
            f"{bundle}.minisig",
            "only a signed airgap bundle can be approved",
        )
    if signature.key_hex == key.public.id:
        raise ApprovalError(
            "refusing to approve",
            bundle,
            f"key {key.public.id} signed this bundle: a second person must",
        )
    prehash, sha = _digests(bundle)
    clean_note = " ".join(note.replace("\t", " ").split())[:200]
    role = "".join(c for c in role if c.isalnum() or c in "-_.") or "approver"  # one field
    comment = (
        f"timestamp:{now_utc()}\tfile:{escaped(bundle.name)}\tctx:{CTX}"
        f"\tbundle:{bundle_id}"
        f"\tsha256:{sha}\trole:{role}" + (f"\tnote:{clean_note}" if clean_note else "")
    )
    approval = Signature.create(key, prehash, comment, f"approval from airgap key {key.public.id}")
    target = approval_path(bundle, key.public.id)
    write_atomic(target, approval.text().encode())
    return target, bundle_id


def check(
    result: Verified, trusted: Trusted, required: int, role: str | None = None
) -> list[Approval]:
    """The approvals beside a verified bundle that count; a problem (exit 4) on the result
    for each that does not, and when fewer than ``required`` distinct people approved."""
    if result.staged is None or not result.signer:
        return []
    counted: list[Approval] = []
    people: set[str] = set()
    signer_key = result.signer.get("key_id")
    signer_name = result.signer.get("name")
    for path in sorted(result.bundle.parent.glob(f"{result.bundle.name}{SUFFIX}*.minisig")):
        try:
            approval = _one(path, result, trusted)
        except (SignatureError, ApprovalError) as exc:
            result.problem(ExitCode.TRUST, f"approval not counted: {exc.message}")
            continue
        if approval.key_id == signer_key:
            result.problem(
                ExitCode.TRUST, f"approval not counted: {path} - by the key that signed the bundle"
            )
        elif signer_name is not None and approval.name == signer_name:
            result.problem(
                ExitCode.TRUST,
                f"approval not counted: {path} - by {approval.name}, "
                "who signed the bundle with another key",
            )
        elif role is not None and approval.role != role:
            result.problem(
                ExitCode.TRUST,
                f"approval not counted: {path} - role {approval.role or 'unknown'}, not {role}",
            )
        elif (approval.name or approval.key_id) not in people:
            people.add(approval.name or approval.key_id)
            counted.append(approval)
    if len(counted) < required:
        result.problem(
            ExitCode.TRUST,
            f"{required} approval(s) required"
            + (f" by role {role}" if role else "")
            + f", {len(counted)} valid from other people than the signer "
            "('airgap bundle approve')",
        )
    return counted


def _one(path: Path, result: Verified, trusted: Trusted) -> Approval:
    signature = read_signature(path)
    fields = signature.fields()
    if fields.get("ctx") != CTX:
        raise ApprovalError("not an approval", path, f"made for ctx:{fields.get('ctx')}")
    if fields.get("bundle") != result.bundle_id:
        raise ApprovalError(
            "approval of another bundle",
            path,
            f"approves {fields.get('bundle')}, this is {result.bundle_id}",
        )
    if fields.get("sha256") != result.sha256:
        raise ApprovalError("approval of other bytes", path, "the archive's SHA-256 differs")
    key, entry = trusted.signer(signature, path)
    assert result.staged is not None
    signature.verify_signed(key, signed_message(signature, result.staged), path)
    return Approval(path, key.id, entry.name if entry else None, entry.role if entry else None)
