"""Which usage reports went out, in which bundle: an index kept beside the ledger, so that a
report is not sent twice (CSSM refuses a report it already has).

One line per report: ``PID<TAB>serial<TAB>report id<TAB>bundle id``. The index is written after
the bundle, locked and fsynced like the ledger; the ``bundle.create`` entries in the ledger
name the bundles themselves.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path

from airgap.errors import InputError, why
from airgap.formats.common import ReportKey
from airgap.fsutil import open_regular
from airgap.ledger.store import Ledger


def index_path(ledger: Ledger) -> Path:
    """The index file beside the ledger."""
    return ledger.path.with_name(f"{ledger.path.name}.sent")


def already_sent(ledger: Ledger, reports: Iterable[ReportKey]) -> dict[ReportKey, str]:
    """The reports among ``reports`` that an earlier bundle carried, with that bundle's id."""
    wanted = {(udi.pid, udi.sn, rid): (udi, rid) for udi, rid in reports}  # as a line reads
    found: dict[ReportKey, str] = {}
    path = index_path(ledger)
    try:
        handle = open_regular(path)
    except FileNotFoundError:
        return found
    except OSError as exc:
        raise InputError("cannot read the index of sent reports", path, why(exc)) from None
    with handle:
        for raw in handle:
            parts = raw.decode("utf-8", "replace").rstrip("\n").split("\t")
            if len(parts) != 4 or not (parts[2].isascii() and parts[2].isdigit()):
                continue
            key = wanted.get((parts[0], parts[1], int(parts[2])))
            if key is not None:
                found.setdefault(key, parts[3])
    return found


def remember(ledger: Ledger, reports: Iterable[ReportKey], bundle_id: str) -> None:
    """Add a bundle's reports to the index."""
    text = "".join(f"{udi.pid}\t{udi.sn}\t{rid}\t{bundle_id}\n" for udi, rid in reports)
    if not text:
        return
    path = index_path(ledger)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
