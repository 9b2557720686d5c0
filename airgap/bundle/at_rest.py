"""Verify a bag at rest: a folder ``bundle extract`` wrote, checked as its archive was.

The archive and its outer signature are gone, so the inner signature (over the tag manifest,
``ctx:airgap-bag/v1``) is what vouches for the bag. It is checked against the trusted keys
first, then the tag files against the tag manifest, and only then is the payload read, within
the file count of bag-info's ``Payload-Oxum`` and each file within its byte count. The folder
holds exactly what a bag holds: the tag files and, under ``data/``, regular files and folders;
no links, nothing else.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING

from airgap.bundle import bag
from airgap.bundle.verify import (
    Verified,
    check_bag,
    check_manifest,
    take_member,
)
from airgap.errors import ExitCode, InputError, why
from airgap.fsutil import open_regular, walk_tree
from airgap.signing.minisign import Signature, SignatureError
from airgap.signing.trust import Trusted

if TYPE_CHECKING:
    from airgap.validate.engine import Validator

TAG_LIMIT = 16 << 20  # a tag file is small: manifests, bag-info, a ledger checkpoint


def verify_folder(folder: Path, trusted: Trusted, validator: Validator) -> Verified:
    """Verify the extracted bag ``folder`` with the checks made on an archive (exit codes
    as for an archive: 4 for any trust failure, 1 for an invalid payload file)."""
    if not any((folder / name).exists() for name in bag.ALL_TAG_FILES):
        raise InputError(
            "not an extracted bag",
            folder,
            "no bagit.txt, manifests or signature",
            "name a bundle archive, or the folder 'bundle extract' made",
        )
    result = Verified(folder, at_rest=True)
    if not _signed_tags(result, trusted):
        return result
    budget = _budget(result)
    if budget is not None:
        _read_payload(result, budget, validator)
    check_bag(result, trusted)
    return result


def _read(path: Path, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of a regular file, never through a link."""
    with open_regular(path, follow=False) as handle:
        return handle.read(limit + 1)


def _signed_tags(result: Verified, trusted: Trusted) -> bool:
    """Read the tag files and check the inner signature and the tag manifest; False (with
    the problems recorded) when the payload must not be read."""
    for name in bag.ALL_TAG_FILES:
        try:
            data = _read(result.bundle / name, TAG_LIMIT)
        except FileNotFoundError:
            continue  # check_bag names every missing tag file
        except OSError as exc:
            result.problem(ExitCode.TRUST, f"{result.where(name)}: {why(exc)}")
            return False
        if len(data) > TAG_LIMIT:
            result.problem(
                ExitCode.TRUST,
                f"{result.where(name)}: larger than {TAG_LIMIT} bytes, not a tag file",
            )
            return False
        result.tags[name] = data
    where = result.where(bag.INNER_SIGNATURE)
    try:
        inner = Signature.parse(result.tags[bag.INNER_SIGNATURE].decode("utf-8"), where)
        fields = inner.fields()
        if fields.get("ctx") != bag.BAG_CTX:
            raise SignatureError(
                "signature for another purpose",
                where,
                f"made for ctx:{fields.get('ctx')}, not for a bag",
            )
        key, entry = trusted.signer(inner, where)
        inner.verify(key, [result.tags[bag.TAG_MANIFEST]], where)
    except KeyError as exc:
        result.problem(ExitCode.TRUST, f"missing from the bag: {exc.args[0]}")
        return False
    except UnicodeDecodeError:
        result.problem(ExitCode.TRUST, f"{where}: not text")
        return False
    except SignatureError as exc:
        result.problem(ExitCode.TRUST, exc.message)
        return False
    result.fields = {"bundle": fields.get("bundle", "")}
    result.signer = {
        "key_id": key.id,
        "name": entry.name if entry else None,
        "role": entry.role if entry else None,
        "trusted_comment": inner.trusted_comment,
    }
    check_manifest(
        result,
        bag.TAG_MANIFEST,
        {n: (len(d), bag.sha256(d)) for n, d in result.tags.items() if n in bag.TAG_FILES},
    )
    return not result.problems


def _budget(result: Verified) -> tuple[int, int] | None:
    """Payload bytes and files bag-info vouches for (it is in the signed tag manifest)."""
    oxum = bag.parse_info(result.tags.get(bag.BAG_INFO, b"").decode("utf-8", "replace")).get(
        "Payload-Oxum", ""
    )
    size, dot, files = oxum.partition(".")
    if not (dot and size.isdigit() and files.isdigit()):
        result.problem(ExitCode.TRUST, f"bag-info has no valid Payload-Oxum: {oxum!r}")
        return None
    return int(size), int(files)


def _read_payload(result: Verified, budget: tuple[int, int], validator: Validator) -> None:
    """Every file under the folder: tag files were read; payload files are read (each within
    the payload size, no more files than the payload count) and validated; anything else is
    a problem. A file that changed size then shows as a manifest mismatch, like any other."""
    size, count = budget
    for base, folders, files in walk_tree(result.bundle):
        inside = base.relative_to(result.bundle).as_posix()
        for name in sorted(files):
            relative = name if inside == "." else f"{inside}/{name}"
            if inside == "." and name in bag.ALL_TAG_FILES and name in result.tags:
                continue
            problem = _not_payload(base / name, relative)
            if problem:
                result.problem(ExitCode.TRUST, problem)
                continue
            count -= 1
            if count < 0:
                result.problem(
                    ExitCode.TRUST,
                    f"more payload files than bag-info's Payload-Oxum {budget[0]}.{budget[1]} says",
                )
                return
            try:
                data = _read(base / name, size)
            except OSError as exc:
                result.problem(ExitCode.CANNOT_RUN, f"{result.where(relative)}: {why(exc)}")
                continue
            if len(data) > size:
                result.problem(
                    ExitCode.TRUST,
                    f"{result.where(relative)}: larger than the "
                    f"whole payload bag-info vouches for ({size} "
                    "bytes)",
                )
                continue
            take_member(result, relative, data, validator)
        kept = []
        for name in sorted(folders):
            relative = name if inside == "." else f"{inside}/{name}"
            if (base / name).is_symlink():
                result.problem(ExitCode.TRUST, f"symbolic link in the bag: {relative}")
            elif relative != "data" and not relative.startswith(bag.DATA):
                result.problem(ExitCode.TRUST, f"unexpected folder in the bag: {relative}")
            else:
                kept.append(name)
        folders[:] = kept


def _not_payload(path: Path, relative: str) -> str | None:
    """Why a file in the bag folder cannot be payload, or None when it may be."""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return f"symbolic link in the bag: {relative}"
    if not stat.S_ISREG(mode):
        return f"not a regular file in the bag: {relative}"
    if not relative.startswith(bag.DATA):
        return f"unexpected file in the bag: {relative}"
    if reason := bag.bad_name(relative):
        return f"a name no bag holds: {relative!r} ({reason})"
    return None
