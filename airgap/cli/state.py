"""``airgap state``: ``show license`` captures read into device states."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airgap.cli.options import NoProgressOption, speak
from airgap.cli.output import (
    Format,
    FormatOption,
    TzOption,
    begin,
    counted,
    envelope,
    json_bytes,
    note,
    out,
    plural,
    rendered_result,
    tell_problems,
)
from airgap.errors import ExitCode, worst

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airgap.state.model import DeviceState


def state(
    paths: Annotated[list[str], typer.Argument(help="Capture files and folders.")],
    tz: TzOption = None,
    no_progress: NoProgressOption = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Read 'show license ...' captures (status, summary, usage, all, tech support, rum id,
    udi, history message, eventlog) into device states: UDI, policy, ACK times and deadline,
    transport, trust codes, licenses, RUM report states, history, and the lines not understood.

    One state per command in a capture; a file may hold a whole session. A named file that is
    no capture (state JSON this command wrote included) exits 3; such files met while walking
    a folder are skipped with a note.
    --format json writes each state as it is read, so memory stays flat for any number of
    captures; the envelope's ok, error, problems and skipped follow the results.
    """
    from airgap import config
    from airgap.findings import Finding, problem
    from airgap.state.times import parse_tz_options

    begin("state", fmt)
    speak(no_progress=no_progress)
    zones = parse_tz_options(tz or [])
    settings = config.load()
    results = _JsonStream() if fmt is Format.JSON else None
    problems: list[Finding] = []
    skipped: list[dict[str, str]] = []
    codes: list[int] = [ExitCode.OK]
    parsed = _parsed(paths, settings["exclude"], zones, as_json=results is not None)
    for entry in counted(parsed, "reading", "files"):
        if isinstance(entry, _Parsed):
            for one in entry.states:
                if isinstance(one, bytes) and results is not None:
                    results.write_rendered(one)
                elif not isinstance(one, bytes):
                    _print(one)
            continue
        reason, code = _refusal(entry)
        if code == ExitCode.OK:
            skipped.append({"path": entry.path, "reason": reason or ""})
            note(f"skipped {entry.path}: {reason}")
            continue
        failed = problem(entry.path, reason or "", ExitCode(code))
        problems.append(failed)
        codes.append(code)
        tell_problems([failed])
    code = worst(*codes)
    if results is not None:
        results.close(code == ExitCode.OK, problems, skipped)
    raise typer.Exit(code)


def _parsed(
    paths: list[str], exclude: list[str], zones: dict[str, Any], *, as_json: bool
) -> Iterator[Any]:
    """Each entry of the walk, a capture parsed (and under --format json rendered) on every
    core, in input order."""
    from airgap import inputs
    from airgap.workers import ordered_map

    return ordered_map(
        partial(_read, zones=zones, as_json=as_json),
        inputs.walk(paths, exclude),
        window=8,
        chunk=256,
        needs_work=_is_capture,
        weigh=inputs.carried,
    )


class _JsonStream:
    """The JSON envelope written as it goes: the opening, each result as it comes, then the
    closing with what is known only at the end (``ok``, the error, problems, skipped files).
    The text is what ``emit_json`` would write for the same keys in this order, indented alike."""

    def __init__(self) -> None:
        self._out = sys.stdout.buffer
        self._count = 0
        head = envelope(True, [])
        del head["ok"], head["results"]
        sys.stdout.flush()  # anything written as text before goes first
        self._out.write(json_bytes(head)[:-2] + b',\n  "results": [')

    def write_rendered(self, text: bytes) -> None:
        """One more result, rendered by ``output.rendered_result``, written now."""
        self._out.write((b",\n    " if self._count else b"\n    ") + text)
        self._count += 1

    def close(self, ok: bool, problems: list[Any], skipped: list[dict[str, str]]) -> None:
        """The end of the results and the rest of the envelope."""
        tail = envelope(ok, [], problems=problems, skipped=skipped)
        for key in ("airgap", "json_version", "command", "results"):
            del tail[key]
        rest = json_bytes(tail, newline=True)
        self._out.write((b"\n  ]" if self._count else b"]") + b",\n" + rest[2:])
        self._out.flush()


