"""Read what a set of paths says about devices: capture states, exported reports and ACKs.

``diff``, ``reconcile`` and ``deadlines`` all start here. Folders, archives and bundles are
walked as ``inspect`` walks them; a file that cannot be read or parsed becomes a problem with
its exit code, never an exception, so one bad file does not hide what the others say.

At site scale (100,000 devices) ``health``, ``deadlines`` and ``reconcile`` ask for a summary:
the workers merge the states of one file that are one device and keep only what those
verdicts read, so memory grows by a few kilobytes a device, not by every parsed line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

from airgap import archive, formats, inputs
from airgap.errors import ExitCode
from airgap.findings import Finding, problem
from airgap.formats.common import PickledByCall, ReportKey, Udi
from airgap.formats.imports import AccountInfo, AckEntry, ImportFile, rum_entries
from airgap.formats.imports import Policy as ImportedPolicy
from airgap.formats.usage import UsageFile
from airgap.fsutil import open_regular
from airgap.state import stored, syslog
from airgap.state.devices import compact
from airgap.state.model import (
    DeviceState,
    Policy,
    Report,
    ReportState,
    Stamp,
    TrustCode,
    UsageReporting,
    changed,
)
from airgap.workers import ordered_map

CHUNK = 256  # files per task, at most (see workers.ordered_map)
ReportRef = tuple[Udi | None, int | None]  # what a usage file says of a report, maybe partly
_NOTHING: frozenset[str] = frozenset()


@dataclass
class Evidence:
    """Everything read from some paths, by kind, with where each piece came from."""

    states: list[DeviceState] = field(default_factory=list)
    # Only the (UDI, report id) of each report is kept, so memory stays small for a fleet.
    usage: list[tuple[str, tuple[ReportRef, ...]]] = field(default_factory=list)
    acks: list[tuple[str, ImportFile]] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    skipped: list[inputs.Skipped] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)  # every file read, for the ledger
    # The own name of each usage and ACK file (reconcile matches ACK_<name>), from its parts
    names: dict[str, str] = field(default_factory=dict)
    parsed: int = 0  # states parsed, before the states of one device in one file were merged

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
        return max((p.exit_code or ExitCode.OK for p in self.problems), default=ExitCode.OK)


def load(
    paths: Iterable[str],
    tz: Mapping[str, timedelta] | None = None,
    exclude: Iterable[str] = (),
    *,
    summary: bool = False,
    for_diff: bool = False,
    reduce: Callable[[DeviceState], DeviceState] | None = None,
    counting: Callable[[Iterable[Any]], Iterable[Any]] = iter,
) -> Evidence:
    """Read every capture, usage file and import file under ``paths``, in a stable order,
    on every core. Files go to the workers in chunks: a parsed capture comes back in a tenth
    of the time it takes to parse. With ``summary``, states are what ``health``, ``deadlines``
    and ``reconcile`` read and no more (see ``summarise``), and no file hashes are kept. With
    ``for_diff``, the states of one device in one capture file are merged (``compact``) and
    keep what ``diff`` compares (see ``diff_parts``); ``parsed`` still counts every state.
    ``reduce`` (a module's function, so workers are handed it) makes each summary smaller
    still, in the worker (``reconciled``). ``counting`` sees each file as it comes back (a
    running count on the terminal)."""
    found = Evidence()
    shared = _Shared()
    paths = list(paths)
    stored_files = [p for p in paths if stored.is_state_file(p)]  # named state JSON: other sites
    named = [_stored(p, summary, for_diff, reduce) for p in stored_files]
    rest = [p for p in paths if p not in stored_files]
    examined = ordered_map(
        partial(_examine, tz=tz, summary=summary, for_diff=for_diff, reduce=reduce),
        inputs.walk(rest, exclude),
        window=8,
        chunk=CHUNK,
        needs_work=_is_item,
        weigh=inputs.carried,
    )
    for entry in itertools.chain(named, counting(examined)):
        if isinstance(entry, inputs.Skipped) and _may_be_state_file(entry.path):
            entry = _stored(entry.path, summary, for_diff, reduce)  # another site's states
        if isinstance(entry, inputs.Skipped):
            found.skipped.append(entry)
        elif isinstance(entry, Finding):
            found.problems.append(entry)
        elif isinstance(entry, _Read):
            if entry.sha256:  # none kept for a capture's summary
                found.sha256[entry.path] = entry.sha256
            found.states += map(shared.state, entry.states) if summary or for_diff else entry.states
            if entry.ack is not None:
                found.acks.append((entry.path, shared.ack(entry.ack) if summary else entry.ack))
            found.parsed += entry.parsed
            if entry.refs is not None:
                found.usage.append((entry.path, shared.refs(entry.refs) if summary else entry.refs))
            if entry.refs is not None or entry.ack is not None:
                found.names[entry.path] = inputs.file_name(entry.parts)
    return found


def _may_be_state_file(path: str) -> bool:
    """A file met in a folder that is named and starts as ``state --format json`` output
    (the walk's sniff knows no JSON: it skips it): read as a state file named on the command
    line."""
    return path.lower().endswith(".json") and stored.is_state_file(path)


def _stored(
    path: str,
    summary: bool = False,
    for_diff: bool = False,
    reduce: Callable[[DeviceState], DeviceState] | None = None,
) -> _Read | Finding:
    """The states a state JSON file on disk holds, or why they cannot be read."""
    try:
        with open_regular(Path(path)) as handle:
            too_long = os.fstat(handle.fileno()).st_size > inputs.MAX_FILE_BYTES
            data = b"" if too_long else handle.read(inputs.MAX_FILE_BYTES + 1)
    except OSError as exc:
        return problem(path, f"cannot read: {exc.strerror or exc}")
    if too_long or len(data) > inputs.MAX_FILE_BYTES:  # or it grew while read
        return problem(path, f"cannot read: over the {inputs.MAX_FILE_BYTES} bytes limit")
    return _states_of((path,), data, summary, for_diff, reduce)


def _states_of(
    parts: archive.Where,
    data: bytes,
    summary: bool = False,
    for_diff: bool = False,
    reduce: Callable[[DeviceState], DeviceState] | None = None,
) -> _Read | Finding:
    """The states state JSON holds (summarised, or kept for ``diff``, as a capture's would
    be), or why they cannot be read."""
    path = archive.shown(parts)
    try:
        states = stored.read(data, path)
    except stored.StateFileError as exc:
        return problem(path, exc.why, exc.exit_code)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    kept = (
        _summaries(states, reduce)
        if summary
        else list(map(diff_parts, states))
        if for_diff
        else states
    )
    return _Read(parts, digest, states=kept, parsed=len(states))


def _is_item(entry: inputs.Entry) -> bool:
    return isinstance(entry, inputs.Item)


def summarise(state: DeviceState) -> DeviceState:
    """A state with only what the verdicts of ``health``, ``deadlines`` and ``reconcile`` and
    device grouping read: identity, clock, policy, usage reporting, transport, the report
    summary, reports as (id, state), the UDIs of trust codes and the ``%SMART_LIC-`` events.
    Unparsed lines, licenses, privacy settings, SLAC rows and the rest of the history go.

    Empty parts, "shown as none" times and the device's own UDI are one shared object each,
    which pickling sends once per chunk of files instead of once per state."""
    return _summary(state, state.policy)


def _summary(state: DeviceState, policy: Policy | None) -> DeviceState:
    """``summarise`` with ``policy`` for the state's (its shared copy: one copy made, not two)."""
    udi, usage = state.udi, state.usage_reporting
    return changed(
        state,
        policy=policy,
        smart_account=None,
        virtual_account=None,
        data_privacy=_EMPTY,
        licenses=(),
        authorizations=(),
        forwarder=_EMPTY,
        none_raw=_EMPTY,
        shown=_NOTHING,
        unparsed_lines=(),
        collected=state.collected or _EMPTY,
        report_summary=state.report_summary or _EMPTY,
        transport_type=_one(state.transport_type),
        history=tuple(h for h in state.history if syslog.code_of(h.category)),
        reports=tuple(Report(r.id, _one(r.state)) for r in state.reports),
        trust_codes=tuple(
            TrustCode(udi if t.udi == udi else t.udi)
            for t in state.trust_codes
            if t.udi is not None
        ),
        usage_reporting=_shown_none(usage) if usage else None,
    )


_EMPTY: dict[str, Any] = {}  # never written to: states are read, never changed
_NONE_STAMPS: dict[Stamp, Stamp] = {}


def _shown_none(usage: UsageReporting) -> UsageReporting:
    """Usage reporting with one object for each way a device shows a time as none."""

    def one(stamp: Stamp | None) -> Stamp | None:
        if stamp is None or stamp.iso is not None:
            return stamp
        return _NONE_STAMPS.setdefault(stamp, stamp)

    return UsageReporting(
        one(usage.last_ack_received),
        one(usage.next_ack_deadline),
        one(usage.last_report_push),
        one(usage.next_report_push),
        usage.reporting_push_interval_days,
        one(usage.last_report_file_write),
        one(usage.next_ack_push_check),
    )


class _Shared:
    """One copy of each policy met so far: a site's devices mostly run the same few, and each
    arrives from a worker as a copy of its own (a few hundred bytes a device)."""

    def __init__(self) -> None:
        self.policies: dict[tuple[object, ...], Policy] = {}
        self.imported: dict[tuple[object, ...], ImportedPolicy] = {}
        self.lists: dict[tuple[int, ...], list[ImportedPolicy]] = {}  # of shared policies
        self.udis: dict[Udi, Udi] = {}
        self.infos: dict[AccountInfo, list[AccountInfo]] = {}  # the ACKs of one CSSM answer

    def state(self, state: DeviceState) -> DeviceState:
        """The state with the shared copy of its policy (a state from a worker has it: see
        ``model._policy``) and of the UDIs it and its trust codes name: the device's usage
        files and ACKs name it too."""
        same = self.policy(state.policy)
        udi = self.udi(state.udi) if state.udi is not None else None
        if same is state.policy and udi is state.udi:
            return state
        return changed(
            state,
            policy=same,
            udi=udi,
            trust_codes=tuple(
                TrustCode(self.udi(t.udi), t.role, t.installed_on) if t.udi is not None else t
                for t in state.trust_codes
            ),
        )

    def policy(self, policy: Policy | None) -> Policy | None:
        """The shared copy of ``policy``."""
        if policy is None:
            return None
        key = (
            policy.name,
            policy.installed_on,
            policy.ack_required,
            tuple(policy.attributes.items()),
        )
        return self.policies.setdefault(key, policy)

    def udi(self, udi: Udi) -> Udi:
        """The one copy of a device's UDI: usage files and ACKs name each device again, and
        a lookup by the same object is an identity check, not a comparison. Its PID is the
        one copy of that text too (a site runs a few models)."""
        same = self.udis.get(udi)
        if same is None:
            same = self.udis[udi] = Udi(sys.intern(udi.pid), udi.sn)
        return same

    def refs(self, refs: tuple[ReportRef, ...]) -> tuple[ReportRef, ...]:
        """A usage file's report refs with the shared copies of their UDIs."""
        return tuple((self.udi(u) if u is not None else None, rid) for u, rid in refs)

    def ack(self, doc: ImportFile) -> ImportFile:
        """The import file with the shared copies of its policies, of the list of them, of
        its account info (the ACKs CSSM made at once carry the same) and of the UDIs, SLAC
        date stamps and statuses it names."""
        policies = doc.policies
        if policies:
            policies = [self.imported.setdefault(_policy_key(p), p) for p in policies]
            policies = self.lists.setdefault(tuple(map(id, policies)), policies)
        infos = doc.account_infos
        if len(infos) == 1:
            if len(self.infos) > 1024:  # a site's ACKs come in a few answers; more: start afresh
                self.infos.clear()
            infos = self.infos.setdefault(infos[0], infos)
        return dataclasses.replace(
            doc,
            policies=policies,
            account_infos=infos,
            authorizations=[
                dataclasses.replace(
                    a,
                    udi=self.udi(a.udi) if a.udi is not None else None,
                    date_stamp=sys.intern(a.date_stamp) if a.date_stamp else a.date_stamp,
                )
                for a in doc.authorizations
            ]
            or doc.authorizations,
            entries=tuple(
                AckEntry(
                    e.report_id,
                    self.udi(e.udi) if e.udi is not None else None,
                    sys.intern(e.status) if e.status is not None else None,
                )
                for e in doc.entries
            )
            if doc.entries
            else doc.entries,
        )


def _policy_key(p: ImportedPolicy) -> tuple[object, ...]:
    """What makes two imported policies the same one."""
    return (
        p.line,
        p.name,
        p.version,
        p.datestamp,
        p.ack_required,
        tuple((block, tuple(terms.items())) for block, terms in p.terms.items()),
    )


_IN_WORKER = _Shared()  # the policies one process has met


@dataclass(frozen=True, slots=True)
class _Read(PickledByCall):
    """What one file gave, without its parse tree."""

    parts: archive.Where  # as the walk's item has them
    sha256: str
    states: list[DeviceState] = field(default_factory=list)
    refs: tuple[ReportRef, ...] | None = None
    ack: ImportFile | None = None
    parsed: int = 0  # states parsed (more than ``states`` when merged)

    @property
    def path(self) -> str:
        """Where the file is, as the user reads it."""
        return archive.shown(self.parts)


def _examine(
    entry: inputs.Item,
    tz: Mapping[str, timedelta] | None,
    summary: bool = False,
    for_diff: bool = False,
    reduce: Callable[[DeviceState], DeviceState] | None = None,
) -> _Read | inputs.Entry:
    from airgap.state.parse import parse_capture

    try:
        data = entry.read()
    except OSError as exc:
        return problem(entry.path, f"cannot read: {exc.strerror or exc}")
    if entry.sniff.family == "capture" and stored.holds_states(entry, data):
        return _states_of(entry.parts, data, summary, for_diff, reduce)  # its head read as one
    digest = "" if summary else "sha256:" + hashlib.sha256(data).hexdigest()
    if entry.sniff.family == "capture":
        text = data.decode("utf-8", errors="replace")
        states = parse_capture(
            text, entry.path, tz, unparsed=not (summary or for_diff), source=entry.parts
        )
        parsed = len(states)
        if summary:
            states = _summaries(states, reduce)
        elif for_diff:
            states = [diff_parts(s) for s in compact(states)]
        return _Read(entry.parts, digest, states=states, parsed=parsed)
    if entry.sniff.family is None:
        return problem(entry.path, "no kind airgap knows")
    doc = formats.read(data)  # the verdict validate gives: a broken licensing file is exit 1
    if isinstance(doc, formats.Unreadable):
        return problem(entry.path, f"{doc.rule}: {doc.message}", ExitCode.FINDINGS)
    if isinstance(doc.model, ImportFile):
        return _Read(entry.parts, digest, ack=_ack_summary(doc.model) if summary else doc.model)
    if isinstance(doc.model, UsageFile):
        udis: dict[Udi, Udi] = {}  # one UDI object for a file's reports (pickled once)
        return _Read(
            entry.parts,
            digest,
            refs=tuple(
                (udis.setdefault(udi, udi) if udi is not None else None, rid)
                for udi, rid in doc.model.iter_refs()
            ),
        )
    return _Read(entry.parts, digest)  # a SLAC request: outbound, nothing to reconcile


def diff_parts(state: DeviceState) -> DeviceState:
    """A state with what ``diff`` compares and pairs devices by, and no more: the unparsed
    lines, history, privacy settings, SLAC rows, report summary and forwarder status go (diff
    reads none of them), reports keep their id and state, usage reporting its last ACK
    received and next ACK deadline; licenses, trust codes, policy, account, transport, what
    the capture shows and its identity stay as parsed.

    Licenses, accounts, report states, trust code roles and times and what the capture shows
    are mostly the same on many devices of a site: each is one object per process, pickled
    once per chunk of files."""
    usage = state.usage_reporting
    return changed(
        state,
        smart_account=_one(state.smart_account),
        virtual_account=_one(state.virtual_account),
        data_privacy=_EMPTY,
        transport_type=_one(state.transport_type),
        usage_reporting=usage and UsageReporting(usage.last_ack_received, usage.next_ack_deadline),
        trust_codes=tuple(
            TrustCode(t.udi, _one(t.role), _one(t.installed_on)) for t in state.trust_codes
        ),
        licenses=_one(tuple(map(_one, state.licenses))),
        reports=tuple(Report(r.id, _one(r.state)) for r in state.reports),
        authorizations=(),
        forwarder=_EMPTY,
        report_summary=_EMPTY,
        history=(),
        collected=state.collected or _EMPTY,
        none_raw=state.none_raw or _EMPTY,
        shown=_one(state.shown),
        unparsed_lines=(),
    )


_T = TypeVar("_T")


@lru_cache(maxsize=4096, typed=True)
def _one(value: _T) -> _T:
    """The first object equal to ``value`` this process met (of the last few thousand)."""
    return value


def _ack_summary(doc: ImportFile) -> ImportFile:
    """What ``reconcile``, ``deadlines`` and ``health`` read of an import file: the SLAC UDIs
    and dates, the policies, the first account info time (``import_time`` reads no other), and
    the RUM ACK data as the (report id, UDI, status) entries ``rum_entries`` gives, without the
    JSON or anything else. The policies are the worker's shared copies, so a chunk of files
    pickles each policy once."""
    if len(_IN_WORKER.imported) > 1024:  # a site imports a few policies; more: start afresh
        _IN_WORKER.imported.clear()
    udis: dict[Udi, Udi] = {}  # one object per device named, pickled once
    entries = tuple(
        AckEntry(e.report_id, udis.setdefault(e.udi, e.udi) if e.udi else None, e.status)
        for e in rum_entries(doc)
    )
    made = next((a.timestamp_ms for a in doc.account_infos if a.timestamp_ms is not None), None)
    return ImportFile(
        authorizations=[
            dataclasses.replace(a, smart_account=None, virtual_account=None, entitlements=_NONE)
            for a in doc.authorizations
        ]
        or _NONE,
        policies=[_IN_WORKER.imported.setdefault(_policy_key(p), p) for p in doc.policies] or _NONE,
        rum_acks=_NONE,
        account_infos=[AccountInfo(0, None, None, None, made)] if made is not None else _NONE,
        correlation_ids=_NONE,
        parts=_NONE,
        unknown_parts=_NONE,
        entries=entries,
    )


_NONE: list[Any] = []  # never appended to: import files are read, never changed


def _summaries(
    states: list[DeviceState], reduce: Callable[[DeviceState], DeviceState] | None = None
) -> list[DeviceState]:
    """One file's states, merged where they are one device (``devices.compact``) and
    summarised (then ``reduce``d): what a worker sends back in summary mode. The policies are
    the worker's shared copies, so a chunk of files pickles (and the parent unpickles) each
    policy once."""
    if len(_IN_WORKER.policies) > 1024:  # a site runs a few policies; more: start afresh
        _IN_WORKER.policies.clear()
    summaries = [_summary(s, _IN_WORKER.policy(s.policy)) for s in compact(states)]
    return list(map(reduce, summaries)) if reduce is not None else summaries


def reconciled(state: DeviceState) -> DeviceState:
    """A state with only what ``reconcile`` and device grouping read: where it was read, its
    identity (UDI and its source, host name, airgap's capture header), clock, whether it shows
    usage reporting and its last ACK received, the UDIs of trust codes and the reports shown
    as ACK. Everything else is left empty, as if the capture did not show it."""
    udi, usage = state.udi, state.usage_reporting
    return DeviceState(
        state.kind,
        state.path,
        udi,
        state.udi_source,
        state.hostname,
        data_privacy=_EMPTY,
        usage_reporting=UsageReporting(usage.last_ack_received) if usage else None,
        trust_codes=tuple(
            TrustCode(udi if t.udi == udi else t.udi)
            for t in state.trust_codes
            if t.udi is not None
        ),
        reports=tuple(Report(r.id, _one(r.state)) for r in state.reports if r.state == _ACK),
        report_summary=_EMPTY,
        forwarder=_EMPTY,
        clock=state.clock,
        clock_source=state.clock_source,
        collected=state.collected or _EMPTY,
        none_raw=_EMPTY,
        source=() if state.source == (state.path,) else state.source,  # its folder is the path's
    )


_ACK = ReportState.ACK
