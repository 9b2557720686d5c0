"""``cslu pack`` as a workflow: usage files into a CSLU-style upload archive, each with its
virtual account, written atomically (an archive already there is replaced only with
``overwrite``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from airgap.errors import InputError
from airgap.flows.keys import signing_time

if TYPE_CHECKING:
    from airgap.formats.cslu import Packed


@dataclass(frozen=True)
class PackOptions:
    """What ``cslu pack`` was asked for: one virtual account for all, or a map of them."""

    out: Path  # the archive, or a folder to write it in
    usage: tuple[Path, ...]
    virtual_account: str | None = None
    accounts: Path | None = None  # CSV rows file,virtual_account
    smart_account: str = ""
    smart_account_id: str = ""
    keep_names: bool = False
    overwrite: bool = False


def pack_upload(options: PackOptions, note: Callable[[str], None]) -> tuple[Path, Packed]:
    """Build and write the archive; where it went, and what it holds."""
    from airgap.formats import cslu
    from airgap.fsutil import write_atomic

    usage = list(options.usage)
    for path in usage:
        if not path.is_file():
            why = "a folder: name the usage files in it" if path.is_dir() else "no such file"
            raise InputError("cannot pack", path, why)
    mapping: dict[str, str] | str = options.virtual_account or ""
    if options.accounts is not None:
        rows = cslu.read_accounts(options.accounts)
        mapping = _match_accounts(rows, usage, options.accounts, note)
    # SOURCE_DATE_EPOCH for reproducible archives, else now to the millisecond (names carry it)
    when = (
        datetime.fromtimestamp(signing_time(), UTC)
        if "SOURCE_DATE_EPOCH" in os.environ
        else datetime.now(UTC)
    )
    packed = cslu.build(
        usage,
        mapping,
        when=when,
        smart_account=options.smart_account,
        smart_account_id=options.smart_account_id,
        names="keep" if options.keep_names else "cslu",
    )
    target = options.out / packed.name if options.out.is_dir() else options.out
    if target.exists() and not options.overwrite:
        raise InputError("refusing to overwrite", target, "it exists (use --force)")
    try:
        write_atomic(target, packed.data, replace=options.overwrite)
    except FileExistsError:
        raise InputError("refusing to overwrite", target, "it exists (use --force)") from None
    except OSError as exc:
        raise InputError("cannot write", target, exc.strerror or str(exc)) from None
    return target, packed


def _match_accounts(
    rows: dict[str, str], usage: list[Path], source: Path, note: Callable[[str], None]
) -> dict[str, str]:
    """Each USAGE argument's virtual account: the row naming it as typed, or the same file,
    or (when unambiguous) its base name."""
    result: dict[str, str] = {}
    by_file = {Path(k).resolve(): v for k, v in rows.items()}
    used: set[str] = set()
    for path in usage:
        key = str(path)
        if key in rows:
            result[key] = rows[key]
            used.add(key)
        elif path.resolve() in by_file:
            result[key] = by_file[path.resolve()]
            used.update(k for k in rows if Path(k).resolve() == path.resolve())
        elif path.name in rows and "/" not in path.name:
            if sum(p.name == path.name for p in usage) > 1:
                raise InputError(
                    "invalid accounts map", source, f"{path.name} names more than one USAGE file"
                )
            result[key] = rows[path.name]
            used.add(path.name)
        else:
            raise InputError(
                "cannot pack",
                path,
                f"no row for it in {source}",
                "add a row 'file,virtual_account' for every USAGE file",
            )
    for key in sorted(set(rows) - used):
        note(f"{source}: row for {key} matches no USAGE file")
    return result