@dataclass(frozen=True)
class _Parsed:
    """The states of one capture: as states for text, as their rendered JSON for json."""

    states: list[DeviceState] | list[bytes]


def _is_capture(entry: Any) -> bool:
    return _refusal(entry)[0] is None


def _read(entry: Any, zones: dict[str, Any], as_json: bool) -> Any:
    """One capture's states (or their JSON), or the problem reading it; run by a worker."""
    from airgap.findings import problem
    from airgap.state.devices import identify
    from airgap.state.parse import parse_capture

    try:
        text = entry.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return problem(entry.path, f"cannot read: {exc.strerror or exc}")
    states = parse_capture(text, entry.path, zones, source=entry.parts)
    if not as_json:
        return _Parsed(states)
    return _Parsed(
        [rendered_result({**s.to_dict(), "identified_by": str(identify(s).by)}) for s in states]
    )


def _refusal(entry: Any) -> tuple[str | None, int]:
    """Why an entry is not read, and the exit code (OK when it is only skipped)."""
    from airgap import inputs
    from airgap.findings import Finding
    from airgap.state import stored

    if isinstance(entry, inputs.Skipped):
        return entry.reason, ExitCode.OK
    if isinstance(entry, Finding):
        return entry.message, entry.exit_code or ExitCode.CANNOT_RUN
    if entry.sniff.family == "capture" and not stored.holds_states(entry):
        return None, ExitCode.OK
    reason = "not a 'show license' capture"
    if entry.sniff.family == "capture":  # its head read as a capture's
        reason = "state JSON, not a 'show license' capture (health, deadlines, reconcile read it)"
    return reason, ExitCode.CANNOT_RUN if entry.named else ExitCode.OK


def _when(stamp: dict[str, Any] | None, name: str) -> str | None:
    if not stamp:
        return None
    return stamp.get(name) or stamp.get(f"{name}_raw")


def _print(s: DeviceState) -> None:
    console = out()
    console.print(f"{s.path}: {s.kind}", markup=False, style="bold")

    def line(label: str, text: str | None) -> None:
        if text:
            console.print(f"  {label}: {text}", markup=False)

    data = s.to_dict()
    from airgap.state.devices import identify

    line("device", f"{s.udi.pid} {s.udi.sn}" if s.udi else None)
    line("identified by", str(identify(s).by))
    line("hostname", s.hostname)
    if s.policy:
        installed = _when(data["policy"], "installed_on")
        ack = {True: "ACK required", False: "no ACK required", None: None}[s.policy.ack_required]
        details = ", ".join(x for x in (f"installed {installed}" if installed else None, ack) if x)
        line("policy", f"{s.policy.name or '(no name)'}" + (f" ({details})" if details else ""))
    usage = data["usage_reporting"]
    if usage:
        line("last ACK", _when(usage, "last_ack_received") or "none")
        line("next ACK deadline", _when(usage, "next_ack_deadline") or "none")
    line("transport", " ".join(x for x in (s.transport_type, s.transport_url) if x))
    line(
        "trust codes",
        ", ".join(
            f"{t.role or 'installed'} {t.udi.sn if t.udi else 'device'}" for t in s.trust_codes
        ),
    )
    line(
        "licenses",
        ", ".join(
            f"{lic.name} x{lic.count}" if lic.count is not None else lic.name for lic in s.licenses
        ),
    )
    states = Counter(r.state or "?" for r in s.reports)
    line("reports", ", ".join(f"{n} {name}" for name, n in sorted(states.items())))
    line("history", plural(len(s.history), "entry", "entries") if s.history else None)
    console.print(f"  unparsed lines: {len(s.unparsed_lines)}", markup=False)
