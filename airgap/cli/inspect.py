"""``airgap inspect``: what each file is and what it carries, by content."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from airgap.cli.output import Format, FormatOption, begin, emit_json, err, note, out, tell_problems
from airgap.errors import ExitCode, worst


def inspect(
    paths: Annotated[list[str], typer.Argument(help="Files and folders to inspect.")],
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Identify each file by its content and summarise it: devices (PID/SN), report ids,
    entitlement tags, measurements, policy, accounts and hostnames.

    Kinds: usage, rum-fragment, import, policy, slac-request, show-license-<command>; an
    archive is also named as a whole: cslu-upload-archive, cssm-ack-archive, bundle (not
    verified here: use 'bundle verify') or archive, before the files inside it.
    A named file of no known kind exits 3; a licensing file that is broken (empty, not XML,
    UTF-16, unknown root) exits 1, named or met in a folder or archive, as for validate.
    """
    from airgap import config, inputs
    from airgap.findings import Finding

    begin("inspect", fmt)
    settings = config.load()
    results: list[dict[str, Any]] = []
    codes: list[int] = []
    skipped: list[dict[str, str]] = []
    problems: list[Finding] = []
    for entry in inputs.walk_whole(paths, settings["exclude"]):
        if isinstance(entry, inputs.Archive):
            if entry.members:  # an archive of no file is named by nothing inside it
                whole = _archive(entry)
                results.append(whole)
                if fmt is Format.TEXT:
                    _print(whole)
            continue
        if isinstance(entry, inputs.Skipped):
            skipped.append({"path": entry.path, "reason": entry.reason})
            note(f"skipped {entry.path}: {entry.reason}")
            continue
        if isinstance(entry, Finding):  # in the envelope's problems, not a result
            problems.append(entry)
            codes.append(entry.exit_code or ExitCode.CANNOT_RUN)
            tell_problems([entry])
            continue
        summary, code = _summarise(entry)
        summary = {"path": entry.path, **summary}
        results.append(summary)
        codes.append(code)
        if fmt is Format.TEXT:
            _print(summary)
    code = worst(*codes)
    if fmt is Format.JSON:
        emit_json(code == ExitCode.OK, results, problems=problems, skipped=skipped)
    raise typer.Exit(code)


def _archive(entry: Any) -> dict[str, Any]:
    from airgap.formats import summary

    return {"path": entry.path, **summary.archive(entry.path, entry.members)}


def _summarise(item: Any) -> tuple[dict[str, Any], int]:
    from airgap import formats
    from airgap.formats import summary
    from airgap.formats.imports import ImportFile, SlacRequest

    try:
        data = item.read()
    except OSError as exc:
        return {"kind": None, "error": f"cannot read: {exc.strerror or exc}"}, ExitCode.CANNOT_RUN
    if item.sniff.family == "capture":
        text = data.decode("utf-8", errors="replace")
        return summary.capture(item.sniff.kind, text), ExitCode.OK
    doc = formats.read(data)  # the verdict validate gives: a broken licensing file is a finding
    if isinstance(doc, formats.Unreadable):
        where = f"line {doc.line}: " if doc.line else ""
        return (
            {"kind": None, "error": f"{where}{doc.message} [{doc.rule}]", "rule": doc.rule},
            ExitCode.FINDINGS,
        )
    if isinstance(doc.model, ImportFile):
        return summary.import_file(doc.kind, doc.model), ExitCode.OK
    if isinstance(doc.model, SlacRequest):
        return summary.slac_request(doc.kind, doc.model), ExitCode.OK
    return summary.usage(doc.kind, doc.model), ExitCode.OK


def _when(epoch: int | None) -> str:
    if epoch is None:
        return "?"
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return f"{epoch} (not a time)"


def _print(s: dict[str, Any]) -> None:
    if s.get("error"):
        err().print(f"error: {s['error']}: {s['path']}", markup=False, style="bold red")
        return
    console = out()
    console.print(f"{s['path']}: {s['kind']}", markup=False, style="bold")
    for label, values in _lines(s):
        if values:
            shown = ", ".join(str(v) for v in values) if isinstance(values, list) else values
            console.print(f"  {label}: {shown}", markup=False)
    console.print(f"  hostnames: {', '.join(s['hostnames']) or 'none'}", markup=False)


def _lines(s: dict[str, Any]) -> list[tuple[str, Any]]:
    """The labelled lines of one summary, in the order shown; an empty value is not shown."""
    return [
        ("devices", [f"{d['pid']} {d['sn']}" for d in s["devices"]]),
        ("report ids", s["report_ids"]),
        ("layouts", s.get("layouts")),
        ("entitlement tags", s["entitlement_tags"]),
        ("measurements", _measurements(s["measurements"])),
        ("parts", s.get("parts")),
        ("unknown parts", s.get("unknown_parts")),
        ("policy", _policy(s["policy"])),
        ("accounts", [f"{a['smart_account']} / {a['virtual_account']}" for a in s["accounts"]]),
        ("commands", [f"{c['kind']} (line {c['line']})" for c in s.get("commands", [])]),
        (
            "bundle",
            s.get("bundle_id")
            and f"{s['bundle_id']} ({s['direction']}: {s['contents']}; not verified here)",
        ),
        ("files", s.get("files")),
    ]


def _measurements(m: dict[str, Any] | None) -> str | None:
    if not (m and m["count"]):
        return None
    values = ", ".join(str(v) for v in m["values"])
    return f"{m['count']} from {_when(m['start'])} to {_when(m['end'])}, values {values}"


def _policy(policy: dict[str, Any] | None) -> str | None:
    if not policy:
        return None
    terms = "; ".join(
        f"{block} " + "/".join("-" if v is None else str(v) for v in days.values())
        for block, days in policy["terms"].items()
    )
    return (
        f"{policy['name']} (ack required: {policy['ack_required']}); "
        f"days first/ongoing/on change: {terms}"
    )
