"""Read what a set of paths says about devices: capture states, exported reports and ACKs.

``diff``, ``reconcile`` and ``deadlines`` all start here. Folders, archives and bundles are
walked as ``inspect`` walks them; a file that cannot be read or parsed becomes a problem with
its exit code, never an exception, so one bad file does not hide what the others say.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

from airgap import formats, inputs
from airgap.errors import ExitCode
from airgap.formats.common import Udi
from airgap.formats.imports import ImportFile
from airgap.formats.usage import UsageFile
from airgap.fsutil import open_regular
from airgap.state.model import DeviceState
from airgap.workers import ordered_map

CHUNK = 16  # files per task
ReportKey = tuple[Udi, int]
ReportRef = tuple[Udi | None, int | None]  # what a usage file says of a report, maybe partly


@dataclass
class Evidence:
    """Everything read from some paths, by kind, with where each piece came from."""

    states: list[DeviceState] = field(default_factory=list)
    # Only the (UDI, report id) of each report is kept, so memory stays small for a fleet.
    usage: list[tuple[str, tuple[ReportRef, ...]]] = field(default_factory=list)
    acks: list[tuple[str, ImportFile]] = field(default_factory=list)
    problems: list[inputs.Problem] = field(default_factory=list)
    skipped: list[inputs.Skipped] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)  # every file read, for the ledger

    @property
    def exported(self) -> dict[ReportKey, list[str]]:
        """(UDI, report id) -> the usage files that carry it."""
        found: dict[ReportKey, list[str]] = {}
        for path, refs in self.usage:
            for udi, rid in refs:
                if udi is not None and rid is not None:
                    found.setdefault((udi, rid), []).append(path)
        return found

    @property
    def exit_code(self) -> ExitCode:
        """The worst code of the problems met (0 when none)."""
        return max((p.code for p in self.problems), default=ExitCode.OK)


def load(paths: Iterable[str], tz: Mapping[str, timedelta] | None = None,
         exclude: Iterable[str] = ()) -> Evidence:
    """Read every capture, usage file and import file under ``paths``, in a stable order,
    on every core. Files go to the workers in chunks: a parsed capture comes back in a tenth
    of the time it takes to parse."""
    found = Evidence()
    paths = list(paths)
    stored_files = [p for p in paths if _is_state_file(p)]  # named state JSON: other sites
    for path in stored_files:
        found_state = _stored(path)
        if isinstance(found_state, inputs.Problem):
            found.problems.append(found_state)
        else:
            found.sha256[path] = found_state.sha256
            found.states += found_state.states
    rest = [p for p in paths if p not in stored_files]
    examined = ordered_map(partial(_examine, tz=tz), inputs.walk(rest, exclude), window=8,
                           chunk=CHUNK, needs_work=_is_item)
    for entry in examined:
        if isinstance(entry, inputs.Skipped):
            found.skipped.append(entry)
        elif isinstance(entry, inputs.Problem):
            found.problems.append(entry)
        elif isinstance(entry, _Read):
            found.sha256[entry.path] = entry.sha256
            found.states += entry.states
            found.usage += [(entry.path, entry.refs)] if entry.refs is not None else []
            found.acks += [(entry.path, entry.ack)] if entry.ack is not None else []
    return found


def _is_state_file(path: str) -> bool:
    """A named file that holds what ``airgap state --format json`` writes."""
    from airgap.state import stored

    try:
        with open_regular(Path(path)) as handle:
            return stored.is_state_json(handle.read(400))
    except OSError:
        return False  # the walk names the problem


def _stored(path: str) -> _Read | inputs.Problem:
    from airgap.state import stored

    try:
        with open_regular(Path(path)) as handle:
            data = handle.read(inputs.MAX_FILE_BYTES + 1)
        return _Read(path, "sha256:" + hashlib.sha256(data).hexdigest(),
                     states=stored.read(data, path))
    except OSError as exc:
        return inputs.Problem(path, f"cannot read: {exc.strerror or exc}")
    except stored.StateFileError as exc:
        return inputs.Problem(path, exc.why, exc.exit_code)


def _is_item(entry: inputs.Entry) -> bool:
    return isinstance(entry, inputs.Item)


@dataclass(frozen=True)
class _Read:
    """What one file gave, without its parse tree."""

    path: str
    sha256: str
    states: list[DeviceState] = field(default_factory=list)
    refs: tuple[ReportRef, ...] | None = None
    ack: ImportFile | None = None


def _examine(entry: inputs.Item, tz: Mapping[str, timedelta] | None) -> _Read | inputs.Entry:
    from airgap.state.parse import parse_capture

    try:
        data = entry.read()
    except OSError as exc:
        return inputs.Problem(entry.path, f"cannot read: {exc}")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if entry.sniff.family == "capture":
        text = data.decode("utf-8", errors="replace")
        return _Read(entry.path, digest, states=parse_capture(text, entry.path, tz))
    if entry.sniff.family is None:
        return inputs.Problem(entry.path, "no kind airgap knows")
    doc = formats.read(data)  # the verdict validate gives: a broken licensing file is exit 1
    if isinstance(doc, formats.Unreadable):
        return inputs.Problem(entry.path, f"{doc.rule}: {doc.message}", ExitCode.FINDINGS)
    if isinstance(doc.model, ImportFile):
        return _Read(entry.path, digest, ack=doc.model)
    if isinstance(doc.model, UsageFile):
        return _Read(entry.path, digest,
                     refs=tuple((r.udi, r.report_id) for r in doc.model.iter_reports()))
    return _Read(entry.path, digest)  # a SLAC request: outbound, nothing to reconcile
