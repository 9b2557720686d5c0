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

from airgap import formats, inputs, xml
from airgap.errors import ExitCode
from airgap.formats.common import Udi
from airgap.formats.imports import ImportFile
from airgap.formats.usage import UsageFile
from airgap.state.model import DeviceState

ReportKey = tuple[Udi, int]


@dataclass
class Evidence:
    """Everything read from some paths, by kind, with where each piece came from."""

    states: list[DeviceState] = field(default_factory=list)
    usage: list[tuple[str, UsageFile]] = field(default_factory=list)
    acks: list[tuple[str, ImportFile]] = field(default_factory=list)
    problems: list[inputs.Problem] = field(default_factory=list)
    skipped: list[inputs.Skipped] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)  # every file read, for the ledger

    @property
    def exported(self) -> dict[ReportKey, list[str]]:
        """(UDI, report id) -> the usage files that carry it."""
        found: dict[ReportKey, list[str]] = {}
        for path, doc in self.usage:
            for report in doc.reports:
                if report.udi is not None and report.report_id is not None:
                    found.setdefault((report.udi, report.report_id), []).append(path)
        return found

    @property
    def exit_code(self) -> ExitCode:
        """The worst code of the problems met (0 when none)."""
        return max((p.code for p in self.problems), default=ExitCode.OK)


def load(paths: Iterable[str], tz: Mapping[str, timedelta] | None = None,
         exclude: Iterable[str] = ()) -> Evidence:
    """Read every capture, usage file and import file under ``paths``."""
    from airgap.state.parse import parse_capture

    found = Evidence()
    for entry in inputs.walk(paths, exclude):
        if isinstance(entry, inputs.Skipped):
            found.skipped.append(entry)
            continue
        if isinstance(entry, inputs.Problem):
            found.problems.append(entry)
            continue
        try:
            data = entry.read()
        except OSError as exc:
            found.problems.append(inputs.Problem(entry.path, f"cannot read: {exc}"))
            continue
        found.sha256[entry.path] = "sha256:" + hashlib.sha256(data).hexdigest()
        if entry.sniff.family == "capture":
            found.states += parse_capture(data.decode("utf-8", errors="replace"), entry.path, tz)
            continue
        _read_xml(found, entry, data)
    return found


def _read_xml(found: Evidence, entry: inputs.Item, data: bytes) -> None:
    if entry.sniff.family is None:
        found.problems.append(inputs.Problem(entry.path, "no kind airgap knows"))
        return
    try:
        doc = formats.read_xml(xml.parse(data))
    except xml.XmlSyntaxError as exc:
        found.problems.append(inputs.Problem(entry.path, f"not well-formed XML: {exc}",
                                             ExitCode.FINDINGS))
        return
    if doc is None:
        found.problems.append(inputs.Problem(entry.path, "no kind airgap knows"))
    elif isinstance(doc.model, ImportFile):
        found.acks.append((entry.path, doc.model))
    elif isinstance(doc.model, UsageFile):
        found.usage.append((entry.path, doc.model))
